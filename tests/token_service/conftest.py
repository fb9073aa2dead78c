"""Real parts for the token service tests: the service under uvicorn in a subprocess
(`python -m token_service`, configured by TOKEN_SERVICE_* variables), a small IdP serving its
JWKS over loopback HTTP (stoppable), and an IdP that signs app tokens."""
import contextlib
import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from token_service import keys
from tests.servers import free_port, moto_server

ISSUER = "https://tokens.example.com"
AUDIENCE = "media.example.com"
IDP_ISSUER = "https://idp.example.com"
IDP_AUDIENCE = "app.example.com"
APP_ORIGIN = "https://app.example.com"
ROOT = pathlib.Path(__file__).resolve().parents[2]


class Idp:
    """The app's identity provider: an RSA key (kid "idp-1") that signs app access tokens."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "idp-1"

    def jwks(self):
        return keys.jwks([keys.public_jwk(self.key, self.kid)])

    def token(self, key=None, kid="default", algorithm="RS256", headers=None, **claims) -> str:
        now = int(time.time())
        body = {"iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "sub": "u42", "iat": now, "exp": now + 600, **claims}
        body = {name: value for name, value in body.items() if value is not None}
        header = dict(headers or {})
        if kid is not None:
            header["kid"] = self.kid if kid == "default" else kid
        return jwt.encode(body, self.key if key is None else key, algorithm=algorithm, headers=header)


class JwksServer:
    """Serves a JWKS at /jwks.json on loopback; stop() makes the IdP unreachable.

    `document`, `status` and `delay` may be changed while it runs (a rotating, failing or slow IdP).
    """

    def __init__(self, document):
        self.document = document
        self.status = 200
        self.delay = 0.0
        self.fetches = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                time.sleep(server.delay)
                body = json.dumps(server.document).encode()
                self.send_response(server.status if self.path == "/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class Service:
    """`python -m token_service` on a free loopback port; stdout (the JSON log) kept in a file."""

    def __init__(self, settings: dict, workdir: pathlib.Path, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._stdout = workdir / f"service-{self.port}.out"
        self._stderr = workdir / f"service-{self.port}.err"
        env = {name: value for name, value in os.environ.items() if not name.startswith("TOKEN_SERVICE_")}
        env.update({f"TOKEN_SERVICE_{name.upper()}": str(value) for name, value in settings.items()})
        with open(self._stdout, "wb") as out, open(self._stderr, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "token_service", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(workers)],
                cwd=ROOT, env=env, stdout=out, stderr=err)
        self._wait_until_up()

    def _wait_until_up(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"token service exited {self.process.returncode}: {self.stderr()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"token service did not come up: {self.stderr()}")

    def post_token(self, app_token=None, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if app_token is not None:
            headers["Authorization"] = f"Bearer {app_token}"
        return httpx.post(f"{self.url}/token", headers=headers, timeout=10, **kwargs)

    def get(self, path, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def request(self, method, path, **kwargs) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", timeout=10, **kwargs)

    def log_lines(self) -> list:
        return [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]

    def log_text(self) -> str:
        return self._stdout.read_text()

    def stderr(self) -> str:
        return self._stderr.read_text()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def idp():
    return Idp()


@pytest.fixture(scope="session")
def signing_pems(tmp_path_factory):
    """Two signing keys as PEM files: (path, kid) for "old" and "new"."""
    folder = tmp_path_factory.mktemp("signing-keys")
    out = {}
    for name in ("old", "new"):
        key = keys.new_private_key()
        path = folder / f"{name}.pem"
        path.write_bytes(keys.private_key_pem(key))
        out[name] = (path, keys.thumbprint(key))
    return out


@contextlib.contextmanager
def service_starter(workdir):
    """start(settings, workers=1) -> a running Service; every one is stopped on exit."""
    started = []

    def start(settings, workers=1):
        service = Service(settings, workdir, workers)
        started.append(service)
        return service

    try:
        yield start
    finally:
        for service in started:
            service.stop()


@pytest.fixture(scope="session")
def session_services(tmp_path_factory):
    with service_starter(tmp_path_factory.mktemp("services")) as start:
        yield start


@pytest.fixture(scope="session")
def jwks_server(idp):
    server = JwksServer(idp.jwks())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_settings(idp, signing_pems, jwks_server):
    return {
        "issuer": ISSUER, "audience": AUDIENCE,
        "signing_key_file": signing_pems["old"][0],
        "idp_jwks_url": jwks_server.url, "idp_issuer": IDP_ISSUER, "idp_audience": IDP_AUDIENCE,
        "cors_allowed_origins": APP_ORIGIN,
    }


@pytest.fixture(scope="session")
def service(session_services, base_settings):
    """The service as most tests see it: IdP JWKS over HTTP, members limited to their own prefix."""
    return session_services({**base_settings, "default_paths": "/videos/{sub}/,/public/"})


@pytest.fixture
def start_service(tmp_path):
    """For tests that need their own configuration; stopped at the end of the test."""
    with service_starter(tmp_path) as start:
        yield start


@pytest.fixture(scope="session")
def moto_url():
    """A real moto server (SSM) on loopback."""
    with moto_server() as url:
        yield url


@pytest.fixture
def aws_credentials(monkeypatch):
    """Moto accepts any credentials; boto3 (here and in service subprocesses) must find some."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")


def claims_of(token: str) -> dict:
    """Claims without verification (tests verify with the edge or PyJWT separately)."""
    return jwt.decode(token, options={"verify_signature": False})
