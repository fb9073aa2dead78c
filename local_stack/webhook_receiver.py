"""The stack's own webhook receiver: where `make dev` points the media processor's webhook unless
--webhook-url names another. It checks each event's signature as an app's backend must
(docs/uploads.md, "Webhook") and prints one line per event: verified ones with their type, asset
and status; others refused with 400 and the reason.
"""
import hashlib
import hmac
import json
import time

from local_stack.httpserve import Handler, Server

MAX_BODY_BYTES = 64 * 1024
TOLERANCE_SECONDS = 300  # a replayed event older than this is refused


class InvalidSignature(ValueError):
    pass


def verify(secret: bytes, header: str, body: bytes, now: float) -> dict:
    """The event, if `header` (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) signs `body`
    with `secret` and is recent; InvalidSignature otherwise."""
    fields = dict(part.partition("=")[::2] for part in header.split(","))
    timestamp, signature = fields.get("t", ""), fields.get("v1", "")
    if not timestamp.isascii() or not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise InvalidSignature("timestamp missing or too old")
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise InvalidSignature("signature does not match")
    return json.loads(body)


def make_server(host, port, secret: bytes, report):
    class ReceiverHandler(Handler):
        def do_POST(self):
            length = self.body_length()
            if length is None:
                return
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                return self.send_body(413, b"too large\n", "text/plain")
            body = self.rfile.read(length)
            try:
                event = verify(secret, self.headers.get("Webhook-Signature", ""), body, time.time())
            except (InvalidSignature, ValueError) as exc:
                report(f"webhook: refused an event: {exc}")
                return self.send_body(400, f"{exc}\n".encode(), "text/plain")
            report(f"webhook: verified {event.get('type')} for asset {event.get('id')} of {event.get('sub')}"
                   + (f": {event.get('reason')}" if event.get("reason") else ""))
            self.send_body(204, b"", "text/plain")

    return Server((host, port), ReceiverHandler)
