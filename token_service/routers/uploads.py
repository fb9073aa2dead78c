"""POST /uploads: a presigned POST for one new upload, and GET /uploads/{id}: its asset's status
(docs/uploads.md).

Included only when uploads are configured (TOKEN_SERVICE_UPLOAD_BUCKET); otherwise the routes
do not exist (404).
"""
import json

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from token_service import assets, uploads
from token_service.auth import app_token_claims
from token_service.errors import ErrorBody, ServiceError
from token_service.minting import MAX_SUB_LENGTH
from token_service.routers.json_body import BODY_ERRORS, no_store_json, read_json_body

router = APIRouter()


class UploadRequest(BaseModel):
    """The file to upload. The service chooses the key; `filename` is only stored for display."""
    model_config = ConfigDict(extra="forbid")  # a client-chosen `key` (or any other field) is refused

    content_type: str = Field(max_length=255, examples=["video/mp4"])
    size: StrictInt = Field(ge=1, description="Exact size in bytes; the upload may be 1..size bytes",
                            examples=[12345678])
    filename: str | None = Field(default=None, examples=["holiday.mp4"],
                                 description=f"Display name, at most {uploads.MAX_FILENAME_LENGTH} characters; "
                                             f"stored percent-encoded in the object's {uploads.FILENAME_METADATA}")


class UploadResponse(BaseModel):
    id: str = Field(description="The asset's id (22 URL-safe characters, random)")
    url: str = Field(description="Where the browser POSTs the form (multipart/form-data)")
    fields: dict[str, str] = Field(description="Form fields to send as they are, before the `file` field")
    path: str = Field(description="The incoming object's path ('/' + key): never served")
    status_url: str = Field(description="The asset's status, relative to this service: /uploads/{id}")
    media_path: str = Field(description="Where the published MP4 will be, once the asset is ready")
    poster_path: str = Field(description="Where the published JPEG poster will be")
    media_url: str | None = Field(description="The MP4 on the CDN (TOKEN_SERVICE_MEDIA_BASE_URL + media_path)")
    poster_url: str | None = Field(description="The poster on the CDN (TOKEN_SERVICE_MEDIA_BASE_URL + poster_path)")
    expires_in: int = Field(description="Seconds until the form stops being accepted")
    max_bytes: int = Field(description="Largest upload the form accepts (the declared size)")


class AssetStatus(BaseModel):
    id: str
    status: str = Field(description="processing, ready or failed")
    reason: str | None = Field(description="Why it failed, for the member to read (failed only)")
    created_at: str | None = Field(description="When processing started (ISO 8601 UTC)")
    updated_at: str | None
    duration: float | None = Field(description="Seconds (ready only)")
    width: int | None = Field(description="Published width in pixels, upright (ready only)")
    height: int | None
    filename: str | None = Field(description="The display name given at upload")
    processing: str | None = Field(description="remux or transcode (ready only)")
    media_path: str
    poster_path: str
    media_url: str | None
    poster_url: str | None


_ERRORS = {
    400: {"model": ErrorBody, "description": "Malformed body, unknown field, type not allowed, size out of range"},
    401: {"model": ErrorBody, "description": "Missing or invalid app token (see WWW-Authenticate)"},
    403: {"model": ErrorBody, "description": "The caller's subject cannot name a key inside its own prefix"},
    **BODY_ERRORS,
    503: {"model": ErrorBody, "description": "Identity provider keys or S3 signing credentials unavailable"},
}


@router.post(
    "/uploads",
    summary="Presign an upload",
    status_code=201,
    response_model=UploadResponse,
    responses=_ERRORS,
    openapi_extra={"requestBody": {
        "required": True,
        "content": {"application/json": {"schema": UploadRequest.model_json_schema()}},
    }},
)
async def presign_upload(request: Request, caller: dict = Depends(app_token_claims)):
    sub = caller["sub"]
    request.state.log_fields = {"sub": sub[:MAX_SUB_LENGTH]}
    wanted = await read_json_body(request, UploadRequest)
    # In a worker thread: boto3 may refresh credentials over the network while signing.
    answer = await call_assets(request.app.state.uploader.presign, sub, wanted.content_type, wanted.size,
                               wanted.filename)
    request.state.log_fields = {"sub": sub[:MAX_SUB_LENGTH], "upload": answer["path"]}
    # The fields carry the access key id (and a session token): no-store, never logged.
    return no_store_json(json.dumps(answer), 201)


_STATUS_ERRORS = {
    401: _ERRORS[401],
    403: {"model": ErrorBody, "description": "The caller's subject cannot name a key inside its own prefix"},
    404: {"model": ErrorBody, "description": "No such upload of the caller's (unknown, malformed or another member's id)"},
    503: {"model": ErrorBody, "description": "Identity provider keys or S3 unavailable (the reason says which)"},
}


@router.get("/uploads/{asset_id}", summary="The status of one of the caller's uploads", response_model=AssetStatus,
            responses=_STATUS_ERRORS)
async def upload_status(asset_id: str, request: Request, caller: dict = Depends(app_token_claims)):
    sub = caller["sub"]
    request.state.log_fields = {"sub": sub[:MAX_SUB_LENGTH]}
    answer = await call_assets(request.app.state.assets.status, sub, asset_id)
    request.state.log_fields = {"sub": sub[:MAX_SUB_LENGTH], "asset": asset_id, "status": answer["status"]}
    return no_store_json(json.dumps(answer))


# What an upload or asset operation's refusals answer.
_REFUSALS = {
    uploads.InvalidUpload: (400, "invalid_request"),
    assets.InvalidListRequest: (400, "invalid_request"),
    uploads.SubjectUnusable: (403, "access_denied"),
    assets.AssetNotFound: (404, "not_found"),
    assets.AssetBusy: (409, "conflict"),
    uploads.SigningUnavailable: (503, "temporarily_unavailable"),
    assets.StorageUnavailable: (503, "temporarily_unavailable"),
}


async def call_assets(operation, *args):
    """`operation` (S3 calls, or signing: in a worker thread), its refusals as ServiceErrors."""
    try:
        return await run_in_threadpool(operation, *args)
    except tuple(_REFUSALS) as exc:
        status, error = next(answer for kind, answer in _REFUSALS.items() if isinstance(exc, kind))
        raise ServiceError(status, error, str(exc)) from None
