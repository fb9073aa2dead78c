"""The test frontend (tests/web/harness/, on an origin of its own, using web/ as docs/frontend.md
says) and a recording server for other origins; used by tests/web and bench/bench_web.py."""
import json
import pathlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers import free_port

REPO = pathlib.Path(__file__).resolve().parents[2]
HARNESS = pathlib.Path(__file__).parent / "harness"
JS = "text/javascript; charset=utf-8"


class RecordingServer(ThreadingHTTPServer):
    """Answers from `files` ({path: (body, content type[, status])}) with `headers`, else 404; CORS
    for any origin when `cors` is set. Every request is kept in `requests` as {method, path, headers, body}."""
    daemon_threads = True

    def __init__(self, files=None, headers=(), cors=False):
        self.files, self.headers, self.cors = files or {}, list(headers), cors
        self.requests = []
        super().__init__(("127.0.0.1", free_port()), _RecordingHandler)
        self.origin = f"http://127.0.0.1:{self.server_port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def requests_to(self, path):
        return [r for r in self.requests if r["path"] == path]


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append({"method": self.command, "path": self.path.split("?")[0],
                                     "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        status, content, content_type = 404, b"not found\n", "text/plain"
        if self.command == "OPTIONS":
            status, content = 204, b""
        elif self.path.split("?")[0] in self.server.files:
            content, content_type, *status = self.server.files[self.path.split("?")[0]]
            status = status[0] if status else 200
            content = content() if callable(content) else content
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in self.server.headers:
            self.send_header(name, value)
        if self.server.cors:  # credentialed too (cookie mode's /token): the request's Origin, not "*"
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")
            if self.command == "OPTIONS":
                self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT")
                self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers", ""))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    do_HEAD = do_POST = do_PUT = do_OPTIONS = do_GET


def serve_frontend(server, stack, extra_origins=()):
    """Serve the test frontend from `server` for the running `stack` (its stack.json)."""
    config = json.dumps({name: stack[name] for name in ("idp_url", "token_url", "cdn_url", "users")}).encode()
    server.files.update({
        "/": ((HARNESS / "index.html").read_bytes(), "text/html; charset=utf-8"),
        "/harness.js": ((HARNESS / "harness.js").read_bytes(), JS),
        "/private-media.js": ((REPO / "web" / "private-media.js").read_bytes(), JS),
        "/private-media-sw.js": ((REPO / "web" / "private-media-sw.js").read_bytes(), JS),
        "/config.json": (config, "application/json"),
    })
    server.headers = [("Content-Security-Policy", content_security_policy(stack, extra_origins)),
                      ("X-Content-Type-Options", "nosniff")]


def content_security_policy(stack, extra_origins=()):
    """What docs/frontend.md tells a frontend to send, plus other origins the tests and bench call."""
    others = " ".join(extra_origins)
    return (f"default-src 'self'; script-src 'self'; worker-src 'self'; "
            f"connect-src 'self' {stack['idp_url']} {stack['token_url']} {stack['cdn_url']} {others}; "
            f"media-src {stack['cdn_url']} {others} blob:; img-src 'self' {others}")  # blob: for blob mode
