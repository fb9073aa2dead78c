"""Error responses: OAuth-style JSON bodies (RFC 6749 §5.2, RFC 6750 §3) with a reason.

Handlers raise ServiceError; the reason also lands in the request's log line.
"""
import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response

REALM = "token-service"


class ErrorBody(BaseModel):
    error: str
    error_description: str


class ServiceError(Exception):
    def __init__(self, status: int, error: str, description: str, headers=None):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}


def unauthorized(description=None) -> ServiceError:
    """401 per RFC 6750: no error code when no credentials were sent, invalid_token otherwise."""
    challenge = f'Bearer realm="{REALM}"'
    if description is None:
        return ServiceError(401, "invalid_request", "missing Authorization: Bearer token",
                            {"WWW-Authenticate": challenge})
    challenge += f', error="invalid_token", error_description="{_quotable(description)}"'
    return ServiceError(401, "invalid_token", description, {"WWW-Authenticate": challenge})


def error_response(request: Request, status: int, error: str, description: str, headers=None) -> Response:
    request.state.log_fields = {**getattr(request.state, "log_fields", {}), "error": error, "reason": description}
    body = json.dumps({"error": error, "error_description": description})
    return Response(body, status, {"Cache-Control": "no-store", **(headers or {})}, media_type="application/json")


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError):
        return error_response(request, exc.status, exc.error, exc.description, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(request, 400, "invalid_request", f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
        return error_response(request, exc.status_code, error, str(exc.detail), exc.headers)


def _quotable(text: str) -> str:
    """Only what a quoted-string in a header can carry (RFC 6750 restricts it further)."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')
