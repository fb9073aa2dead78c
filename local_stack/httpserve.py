"""Small shared pieces for the stack's stdlib HTTP servers (IdP, CDN stand-in, demo site)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a browser's idle keep-alive connection must not block shutdown


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a video playback is many range requests

    def log_message(self, format, *args):
        pass  # the parts log what matters themselves (the edge logs one JSON line per decision)

    def send_body(self, status, body: bytes, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, document, headers=()):
        self.send_body(status, json.dumps(document).encode(), "application/json", headers)

    def read_body(self, limit):
        """The request body (at most `limit` bytes), or None when it is larger or chunked."""
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > limit or "Transfer-Encoding" in self.headers:
            self.close_connection = True  # the unread body would be taken for the next request
            return None
        return self.rfile.read(int(length))


def serve_in_thread(server, name):
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return thread
