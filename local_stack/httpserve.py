"""Shared pieces of the stack's stdlib HTTP servers (IdP, CDN stand-in, demo site, moto proxy).

- A client has `header_timeout` seconds (default 10) to send its request line and headers, counted
  from when the server starts waiting for them (an idle keep-alive connection counts too), so a
  slow or silent client cannot hold a thread for ever; after the headers, each read or write may
  wait IDLE_TIMEOUT seconds.
- A body on GET, HEAD or OPTIONS is read and dropped (at most DISCARD_LIMIT bytes, else 413 and the
  connection closes), so it is never taken for the next request on the connection.
- A client that goes away or times out is not an error: no traceback. Anything else is logged as
  one JSON line, written whole, so the stream of JSON lines stays parseable.
"""
import io
import json
import os
import re
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_HEADER_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0  # per read or write once the headers are in (a paused player's pending range)
DISCARD_LIMIT = 64 * 1024
CHUNK_BYTES = 64 * 1024
_LENGTH = re.compile(r"[0-9]{1,18}")
# A request target the stack's servers take: origin-form, printable ASCII only (a raw non-ASCII
# byte or a space is a 400, as on CloudFront and S3; clients percent-encode such characters).
ORIGIN_FORM_TARGET = re.compile(r"/[\x21-\x7e]*")
# Never relayed between two HTTP connections (RFC 9110 section 7.6.1).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
                        "upgrade", "proxy-authenticate", "proxy-authorization"})


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a browser's idle keep-alive connection must not block shutdown
    header_timeout = DEFAULT_HEADER_TIMEOUT

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return  # the client went away, or was too slow: nothing of ours went wrong
        log_line({"server_error": type(error).__name__, "detail": str(error)[:200],
                  "traceback": traceback.format_exc(limit=8)[-2000:]})


def log_line(record):
    """One JSON line to stderr in a single write (lines from threads never interleave)."""
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


class RefusedOrigins:
    """The CORS grant of one part, and a log of whom it refused: a page whose origin is not allowed
    sees only "Failed to fetch", so the first request from each such origin is one JSON line naming
    it and the option that allows it. At most LIMIT origins are remembered (a client may send any)."""
    LIMIT = 64
    _ORIGIN = re.compile(r"https?://[^/\s]{1,200}")

    def __init__(self, part, allowed):
        self.part = part
        self.allowed = frozenset(allowed)
        self._logged = set()
        self._lock = threading.Lock()

    def allows(self, origin):
        """Whether `origin` (a request's Origin header, or None) gets CORS; a refusal is logged once."""
        if origin is None or origin in self.allowed:
            return origin is not None
        with self._lock:
            if origin in self._logged or len(self._logged) >= self.LIMIT:
                return False
            self._logged.add(origin)
        hint = (f"start the stack with --allow-origin {origin}" if self._ORIGIN.fullmatch(origin)
                else "serve the page over http(s) from an origin given with --allow-origin")
        log_line({"cors_refused": origin[:200], "part": self.part, "hint": hint})
        return False


class _DeadlineReader(io.RawIOBase):
    """Reads from a socket; while `deadline` is set, no read may end after it."""

    def __init__(self, sock):
        self._sock = sock
        self.deadline = None

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request headers not received in time")
            self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a video playback is many range requests
    BODYLESS_METHODS = ("GET", "HEAD", "OPTIONS")

    def setup(self):
        super().setup()
        self.rfile.close()  # replaced by a reader that holds the header deadline
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self):
        self._reader.deadline = time.monotonic() + self.server.header_timeout
        super().handle_one_request()

    def parse_request(self):
        parsed = super().parse_request()
        self._reader.deadline = None
        self.connection.settimeout(IDLE_TIMEOUT)
        if parsed and self.command in self.BODYLESS_METHODS and self.has_body():
            return self.unexpected_body()
        return parsed

    def log_message(self, format, *args):
        pass  # the parts log what matters themselves (the edge logs one JSON line per decision)

    def has_body(self):
        return "Transfer-Encoding" in self.headers or self.headers.get("Content-Length", "0") != "0"

    def body_length(self):
        """The Content-Length, or None after answering 400/411 (chunked bodies are not taken)."""
        lengths = self.headers.get_all("Content-Length", [])
        if "Transfer-Encoding" in self.headers:
            self.send_error(411, "Length Required", "send the body with a Content-Length, not chunked")
            return None
        if len(lengths) > 1 or (lengths and not _LENGTH.fullmatch(lengths[0])):
            self.send_error(400, "Bad Request", "one Content-Length of digits")
            return None
        return int(lengths[0]) if lengths else 0

    def unexpected_body(self):
        """A body on a method that takes none: read and drop it (True), or answer and close (False)."""
        length = self.body_length()
        if length is None:
            return False
        if length > DISCARD_LIMIT:
            self.send_error(413, "Content Too Large", f"{self.command} takes no body")
            return False
        self.rfile.read(length)
        return True

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
        if not _LENGTH.fullmatch(length) or int(length) > limit or "Transfer-Encoding" in self.headers:
            self.close_connection = True  # the unread body would be taken for the next request
            return None
        return self.rfile.read(int(length))

    def relay(self, response, keep_header, extra_headers=()):
        """Send an upstream http.client response on: its status, the headers `keep_header(lowercase
        name)` accepts (never hop-by-hop ones) plus `extra_headers`, and its body streamed.
        The caller closes `response`. A viewer that goes away, or an upstream that breaks off
        mid-body, ends the connection (the viewer sees a short body, as from CloudFront)."""
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            lowered = name.lower()
            if lowered not in HOP_BY_HOP and lowered not in ("server", "date") and keep_header(lowered):
                self.send_header(name, value)
        has_body = self.command != "HEAD" and response.status not in (204, 304)
        if has_body and response.getheader("Content-Length") is None:
            self.send_header("Connection", "close")  # length unknown: the end of the body is the close
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        if not has_body:
            return
        try:
            while chunk := response.read(CHUNK_BYTES):
                self.wfile.write(chunk)
        except OSError:  # either side broke off; ConnectionError is an OSError too
            self.close_connection = True


class WholeLines(io.TextIOBase):
    """A text stream for a file descriptor that writes only whole lines, each batch with one
    write(2) under a lock shared by every WholeLines of the process. print() writes a line and its
    newline separately; with threads, lines would otherwise break and interleave. A partial line
    waits (per thread) for its newline."""

    _lock = threading.Lock()

    def __init__(self, fd):
        self._fd = fd
        self._pending = threading.local()

    def writable(self):
        return True

    def fileno(self):
        return self._fd

    def write(self, text):
        pending = getattr(self._pending, "text", "") + text
        end = pending.rfind("\n") + 1
        self._pending.text = pending[end:]
        if end:
            data = pending[:end].encode(errors="replace")
            with WholeLines._lock:
                while data:
                    data = data[os.write(self._fd, data):]
        return len(text)


def serve_in_thread(server, name):
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return thread
