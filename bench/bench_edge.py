"""Edge benchmarks: package size, cold start, scope matching, warm and first-sight verification.

Comparison points are measured in the same run: PyJWT + cryptography decoding the same tokens,
and the original design (SSM GetParameter over HTTP to a local moto server, then PyJWT, on every
request). In-process figures are CPU time of this thread (other load on the shared machine does not
count), medians over rounds; ratios are per round, the two sides measured back to back.
"""
import copy
import hashlib
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
from edge import paths, strict
from edge import tokens as edge_tokens
from edge.authorizer import Authorizer, log_line
from edge.cache import GrantCache
from edge.config import load_config
from edge.package import DEFAULT_RUNTIME, build_package, find_interpreter
from token_service import scopes
from tests.cf import bearer, viewer_request
from tests.servers import moto_server

ISSUER, AUDIENCE = "https://tokens.example.com", "media.example.com"
ROUNDS = 15
COLD_ROUNDS = 21
ZIP_TARGET = 128 * 1024  # the edge zip budget (developers' guide): cold start grows with it

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


def per_call(fn, items, clock=time.thread_time):
    """Mean time per call (µs) of fn over items, once; dict items (events) are copied first, as
    the handler takes the token out of the event it is given."""
    batch = [copy.deepcopy(i) for i in items] if isinstance(items[0], dict) else list(items)
    start = clock()
    for item in batch:
        fn(item)
    return (clock() - start) / len(batch) * 1e6


def median_per_call(fn, items, rounds=ROUNDS, clock=time.thread_time):
    """Median over rounds of the mean time per call (µs) of fn over items."""
    return statistics.median(per_call(fn, items, clock) for _ in range(rounds))


def range_request(token):
    """One range request of a playback, as CloudFront hands it to the function."""
    return viewer_request(headers={**bearer(token), "Range": "bytes=0-1048575"})


def scope_worst_case(key, raw_config, now):
    """The slowest scope checks a member can cause. Each entry has a '*' and fails only at the last
    of the four per-segment checks (the length), at its last segment, so every segment is compared
    four times. Two figures: any token the edge accepts (as large as its config allows, 2,048-character
    entries), and the most a token minted by the token service allows (token_service.scopes' bounds)."""
    most_bytes = 16384  # the largest max_token_bytes the edge config allows
    segments = (paths.MAX_URI_LENGTH - 2) // 2
    entry = "/*" + "/a" * (segments - 1)
    path = "/x" + "/a" * (segments - 2) + "/aa"

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
    us = median_per_call(paths.compile_scope(entries), [path] * 50)
    report.figure(f"Scope match, worst case of any token ({len(entries)} entries of {segments:,} segments "
                  f"in a {most_bytes // 1024} KB token, {len(path):,}-char path)", f"{us:,.0f} µs")

    per_entry = scopes.MAX_STAR_SEGMENTS // scopes.MAX_STAR_ENTRIES
    # Prefix entries (so a longer path passes the count check), distinct by their '*' segment.
    starred = [f"/videos/u42/{'x' * n}*" + "/a" * (per_entry - 3) + "/" for n in range(scopes.MAX_STAR_ENTRIES)]
    plain = [f"/videos/u42/{n}/" + "a" * 400 + "/" for n in range(scopes.MAX_ENTRIES - len(starred))]
    minted = list(scopes.narrow(starred + plain, ("/videos/u42/",)))  # the service would mint this
    path = "/videos/u42/" + "x" * 8 + "/a" * (per_entry - 4) + "/aa" + "/a" * 900
    assert not paths.compile_scope(minted)(path)
    us = median_per_call(paths.compile_scope(minted), [path] * 200)
    report.figure(f"Scope match, the most a minted token allows ({scopes.MAX_STAR_ENTRIES} entries with a '*', "
                  f"{scopes.MAX_STAR_SEGMENTS} segments, {len(plain)} prefixes; {len(path):,}-char path)",
                  f"{us:,.1f} µs", "≤ 20 µs", us <= 20)


def warm_call(raw_config, token, log):
    """One playback's range requests: the same token again, its grant cached."""
    edge = Authorizer(load_config(raw_config), log=log)
    edge.handle(range_request(token))
    us = median_per_call(edge.handle, [range_request(token)] * 2000)
    report.figure("Warm call (token already verified)", f"{us:.1f} µs", "<= 25 µs", us <= 25)
    return us


def first_sight(key, raw_config, tokens, unseen, now, log):
    """Tokens never seen before, their key loaded: the whole handler against PyJWT decoding the same
    tokens, and where the handler's microseconds go (each part timed alone on the same tokens)."""
    config = load_config(raw_config)
    public = key.public_key()
    libcrypto = edge_keys._libcrypto
    verifier = edge_keys.verifiers(raw_config["jwks"])["k1"]
    segments = [edge_tokens.split(t, config.max_token_bytes) for t in tokens]
    signed = [(f"{h}.{p}".encode("ascii"), strict.b64url_decode(s)) for h, p, s in segments]
    payloads = [strict.b64url_decode(p) for _, p, _ in segments]
    grant = edge_tokens.check_claims(strict.json_object(payloads[0]), "k1", verifier, config, now)
    records = [{"outcome": "allow", "status": None, "reason": "ok", "kid": "k1", "sub": f"u{n}",
                "uri": "/videos/u42/profile.mp4", "cache": "miss", "us": 30} for n in range(len(tokens))]

    def handler(batch, backend=libcrypto):
        saved, edge_keys._libcrypto = edge_keys._libcrypto, backend
        try:
            edge = Authorizer(config, log=log)  # its verifiers use `backend`
        finally:
            edge_keys._libcrypto = saved
        us = per_call(edge.handle, [range_request(t) for t in batch])
        assert len(edge.cache) == len(batch)  # every call verified, none denied
        return us

    def pyjwt_decode(token):
        jwt.decode(token, public, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)

    def bare_verify(message_and_signature):
        message, signature = message_and_signature
        digest = hashlib.sha256(message).digest()
        assert libcrypto.EVP_PKEY_verify(verifier._ctx, signature, len(signature), digest, len(digest)) == 1

    def parse(token):  # what tokens.verify does before the signature, the header already known
        _, payload, signature = edge_tokens.split(token, config.max_token_bytes)
        strict.b64url_decode(payload)
        strict.b64url_decode(signature)

    def grant_cache():
        cache = GrantCache(config.token_cache_entries)
        return per_call(lambda token: cache.get(token, now) or cache.put(token, grant, now), tokens)

    measures = {
        "handler": lambda: handler(tokens),
        "pyjwt": lambda: per_call(pyjwt_decode, tokens),
        "floor": lambda: per_call(bare_verify, signed),
        "verify": lambda: per_call(lambda pair: verifier(*pair), signed),
        "parse": lambda: per_call(parse, tokens),
        "claims": lambda: per_call(
            lambda payload: edge_tokens.check_claims(strict.json_object(payload), "k1", verifier, config, now),
            payloads),
        "cache": grant_cache,
        "log": lambda: per_call(lambda record: log(log_line(record)), records),
        "unseen": lambda: handler(unseen),
    }
    samples = {name: [] for name in measures}
    for _ in range(ROUNDS):  # every part in every round: the ratios compare neighbours in time
        for name, measure in measures.items():
            samples[name].append(measure())
    pure = statistics.median(handler(tokens[:50], None) / per_call(pyjwt_decode, tokens[:50]) for _ in range(5))

    us = {name: statistics.median(values) for name, values in samples.items()}
    ratio = {name: statistics.median(a / b for a, b in zip(samples[name], samples["pyjwt"]))
             for name in ("handler", "floor", "unseen")}
    report.comparison("PyJWT decode", "jwt.decode of the same tokens by PyJWT + cryptography: key object ready, "
                                      "signature and iss, aud, exp, nbf, iat checked, in this run")
    report.figure("First sight of a token (whole handler, OpenSSL)",
                  f"{ratio['handler']:.2f}x PyJWT decode ({us['handler']:.1f} vs {us['pyjwt']:.1f} µs)",
                  "<= 0.6x PyJWT decode", ratio["handler"] <= 0.6)
    parts = [
        ("First sight: RS256 verify, bare OpenSSL (SHA-256 + one EVP_PKEY_verify): the floor", us["floor"]),
        ("First sight: RS256 verify, the verifier call around it", us["verify"] - us["floor"]),
        ("First sight: parse + canonical base64url check", us["parse"]),
        ("First sight: payload JSON + claims + scope", us["claims"]),
        ("First sight: grant cache (miss + insert)", us["cache"]),
        ("First sight: log line (JSON + print)", us["log"]),
    ]
    parts.append(("First sight: rest of the handler (path, token taken out, dispatch)",
                  us["handler"] - sum(part for _, part in parts)))
    for name, part in parts:
        report.figure(name, f"{part:.1f} µs")
    report.figure("First sight, bare OpenSSL verify alone (the floor)", f"{ratio['floor']:.2f}x PyJWT decode")
    report.figure("First sight, header never seen before (parsed, not remembered)",
                  f"{ratio['unseen']:.2f}x PyJWT decode ({us['unseen']:.1f} µs)")
    report.figure("First sight, pure-Python RSA fallback", f"{pure:.1f}x PyJWT decode")
    return us["handler"]


def per_request_ssm(jwk, tokens, warm_us, first_us):
    """The original design, per request: SSM GetParameter (moto over HTTP), then PyJWT decode."""
    with moto_server() as moto_url:
        ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ssm.put_parameter(Name="/media/jwks", Type="String", Value=json.dumps({"keys": [jwk]}))

        def original_design(token):
            document = json.loads(ssm.get_parameter(Name="/media/jwks")["Parameter"]["Value"])
            public_key = RSAAlgorithm.from_jwk(document["keys"][0])
            jwt.decode(token, public_key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)

        # Wall time: most of it is waiting for the SSM answer.
        us = median_per_call(original_design, tokens[:40], rounds=7, clock=time.perf_counter)
    report.comparison("Per-request SSM + PyJWT", "what the original design did: read the key set from SSM "
                                                 "(moto over HTTP) and decode with PyJWT on every request")
    report.figure("Per-request SSM + PyJWT (wall time)", f"{us:,.0f} µs")
    report.figure("Speed-up vs per-request SSM + PyJWT, warm call", f"{us / warm_us:,.0f}x")
    report.figure("Speed-up vs per-request SSM + PyJWT, first sight", f"{us / first_us:,.0f}x")


def main():
    key = crypto_rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "use": "sig", "alg": "RS256"}
    raw_config = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": {"keys": [jwk]},
                  "cors_allowed_origins": ["https://app.example.com"]}
    now = int(time.time())

    def mint(n, header=None):
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"u{n}", "iat": now, "nbf": now, "exp": now + 300,
                  "jti": f"j{n}", "paths": ["/videos/u42/"]}
        return jwt.encode(claims, key, "RS256", headers={"kid": "k1", **(header or {})})

    tokens = [mint(n) for n in range(400)]
    scope_worst_case(key, raw_config, now)
    zip_size_and_cold_start(raw_config, json.dumps(range_request(tokens[0])))
    with open("/dev/null", "w") as devnull:
        log = lambda line: print(line, file=devnull)  # the real print path, as on Lambda
        warm_us = warm_call(raw_config, tokens[0], log)
        unseen = [mint(n, {"n": n}) for n in range(len(tokens))]  # each with a header of its own
        first_us = first_sight(key, raw_config, tokens, unseen, now, log)
    per_request_ssm(jwk, tokens, warm_us, first_us)


if __name__ == "__main__":
    main()
