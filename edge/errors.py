"""One exception tree for every way a request is refused (callers catch `Denied`).

Each class carries the HTTP status and the RFC 6750 error code of its answer; `reason` is a
short machine-readable code for the log line, `description` the human text sent back.
"""


class Denied(Exception):
    status = 401
    error = "invalid_token"

    def __init__(self, reason, description=None):
        super().__init__(reason)
        self.reason = reason
        self.description = description or reason.replace("_", " ")


class MissingToken(Denied):
    """No credentials at all: RFC 6750 §3.1 says answer without an error code."""

    error = None


class InvalidRequest(Denied):
    status = 400
    error = "invalid_request"


class InvalidToken(Denied):
    pass


class InsufficientScope(Denied):
    status = 403
    error = "insufficient_scope"


class MethodNotAllowed(Denied):
    status = 405
    error = "invalid_request"


class Unavailable(Denied):
    """The edge cannot decide safely (stale keys, internal error): fail closed, ask to retry."""

    status = 503
    error = "temporarily_unavailable"
