"""Local stack benchmarks: time to ready, and a 1 MB range GET through the CloudFront stand-in.

- Ready: from starting `python -m local_stack` (the path `make dev` takes, on a warm .venv) until
  it has written stack.json, every part answering. Target: within 10 s.
- 1 MB range GET: through the stand-in (edge handler from the built zip, SigV4 to moto, streamed
  back) against the anchor measured in the same run, a direct SigV4-signed GET of the same range
  from moto by the same client. Target: within 3x.
"""
import json
import statistics
import tempfile
import time

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local_stack.launcher import RunningStack

READY_RUNS = 3
READY_TARGET_SECONDS = 10
RANGE_BYTES = 1024 * 1024
RANGE_ROUNDS = 40
RATIO_TARGET = 3.0


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
            obj = next(o for o in info["objects"] if o["owner"] == "alice")
            oac = json.loads((stack.state_dir / "cdn-stand-in.json").read_text())["oac_credentials"]
            credentials = Credentials(oac["access_key_id"], oac["secret_access_key"])
            range_header = f"bytes=0-{RANGE_BYTES - 1}"
            with httpx.Client(timeout=30) as http:
                app = http.post(f"{info['idp_url']}/login", json={"username": "alice", "password": next(
                    u["password"] for u in info["users"] if u["username"] == "alice")}).json()["access_token"]
                token = http.post(f"{info['token_url']}/token",
                                  headers={"Authorization": f"Bearer {app}"}).json()["access_token"]
                cdn_url = info["cdn_url"] + obj["path"]
                bucket_url = f"{info['s3_endpoint']}/{info['bucket']}{obj['path']}"

                def through_cdn():
                    response = http.get(cdn_url, headers={"Authorization": f"Bearer {token}", "Range": range_header})
                    assert response.status_code == 206 and len(response.content) == RANGE_BYTES

                def direct():
                    response = http.get(bucket_url, headers=signed_headers(bucket_url, credentials, range_header))
                    assert response.status_code == 206 and len(response.content) == RANGE_BYTES

                anchor = median_ms(direct)
                cdn = median_ms(through_cdn)
        finally:
            stack.stop()
    ready_median = statistics.median(ready)
    ratio = cdn / anchor
    print(f"stack ready (python -m local_stack -> stack.json), median of {READY_RUNS}: {ready_median:.2f} s "
          f"(runs {', '.join(f'{r:.2f}' for r in ready)}; target <= {READY_TARGET_SECONDS} s: "
          f"{'met' if ready_median <= READY_TARGET_SECONDS else 'MISSED'})")
    print(f"1 MB range GET, median of {RANGE_ROUNDS}: through the stand-in {cdn:.2f} ms, "
          f"direct signed GET of moto (anchor) {anchor:.2f} ms")
    print(f"ratio stand-in / direct: {ratio:.2f}x (target <= {RATIO_TARGET}x: "
          f"{'met' if ratio <= RATIO_TARGET else 'MISSED'})")


if __name__ == "__main__":
    main()
