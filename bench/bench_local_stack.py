"""Local stack benchmarks: time to ready, and a 1 MB range GET through the CloudFront stand-in and
through the moto proxy, each against a direct GET of moto measured in the same run.

- Ready: from starting `python -m local_stack` (the path `make dev` takes, on a warm .venv) until
  it has written stack.json, every part answering. Target: within 10 s.
- 1 MB range GET through the stand-in (edge handler from the built zip, SigV4 to the bucket through
  the proxy, streamed back). Target: within 3x the comparison point.
- The same range through the proxy alone (the advertised S3 endpoint): the proxy's own cost.
  Target: within 1.5x the comparison point (it only checks the path and relays bytes).
- Comparison point: the same SigV4-signed range GET sent straight to moto on its private Unix
  socket by the same client.
- Upload to ready: a 20 s phone-like clip (1080p HEVC 10-bit in QuickTime, index at the end,
  rotated 90°, AAC; made here with PyAV) posted through the real presigned POST, until the token
  service answers `ready` (the stack's media processor transcodes it to 1080p H.264). Reported,
  with its ratio to the clip's duration; no target (issue 15 asks for the number).
"""
import json
import pathlib
import statistics
import tempfile
import time

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench import report
from local_stack.launcher import RunningStack
from tests.media_processor.clips import make_clip

READY_RUNS = 3
READY_TARGET_SECONDS = 10
RANGE_BYTES = 1024 * 1024
RANGE_ROUNDS = 40
CDN_RATIO_TARGET = 3.0
PROXY_RATIO_TARGET = 1.5
DIRECT = "direct moto"
PHONE_CLIP_SECONDS = 20
PHONE_CLIP = dict(container="mov", video="libx265", pix_fmt="yuv420p10le", rotation=-90, size=(1920, 1080),
                  seconds=PHONE_CLIP_SECONDS, video_options={"preset": "ultrafast"})


def upload_to_ready(http, info, app, clip):
    """Seconds from the form POST to `ready`, and the status record."""
    auth = {"Authorization": f"Bearer {app}"}
    data = clip.read_bytes()
    form = http.post(f"{info['token_url']}/uploads", headers=auth,
                     json={"content_type": "video/quicktime", "size": len(data), "filename": clip.name}).json()
    started = time.perf_counter()
    posted = http.post(form["url"], data=form["fields"], files={"file": (clip.name, data, "video/quicktime")})
    assert posted.status_code == 204, posted.text
    while (status := http.get(info["token_url"] + form["status_url"], headers=auth).json())["status"] == "processing":
        time.sleep(0.1)
    assert status["status"] == "ready", status
    return time.perf_counter() - started, status


def signed_headers(url, credentials, range_header):
    request = AWSRequest(method="GET", url=url, headers={"Range": range_header})
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def median_ms(fn, rounds=RANGE_ROUNDS):
    fn()  # warm: connections, the edge's grant cache
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def range_getter(client, url, headers):
    def get():
        response = client.get(url, headers=headers)
        assert response.status_code == 206 and len(response.content) == RANGE_BYTES, response.status_code
    return get


def main():
    with tempfile.TemporaryDirectory(prefix="bench-local-stack-") as tmp:
        ready = []
        for run in range(READY_RUNS):
            stack = RunningStack(f"{tmp}/run{run}")
            ready.append(stack.ready_seconds)
            if run < READY_RUNS - 1:
                stack.stop()
        try:
            info = stack.info
            internal = json.loads((stack.state_dir / "internal.json").read_text())
            oac = internal["access_keys"]["cdn"]
            credentials = Credentials(oac["access_key_id"], oac["secret_access_key"])
            obj = next(o for o in info["objects"] if o["owner"] == "alice")
            range_header = f"bytes=0-{RANGE_BYTES - 1}"
            bucket_url = f"{info['s3_endpoint']}/{info['bucket']}{obj['path']}"
            # the same signed request (Host included) to the proxy and, over the socket, to moto
            bucket_headers = signed_headers(bucket_url, credentials, range_header)
            with httpx.Client(timeout=30) as http, \
                    httpx.Client(timeout=30, transport=httpx.HTTPTransport(uds=internal["moto_socket"])) as socket_http:
                app = http.post(f"{info['idp_url']}/login", json={"username": "alice", "password": next(
                    u["password"] for u in info["users"] if u["username"] == "alice")}).json()["access_token"]
                token = http.post(f"{info['token_url']}/token",
                                  headers={"Authorization": f"Bearer {app}"}).json()["access_token"]
                direct = median_ms(range_getter(socket_http, bucket_url, bucket_headers))
                proxy = median_ms(range_getter(http, bucket_url, bucket_headers))
                cdn = median_ms(range_getter(http, info["cdn_url"] + obj["path"],
                                             {"Authorization": f"Bearer {token}", "Range": range_header}))
                clip = make_clip(pathlib.Path(tmp, "IMG_0001.MOV"), **PHONE_CLIP)
                clip_mb = clip.stat().st_size / 1e6
                to_ready, asset = upload_to_ready(http, info, app, clip)
        finally:
            stack.stop()
    ready_median = statistics.median(ready)
    print(f"ready runs: {', '.join(f'{r:.2f} s' for r in ready)}; 1 MB range GET medians of {RANGE_ROUNDS}: "
          f"direct {direct:.2f} ms, proxy {proxy:.2f} ms, stand-in {cdn:.2f} ms; phone clip "
          f"({clip_mb:.1f} MB) ready in {to_ready:.1f} s as {asset['width']}x{asset['height']} "
          f"{asset['processing']}")
    report.comparison(DIRECT, "the same SigV4-signed 1 MB range GET sent straight to moto on its private Unix "
                              "socket by the same client (httpx), this run")
    report.figure(f"Local stack ready (python -m local_stack until stack.json), median of {READY_RUNS}",
                  f"{ready_median:.2f} s", f"<= {READY_TARGET_SECONDS} s", ready_median <= READY_TARGET_SECONDS)
    report.figure("1 MB range GET through the CloudFront stand-in (edge, proxy, moto)",
                  f"{cdn:.2f} ms = {cdn / direct:.2f}x {DIRECT}", f"<= {CDN_RATIO_TARGET:g}x {DIRECT}",
                  cdn / direct <= CDN_RATIO_TARGET)
    report.figure("1 MB range GET through the moto proxy (the advertised S3 endpoint)",
                  f"{proxy:.2f} ms = {proxy / direct:.2f}x {DIRECT}", f"<= {PROXY_RATIO_TARGET:g}x {DIRECT}",
                  proxy / direct <= PROXY_RATIO_TARGET)
    report.figure(f"Upload to ready: {PHONE_CLIP_SECONDS} s phone-like clip (1080p HEVC 10-bit MOV, rotated) "
                  "through make dev, one run", f"{to_ready:.1f} s = {to_ready / PHONE_CLIP_SECONDS:.2f}x its duration")


if __name__ == "__main__":
    main()
