"""The webhook: a signed JSON event to the app's backend on `ready` and `failed`.

Signed as Stripe and Mux sign theirs: `Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">`, the secret read once per process from an SSM SecureString parameter. Delivery
retries with exponential backoff within a bounded total time; whatever happens, the asset's own
status stands (a failed delivery is logged, never raised). docs/uploads.md shows how to verify.
"""
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "Webhook-Signature"
FIRST_BACKOFF_SECONDS = 0.5
_secrets = {}


def signature_header(secret: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event_body(record: dict, sub: str) -> bytes:
    """The event for a final status record (`ready` or `failed`)."""
    event = {"type": f"asset.{record['status']}", "id": record["id"], "sub": sub, "status": record["status"],
             **{name: record[name] for name in ("reason", "media_path", "poster_path", "duration", "width",
                                                "height", "created_at")}}
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def deliver(settings, record: dict, sub: str, clock=time.monotonic, sleep=time.sleep) -> bool:
    """POSTs the event until a 2xx answer or the time is up; True if delivered. Never raises."""
    if not settings.webhook_url:
        return False
    try:
        secret = _secret(settings)
    except Exception as exc:  # SSM unreachable or parameter missing: the asset is unaffected
        log.error("webhook: cannot read the secret parameter %s: %s", settings.webhook_secret_ssm_parameter,
                  type(exc).__name__)
        return False
    body = event_body(record, sub)
    give_up = clock() + settings.webhook_max_seconds
    backoff, attempt = FIRST_BACKOFF_SECONDS, 0
    while True:
        attempt += 1
        outcome = _post(settings, secret, body)
        if outcome is None:
            log.info("webhook: delivered %s for asset %s (attempt %d)", record["status"], record["id"], attempt)
            return True
        if clock() + backoff >= give_up:
            log.error("webhook: gave up on asset %s after %d attempts (last: %s)", record["id"], attempt, outcome)
            return False
        log.warning("webhook: attempt %d for asset %s failed (%s), retrying in %.1f s", attempt, record["id"],
                    outcome, backoff)
        sleep(backoff)
        backoff *= 2


def _post(settings, secret, body):
    """None when the receiver answered 2xx, else what went wrong (for the log)."""
    request = urllib.request.Request(settings.webhook_url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "media-processor",
        SIGNATURE_HEADER: signature_header(secret, body, int(time.time()))})
    try:
        with _OPENER.open(request, timeout=settings.webhook_timeout_seconds) as response:
            response.read(65536)
            return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # refused, reset, timed out, bad answer
        return type(exc).__name__


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery: the signed event goes to the configured URL only."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _secret(settings) -> bytes:
    name = settings.webhook_secret_ssm_parameter
    if name not in _secrets:
        import boto3  # only when a webhook is configured

        client = boto3.client("ssm", region_name=settings.region, endpoint_url=settings.ssm_endpoint_url)
        value = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        _secrets[name] = value.encode()
    return _secrets[name]
