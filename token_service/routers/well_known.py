"""GET /.well-known/jwks.json: the public keys of every loaded signing key (RFC 7517)."""
from fastapi import APIRouter, Request
from starlette.responses import Response

router = APIRouter()


@router.get("/.well-known/jwks.json", summary="Public signing keys (JWKS)")
async def jwks(request: Request):
    state = request.app.state
    return Response(state.jwks_body, media_type="application/json",
                    headers={"Cache-Control": f"public, max-age={state.settings.jwks_max_age_seconds}"})
