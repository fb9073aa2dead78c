"""GET /videos: the caller's ready videos, newest first, paged; DELETE /videos/{id}: remove one
(docs/uploads.md). Included with the upload routes (TOKEN_SERVICE_UPLOAD_BUCKET)."""
import json

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from token_service import assets
from token_service.auth import app_token_claims
from token_service.errors import ErrorBody
from token_service.minting import MAX_SUB_LENGTH
from token_service.routers.json_body import no_store_json
from token_service.routers.uploads import AssetStatus, call_assets

router = APIRouter()


class VideoList(BaseModel):
    videos: list[AssetStatus] = Field(description="Ready assets, newest first")
    next: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


_ERRORS = {
    400: {"model": ErrorBody, "description": "`limit` out of range or not an integer, or a cursor this service did not give"},
    401: {"model": ErrorBody, "description": "Missing or invalid app token (see WWW-Authenticate)"},
    403: {"model": ErrorBody, "description": "The caller's subject cannot name a key inside its own prefix"},
    503: {"model": ErrorBody, "description": "Identity provider keys or S3 unavailable (the reason says which)"},
}


@router.get("/videos", summary="The caller's ready videos, newest first", response_model=VideoList,
            responses=_ERRORS)
async def list_videos(request: Request, caller: dict = Depends(app_token_claims),
                      limit: int = Query(assets.DEFAULT_LIST_LIMIT, ge=1, le=assets.MAX_LIST_LIMIT),
                      cursor: str | None = Query(None, max_length=assets.MAX_CURSOR_LENGTH,
                                                 description="`next` of the previous page, as it is")):
    sub = caller["sub"]
    request.state.log_fields = {"sub": sub[:MAX_SUB_LENGTH]}
    answer = await call_assets(request.app.state.assets.list_ready, sub, limit, cursor)
    return no_store_json(json.dumps(answer))


@router.delete("/videos/{asset_id}", summary="Delete one of the caller's videos", status_code=204, responses={
    **{status: _ERRORS[status] for status in (401, 403, 503)},
    404: {"model": ErrorBody, "description": "No such video of the caller's (unknown, already deleted, another member's)"},
    409: {"model": ErrorBody, "description": "Still being processed: delete it once it is ready or failed"},
})
async def delete_video(asset_id: str, request: Request, caller: dict = Depends(app_token_claims)):
    sub = caller["sub"]
    request.state.log_fields = {"sub": sub[:MAX_SUB_LENGTH]}
    await call_assets(request.app.state.assets.delete, sub, asset_id)
    request.state.log_fields = {"sub": sub[:MAX_SUB_LENGTH], "deleted": asset_id}
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
