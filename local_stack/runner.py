"""`python -m local_stack` (`make dev`): start every part, print where they are, stop on Ctrl-C.

Order: ports checked; moto started; meanwhile the signing key, the IdP and the demo site; then
moto provisioned (admin, bucket, objects, SSM keys, IAM users); the edge package built; the token
service and the CloudFront stand-in started together. When all answer, `.local/stack.json` is
written and a table of URLs printed. Ctrl-C (or SIGTERM) stops the parts in reverse order and
removes stack.json, so a stack.json on disk always describes a running stack.
"""
import argparse
import json
import os
import pathlib
import signal
import sys
import time
import urllib.request

from edge.config import ConfigError
from edge.package import build_package
from infra.cdn import CORS_EXPOSE_HEADERS
from local_stack import aws_resources, demo_data, demo_site, idp, ports
from local_stack.httpserve import serve_in_thread
from local_stack.processes import Child
from token_service import keys

REPO = pathlib.Path(__file__).resolve().parent.parent
BUCKET = "local-private-media"
PARAMETER_PREFIX = "/edge-private-media/local"  # infra's layout: {prefix}/jwks, {prefix}/signing-keys/{name}
SIGNING_KEY_NAME = "local-1"
FUNCTION_NAME = "private-media-viewer-request"
IDP_AUDIENCE = "local-demo-app"
DEFAULT_PORTS = {"demo": 8700, "cdn": 8701, "token": 8702, "idp": 8703, "moto": 8704}
START_TIMEOUT = 60


class StartError(Exception):
    pass


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__.split("\n\n")[0])
    for part, port in DEFAULT_PORTS.items():
        parser.add_argument(f"--{part}-port", type=int, default=port, metavar="PORT",
                            help=f"port of the {part} (default {port}; 0 picks a free port)")
    parser.add_argument("--state-dir", type=pathlib.Path, default=pathlib.Path(".local"),
                        help="where stack.json, logs and the edge package go (default .local)")
    parser.add_argument("--token-lifetime-seconds", type=int, default=120,
                        help="viewing token lifetime (default 120, so the demo's renewal is soon seen)")
    parser.add_argument("--key-refresh-seconds", type=int, default=300, help="edge: SSM key refresh interval")
    parser.add_argument("--max-key-staleness-seconds", type=int, default=3600,
                        help="edge: how long the last good keys serve when SSM cannot be read")
    parser.add_argument("--key-retry-seconds", type=int, default=30, help="edge: wait between failed refreshes")
    return parser.parse_args(argv)


class Progress:
    def __init__(self):
        self.started = time.monotonic()

    def elapsed(self):
        return time.monotonic() - self.started

    def done(self, part, detail):
        print(f"[{self.elapsed():5.1f} s] ready  {part:<22} {detail}", flush=True)


class Stack:
    def __init__(self, options):
        self.options = options
        self.progress = Progress()
        self.state = options.state_dir.resolve()
        self.children = []
        self.servers = []
        self.reported_exits = set()

    # ----------------------------------------------------------------- start
    def start(self):
        o = self.options
        self.ports = ports.resolve({part: getattr(o, f"{part}_port") for part in DEFAULT_PORTS})
        self.url = {part: f"http://{ports.HOST}:{port}" for part, port in self.ports.items()}
        # the demo page may be opened as 127.0.0.1 or localhost: both are origins of the demo
        self.demo_origins = [self.url["demo"], f"http://localhost:{self.ports['demo']}"]
        (self.state / "logs").mkdir(parents=True, exist_ok=True)
        self._remove_state_files()

        moto = self._spawn("moto", [sys.executable, "-m", "moto.server", "-H", ports.HOST, "-p", str(self.ports["moto"])],
                           {"INITIAL_NO_AUTH_ACTION_COUNT": str(aws_resources.BOOTSTRAP_CALLS)},
                           log_path=self.state / "logs" / "moto.log")
        # while moto starts: the signing key, the IdP, the demo site
        signing_key = keys.new_private_key()
        signing_pem = keys.private_key_pem(signing_key)
        jwks = keys.jwks([signing_key])
        self._start_idp()
        self._start_demo_site()

        self._wait_listening(moto, self.ports["moto"])
        admin = aws_resources.bootstrap_admin(self.url["moto"])
        self.access = aws_resources.provision(
            self.url["moto"], admin, BUCKET, demo_data.OBJECTS, self.key_parameter, signing_pem, self.jwks_parameter, jwks)
        self.progress.done("moto (S3 + SSM, IAM on)", f"{self.url['moto']}  bucket {BUCKET}, "
                           f"{len(demo_data.OBJECTS)} objects, signing key + JWKS in SSM")

        package = build_package(self._edge_config(jwks), self.state / "edge-package.zip")
        self.progress.done("edge package", f"{package} ({package.stat().st_size} bytes)")
        token = self._start_token_service()
        cdn = self._start_cdn(package)
        self._wait_ready(token, f"{self.url['token']}/readyz")
        self.progress.done("token service", self.url["token"])
        self._wait_listening(cdn, self.ports["cdn"])
        self.progress.done("CloudFront stand-in", f"{self.url['cdn']}  (edge handler loaded from the zip)")
        self._write_state_files()
        self._print_table()

    @property
    def key_parameter(self):
        return f"{PARAMETER_PREFIX}/signing-keys/{SIGNING_KEY_NAME}"

    @property
    def jwks_parameter(self):
        return f"{PARAMETER_PREFIX}/jwks"

    def _spawn(self, name, argv, extra_env, log_path=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # no real account leaks in
        env.update(extra_env, PYTHONUNBUFFERED="1")
        child = Child(name, argv, env, log_path, cwd=REPO)
        self.children.append(child)
        return child

    def _start_idp(self):
        self.idp = idp.IdentityProvider(self.url["idp"], IDP_AUDIENCE, demo_data.USERS)
        self._serve(idp.make_server(ports.HOST, self.ports["idp"], self.idp, self.demo_origins), "idp")
        self.progress.done("identity provider", f"{self.url['idp']}  POST /login, /.well-known/jwks.json")

    def _start_demo_site(self):
        config = {"idp_url": self.url["idp"], "token_url": self.url["token"], "cdn_url": self.url["cdn"],
                  "users": _users_json(),
                  "objects": [{"path": o.path, "owner": o.owner.username} for o in demo_data.OBJECTS]}
        self._serve(demo_site.make_server(ports.HOST, self.ports["demo"], config), "demo")
        self.progress.done("demo page", self.url["demo"])

    def _serve(self, server, name):
        self.servers.append(server)
        serve_in_thread(server, name)

    def _edge_config(self, jwks):
        o = self.options
        return {"issuer": self.url["token"], "audience": self.url["cdn"], "jwks": jwks,
                "ssm_parameter": self.jwks_parameter, "ssm_region": aws_resources.REGION,
                "ssm_endpoint_url": self.url["moto"], "cors_allowed_origins": self.demo_origins,
                "key_refresh_seconds": o.key_refresh_seconds, "key_retry_seconds": o.key_retry_seconds,
                "max_key_staleness_seconds": o.max_key_staleness_seconds}

    def _start_token_service(self):
        env = {"TOKEN_SERVICE_ISSUER": self.url["token"], "TOKEN_SERVICE_AUDIENCE": self.url["cdn"],
               "TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER": self.key_parameter,
               "TOKEN_SERVICE_SSM_ENDPOINT_URL": self.url["moto"], "TOKEN_SERVICE_SSM_REGION": aws_resources.REGION,
               "TOKEN_SERVICE_IDP_JWKS_URL": f"{self.url['idp']}/.well-known/jwks.json",
               "TOKEN_SERVICE_IDP_ISSUER": self.url["idp"], "TOKEN_SERVICE_IDP_AUDIENCE": IDP_AUDIENCE,
               "TOKEN_SERVICE_TOKEN_LIFETIME_SECONDS": str(self.options.token_lifetime_seconds),
               "TOKEN_SERVICE_DEFAULT_PATHS": "/videos/{sub}/",
               "TOKEN_SERVICE_CORS_ALLOWED_ORIGINS": ",".join(self.demo_origins),
               **self.access["token_service"].env()}
        return self._spawn("token", [sys.executable, "-m", "token_service", "--host", ports.HOST,
                                     "--port", str(self.ports["token"])], env)

    def _start_cdn(self, package):
        oac = self.access["cdn"]
        config = {"host": ports.HOST, "port": self.ports["cdn"], "package": str(package),
                  "function_name": FUNCTION_NAME, "domain": f"{ports.HOST}:{self.ports['cdn']}",
                  "bucket": BUCKET, "s3_endpoint": self.url["moto"],
                  "oac_credentials": {"access_key_id": oac.access_key_id, "secret_access_key": oac.secret_access_key},
                  "cors_allow_origins": self.demo_origins, "cors_expose_headers": CORS_EXPOSE_HEADERS}
        path = self.state / "cdn-stand-in.json"
        path.touch(0o600)  # holds the OAC user's (local, throw-away) secret
        path.write_text(json.dumps(config, indent=1))
        # the edge function's own identity, for its SSM refreshes (boto3 reads the environment)
        return self._spawn("edge", [sys.executable, "-m", "local_stack.cdn", str(path)], self.access["edge"].env())

    # ----------------------------------------------------------------- waiting
    def _check_alive(self, child):
        if child.exited() is not None:
            where = f"; see {child.log_path}" if child.log_path else ""
            raise StartError(f"{child.name} exited with code {child.exited()} while starting{where}")
        return True

    def _wait_listening(self, child, port):
        if not ports.wait_until_listening(port, START_TIMEOUT, lambda: child.exited() is None):
            self._check_alive(child)

    def _wait_ready(self, child, url):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._check_alive(child)
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise StartError(f"{child.name} was not ready within {START_TIMEOUT} s ({url})")

    # ----------------------------------------------------------------- state
    def _write_state_files(self):
        stack = {
            "cdn_url": self.url["cdn"], "token_url": self.url["token"], "idp_url": self.url["idp"],
            "demo_url": self.url["demo"], "s3_endpoint": self.url["moto"], "bucket": BUCKET,
            "users": _users_json(),
            "objects": [{"path": o.path, "owner": o.owner.username, "sha256": o.sha256()} for o in demo_data.OBJECTS],
        }
        # processes.json: for tools that need a part's pid (the staleness test stops moto with it)
        self._write_json("processes.json", {child.name: child.pid for child in self.children} | {"runner": os.getpid()})
        self._write_json("stack.json", stack)  # last: its presence means "ready"

    def _write_json(self, name, document):
        tmp = self.state / f".{name}.tmp"
        tmp.write_text(json.dumps(document, indent=2) + "\n")
        os.replace(tmp, self.state / name)

    def _remove_state_files(self):
        for name in ("stack.json", "processes.json"):
            (self.state / name).unlink(missing_ok=True)

    def _print_table(self):
        rows = [("demo page", self.url["demo"], "open this in a browser"),
                ("CDN (CloudFront stand-in)", self.url["cdn"], "runs the built edge package"),
                ("token service", self.url["token"], "POST /token, /docs"),
                ("identity provider", self.url["idp"], "POST /login"),
                ("S3 + SSM (moto)", self.url["moto"], f"bucket {BUCKET}")]
        print(f"\nLocal stack ready in {self.progress.elapsed():.1f} s. State: {self.state / 'stack.json'}\n")
        for part, url, note in rows:
            print(f"  {part:<27} {url:<24} {note}")
        print("\n  demo users: " + ", ".join(f"{u.username} / {u.password} (owns {u.prefix})" for u in demo_data.USERS))
        print("\nCtrl-C stops everything.\n", flush=True)

    # ----------------------------------------------------------------- running and stopping
    def watch(self):
        """Until Ctrl-C: report a part that exits (the rest keep running, e.g. to watch the edge
        serve on its last keys after moto is stopped, then fail closed)."""
        while True:
            for child in self.children:
                code = child.exited()
                if code is not None and child.name not in self.reported_exits:
                    self.reported_exits.add(child.name)
                    print(f"[{self.progress.elapsed():5.1f} s] {child.name} exited with code {code}; "
                          "the other parts keep running (Ctrl-C stops them)", flush=True)
            time.sleep(0.5)

    def stop(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self._remove_state_files()
        for child in reversed(self.children):
            child.stop()
        for server in self.servers:
            server.shutdown()
            server.server_close()


def _users_json():
    return [{"username": u.username, "password": u.password, "prefix": u.prefix} for u in demo_data.USERS]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # stop as on Ctrl-C
    stack = Stack(options)
    try:
        stack.start()
        stack.watch()
    except ports.PortInUse as exc:
        print(f"local stack: {exc}", file=sys.stderr)
        return 2
    except StartError as exc:
        print(f"local stack: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:  # from the edge options (--key-*-seconds)
        print(f"local stack: edge package: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        return 0
    finally:
        stack.stop()
        print("local stack stopped.", flush=True)
