"""Log bytes per viewer request at each allow_log_sample_rate, and what they cost.

The handler runs over a mix shaped like playbacks (per 100 requests: one CORS preflight, 96 range
requests with one token, three refusals: no token, out of scope, expired) in one container that
answers 20 requests a second (so a summary line every 1,200 requests). Every line it logs is counted
as CloudWatch stores it (the message and its newline). Lambda's own START/END/REPORT lines are
estimated from their documented text format (AWS Lambda Developer Guide, "Using CloudWatch Logs with
Lambda"); the stack turns them off (JSON log format, system log level WARN: docs/operations.md).
"""
import copy
import json
import statistics
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa
from jwt.algorithms import RSAAlgorithm

from bench import report
from edge.authorizer import Authorizer
from edge.config import load_config
from tests.cf import bearer, viewer_request

ISSUER, AUDIENCE = "https://tokens.example.com", "media.example.com"
RATES = (1.0, 0.1, 0.01, 0.001, 0.0)  # 1.0 is the edge as it was: a line per request
STACK_DEFAULT = 0.01  # Pulumi.yaml, edgeAllowLogSampleRate
CYCLES = 300  # of 100 requests each
REQUESTS_PER_SECOND = 20  # one container's traffic
INGESTION_USD_PER_GB = 0.50  # CloudWatch Logs, Lambda logs' first tier, US East (docs/operations.md)
ROUNDS = 9


def platform_lines():
    """START, END and REPORT of one warm invocation in Lambda's text format, as the docs show them."""
    request_id = str(uuid.uuid4())
    return [f"START RequestId: {request_id} Version: 12\n",
            f"END RequestId: {request_id}\n",
            f"REPORT RequestId: {request_id}\tDuration: 1.27 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
            f"Max Memory Used: 47 MB\t\n"]


def mix(key, now):
    """CYCLES x 100 viewer-request events and whether each is an allowed range request."""
    def mint(n, issued):
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"member-{n}", "iat": issued, "nbf": issued,
                "exp": issued + 300, "jti": f"j{n}", "paths": [f"/videos/member-{n}/"]}
        return jwt.encode(body, key, "RS256", headers={"kid": "k1"})

    events = []
    for n in range(CYCLES):
        uri = f"/videos/member-{n}/holiday-2024.mp4"
        started = now + n * 100 // REQUESTS_PER_SECOND  # when the container sees this cycle
        token = mint(n, started)
        events.append((viewer_request(uri=uri, method="OPTIONS", headers={"Origin": "https://app.example.com"}),
                       False))
        events += [(viewer_request(uri=uri, headers={**bearer(token), "Range": f"bytes={i << 20}-{(i + 1 << 20) - 1}",
                                                     "Origin": "https://app.example.com"}), True) for i in range(96)]
        events.append((viewer_request(uri=uri), False))
        events.append((viewer_request(uri=f"/videos/member-{n + 1}/x.mp4", headers=bearer(token)), False))
        events.append((viewer_request(uri=uri, headers=bearer(mint(n, started - 900))), False))
    return events


def run(raw_config, rate, events, now):
    """Bytes logged by one container over the mix: (allowed lines, summary lines, other lines)."""
    clock = [now]
    written = {"allow": 0, "summary": 0, "other": 0}

    def log(line):
        kind = "summary" if line.startswith('{"event": "summary"') else (
            "allow" if line.startswith('{"outcome": "allow"') else "other")
        written[kind] += len(line.encode()) + 1

    edge = Authorizer(load_config({**raw_config, "allow_log_sample_rate": rate}), clock=lambda: clock[0], log=log)
    for event, _ in copy.deepcopy(events):
        edge.handle(event)
        clock[0] += 1 / REQUESTS_PER_SECOND
    return written


def warm_us(raw_config, rate, token):
    """CPU µs per allowed range request, its grant cached, printing what it logs to /dev/null."""
    with open("/dev/null", "w") as devnull:
        edge = Authorizer(load_config({**raw_config, "allow_log_sample_rate": rate}),
                          log=lambda line: print(line, file=devnull))
        event = viewer_request(headers={**bearer(token), "Range": "bytes=0-1048575"})
        edge.handle(copy.deepcopy(event))
        batch = [copy.deepcopy(event) for _ in range(3000)]
        start = time.thread_time()
        for item in batch:
            edge.handle(item)
        return (time.thread_time() - start) / len(batch) * 1e6


def main():
    key = crypto_rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "use": "sig", "alg": "RS256"}
    raw_config = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": {"keys": [jwk]},
                  "cors_allowed_origins": ["https://app.example.com"]}
    now = int(time.time())
    events = mix(key, now)
    requests = len(events)
    allowed = sum(is_allowed for _, is_allowed in events)
    platform = sum(len(line.encode()) for line in platform_lines())

    results = {rate: run(raw_config, rate, events, now) for rate in RATES}
    today_allow = results[1.0]["allow"] / allowed  # the edge before sampling: a line per allowed request
    report.comparison("one line per request", f"the edge before sampling (rate 1): {today_allow:.0f} bytes of "
                                              f"log per allowed request, in this run")
    report.figure("Mix", f"{requests:,} requests in one container at {REQUESTS_PER_SECOND}/s: {allowed / requests:.0%} "
                         f"allowed range requests, 3% refused, 1% preflights")
    report.figure("Lambda START/END/REPORT, text format (estimated)", f"{platform} bytes per request",
                  "0 with JSON format + system level WARN")
    for rate, written in results.items():
        edge_bytes = sum(written.values())
        per_allowed = (written["allow"] + written["summary"]) / allowed
        name = f"Edge log bytes, allow_log_sample_rate {rate:g}" + (" (stack default)" if rate == STACK_DEFAULT
                                                                   else " (as before)" if rate == 1 else "")
        ratio = per_allowed / today_allow
        report.figure(name, f"{edge_bytes / requests:.1f} per request; {per_allowed:.1f} per allowed "
                            f"= {ratio:.3f}x one line per request",
                      "<= 0.10x" if rate == STACK_DEFAULT else "", ratio <= 0.10 if rate == STACK_DEFAULT else None)
    for label, rate, platform_bytes in (("as before: every line, text format", 1.0, platform),
                                        ("stack default: sampled, JSON + WARN", STACK_DEFAULT, 0)):
        per_request = sum(results[rate].values()) / requests + platform_bytes
        report.figure(f"All log bytes per request, {label}",
                      f"{per_request:.0f} bytes = ${per_request * 1e6 / 1e9 * INGESTION_USD_PER_GB:.3f} per million "
                      f"requests at ${INGESTION_USD_PER_GB:.2f}/GB")

    token = events[1][0]["Records"][0]["cf"]["request"]["headers"]["authorization"][0]["value"][len("Bearer "):]
    ratios = []
    for _ in range(ROUNDS):  # neighbours in time: the machine is shared
        every, sampled = warm_us(raw_config, 1.0, token), warm_us(raw_config, STACK_DEFAULT, token)
        ratios.append((sampled / every, every, sampled))
    ratio, every, sampled = sorted(ratios)[len(ratios) // 2]
    report.figure(f"Warm call at rate {STACK_DEFAULT:g} vs rate 1 (every line printed)",
                  f"{ratio:.2f}x ({sampled:.1f} vs {every:.1f} µs)", "<= 1.0x", ratio <= 1.0)


if __name__ == "__main__":
    main()
