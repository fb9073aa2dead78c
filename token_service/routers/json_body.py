"""JSON in and out for the credential routes (POST /token, POST /uploads): reading a small
request body into a pydantic model, every fault a 4xx with a reason, and answering uncached."""
import json

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from token_service.errors import ErrorBody, ServiceError

MAX_BODY_BYTES = 16 * 1024
# The OpenAPI `responses` entries for what read_json_body refuses.
BODY_ERRORS = {
    413: {"model": ErrorBody, "description": "Body too large"},
    415: {"model": ErrorBody, "description": "Body is not JSON"},
}


def no_store_json(body: str, status: int = 200) -> Response:
    """An answer carrying a credential (a token, signed form fields): no cache may keep it."""
    return Response(body, status, media_type="application/json",
                    headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def read_json_body(request: Request, model: type[BaseModel]) -> BaseModel:
    """`model` validated from the body; an empty body is validated as `{}`."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:  # isdigit alone takes "²"
        raise ServiceError(413, "invalid_request", f"body larger than {MAX_BODY_BYTES} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ServiceError(413, "invalid_request", f"body larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        document = {}
    else:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise ServiceError(415, "invalid_request", "body must be application/json")
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
            raise ServiceError(400, "invalid_request", "body is not valid JSON") from None
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ServiceError(400, "invalid_request", f"{where}: {first['msg']}") from None
