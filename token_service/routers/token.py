"""POST /token: exchange the caller's app access token for a viewing token (RFC 6749 §5.1 shape)."""
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from token_service import scopes
from token_service.auth import app_token_claims
from token_service.errors import ErrorBody, ServiceError
from token_service.minting import MAX_SUB_LENGTH, TokenTooLarge
from token_service.routers.json_body import BODY_ERRORS, no_store_json, read_json_body

router = APIRouter()


class TokenRequest(BaseModel):
    """Optional body. `paths` narrows the token to these scopes, which must lie within the
    configured default (TOKEN_SERVICE_DEFAULT_PATHS); leave it out for the default."""
    model_config = ConfigDict(extra="forbid")  # a misspelt field must not silently mean "default scope"

    paths: list[Annotated[str, Field(pattern="^/", max_length=scopes.MAX_ENTRY_LENGTH)]] | None = Field(
        default=None, min_length=1, max_length=scopes.MAX_ENTRIES, examples=[["/videos/u42/"]],
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


_ERRORS = {
    400: {"model": ErrorBody, "description": "Malformed body, two Authorization headers, paths outside the "
                                             "allowed scope, or a token too large for the edge or the cookie"},
    401: {"model": ErrorBody, "description": "Missing or invalid app token (see WWW-Authenticate)"},
    403: {"model": ErrorBody, "description": "The caller's subject cannot be used in a viewing token"},
    **BODY_ERRORS,
    503: {"model": ErrorBody, "description": "Identity provider keys unavailable (see Retry-After)"},
}


@router.post(
    "/token",
    summary="Mint a viewing token",
    response_model=TokenResponse,
    responses=_ERRORS,
    openapi_extra={"requestBody": {
        "required": False,
        "content": {"application/json": {"schema": TokenRequest.model_json_schema()}},
    }},
)
async def mint_token(request: Request, caller: dict = Depends(app_token_claims)):
    state = request.app.state
    sub = caller["sub"]
    request.state.log_fields = {"sub": sub[:MAX_SUB_LENGTH]}
    wanted = (await read_json_body(request, TokenRequest)).paths
    allowed = default_scope(state.settings.default_paths, sub)
    try:
        paths = scopes.narrow(wanted, allowed) if wanted is not None else (allowed or None)
    except scopes.ScopeError as exc:
        raise ServiceError(400, "invalid_scope", str(exc)) from None

    claims = state.minter.claims(sub, paths)
    try:
        # Signed on the event loop: signing in a worker thread was measured slower (CPU per request
        # +25-50%, no more throughput): handing the GIL back and forth costs more than it overlaps.
        token = state.minter.sign(claims)
    except TokenTooLarge as exc:
        raise ServiceError(400, "invalid_scope", f"{exc}; ask for fewer or shorter paths") from None
    request.state.log_fields = {"sub": sub[:MAX_SUB_LENGTH], "kid": state.keyring.active.kid, "jti": claims["jti"]}
    lifetime = state.minter.lifetime_seconds
    body = json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": lifetime})
    response = no_store_json(body)
    if state.settings.cookie_mode:
        _set_cookie(response, state.settings, token, lifetime)
    return response


def default_scope(default_paths, sub: str) -> tuple:
    """The caller's default `paths` ({sub} filled in; empty = every path), or a 403 ServiceError.
    The subject's length and Unicode were checked with the app token (token_service.auth)."""
    try:
        return scopes.expand(default_paths, sub)
    except scopes.ScopeError as exc:
        raise ServiceError(403, "access_denied", str(exc)) from None


def _set_cookie(response: Response, settings, token: str, lifetime: int) -> None:
    response.set_cookie(
        settings.cookie_name, token, max_age=lifetime, path="/", domain=settings.cookie_domain,
        secure=True, httponly=True, samesite=settings.cookie_samesite.lower(),
    )
