"""The stack's media processor as `make dev` runs it, in a stack of this module's own: started with
--webhook-url pointing at a receiver of the test's (which checks every signature itself, with the
secret from internal.json) and a 2 s CPU limit per run, so the child's RLIMIT_CPU shows; a PUT
under incoming/ is an event like a form upload; the built-in receiver refuses what is not signed."""
import hashlib
import hmac
import http.server
import json
import threading
import time

import boto3
import httpx
import pytest

from local_stack import webhook_receiver
from local_stack.launcher import RunningStack
from media_processor.webhook import signature_header
from tests.local_stack.conftest import app_token
from tests.local_stack.test_uploads_e2e import settled, upload
from tests.media_processor.clips import make_clip
from tests.servers import free_port

CPU_LIMIT_SECONDS = 2


class Receiver:
    """The app's backend: takes POSTs and keeps (signature header, body) of each."""

    def __init__(self):
        self.events = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.events.append((self.headers.get("Webhook-Signature"), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/media"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def event_for(self, asset_id, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for header, body in list(self.events):
                if json.loads(body)["id"] == asset_id:
                    return header, body
            time.sleep(0.1)
        pytest.fail(f"no webhook event for {asset_id}")


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def limited(tmp_path_factory, receiver):
    stack = RunningStack(tmp_path_factory.mktemp("limited-stack"),
                         ["--webhook-url", receiver.url, "--processor-cpu-seconds", str(CPU_LIMIT_SECONDS)])
    yield stack
    stack.stop()


def verified(secret: str, header: str, body: bytes) -> dict:
    """The receiving side of docs/uploads.md's scheme, written out here: t=<seconds>,v1=<hex>."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    assert abs(time.time() - int(fields["t"])) < 300
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"])
    return json.loads(body)


def test_a_run_over_its_cpu_limit_fails_with_a_reason_and_the_backend_is_told(limited, receiver, tmp_path):
    """A 1080p HEVC clip takes the transcoder well over 2 s of CPU: the child's RLIMIT_CPU stops it."""
    stack, secret = limited.info, json.loads((limited.state_dir / "internal.json").read_text())["webhook_secret"]
    data = make_clip(tmp_path / "big.mov", container="mov", video="libx265", size=(1920, 1080), seconds=4,
                     video_options={"preset": "ultrafast"}).read_bytes()
    with httpx.Client(timeout=30) as http:
        form, auth = upload(http, stack, "alice", data, "video/quicktime", "big.mov")
        status = settled(http, stack, form, auth)
    assert (status["status"], status["reason"]) == ("failed", "took too long to process")
    header, body = receiver.event_for(form["id"])
    event = verified(secret, header, body)
    assert event["type"] == "asset.failed" and event["sub"] == "alice"
    assert event["reason"] == "took too long to process" and event["media_path"] == form["media_path"]
    deadline = time.monotonic() + 10  # the runner's line follows the child's exit, after the webhook
    while f"processed {form['path'][1:]}" not in limited.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"processed {form['path'][1:]}" in limited.output()


def test_a_put_under_incoming_is_processed_like_a_form_upload(limited, receiver, tmp_path):
    stack, internal = limited.info, json.loads((limited.state_dir / "internal.json").read_text())
    key = internal["access_keys"]["token_service"]  # the identity that may put under incoming/
    s3 = boto3.client("s3", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                      aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])
    asset_id = "PutThroughTheProxy0001"
    clip = make_clip(tmp_path / "small.mp4", size=(160, 120), seconds=1)
    s3.put_object(Bucket=stack["bucket"], Key=f"incoming/alice/{asset_id}", Body=clip.read_bytes(),
                  ContentType="video/mp4")
    header, body = receiver.event_for(asset_id)
    event = verified(internal["webhook_secret"], header, body)
    assert (event["type"], event["status"], event["width"], event["height"]) == ("asset.ready", "ready", 160, 120)
    with httpx.Client(timeout=30) as http:
        answer = http.get(f"{stack['token_url']}/uploads/{asset_id}",
                          headers={"Authorization": f"Bearer {app_token(http, stack, 'alice')}"})
    assert answer.json()["status"] == "ready" and answer.json()["processing"] == "remux"


@pytest.fixture
def builtin_receiver():
    lines, secret = [], b"receiver-test-secret"
    server = webhook_receiver.make_server("127.0.0.1", free_port(), secret, lines.append)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", secret, lines
    server.shutdown()
    server.server_close()


def test_the_builtin_receiver_takes_only_signed_recent_events(builtin_receiver):
    url, secret, lines = builtin_receiver
    body = json.dumps({"type": "asset.ready", "id": "abc", "sub": "alice", "status": "ready", "reason": None}).encode()
    now = int(time.time())
    good = httpx.post(url, content=body, headers={"Webhook-Signature": signature_header(secret, body, now)})
    assert good.status_code == 204 and lines[-1] == "webhook: verified asset.ready for asset abc of alice"
    for header, reason in [
        (signature_header(b"another secret", body, now), "signature does not match"),
        (signature_header(secret, body + b" ", now), "signature does not match"),
        (signature_header(secret, body, now - 600), "timestamp missing or too old"),
        ("v1=" + "0" * 64, "timestamp missing or too old"),
        ("garbage", "timestamp missing or too old"),
        (f"t=+{now},v1=00", "timestamp missing or too old"),  # int() would take "+": only digits count
    ]:
        refused = httpx.post(url, content=body, headers={"Webhook-Signature": header})
        assert refused.status_code == 400 and refused.text.strip() == reason, header
    assert httpx.post(url, content=body).status_code == 400  # no header at all
    assert httpx.post(url, content=b"x" * (webhook_receiver.MAX_BODY_BYTES + 1)).status_code == 413
