"""`python -m local_stack` (`make dev`): start every part, print where they are, stop on Ctrl-C.

Order: options checked (origins, the --media folder); ports checked; moto started on a private
Unix socket, the proxy in front of it on the S3 + SSM port; meanwhile the signing key, the IdP
and the demo site; then moto provisioned through the proxy (admin, bucket, objects, SSM keys, IAM
users); the edge package built; the token service and the CloudFront stand-in started together.
When all answer, `.local/stack.json` is written and a table of URLs printed. Ctrl-C (or SIGTERM)
stops the parts in reverse order and removes stack.json, so a stack.json on disk always
describes a running stack.

Ctrl-C and SIGTERM only set a flag, read at safe points (the start's waits, the watch loop): never
an exception raised into whatever the main thread is doing. A KeyboardInterrupt landing just after
subprocess's poll() took its internal lock leaves that lock held for good, and the stop's last
wait() for that child then blocks for ever (seen as a runner that ignored Ctrl-C on a loaded
machine; tests/local_stack/test_lifecycle.py delivers the signal at that very instant).
"""
import argparse
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from edge.config import ConfigError
from edge.package import build_package
from infra.response_headers import CORS_EXPOSE_HEADERS
from local_stack import aws_resources, demo_data, demo_site, idp, moto_proxy, moto_server, persist, ports
from local_stack import processing, webhook_receiver
from local_stack.httpserve import DEFAULT_HEADER_TIMEOUT, serve_in_thread
from local_stack.processes import Child
from token_service import keys

REPO = pathlib.Path(__file__).resolve().parent.parent
BUCKET = "local-private-media"
PARAMETER_PREFIX = "/edge-private-media/local"  # infra's layout: {prefix}/jwks, {prefix}/signing-keys/{name}
SIGNING_KEY_NAME = "local-1"
FUNCTION_NAME = "private-media-viewer-request"
IDP_AUDIENCE = "local-demo-app"
DEFAULT_PORTS = {"demo": 8700, "cdn": 8701, "token": 8702, "idp": 8703, "moto": 8704, "webhook": 8705}
WEBHOOK_SECRET_NAME = "webhook-secret"  # infra's layout: {prefix}/webhook-secret
INCOMING_KEY_PREFIX = "incoming/"  # where the token service's forms put uploads (its default prefix)
START_TIMEOUT = 60


class StartError(Exception):
    pass


class OptionError(Exception):
    """A bad option value: one line saying which and why."""


PORT_HELP = {"demo": "the demo page", "cdn": "the CDN (CloudFront stand-in)", "token": "the token service",
             "idp": "the identity provider", "moto": "the S3 + SSM endpoint (the proxy in front of moto)",
             "webhook": "the built-in webhook receiver"}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__.split("\n\n")[0])
    for part, port in DEFAULT_PORTS.items():
        parser.add_argument(f"--{part}-port", type=int, default=port, metavar="PORT",
                            help=f"port of {PORT_HELP[part]} (default {port}; 0 picks a free port)")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="a web origin (scheme://host[:port], e.g. http://localhost:5173) that the token "
                             "service, the CDN, the IdP's /login and bucket uploads grant CORS to, besides the "
                             "demo page; repeatable")
    parser.add_argument("--media", type=pathlib.Path, metavar="DIR",
                        help="seed DIR/<member>/<file> into the bucket as /videos/<member>/<file> (members: "
                             f"{', '.join(u.username for u in demo_data.USERS)}; hidden files skipped)")
    parser.add_argument("--member", action="append", default=[], metavar="SUB",
                        help="another demo member whose IdP subject is SUB, e.g. 'auth0|64f0c2...' or "
                             "'google-oauth2|1087...' (password: SUB-demo-password); repeatable")
    parser.add_argument("--persist", action="store_true",
                        help="keep the bucket's objects (uploads) across restarts, in STATE_DIR/bucket/ (saved on "
                             "stop, put back on start)")
    parser.add_argument("--header-timeout-seconds", type=float, default=DEFAULT_HEADER_TIMEOUT,
                        help=f"the stack's own HTTP servers close a connection whose request line and headers "
                             f"take longer (default {DEFAULT_HEADER_TIMEOUT:g})")
    parser.add_argument("--state-dir", type=pathlib.Path, default=pathlib.Path(".local"),
                        help="where stack.json, logs and the edge package go (default .local)")
    parser.add_argument("--token-lifetime-seconds", type=int, default=120,
                        help="viewing token lifetime (default 120, so the demo's renewal is soon seen)")
    parser.add_argument("--key-refresh-seconds", type=int, default=300, help="edge: SSM key refresh interval")
    parser.add_argument("--max-key-staleness-seconds", type=int, default=3600,
                        help="edge: how long the last good keys serve when SSM cannot be read")
    parser.add_argument("--key-retry-seconds", type=int, default=30, help="edge: wait between failed refreshes")
    parser.add_argument("--webhook-url", metavar="URL",
                        help="where the media processor POSTs its signed asset.ready / asset.failed events "
                             "(default: the built-in receiver, which verifies and prints them); the secret is in "
                             "moto's SSM and STATE_DIR/internal.json")
    parser.add_argument("--processor-memory-mb", type=int, default=2048,
                        help="media processor: address-space limit of each run (RLIMIT_AS, default 2048)")
    parser.add_argument("--processor-cpu-seconds", type=int, default=300,
                        help="media processor: CPU-time limit of each run (RLIMIT_CPU, default 300)")
    return parser.parse_args(argv)


_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")
DEFAULT_PORT = {"http": 80, "https": 443}


def check_origin(origin):
    """`origin` if it is written as a browser sends it in `Origin`, else OptionError."""
    parts = urllib.parse.urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.netloc.rpartition(":")[0] if port is not None else parts.netloc
    if (parts.scheme not in DEFAULT_PORT or not _HOST_NAME.fullmatch(host) or port in (0, DEFAULT_PORT[parts.scheme])
            or origin != f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")):
        raise OptionError(f"--allow-origin: {origin!r} is not an origin like http://localhost:5173 "
                          "(scheme://host[:port] in lower case, no default port, no path, not even a trailing '/')")
    return origin


def check_options(options):
    """Option values argparse cannot check; OptionError names the first bad one."""
    for origin in options.allow_origin:
        check_origin(origin)
    if options.header_timeout_seconds <= 0:
        raise OptionError("--header-timeout-seconds: must be above 0")
    webhook = urllib.parse.urlsplit(options.webhook_url or "http://receiver")
    if webhook.scheme not in DEFAULT_PORT or not webhook.netloc:
        raise OptionError(f"--webhook-url: {options.webhook_url!r} is not an http(s) URL")
    if options.processor_memory_mb < 256 or options.processor_cpu_seconds < 1:
        raise OptionError("--processor-memory-mb must be at least 256 and --processor-cpu-seconds at least 1")
    try:
        options.users = demo_data.USERS + tuple(demo_data.extra_member(sub) for sub in options.member)
    except demo_data.MediaError as exc:
        raise OptionError(str(exc)) from None
    try:
        options.media_objects = demo_data.media_objects(options.media) if options.media else ()
    except demo_data.MediaError as exc:
        raise OptionError(f"--media: {exc}") from None


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
        self.stop_requested = False
        self.snapshot = persist.Snapshot(self.state / "bucket") if options.persist else None
        self.snapshot_s3 = None  # set once the saved objects are back: only then may a stop save over them
        self.objects = demo_data.OBJECTS + options.media_objects
        self.webhook_secret = secrets.token_urlsafe(32)  # the processor signs its events with it
        # moto's socket lives in a fresh private folder (mode 0700): a short path, unlike some state dirs
        self.moto_dir = tempfile.mkdtemp(prefix="local-stack-moto-")
        self.moto_socket = os.path.join(self.moto_dir, "moto.sock")

    # ----------------------------------------------------------------- start
    def start(self):
        o = self.options
        self.ports = ports.resolve({part: getattr(o, f"{part}_port") for part in DEFAULT_PORTS})
        self.url = {part: f"http://{ports.HOST}:{port}" for part, port in self.ports.items()}
        # the demo page may be opened as 127.0.0.1 or localhost: both are origins of the demo
        self.demo_origins = [self.url["demo"], f"http://localhost:{self.ports['demo']}"]
        # every browser-facing part grants CORS to these, and to no one else
        self.allowed_origins = self.demo_origins + [origin for origin in dict.fromkeys(o.allow_origin)
                                                    if origin not in self.demo_origins]
        (self.state / "logs").mkdir(parents=True, exist_ok=True)
        self._remove_state_files()

        # moto with objects in memory, read without a copy: a range costs the same whatever the
        # object's size, as on S3 (see local_stack/moto_server.py)
        moto = self._spawn("moto", [sys.executable, "-m", "local_stack.moto_server", "-H", f"unix://{self.moto_socket}",
                                    "-p", str(self.ports["moto"])],  # -p: the port moto puts in URLs it makes
                           {"INITIAL_NO_AUTH_ACTION_COUNT": str(aws_resources.BOOTSTRAP_CALLS),
                            "MOTO_DISABLE_GLOBAL_CORS": "true",
                            "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(moto_server.IN_MEMORY_OBJECT_BYTES)},
                           log_path=self.state / "logs" / "moto.log")
        self.proxy = moto_proxy.MotoProxy(ports.HOST, self.ports["moto"], self.moto_socket, BUCKET,
                                          aws_resources.REGION, self.allowed_origins)
        self._serve(self.proxy, "moto-proxy")
        # while moto starts: the signing key, the IdP, the demo site
        signing_key = keys.new_private_key()
        signing_pem = keys.private_key_pem(signing_key)
        jwks = keys.jwks([signing_key])
        self._start_idp()
        self._start_demo_site()

        self._wait_listening(moto, self.moto_socket)
        self.admin = admin = aws_resources.bootstrap_admin(self.url["moto"])
        self.access = aws_resources.provision(
            self.url["moto"], admin, BUCKET, self.objects, self.key_parameter, signing_pem, self.jwks_parameter, jwks,
            (self.webhook_parameter, self.webhook_secret))
        uploader = self.access["token_service"]  # the form uploads it signs are taken by the proxy
        self.proxy.post_signers[uploader.access_key_id] = uploader.secret_access_key
        self._start_processor()
        self.progress.done("moto (S3 + SSM, IAM on)", f"{self.url['moto']}  bucket {BUCKET}, "
                           f"{len(self.objects)} objects, signing key + JWKS in SSM (moto behind a proxy)")

        if self.snapshot is not None:
            self._restore_bucket(admin)
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

    @property
    def webhook_parameter(self):
        return f"{PARAMETER_PREFIX}/{WEBHOOK_SECRET_NAME}"

    def _start_processor(self):
        """The webhook receiver (unless --webhook-url), then the processor fed by the proxy's events."""
        self.webhook_url = self.options.webhook_url
        if self.webhook_url is None:
            self._serve(webhook_receiver.make_server(ports.HOST, self.ports["webhook"], self.webhook_secret.encode(),
                                                     self._report("webhook")), "webhook")
            self.webhook_url = f"{self.url['webhook']}/"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MEDIA_PROCESSOR_"))}
        env.update(self.access["media_processor"].env(), PYTHONUNBUFFERED="1",
                   MEDIA_PROCESSOR_S3_ENDPOINT_URL=self.url["moto"], MEDIA_PROCESSOR_REGION=aws_resources.REGION,
                   MEDIA_PROCESSOR_SSM_ENDPOINT_URL=self.url["moto"], MEDIA_PROCESSOR_WEBHOOK_URL=self.webhook_url,
                   MEDIA_PROCESSOR_WEBHOOK_SECRET_SSM_PARAMETER=self.webhook_parameter)
        self.processor = processing.Processor(
            REPO, BUCKET, INCOMING_KEY_PREFIX, env, self.state / "logs" / "media-processor.log",
            self.options.processor_memory_mb, self.options.processor_cpu_seconds, self._report("processor"))
        self.processor.start()
        self.proxy.on_object_created = self.processor.object_created
        self.progress.done("media processor", f"runs on each new {INCOMING_KEY_PREFIX} object; webhook {self.webhook_url}")

    def _report(self, part):
        return lambda line: print(f"{part:>9} | {line}", flush=True)

    def _spawn(self, name, argv, extra_env, log_path=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # no real account leaks in
        env.update(extra_env, PYTHONUNBUFFERED="1")
        child = Child(name, argv, env, log_path, cwd=REPO)
        self.children.append(child)
        return child

    def _start_idp(self):
        self.idp = idp.IdentityProvider(self.url["idp"], IDP_AUDIENCE, self.options.users)
        self._serve(idp.make_server(ports.HOST, self.ports["idp"], self.idp, self.allowed_origins), "idp")
        self.progress.done("identity provider", f"{self.url['idp']}  POST /login, /.well-known/jwks.json")

    def _start_demo_site(self):
        config = {"idp_url": self.url["idp"], "token_url": self.url["token"], "cdn_url": self.url["cdn"],
                  "s3_endpoint": self.url["moto"],  # where upload forms are POSTed
                  "users": _users_json(self.options.users),
                  "objects": [{"path": o.path, "owner": o.owner.username} for o in self.objects]}
        self._serve(demo_site.make_server(ports.HOST, self.ports["demo"], config), "demo")
        self.progress.done("demo page", self.url["demo"])

    def _serve(self, server, name):
        server.header_timeout = self.options.header_timeout_seconds
        self.servers.append(server)
        serve_in_thread(server, name)

    def _edge_config(self, jwks):
        o = self.options
        return {"issuer": self.url["token"], "audience": self.url["cdn"], "jwks": jwks,
                "ssm_parameter": self.jwks_parameter, "ssm_region": aws_resources.REGION,
                "ssm_endpoint_url": self.url["moto"], "cors_allowed_origins": self.allowed_origins,
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
               "TOKEN_SERVICE_CORS_ALLOWED_ORIGINS": ",".join(self.allowed_origins),
               # uploads: presigned POSTs to the bucket through the proxy (the browser reaches it),
               # signed as the token-service user, whose upload grant is s3:PutObject on videos/*
               "TOKEN_SERVICE_UPLOAD_BUCKET": BUCKET, "TOKEN_SERVICE_UPLOAD_BUCKET_REGION": aws_resources.REGION,
               "TOKEN_SERVICE_S3_ENDPOINT_URL": self.url["moto"], "TOKEN_SERVICE_MEDIA_BASE_URL": self.url["cdn"],
               **self.access["token_service"].env()}
        return self._spawn("token", [sys.executable, "-m", "token_service", "--host", ports.HOST,
                                     "--port", str(self.ports["token"])], env)

    def _start_cdn(self, package):
        oac = self.access["cdn"]
        config = {"host": ports.HOST, "port": self.ports["cdn"], "package": str(package),
                  "function_name": FUNCTION_NAME, "domain": f"{ports.HOST}:{self.ports['cdn']}",
                  "bucket": BUCKET, "s3_endpoint": self.url["moto"],
                  "oac_credentials": {"access_key_id": oac.access_key_id, "secret_access_key": oac.secret_access_key},
                  "cors_allow_origins": self.allowed_origins, "cors_expose_headers": CORS_EXPOSE_HEADERS,
                  "header_timeout_seconds": self.options.header_timeout_seconds}
        path = self.state / "cdn-stand-in.json"
        path.touch(0o600)  # holds the OAC user's (local, throw-away) secret
        path.write_text(json.dumps(config, indent=1))
        # the edge function's own identity, for its SSM refreshes (boto3 reads the environment)
        return self._spawn("edge", [sys.executable, "-m", "local_stack.cdn", str(path)], self.access["edge"].env())

    def request_stop(self, signum=None, frame=None):
        """The handler of Ctrl-C and SIGTERM: a flag, read at safe points (see the module's doc)."""
        self.stop_requested = True

    def _restore_bucket(self, admin):
        """--persist: note what the seeding put in the bucket, then put the saved objects back."""
        s3 = aws_resources.client("s3", self.url["moto"], admin)
        try:
            self.seeded_etags = persist.bucket_etags(s3, BUCKET)
            restored = self.snapshot.restore(s3, BUCKET)
        except (*persist.ERRORS, ValueError, KeyError) as exc:
            raise StartError(f"--persist: cannot put back the objects saved in {self.snapshot.folder}: {exc}") from None
        self.snapshot_s3 = s3
        self.progress.done("saved objects", f"{restored} put back from {self.snapshot.folder} (--persist)")

    def _save_bucket(self):
        folder = self.snapshot.folder
        try:
            saved, read = self.snapshot.save(self.snapshot_s3, BUCKET, self.seeded_etags)
            print(f"bucket saved: {saved} objects in {folder} ({read} read now)", flush=True)
        except persist.ERRORS as exc:
            print(f"bucket not saved ({exc}); {folder} keeps the last snapshot", flush=True)

    # ----------------------------------------------------------------- waiting
    def _check_alive(self, child):
        if self.stop_requested:
            raise KeyboardInterrupt  # here, between two steps, not inside one
        if child.exited() is not None:
            where = f"; see {child.log_path}" if child.log_path else ""
            raise StartError(f"{child.name} exited with code {child.exited()} while starting{where}")
        return True

    def _wait_listening(self, child, address):
        ports.wait_until_listening(address, START_TIMEOUT, lambda: self._check_alive(child))

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
            "allowed_origins": self.allowed_origins, "webhook_url": self.webhook_url,
            "users": _users_json(self.options.users),
            "objects": [{"path": o.path, "owner": o.owner.username, "sha256": o.sha256()} for o in self.objects],
        }
        # processes.json: for tools that need a part's pid (the staleness test stops moto with it)
        self._write_json("processes.json", {child.name: child.pid for child in self.children} | {"runner": os.getpid()})
        # internal.json (0600): what is not advertised, for tests and the benchmark: moto's own
        # socket and the parts' (local, throw-away) access keys
        self._write_json("internal.json", {"moto_socket": self.moto_socket, "webhook_secret": self.webhook_secret,
                                           "access_keys": {
            part: {"access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key}
            for part, key in (self.access | {"admin": self.admin}).items()}})
        self._write_json("stack.json", stack)  # last: its presence means "ready"

    def _write_json(self, name, document):
        tmp = self.state / f".{name}.tmp"
        tmp.touch(0o600)
        tmp.write_text(json.dumps(document, indent=2) + "\n")
        os.replace(tmp, self.state / name)

    def _remove_state_files(self):
        for name in ("stack.json", "processes.json", "internal.json"):
            (self.state / name).unlink(missing_ok=True)

    def _print_table(self):
        rows = [("demo page", self.url["demo"], "open this in a browser"),
                ("CDN (CloudFront stand-in)", self.url["cdn"], "runs the built edge package"),
                ("token service", self.url["token"], "POST /token, /docs"),
                ("identity provider", self.url["idp"], "POST /login"),
                ("S3 + SSM (moto, proxied)", self.url["moto"], f"bucket {BUCKET}"),
                ("webhook receiver", self.webhook_url, "asset.ready / asset.failed, signature checked")]
        print(f"\nLocal stack ready in {self.progress.elapsed():.1f} s. State: {self.state / 'stack.json'}\n")
        for part, url, note in rows:
            print(f"  {part:<27} {url:<24} {note}")
        print("\n  demo users: " + ", ".join(f"{u.username} / {u.password} (owns {u.prefix})" for u in self.options.users))
        if len(self.allowed_origins) > len(self.demo_origins):
            print("  CORS also granted to: " + ", ".join(self.allowed_origins[len(self.demo_origins):]))
        print("\nCtrl-C stops everything.\n", flush=True)

    # ----------------------------------------------------------------- running and stopping
    def watch(self):
        """Until Ctrl-C: report a part that exits (the rest keep running, e.g. to watch the edge
        serve on its last keys after moto is stopped, then fail closed)."""
        while not self.stop_requested:
            for child in self.children:
                code = child.exited()
                if code is not None and child.name not in self.reported_exits:
                    self.reported_exits.add(child.name)
                    print(f"[{self.progress.elapsed():5.1f} s] {child.name} exited with code {code}; "
                          "the other parts keep running (Ctrl-C stops them)", flush=True)
            time.sleep(0.5)

    def stop(self):
        """Another Ctrl-C meanwhile only sets the flag again: it cannot cut the clean-up short."""
        self._remove_state_files()
        if self.snapshot_s3:
            self._save_bucket()  # while moto still runs
        if getattr(self, "processor", None):  # none when the start stopped early
            self.processor.stop()
        for child in reversed(self.children):
            child.stop()
        for server in self.servers:
            server.shutdown()
            server.server_close()
        shutil.rmtree(self.moto_dir, ignore_errors=True)


def _users_json(users):
    return [{"username": u.username, "password": u.password, "prefix": u.prefix} for u in users]


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        check_options(options)
    except OptionError as exc:
        print(f"local stack: {exc}", file=sys.stderr)
        return 2
    stack = Stack(options)
    signal.signal(signal.SIGINT, stack.request_stop)
    signal.signal(signal.SIGTERM, stack.request_stop)  # stop as on Ctrl-C
    try:
        stack.start()
        stack.watch()
        print("\nstopping...", flush=True)
        return 0
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
