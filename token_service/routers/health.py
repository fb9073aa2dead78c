"""GET /healthz (the process answers) and GET /readyz (a key is loaded and the IdP keys are at hand)."""
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from token_service.idp import IdpUnavailable

router = APIRouter()


@router.get("/healthz", summary="Liveness")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: signing key loaded and identity provider keys reachable",
            responses={503: {"description": "Not ready (see Retry-After)"}})
async def readyz(request: Request):
    state = request.app.state
    try:
        await state.verifier.source.current_keys()
    except IdpUnavailable as exc:
        return JSONResponse({"status": "not ready", "reason": str(exc)}, 503,
                            {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"})
    return JSONResponse({"status": "ready", "active_kid": state.keyring.active.kid},
                        headers={"Cache-Control": "no-store"})
