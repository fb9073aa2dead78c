"""The webhook against a real local HTTP receiver: signed events that docs/uploads.md's Python and
Node verifiers accept, retries with backoff, and a delivery that never succeeds leaves the asset
ready. The secret is an SSM SecureString in moto."""
import base64
import dataclasses
import http.server
import json
import pathlib
import re
import subprocess
import threading
import time

import boto3
import pytest

from media_processor import handler
from tests.media_processor.conftest import BUCKET, REGION, upload, with_settings
from tests.servers import free_port

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "uploads.md"
SECRET = "whsec-test-0123456789abcdef"


def doc_block(language) -> str:
    """The code block of `language` that follows a "tested:" marker in docs/uploads.md."""
    found = re.findall(r"<!-- tested: [^>]*-->\n```" + language + r"\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert len(found) == 1, language
    return found[0]


def python_verify():
    namespace = {}
    exec(doc_block("python"), namespace)
    return namespace["verify_signature"]


def node_verify(secret, header, body: bytes, tolerance=300) -> bool:
    script = doc_block("js") + (
        "\nconst [secret, header, body, tolerance] = process.argv.slice(1);\n"
        "console.log(verifySignature(secret, header, Buffer.from(body, 'base64'), Number(tolerance)));\n")
    result = subprocess.run(["node", "-e", script, secret, header, base64.b64encode(body).decode(), str(tolerance)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return {"true": True, "false": False}[result.stdout.strip()]


@dataclasses.dataclass
class Receiver:
    url: str
    answers: list          # statuses to answer, in order; 200 once they run out
    requests: list


@pytest.fixture
def receiver():
    requests, answers = [], []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append((time.monotonic(), dict(self.headers), body))
            status = answers.pop(0) if answers else 200
            self.send_response(status)
            if status in (301, 302, 307):
                self.send_header("Location", f"http://127.0.0.1:{free_port()}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/media", answers, requests)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def secret_parameter(moto_url):
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=moto_url)
    ssm.put_parameter(Name="/media/webhook-secret", Value=SECRET, Type="SecureString")
    return "/media/webhook-secret"


@pytest.fixture
def hooked(settings, receiver, secret_parameter, moto_url):
    return with_settings(settings, webhook_url=receiver.url, webhook_secret_ssm_parameter=secret_parameter,
                         ssm_endpoint_url=moto_url, webhook_max_seconds=5)


def process(s3, settings, data):
    key = upload(s3, data)
    return handler.process(settings, s3, BUCKET, key)


def test_ready_event_is_signed_and_verifies_in_python_and_node(s3, hooked, receiver, clip):
    record = process(s3, hooked, clip("compliant.mp4").read_bytes())
    assert record["status"] == "ready"
    [(_, headers, body)] = receiver.requests
    assert headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert event == {"type": "asset.ready", "id": record["id"], "sub": "u42", "status": "ready", "reason": None,
                     "media_path": record["media_path"], "poster_path": record["poster_path"],
                     "duration": record["duration"], "width": 320, "height": 240, "created_at": record["created_at"]}
    header = headers["Webhook-Signature"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert abs(int(header[2:header.index(",")]) - time.time()) < 60
    verify = python_verify()
    assert verify(SECRET.encode(), header, body)
    assert node_verify(SECRET, header, body)
    tampered = body.replace(b'"ready"', b'"READY"', 1)
    assert not verify(SECRET.encode(), header, tampered) and not node_verify(SECRET, header, tampered)
    assert not verify(b"another secret", header, body) and not node_verify("another secret", header, body)
    stale = re.sub(r"t=(\d+)", lambda m: f"t={int(m[1]) - 301}", header)
    assert not verify(SECRET.encode(), stale, body) and not node_verify(SECRET, stale, body)
    assert not verify(SECRET.encode(), "v1=00", body) and not node_verify(SECRET, "v1=00", body)


def test_failed_event_carries_the_reason(s3, hooked, receiver):
    record = process(s3, hooked, b"not a video at all")
    [(_, headers, body)] = receiver.requests
    event = json.loads(body)
    assert (event["type"], event["status"], event["reason"]) == ("asset.failed", "failed", "not a video file")
    assert event["id"] == record["id"] and event["duration"] is None
    assert python_verify()(SECRET.encode(), headers["Webhook-Signature"], body)


def test_delivery_is_retried_with_backoff(s3, hooked, receiver, clip):
    receiver.answers[:] = [503, 500]
    record = process(s3, hooked, clip("compliant.mp4").read_bytes())
    assert record["status"] == "ready"
    times = [t for t, _, _ in receiver.requests]
    assert len(times) == 3
    assert [json.loads(b) for _, _, b in receiver.requests] == [json.loads(receiver.requests[0][2])] * 3
    first, second = times[1] - times[0], times[2] - times[1]
    assert first >= 0.5 and second >= 1.0  # 0.5 s, then doubled


@pytest.mark.parametrize("answers", [[500] * 20, [302] * 20])
def test_a_delivery_that_never_succeeds_does_not_fail_the_asset(s3, hooked, receiver, clip, answers):
    receiver.answers[:] = answers
    started = time.monotonic()
    record = process(s3, with_settings(hooked, webhook_max_seconds=2), clip("compliant.mp4").read_bytes())
    assert time.monotonic() - started < 10  # bounded: the budget was 2 s
    assert record["status"] == "ready"
    assert len(receiver.requests) == 3  # at 0, 0.5 and 1.5 s; the next would start past 2 s
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=record["media_path"][1:].replace("videos", "assets", 1)
                                      .replace(".mp4", ".json"))["Body"].read())
    assert stored["status"] == "ready"


def test_an_unreachable_receiver_or_missing_secret_does_not_fail_the_asset(s3, hooked, clip):
    closed = with_settings(hooked, webhook_url=f"http://127.0.0.1:{free_port()}/", webhook_max_seconds=1)
    assert process(s3, closed, clip("compliant.mp4").read_bytes())["status"] == "ready"
    no_secret = with_settings(hooked, webhook_secret_ssm_parameter="/media/no-such-parameter")
    assert process(s3, no_secret, clip("compliant.mp4").read_bytes())["status"] == "ready"
