"""Token service benchmark: real uvicorn (one worker) in a subprocess, a load generator in another
process over loopback, and an anchor measured in this run: a bare in-process RS256 signing loop
doing the same signing work as the service (claims JSON, base64url, one RSA-2048 signature).

Records in bench.report, as medians over interleaved rounds (the machine is shared, so anchor and
service are measured side by side):
  - POST /token throughput at 32 clients vs the signing loop (target >= 70%), and CPU per request
  - p99 latency at 32 concurrent clients (target <= 50 ms)
  - a 64-client soak (default 60 s): errors (target 0) and server RSS at start and end (flat)
  - for comparison only: the service with 2 workers (one per core) against the same anchor

    python -m bench token_service                       # via the runner (`make bench`)
    python -m bench.bench_token_service --soak-seconds 10
    BENCH_TOKEN_SERVICE_SOAK_SECONDS=10 make bench
"""
import argparse
import asyncio
import json
import os
import pathlib
import secrets
import statistics
import subprocess
import sys
import tempfile
import time

from bench import report
from tests.servers import free_port

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROUNDS = 3
ANCHOR_SECONDS = 2.0
LOAD_SECONDS = 5.0
WARMUP_SECONDS = 2.0
CLIENTS = 32
SOAK_CLIENTS = 64
APP_TOKENS = 2000  # distinct callers; each app token is verified once, then served from the cache
ISSUER, AUDIENCE = "https://tokens.bench", "media.bench"
IDP_ISSUER, IDP_AUDIENCE = "https://idp.bench", "app.bench"


# --- the anchor: the same signing work as the service, in a bare loop -------------------------

def signing_loop_rate(private_key, seconds: float) -> tuple:
    """(tokens per second, CPU seconds per token) from a bare loop: claims JSON + base64url +
    one RS256 signature each."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from token_service.keys import b64url

    header_b64 = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "bench"}, separators=(",", ":")).encode())
    count, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while True:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"u{count}", "iat": now, "nbf": now, "exp": now + 300,
                  "jti": secrets.token_urlsafe(16)}
        signing_input = f"{header_b64}.{b64url(json.dumps(claims, separators=(',', ':')).encode())}"
        signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input}.{b64url(signature)}"  # the service builds this string too
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return count / elapsed, (time.process_time() - cpu_started) / count


# --- the load generator (runs in its own process) ---------------------------------------------

async def _client(host, port, requests, deadline, latencies, errors):
    reader, writer = await asyncio.open_connection(host, port)
    index = 0
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(requests[index % len(requests)])
            index += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            if head[9:12] != b"200" or b'"access_token"' not in body:
                errors.append(head[9:12].decode())
            latencies.append(time.perf_counter() - started)
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(type(exc).__name__)
    finally:
        writer.close()


async def _load(host, port, tokens, clients, seconds):
    requests = [(f"POST /token HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Length: 0\r\n\r\n").encode() for token in tokens]
    latencies, errors = [], []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    # Each client starts at its own place in the token list, so callers interleave.
    share = max(1, len(requests) // clients)
    await asyncio.gather(*(_client(host, port, requests[n * share:] + requests[:n * share], deadline,
                                   latencies, errors) for n in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies), "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
        "seconds": elapsed, "rate": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
    }


def run_load(port, tokens_file, clients, seconds) -> dict:
    """Runs the load generator in a separate process and returns its summary."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.bench_token_service", "--load-generator", str(port), str(tokens_file),
         str(clients), str(seconds)],
        cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120, check=True)
    return json.loads(result.stdout)


# --- the service under test --------------------------------------------------------------------

def cpu_seconds(pid) -> float:
    """User + system CPU time of a process so far (from /proc: it is not our child's rusage yet)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start_service(workdir: pathlib.Path, port: int, workers: int = 1) -> subprocess.Popen:
    import httpx

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TOKEN_SERVICE_")},
           "TOKEN_SERVICE_ISSUER": ISSUER, "TOKEN_SERVICE_AUDIENCE": AUDIENCE,
           "TOKEN_SERVICE_SIGNING_KEY_FILE": str(workdir / "signing.pem"),
           "TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE": str(workdir / "idp.pub.pem"),
           "TOKEN_SERVICE_IDP_ISSUER": IDP_ISSUER, "TOKEN_SERVICE_IDP_AUDIENCE": IDP_AUDIENCE,
           "TOKEN_SERVICE_DEFAULT_PATHS": "/videos/{sub}/"}
    process = subprocess.Popen([sys.executable, "-m", "token_service", "--port", str(port), "--workers", str(workers)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"token service exited: {process.stderr.read().decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("token service did not start")


def prepare(workdir: pathlib.Path):
    """Signing key and IdP key files, and APP_TOKENS distinct app tokens; returns the signing key."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from token_service import keys

    signing_key = keys.new_private_key()
    (workdir / "signing.pem").write_bytes(keys.private_key_pem(signing_key))
    idp_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (workdir / "idp.pub.pem").write_bytes(idp_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    expires = int(time.time()) + 3600
    tokens = [jwt.encode({"iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "sub": f"u{n}", "exp": expires}, idp_key, "RS256")
              for n in range(APP_TOKENS)]
    (workdir / "tokens.json").write_text(json.dumps(tokens))
    return signing_key


def measure_rounds(server, port, tokens_file, signing_key) -> dict:
    """Interleaved rounds of the anchor and of the service at CLIENTS clients: medians, and the rounds."""
    run_load(port, tokens_file, CLIENTS, WARMUP_SECONDS)
    rounds = []
    for _ in range(ROUNDS):
        anchor_rate, anchor_cpu = signing_loop_rate(signing_key, ANCHOR_SECONDS)
        cpu_before = cpu_seconds(server.pid)
        load = run_load(port, tokens_file, CLIENTS, LOAD_SECONDS)
        rounds.append({"anchor": anchor_rate, "anchor_cpu": anchor_cpu, "rate": load["rate"],
                       "ratio": load["rate"] / anchor_rate, "p50": load["p50_ms"], "p99": load["p99_ms"],
                       "errors": load["errors"],
                       "server_cpu": (cpu_seconds(server.pid) - cpu_before) / load["requests"]})
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    medians["errors"] = sum(r["errors"] for r in rounds)
    medians["rounds"] = rounds
    return medians


def report_rounds(m):
    anchor_rounds = ", ".join(f"{r['anchor']:.0f}" for r in m["rounds"])
    service_rounds = ", ".join(f"{r['rate']:.0f}" for r in m["rounds"])
    print(f"  rounds: anchor {anchor_rounds} tokens/s; service {service_rounds} req/s; errors {m['errors']}")
    report.comparison("bare signing loop", "the service's signing work in a bare in-process loop (claims JSON, "
                                           "base64url, one RSA-2048 signature), measured between the service's rounds")
    report.figure("Bare signing loop (anchor)", f"{m['anchor']:.0f} tokens/s ({m['anchor_cpu'] * 1e6:.0f} µs CPU each)")
    report.figure(f"POST /token, uvicorn, 1 worker, {CLIENTS} clients",
                  f"{m['rate']:.0f} req/s = {m['ratio']:.0%} of the bare signing loop", ">= 70%", m["ratio"] >= 0.7)
    report.figure("  server CPU per request", f"{m['server_cpu'] * 1e6:.0f} µs "
                  f"(bare loop {m['anchor_cpu'] * 1e6:.0f} µs: {m['anchor_cpu'] / m['server_cpu']:.0%})")
    report.figure(f"  latency at {CLIENTS} clients", f"p50 {m['p50']:.1f} ms, p99 {m['p99']:.1f} ms", "p99 <= 50 ms",
                  m["p99"] <= 50)


def soak(server, port, tokens_file, seconds):
    rss_start = rss_mb(server.pid)
    load = run_load(port, tokens_file, SOAK_CLIENTS, seconds)
    rss_end = rss_mb(server.pid)
    flat = rss_end - rss_start <= max(5.0, 0.1 * rss_start)
    print(f"  soak: {load['requests']} requests, {load['rate']:.0f} req/s, error kinds {load['error_kinds'] or 'none'}")
    report.figure(f"Soak, {SOAK_CLIENTS} clients for {load['seconds']:.0f} s: errors",
                  f"{load['errors']} of {load['requests']} (p99 {load['p99_ms']:.1f} ms)", "0", load["errors"] == 0)
    report.figure("  server RSS over the soak", f"{rss_start:.1f} -> {rss_end:.1f} MB ({rss_end - rss_start:+.1f} MB)",
                  "flat (<= +10% or +5 MB)", flat)


def two_workers(workdir, tokens_file, anchor):
    """Not a target: how far a second worker (one per core) takes throughput."""
    port = free_port()
    server = start_service(workdir, port, workers=2)
    try:
        run_load(port, tokens_file, CLIENTS, WARMUP_SECONDS)
        rate = run_load(port, tokens_file, CLIENTS, LOAD_SECONDS)["rate"]
        report.figure(f"POST /token, uvicorn, 2 workers (one per core), {CLIENTS} clients",
                      f"{rate:.0f} req/s = {rate / anchor:.0%} of the one-core loop")
    finally:
        server.terminate()
        server.wait(timeout=10)


def main(soak_seconds=None):
    soak_seconds = float(soak_seconds or os.environ.get("BENCH_TOKEN_SERVICE_SOAK_SECONDS", 60))
    with tempfile.TemporaryDirectory(prefix="bench-token-service-") as folder:
        workdir = pathlib.Path(folder)
        signing_key = prepare(workdir)
        tokens_file = workdir / "tokens.json"
        port = free_port()
        server = start_service(workdir, port)
        try:
            medians = measure_rounds(server, port, tokens_file, signing_key)
            report_rounds(medians)
            soak(server, port, tokens_file, soak_seconds)
        finally:
            server.terminate()
            server.wait(timeout=10)
        two_workers(workdir, tokens_file, medians["anchor"])


def _cli():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--soak-seconds", type=float, default=None)
    parser.add_argument("--load-generator", nargs=4, metavar=("PORT", "TOKENS_JSON", "CLIENTS", "SECONDS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_generator:
        port, tokens_file, clients, seconds = args.load_generator
        tokens = json.loads(pathlib.Path(tokens_file).read_text())
        print(json.dumps(asyncio.run(_load("127.0.0.1", int(port), tokens, int(clients), float(seconds)))))
    else:
        main(args.soak_seconds)


if __name__ == "__main__":
    _cli()
