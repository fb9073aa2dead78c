"""The caller-authentication dependency: `Authorization: Bearer <app access token>` from the IdP."""
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from token_service.errors import ServiceError, unauthorized
from token_service.idp import IdpUnavailable, InvalidAppToken

# auto_error=False: missing or non-Bearer credentials get our RFC 6750 401, not FastAPI's.
_bearer = HTTPBearer(auto_error=False, description="The app's access token from its identity provider")


async def app_token_claims(request: Request,
                           credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> dict:
    """The verified claims of the caller's app token, or a 401 / 503 ServiceError."""
    if credentials is None or not credentials.credentials:
        raise unauthorized()
    try:
        return await request.app.state.verifier.verify(credentials.credentials)
    except InvalidAppToken as exc:
        raise unauthorized(str(exc)) from None
    except IdpUnavailable as exc:
        raise ServiceError(503, "temporarily_unavailable", str(exc),
                           {"Retry-After": str(exc.retry_after)}) from None
