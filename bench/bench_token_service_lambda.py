"""Token service as Lambda runs it: cold start of the deployed package, and warm CPU per request
through Mangum, each against a comparison point measured in the same run.

Cold start: the zip `pulumi up` deploys (infra/token_service.py's builder, bytecode included),
extracted and made read-only as Lambda's /var/task, is imported by a fresh python3.13 (`-B -I`,
/var/task first on sys.path, then a directory holding boto3 as the runtime ships it). Settings are
the Pulumi program's (`token_service_environment` of a default stack: uploads on, docs off, the key
in SSM) with two local stand-ins: SSM is a moto server, the IdP's JWKS URL a loopback server. The
clock runs from process start to the answer of the first `POST /token` (a function URL event,
payload 2.0, with a valid app token), medians of interleaved rounds. The same start is also timed
step by step (imports, create_app with the SSM read, first request), from a source-only copy of
the zip (what Lambda ran before the bytecode shipped), and the start-up options are timed in fresh
processes after the app's own imports (docs/design.md, "Token service on Lambda").

Warm: POST /token through Mangum in this process, CPU time per request, against the bare RS256
signing loop of bench_token_service (claims JSON, base64url, one RSA-2048 signature) and against
the same requests handed to the ASGI app directly (Mangum's own share), and against apps that
only answer (FastAPI's and Starlette's floors).

    python -m bench token_service_lambda
"""
import asyncio
import contextlib
import json
import os
import pathlib
import re
import statistics
import subprocess
import tempfile
import time
import zipfile
from unittest import mock

import yaml

from bench import report
from bench.bench_token_service import signing_loop_rate
from tests.servers import moto_server
from tests.token_service.conftest import IDP_AUDIENCE, IDP_ISSUER, Idp, JwksServer
from tests.token_service.lambda_events import function_url_event

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD_DIR = ROOT / "build" / "pulumi"  # the Pulumi program's package cache
RUNTIME = "python3.13"
COLD_ROUNDS = 9
COLD_TARGET_MS = 500
WARM_ROUNDS = 7
WARM_REQUESTS = 600
ANCHOR_SECONDS = 0.5
APP_TOKENS = 2000  # distinct callers, as in bench_token_service
WARM_TARGET = 1.3
KEY_NAME = "2025-01"

# Child scripts: argv[1] task dir, argv[2] runtime SDK dir, argv[3] the event; each prints one JSON
# line last. time.monotonic() is the system-wide clock, so the parent can compare it with its own.
_PATHS = "import json, sys, time\nsys.path[:0] = sys.argv[1:3]  # /var/task first, then the runtime's SDK\n"
COLD_START = _PATHS + """
import token_service_lambda.handler as entry
answer = entry.handler(json.loads(sys.argv[3]), None)
print(json.dumps({"done": time.monotonic(), "status": answer["statusCode"]}))
"""
STEPS = """import time
begun = time.monotonic()
""" + _PATHS + """
from mangum import Mangum
from token_service.app import create_app
imported = time.monotonic()
handler = Mangum(create_app(), lifespan="off")  # what token_service_lambda/handler.py does
created = time.monotonic()
answer = handler(json.loads(sys.argv[3]), None)
print(json.dumps({"begun": begun, "imported": imported, "created": created, "done": time.monotonic(),
                  "status": answer["statusCode"]}))
"""
# Start-up options, each timed alone in a fresh process after what a cold start has imported by
# then: the app's own imports, or (for httpx) everything they pull in but httpx.
OPTION = _PATHS + """
import os
{prelude}
started = time.perf_counter()
{body}
print(json.dumps({{"ms": 1000 * (time.perf_counter() - started)}}))
"""
APP_IMPORTS = "from mangum import Mangum\nfrom token_service.app import create_app"
_SSM_ARGS = ('os.environ["TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER"], os.environ["TOKEN_SERVICE_SSM_REGION"]',
             'os.environ["TOKEN_SERVICE_SSM_ENDPOINT_URL"]')
OPTIONS = {
    "key read with boto3 (import, SSM client, GetParameter)": (APP_IMPORTS, """
import boto3
from botocore.config import Config
client = boto3.client("ssm", region_name=os.environ["TOKEN_SERVICE_SSM_REGION"],
                      endpoint_url=os.environ["TOKEN_SERVICE_SSM_ENDPOINT_URL"],
                      config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}))
client.get_parameter(Name=os.environ["TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER"], WithDecryption=True)
"""),
    "key read with botocore's SigV4Auth over urllib": (APP_IMPORTS, """
import urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url = os.environ["TOKEN_SERVICE_SSM_ENDPOINT_URL"] + "/"
body = json.dumps({"Name": os.environ["TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER"], "WithDecryption": True}).encode()
request = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/x-amz-json-1.1",
                                                      "X-Amz-Target": "AmazonSSM.GetParameter"})
SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                      os.environ["AWS_SESSION_TOKEN"]), "ssm", os.environ["TOKEN_SERVICE_SSM_REGION"]).add_auth(request)
with urllib.request.urlopen(urllib.request.Request(url, body, dict(request.headers), method="POST")) as answer:
    json.loads(answer.read())["Parameter"]
"""),
    "key read signed here (token_service/ssm.py, as shipped)": (APP_IMPORTS, f"""
from token_service import ssm
ssm.get_parameter({_SSM_ARGS[0]}, ssm.environment_credentials(), {_SSM_ARGS[1]})
"""),
    "S3 client made at start (import boto3, session, credentials, client)": (APP_IMPORTS, """
import boto3
from botocore.config import Config
session = boto3.session.Session()
session.get_credentials()
session.client("s3", region_name="eu-west-1", config=Config(signature_version="s3v4"))
"""),
    "import httpx (needed by the first request's JWKS fetch anyway)": (
        "import fastapi, fastapi.security, jwt, jwt.algorithms, mangum, starlette.responses", "import httpx"),
    "TLS context, system CAs (ssl.create_default_context)": ("", "import ssl\nssl.create_default_context()"),
    "TLS context, certifi's CAs (as botocore and httpx make it)": (
        "", "import ssl, certifi\nssl.create_default_context(cafile=certifi.where())"),
    "OpenAPI schemas of the request bodies (built at import even with docs off)": (APP_IMPORTS, """
from token_service.routers.token import TokenRequest
from token_service.routers.uploads import UploadRequest
TokenRequest.model_json_schema(), UploadRequest.model_json_schema()
"""),
}


# --- the deployed layout --------------------------------------------------------------------------

def lambda_layout(folder: pathlib.Path) -> dict:
    """{name: directory}: the deployed zip extracted ("task"), the same without its bytecode
    ("task, source only"), and boto3 as the runtime ships it ("sdk", compiled like the runtime's)."""
    from infra.lambda_package import build_python_package, pinned
    from infra.token_service import build_token_service_package

    zips = {"task": build_token_service_package(BUILD_DIR),
            "sdk": build_python_package("lambda-runtime-sdk", pinned(["boto3"]), {}, BUILD_DIR)}
    dirs = {"task": folder / "task", "task, source only": folder / "task-source", "sdk": folder / "sdk"}
    with zipfile.ZipFile(zips["task"]) as archive:
        archive.extractall(dirs["task"])
        archive.extractall(dirs["task, source only"],
                           members=[name for name in archive.namelist() if "__pycache__" not in name])
    with zipfile.ZipFile(zips["sdk"]) as archive:
        archive.extractall(dirs["sdk"])
    return dirs


def stack_settings():
    """infra.config.Settings of a stack with Pulumi.yaml's defaults (token service and uploads on,
    docs off) and one signing key."""
    from infra.config import Settings

    values = {}
    for key, spec in yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"].items():
        name = "cookie_samesite" if key == "cookieSameSite" else re.sub("([A-Z])", r"_\1", key).lower()
        default = spec.get("default")
        values[name] = tuple(default) if isinstance(default, list) else (default if default != "" else None)
    values.update(project="edge-private-media", stack="bench", issuer="https://tokens.example.com",
                  audience="https://media.example.com", signing_keys=(KEY_NAME,), active_signing_key=KEY_NAME,
                  parameter_prefix="/edge-private-media/bench", idp_issuer=IDP_ISSUER, idp_audience=IDP_AUDIENCE,
                  idp_jwks_url="https://idp.example.com/.well-known/jwks.json")
    return Settings(**values)


def lambda_environment(moto_url, jwks_url, active_kid) -> dict:
    """The function's environment as the Pulumi program sets it, with SSM and the JWKS URL local."""
    from infra.token_service import token_service_environment

    settings = stack_settings()
    assert settings.uploads and not settings.token_service_docs
    env = token_service_environment(settings)
    env.update({  # what TokenService adds once the key, the bucket and the CDN exist
        "TOKEN_SERVICE_ACTIVE_KID": active_kid, "TOKEN_SERVICE_UPLOAD_BUCKET": "edge-private-media-bench-media",
        "TOKEN_SERVICE_UPLOAD_BUCKET_REGION": "eu-west-1", "TOKEN_SERVICE_MEDIA_BASE_URL": "https://media.example.com",
    })
    env.update({"TOKEN_SERVICE_SSM_ENDPOINT_URL": moto_url, "TOKEN_SERVICE_IDP_JWKS_URL": jwks_url})
    # What Lambda puts in every function's environment (the role's temporary credentials among it).
    env.update({"AWS_ACCESS_KEY_ID": "ASIABENCH", "AWS_SECRET_ACCESS_KEY": "bench-secret",
                "AWS_SESSION_TOKEN": "bench-session-token", "AWS_REGION": "eu-west-1",
                "AWS_DEFAULT_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": settings.token_service_function_name,
                "LAMBDA_TASK_ROOT": "/var/task", "PATH": os.environ["PATH"], "LANG": "en_US.UTF-8", "TZ": ":UTC"})
    return env


@contextlib.contextmanager
def lambda_world():
    """(environment, IdP): moto with the signing key in SSM, the IdP's JWKS on loopback."""
    import boto3

    from token_service import keys

    idp = Idp()
    jwks = JwksServer(idp.jwks())
    signing_key = keys.new_private_key()
    try:
        with moto_server() as moto_url:
            env = lambda_environment(moto_url, jwks.url, keys.thumbprint(signing_key))
            ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_url,
                               aws_access_key_id="bench", aws_secret_access_key="bench")
            ssm.put_parameter(Name=env["TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER"], Type="SecureString", Overwrite=True,
                              Value=keys.private_key_pem(signing_key).decode())
            yield env, idp
    finally:
        jwks.stop()


# --- cold start -------------------------------------------------------------------------------

def run_child(python, script, dirs, task, env, event) -> dict:
    """Runs a child script; its JSON line, with "spawned" (the parent's clock just before the fork)."""
    spawned = time.monotonic()
    # -B: nothing written, as /var/task allows (chmod does not stop root); -I: no PYTHON* variables.
    result = subprocess.run([python, "-B", "-I", "-c", script, str(dirs[task]), str(dirs["sdk"]), json.dumps(event)],
                            cwd=dirs[task], env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"cold start failed: {result.stderr[-2000:]}")
    line = json.loads(result.stdout.splitlines()[-1])  # the last line: the app logs its request first
    if line.get("status", 200) != 200:
        raise RuntimeError(f"first request answered {line['status']}: {result.stdout[-2000:]}")
    return {**line, "spawned": spawned}


def cold_start(python):
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as folder, lambda_world() as (env, idp):
        dirs = lambda_layout(pathlib.Path(folder))
        event = function_url_event("POST", "/token", {"authorization": f"Bearer {idp.token()}"})
        samples = {name: [] for name in ("total", "total, source only", "interpreter start", "imports",
                                         "create_app", "first request", *OPTIONS)}
        subprocess.run(["chmod", "-R", "a-w", folder], check=True)
        try:
            for _ in range(COLD_ROUNDS):
                line = run_child(python, COLD_START, dirs, "task", env, event)
                samples["total"].append(1000 * (line["done"] - line["spawned"]))
                line = run_child(python, COLD_START, dirs, "task, source only", env, event)
                samples["total, source only"].append(1000 * (line["done"] - line["spawned"]))
                line = run_child(python, STEPS, dirs, "task", env, event)
                for name, start, end in (("interpreter start", "spawned", "begun"), ("imports", "begun", "imported"),
                                         ("create_app", "imported", "created"), ("first request", "created", "done")):
                    samples[name].append(1000 * (line[end] - line[start]))
                for name, (prelude, body) in OPTIONS.items():
                    script = OPTION.format(prelude=prelude, body=body)
                    samples[name].append(run_child(python, script, dirs, "task", env, event)["ms"])
        finally:
            subprocess.run(["chmod", "-R", "u+w", folder], check=True)
    ms = {name: statistics.median(values) for name, values in samples.items()}
    for name, values in samples.items():
        print(f"  {name}: median {ms[name]:.0f} ms (rounds: {', '.join(f'{v:.0f}' for v in values)})")
    return ms


def report_cold_start(ms):
    report.figure(f"Cold start on Lambda's layout ({RUNTIME}): process start to first POST /token answered",
                  f"{ms['total']:.0f} ms", f"<= {COLD_TARGET_MS} ms", ms["total"] <= COLD_TARGET_MS)
    report.figure("  of which: interpreter start", f"{ms['interpreter start']:.0f} ms")
    report.figure("  imports (FastAPI, pydantic, cryptography, PyJWT, httpx, Mangum)", f"{ms['imports']:.0f} ms")
    report.figure("  create_app (settings, key read from SSM, routes)", f"{ms['create_app']:.0f} ms")
    report.figure("  first request (JWKS fetch, verify, sign, through Mangum)", f"{ms['first request']:.0f} ms")
    report.figure("Cold start, source-only zip (no bytecode: compiled at every start)",
                  f"{ms['total, source only']:.0f} ms = {ms['total, source only'] / ms['total']:.2f}x with bytecode")
    for name in OPTIONS:
        report.figure(f"Option: {name}", f"{ms[name]:.0f} ms")


# --- warm, in this process --------------------------------------------------------------------

def warm_app(env):
    """The app as the function builds it (this interpreter), and its signing key."""
    from token_service.app import create_app
    from token_service.settings import Settings

    with mock.patch.dict(os.environ, {name: value for name, value in env.items() if name.startswith("AWS_")}):
        app = create_app(Settings.from_env(env))  # its log lines go to stdout, as on Lambda
    return app, app.state.keyring.active.private_key


def framework_floors() -> dict:
    """Apps that only answer a fixed body: what the frameworks cost per request with no work of the
    service's own. FastAPI's has one HTTPBearer dependency, as POST /token has."""
    from fastapi import Depends, FastAPI
    from fastapi.security import HTTPBearer
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def fixed(request):
        return Response(b"{}", media_type="application/json")

    bearer = HTTPBearer(auto_error=False)
    fastapi_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @fastapi_app.post("/token")
    async def token(credentials=Depends(bearer)):
        return Response(b"{}", media_type="application/json")

    return {"FastAPI floor": fastapi_app, "Starlette floor": Starlette(routes=[Route("/token", fixed, methods=["POST"])])}


def asgi_scope(event) -> dict:
    """The ASGI scope Mangum makes of a function URL event, made once up front."""
    headers = [(name.encode(), value.encode()) for name, value in event["headers"].items()]
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "https", "path": "/token", "raw_path": None, "root_path": "",
            "query_string": b"", "headers": headers, "server": ("abcdefghij.lambda-url.eu-west-1.on.aws", 443),
            "client": ("203.0.113.7", 0)}


def asgi_call(app, loop, scope):
    """One request straight into the ASGI app (no Mangum), on the loop Mangum would use."""
    status = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    loop.run_until_complete(app(scope, receive, send))
    return status[0]


def cpu_per_call(call, items) -> float:
    started = time.process_time()
    for item in items:
        call(item)
    return (time.process_time() - started) / len(items)


def warm(env, idp):
    from mangum import Mangum

    app, signing_key = warm_app(env)
    handler = Mangum(app, lifespan="off")
    floors = framework_floors()
    tokens = [idp.token(sub=f"u{n}") for n in range(APP_TOKENS)]
    events = [function_url_event("POST", "/token", {"authorization": f"Bearer {token}"}) for token in tokens]
    scopes = [asgi_scope(event) for event in events]
    loop = asyncio.get_event_loop()  # the loop Mangum runs each request on
    rounds = []
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        for event in events:  # each app token verified once (the JWKS fetched once); then cache hits
            assert handler(event, None)["statusCode"] == 200
        assert asgi_call(app, loop, scopes[0]) == 200 and all(asgi_call(a, loop, scopes[0]) == 200 for a in floors.values())
        for n in range(WARM_ROUNDS):
            batch = [(n * WARM_REQUESTS + i) % APP_TOKENS for i in range(WARM_REQUESTS)]  # callers in turn
            rounds.append({
                "anchor": signing_loop_rate(signing_key, ANCHOR_SECONDS)[1],
                "mangum": cpu_per_call(lambda i: handler(events[i], None), batch),
                "asgi": cpu_per_call(lambda i: asgi_call(app, loop, scopes[i]), batch),
                **{name: cpu_per_call(lambda i: asgi_call(floor, loop, scopes[i]), batch)
                   for name, floor in floors.items()},
            })
    for r in rounds:
        r["ratio"] = r["mangum"] / r["anchor"]
    us = {name: 1e6 * statistics.median(r[name] for r in rounds) for name in rounds[0] if name != "ratio"}
    ratio = statistics.median(r["ratio"] for r in rounds)
    for name in us:
        print(f"  {name}: median {us[name]:.0f} µs CPU per request "
              f"(rounds: {', '.join(f'{1e6 * r[name]:.0f}' for r in rounds)})")
    report.comparison("bare sign", "the bare RS256 signing loop of bench_token_service (claims JSON, base64url, one "
                                   "RSA-2048 signature), CPU per token, in this process, interleaved round by round")
    report.figure("Warm POST /token through Mangum, CPU per request (verified app token cached, token signed afresh)",
                  f"{us['mangum']:.0f} µs = {ratio:.2f}x bare sign ({us['anchor']:.0f} µs)", f"<= {WARM_TARGET}x",
                  ratio <= WARM_TARGET)
    report.figure("  the same requests straight into the ASGI app (no Mangum)", f"{us['asgi']:.0f} µs")
    report.figure("  Mangum's own share (event to scope, response to result)", f"{us['mangum'] - us['asgi']:.0f} µs")
    report.figure("  FastAPI floor: a route with one HTTPBearer dependency and a fixed answer",
                  f"{us['FastAPI floor']:.0f} µs")
    report.figure("  Starlette floor: a plain route with a fixed answer", f"{us['Starlette floor']:.0f} µs")


def main():
    from edge.package import find_interpreter

    python = find_interpreter(RUNTIME)
    if python is None:
        report.figure("Cold start on Lambda's layout", f"not measured: no {RUNTIME} here", f"<= {COLD_TARGET_MS} ms")
    else:
        print(f"cold starts ({COLD_ROUNDS} interleaved rounds, {python}):")
        report_cold_start(cold_start(python))
    print(f"warm ({WARM_ROUNDS} rounds of {WARM_REQUESTS} requests, CPU time):")
    with lambda_world() as (env, idp):
        warm(env, idp)


if __name__ == "__main__":
    main()
    print("\n".join(report.table()))
