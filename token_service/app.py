"""The FastAPI application factory (`uvicorn --factory token_service.app:create_app`)."""
import json

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from token_service.access_log import AccessLog, stdout_line
from token_service.errors import install_handlers
from token_service.idp import AppTokenVerifier
from token_service.keyring import load_keyring
from token_service.minting import MAX_SUB_LENGTH, Minter, TokenTooLarge, token_size_limit
from token_service.scopes import ScopeError, expand
from token_service.assets import Assets
from token_service.routers import docs, health, token, uploads, videos, well_known
from token_service.settings import Settings, SettingsError
from token_service.uploads import Uploader


def create_app(settings: Settings | None = None, log=stdout_line) -> FastAPI:
    """Raises SettingsError (listing every fault, each naming its setting) when the settings or
    keys are unusable. Keys are read only once the settings themselves are valid."""
    settings = settings or Settings.from_env()
    faults = []
    try:
        keyring = load_keyring(settings)
    except SettingsError as exc:
        faults += exc.faults
    try:
        verifier = AppTokenVerifier.from_settings(settings)
    except SettingsError as exc:
        faults += exc.faults
    if faults:
        raise SettingsError(faults)

    app = FastAPI(
        title="Token service",
        description="Exchanges an app access token for a short-lived RS256 viewing token the edge accepts.",
        version="1.0.0",
        docs_url=None,  # routers.docs serves /docs: Swagger UI pinned, with Subresource Integrity
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        redirect_slashes=False,  # a redirect would echo the Host header in Location
    )
    app.state.settings = settings
    app.state.keyring = keyring
    app.state.verifier = verifier
    app.state.minter = Minter(keyring.active, settings.issuer, settings.audience, settings.token_lifetime_seconds,
                              token_size_limit(settings.cookie_name))
    _check_default_scope_fits(app.state.minter, settings.default_paths)
    app.state.jwks_body = json.dumps(keyring.jwks()).encode()
    app.state.uploader = Uploader.from_settings(settings)  # None when uploads are off
    app.state.assets = Assets(app.state.uploader) if app.state.uploader else None

    app.include_router(token.router)
    app.include_router(well_known.router)
    app.include_router(health.router)
    if settings.docs_enabled:
        app.include_router(docs.router)
    if app.state.uploader:  # otherwise /uploads and /videos do not exist (404)
        app.include_router(uploads.router)
        app.include_router(videos.router)
    install_handlers(app)
    if settings.cors_allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allowed_origins),
            allow_methods=["GET", "POST", "DELETE"],  # DELETE /videos/{id}
            allow_headers=["Authorization", "Content-Type"],
            # The browser stores the cookie from a cross-origin fetch only with credentials.
            allow_credentials=settings.cookie_mode,
            expose_headers=["X-Request-Id"],
            max_age=600,
        )
    app.add_middleware(AccessLog, log=log)  # outermost: preflights and errors are logged too
    return app


def _check_default_scope_fits(minter, default_paths) -> None:
    """A default scope too large for the edge with the longest subject it accepts fails at start,
    not on every request of members with long subjects."""
    longest_sub = "x" * MAX_SUB_LENGTH
    try:
        minter.encode_payload(minter.claims(longest_sub, expand(default_paths, longest_sub) or None))
    except ScopeError:
        return  # such a subject is refused per request (403); nothing to size
    except TokenTooLarge as exc:
        raise SettingsError(f"TOKEN_SERVICE_DEFAULT_PATHS: for a {MAX_SUB_LENGTH}-character sub {exc}") from None
