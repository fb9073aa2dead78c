"""Responses generated at the edge (CloudFront's Lambda@Edge response shape), never cached."""
import json

ALLOWED_METHODS = "GET, HEAD, OPTIONS"


def _headers(pairs):
    return {name.lower(): [{"key": name, "value": value}] for name, value in pairs}


def cors_pairs(config, origin):
    """Grant headers for an allowed Origin, else none (other origins get no grant)."""
    if origin is None or origin not in config.cors_allowed_origins:
        return []
    pairs = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
             ("Access-Control-Expose-Headers", "WWW-Authenticate")]
    if config.cookie_name:
        pairs.append(("Access-Control-Allow-Credentials", "true"))
    return pairs


def denial(config, denied, origin, retry_after=None):
    pairs = [("Cache-Control", "no-store"), ("Content-Type", "application/json")]
    if denied.status in (400, 401, 403):
        challenge = f'Bearer realm="{config.realm}"'
        if denied.error:
            description = denied.description.replace('"', "'")
            challenge += f', error="{denied.error}", error_description="{description}"'
        pairs.append(("WWW-Authenticate", challenge))
    if denied.status == 405:
        pairs.append(("Allow", ALLOWED_METHODS))
    if retry_after is not None:
        pairs.append(("Retry-After", str(retry_after)))
    pairs += cors_pairs(config, origin)
    body = {"error": denied.error or "token_required", "error_description": denied.description}
    return {
        "status": str(denied.status),
        "statusDescription": _REASONS[denied.status],
        "headers": _headers(pairs),
        "body": json.dumps(body),
    }


def preflight(config, origin):
    """204 for OPTIONS; the grant only for a configured origin. Never a 401: preflights carry no token."""
    pairs = [("Cache-Control", "no-store")]
    grant = cors_pairs(config, origin)
    if grant:
        pairs += grant + [
            ("Access-Control-Allow-Methods", ALLOWED_METHODS),
            ("Access-Control-Allow-Headers", "Authorization, Range, If-None-Match, If-Modified-Since"),
            ("Access-Control-Max-Age", str(config.cors_max_age_seconds)),
        ]
    return {"status": "204", "statusDescription": "No Content", "headers": _headers(pairs)}


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 405: "Method Not Allowed",
            503: "Service Unavailable"}
