"""Edge benchmarks: package size, cold start, warm and first-sight verification, and the anchor.

The anchor is the seed's design, measured in the same run: every request calls SSM GetParameter
(a local moto server over HTTP) and decodes the token with PyJWT + cryptography.
Figures are medians over rounds; ratios are against numbers from this same run.
"""
import copy
import json
import pathlib
import statistics
import subprocess
import tempfile
import time
import zipfile

import boto3
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa
from jwt.algorithms import RSAAlgorithm

from bench import report
from edge import keys as edge_keys
from edge import paths
from edge.authorizer import Authorizer
from edge.config import load_config
from edge.package import DEFAULT_RUNTIME, build_package, find_interpreter
from tests.cf import bearer, viewer_request
from tests.servers import moto_server

ISSUER, AUDIENCE = "https://tokens.example.com", "media.example.com"
ROUNDS = 15
COLD_ROUNDS = 21
ZIP_TARGET = 64 * 1024

COLD_START = r"""
import time
t0 = time.perf_counter()
import json, sys
import edge.handler
event = json.loads(sys.argv[1])
result = edge.handler.handler(event, None)
t1 = time.perf_counter()
assert result.get("uri"), result
print(int((t1 - t0) * 1e6))
"""


def zip_size_and_cold_start(raw_config, event):
    """The zip's size, and a cold start of a fresh python3.13 from it: read-only as on Lambda, against
    the same code with bytecode Python compiled in place (the best a cold start can do)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        package = build_package(raw_config, tmp / "edge.zip", runtime=DEFAULT_RUNTIME)
        size = package.stat().st_size
        report.figure("Edge zip size", f"{size:,} bytes", f"<= {ZIP_TARGET // 1024} KB", size <= ZIP_TARGET)
        python = find_interpreter(DEFAULT_RUNTIME)
        if python is None:
            report.figure("Cold start", f"not measured: no {DEFAULT_RUNTIME} here", "", None)
            return
        tasks = {name: tmp / name for name in ("read-only zip", "read-only source only", "compiled in place")}
        with zipfile.ZipFile(package) as archive:
            archive.extractall(tasks["read-only zip"])
            without_bytecode = [n for n in archive.namelist() if "__pycache__" not in n]
            archive.extractall(tasks["read-only source only"], members=without_bytecode)
            archive.extractall(tasks["compiled in place"], members=without_bytecode)

        def cold_start(name, *flags):
            """ms from the first import to the first verified request, in a fresh process."""
            out = subprocess.run([python, *flags, "-c", COLD_START, event], cwd=tasks[name], check=True,
                                 capture_output=True, text=True, env={"PYTHONPATH": str(tasks[name])}).stdout
            return int(out.split()[-1]) / 1e3  # the last line; the handler logs its decision first

        cold_start("compiled in place")  # the warm-up run writes __pycache__
        assert (tasks["compiled in place"] / "edge/__pycache__").is_dir()
        for name in ("read-only zip", "read-only source only"):
            subprocess.run(["chmod", "-R", "a-w", str(tasks[name])], check=True)
        samples = {name: [] for name in tasks}
        try:
            for _ in range(COLD_ROUNDS):
                for name in tasks:
                    # -B too: chmod does not stop root, and /var/task stops everyone.
                    samples[name].append(cold_start(name, *(["-B"] if name.startswith("read-only") else [])))
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(tmp)], check=True)
        assert not (tasks["read-only source only"] / "edge/__pycache__").exists()
    ms = {name: statistics.median(values) for name, values in samples.items()}
    base = ms["compiled in place"]
    report.comparison("compiled in place", f"the same modules extracted writable, after a warm-up run wrote "
                                           f"their __pycache__: {DEFAULT_RUNTIME} loading bytecode it compiled itself")
    report.figure(f"Cold start, read-only zip ({DEFAULT_RUNTIME}, import + first verify)",
                  f"{ms['read-only zip']:.1f} ms = {ms['read-only zip'] / base:.2f}x compiled in place",
                  "<= 1.25x", ms["read-only zip"] / base <= 1.25)
    report.figure("Cold start, read-only, source only (no bytecode in the zip)",
                  f"{ms['read-only source only']:.1f} ms = {ms['read-only source only'] / base:.2f}x compiled in place")
    report.figure("Cold start, compiled in place", f"{base:.1f} ms")


def median_per_call(fn, items, rounds=ROUNDS):
    """Median over rounds of the mean time per call (µs) of fn over items."""
    samples = []
    for _ in range(rounds):
        batch = [copy.deepcopy(i) for i in items] if isinstance(items[0], dict) else list(items)
        start = time.perf_counter()
        for item in batch:
            fn(item)
        samples.append((time.perf_counter() - start) / len(batch) * 1e6)
    return statistics.median(samples)


def range_request(token):
    """One range request of a playback, as CloudFront hands it to the function."""
    return viewer_request(headers={**bearer(token), "Range": "bytes=0-1048575"})


def scope_worst_case(key, raw_config, now):
    """The slowest scope check a member can cause: a token as large as the edge can be configured
    to accept, its `paths` full of 2,048-character entries with one '*' in every segment, each
    failing only at the last segment of a 2,048-character path."""
    most_bytes = 16384  # the largest max_token_bytes the edge config allows
    segments = (paths.MAX_URI_LENGTH - 2) // 2
    entry = "/" + "/".join(["*"] * segments) + "/b"
    path = "/" + "/".join(["a"] * segments) + "/c"

    def mint(entries):
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "member", "iat": now, "nbf": now, "exp": now + 300,
                  "paths": entries}
        return jwt.encode(claims, key, "RS256", headers={"kid": "k1"})

    entries = [entry]
    while len(mint(entries + [entry])) <= most_bytes:
        entries.append(entry)
    edge = Authorizer(load_config({**raw_config, "max_token_bytes": most_bytes}), log=lambda line: None)
    denied = edge.handle(viewer_request(uri=path, headers=bearer(mint(entries))))
    assert denied.get("status") == "403", denied  # the edge accepts the token and refuses the path

    in_scope = paths.compile_scope(entries)
    us = median_per_call(in_scope, [path] * 50)
    report.figure(f"Scope match, worst case ({len(entries)} entries of {segments:,} one-star segments "
                  f"in a {most_bytes // 1024} KB token, {len(path):,}-char path)", f"{us:,.0f} µs",
                  "microseconds", us < 1000)


def main():
    key = crypto_rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "use": "sig", "alg": "RS256"}
    raw_config = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": {"keys": [jwk]},
                  "cors_allowed_origins": ["https://app.example.com"]}
    now = int(time.time())

    def mint(n):
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"u{n}", "iat": now, "nbf": now, "exp": now + 300,
                  "jti": f"j{n}", "paths": [f"/videos/u42/"]}
        return jwt.encode(claims, key, "RS256", headers={"kid": "k1"})

    tokens = [mint(n) for n in range(400)]
    scope_worst_case(key, raw_config, now)
    zip_size_and_cold_start(raw_config, json.dumps(range_request(tokens[0])))
    rows = []

    devnull = open("/dev/null", "w")
    log = lambda line: print(line, file=devnull)  # the real print path, as on Lambda
    config = load_config(raw_config)

    # Warm: the same token again (one playback's range requests).
    warm_edge = Authorizer(config, log=log)
    warm_edge.handle(range_request(tokens[0]))
    warm_us = median_per_call(warm_edge.handle, [range_request(tokens[0])] * 2000)

    # First sight of each token, key cached: every call verifies RSA. Fresh authorizer per round.
    def first_sight(backend_libcrypto):
        saved = edge_keys._libcrypto
        edge_keys._libcrypto = backend_libcrypto
        try:
            samples = []
            for _ in range(ROUNDS):
                edge = Authorizer(config, log=log)
                events = [range_request(t) for t in tokens]
                start = time.perf_counter()
                for e in events:
                    edge.handle(e)
                samples.append((time.perf_counter() - start) / len(events) * 1e6)
                assert len(edge.cache) == len(tokens)  # every call verified, none denied
            return statistics.median(samples)
        finally:
            edge_keys._libcrypto = saved

    first_openssl = first_sight(edge_keys._libcrypto)
    first_pure = first_sight(None)

    public = key.public_key()
    pyjwt_us = median_per_call(
        lambda t: jwt.decode(t, public, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER), tokens)

    # Anchor: the seed's design, per request: SSM GetParameter (moto over HTTP) + PyJWT decode.
    with moto_server() as moto_url:
        ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ssm.put_parameter(Name="/media/jwks", Type="String", Value=json.dumps({"keys": [jwk]}))

        def seed_design(token):
            document = json.loads(ssm.get_parameter(Name="/media/jwks")["Parameter"]["Value"])
            public_key = RSAAlgorithm.from_jwk(document["keys"][0])
            jwt.decode(token, public_key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)

        anchor_us = median_per_call(seed_design, tokens[:40], rounds=7)

    rows += [
        ("warm, token already verified", f"{warm_us:.1f} µs", "target <= 25 µs"),
        ("first sight, OpenSSL via _ssl", f"{first_openssl:.1f} µs",
         f"{first_openssl / pyjwt_us:.2f}x PyJWT (target <= 1.5x)"),
        ("first sight, pure-Python fallback", f"{first_pure:.1f} µs", f"{first_pure / pyjwt_us:.2f}x PyJWT"),
        ("PyJWT+cryptography jwt.decode (reference)", f"{pyjwt_us:.1f} µs", "1.00x"),
        ("anchor: seed design (SSM per request + PyJWT)", f"{anchor_us:.0f} µs", "1.00x anchor"),
        ("  speedup vs anchor, warm", f"{anchor_us / warm_us:,.0f}x", ""),
        ("  speedup vs anchor, first sight", f"{anchor_us / first_openssl:,.0f}x", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>22}  {note}")


if __name__ == "__main__":
    main()
