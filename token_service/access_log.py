"""One JSON log line per request, with a request id (also returned as X-Request-Id).

Pure ASGI middleware (no per-request task or body copy). Logs the method, path, status,
duration and whatever the handler put in `request.state.log_fields` (sub, kid, jti, error
reason); never headers, query strings or bodies, where tokens travel.
"""
import json
import re
import secrets
import sys
import time

_CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class AccessLog:
    def __init__(self, app, log=stdout_line, clock=time.time):
        self.app = app
        self.log = log
        self.clock = clock

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # what the server answers if the app raises before starting a response

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.log(json.dumps({
                "time": round(self.clock(), 3),
                "request_id": request_id,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "client": (scope.get("client") or ("", 0))[0],
                **state.get("log_fields", {}),
            }))


def _request_id(scope) -> str:
    """The caller's X-Request-Id when it is a short plain token (safe to log), else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _CALLER_REQUEST_ID.fullmatch(candidate):
                return candidate
    return secrets.token_hex(8)
