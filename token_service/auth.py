"""The caller-authentication dependency: `Authorization: Bearer <app access token>` from the IdP.

A subclass of FastAPI's HTTPBearer, so OpenAPI documents the scheme, and one dependency level
(each level costs FastAPI measurable time per request on the hot path).
"""
from fastapi import Request
from fastapi.security import HTTPBearer

from token_service.errors import ServiceError, unauthorized
from token_service.idp import IdpUnavailable, InvalidAppToken
from token_service.minting import subject_fault


class AppTokenAuth(HTTPBearer):
    async def __call__(self, request: Request) -> dict:
        """The verified claims of the caller's app token, or a 400 / 401 / 403 / 503 ServiceError."""
        if len(request.headers.getlist("authorization")) > 1:
            # Which one counts would differ between hops (the edge refuses this too).
            raise ServiceError(400, "invalid_request", "send one Authorization header")
        credentials = await super().__call__(request)  # None when missing or not Bearer
        if credentials is None or not credentials.credentials:
            raise unauthorized()
        try:
            claims = await request.app.state.verifier.verify(credentials.credentials)
        except InvalidAppToken as exc:
            if exc.detail:  # for the operator's log line only
                request.state.log_fields = {**getattr(request.state, "log_fields", {}), "detail": exc.detail}
            raise unauthorized(str(exc)) from None
        except IdpUnavailable as exc:
            raise ServiceError(503, "temporarily_unavailable", str(exc),
                               {"Retry-After": str(exc.retry_after)}) from None
        check_subject(claims["sub"])
        return claims


def check_subject(sub: str) -> None:
    """403 access_denied for a subject no viewing token or upload key can carry, on every route."""
    fault = subject_fault(sub)
    if fault:
        raise ServiceError(403, "access_denied", fault)


# auto_error=False: missing or non-Bearer credentials get our RFC 6750 401, not FastAPI's.
app_token_claims = AppTokenAuth(auto_error=False, description="The app's access token from its identity provider")
