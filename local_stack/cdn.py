"""The CloudFront stand-in: `python -m local_stack.cdn CONFIG.json` (started by the runner).

What one request goes through, as on CloudFront with this project's distribution:
1. methods other than GET, HEAD and OPTIONS are refused (403) before anything runs, and so are
   those with a body (CloudFront's answer for an S3 origin); a request target with a raw byte
   outside printable ASCII is a 400;
2. the viewer request becomes a CloudFront-shaped viewer-request event, and the handler of the
   built edge package (loaded from the zip, see lambda_runtime) runs on it;
3. a generated response goes back as it is; a returned request goes to the private bucket
   signed with SigV4 as OAC does (viewer Authorization never forwarded), with Range and the
   conditional headers passed through and the body streamed back;
4. the response headers policy's CORS and security headers (nosniff, the sandboxing CSP, ...) are
   added to what the origin answered, as infra/cdn.py configures them.
Not emulated: caching, geo restriction, edge locations and replicas, TLS, compression.
Its stdout and stderr write whole lines only: the edge's one JSON line per decision stays parseable.
"""
import base64
import html
import http.client
import json
import pathlib
import re
import secrets
import signal
import sys
import tempfile
import threading

from infra.response_headers import media_headers
from local_stack.httpserve import (DEFAULT_HEADER_TIMEOUT, ORIGIN_FORM_TARGET, Handler, RefusedOrigins, Server,
                                   WholeLines, log_line)
from local_stack.lambda_runtime import LambdaContext, load_handler
from local_stack.origin import SignedOrigin

GENERATED_RESPONSE_LIMIT = 40 * 1024  # Lambda@Edge viewer-request: headers + body
READ_ONLY_HEADERS = ("content-length", "host", "transfer-encoding", "via")
# A header value the function may return: no control characters, and only what fits in Latin-1.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
SECURITY_HEADERS = media_headers()  # Cache-Control: private, no-store included
_OVERRIDDEN = frozenset(name.lower() for name, _ in SECURITY_HEADERS)


def cf_headers(pairs):
    """[(Name, value)] -> CloudFront's {"name": [{"key": "Name", "value": value}]}."""
    out = {}
    for name, value in pairs:
        out.setdefault(name.lower(), []).append({"key": name, "value": value})
    return out


def viewer_request_event(method, uri, querystring, headers, client_ip, domain):
    return {"Records": [{"cf": {
        "config": {"distributionDomainName": domain, "distributionId": "ELOCALSTANDIN",
                   "eventType": "viewer-request", "requestId": secrets.token_urlsafe(40)},
        "request": {"clientIp": client_ip, "headers": cf_headers(headers), "method": method,
                    "querystring": querystring, "uri": uri},
    }}]}


class LambdaValidationError(Exception):
    """The function's result is one CloudFront would refuse (it answers 502)."""


def check_result(sent, result):
    if type(result) is not dict:
        raise LambdaValidationError("the function returned no request or response object")
    if "status" in result:
        if not str(result["status"]).isdigit() or not 100 <= int(result["status"]) <= 599:
            raise LambdaValidationError("invalid status")
        check_generated_headers(result.get("headers") or {})
        size = len(json.dumps(result.get("headers", {}))) + len(result.get("body") or "")
        if size > GENERATED_RESPONSE_LIMIT:
            raise LambdaValidationError(f"generated response of {size} bytes is over the 40 KB limit")
        return
    for name in READ_ONLY_HEADERS:
        if result.get("headers", {}).get(name) != sent[name]:
            raise LambdaValidationError(f"the function changed the read-only header {name}")


def check_generated_headers(headers):
    if type(headers) is not dict:
        raise LambdaValidationError("headers must be an object")
    for entries in headers.values():
        for entry in entries if type(entries) is list else [None]:
            if (type(entry) is not dict or type(entry.get("key")) is not str or type(entry.get("value")) is not str
                    or not _HEADER_NAME.fullmatch(entry["key"]) or not _HEADER_VALUE.fullmatch(entry["value"])):
                raise LambdaValidationError("the function returned an invalid header")


class Distribution:
    """The behaviour: the edge function (one invocation at a time, as in one Lambda container),
    the origin, and the response headers policy's CORS settings."""

    def __init__(self, handler, origin, function_name, domain, cors_allow_origins, cors_expose_headers):
        self.handler = handler
        self.origin = origin
        self.function_name = function_name
        self.domain = domain
        self.cors_origins = RefusedOrigins("CDN", cors_allow_origins)
        self.cors_expose_headers = ", ".join(cors_expose_headers)
        self._container = threading.Lock()

    def invoke(self, event):
        sent = {name: event["Records"][0]["cf"]["request"]["headers"].get(name) for name in READ_ONLY_HEADERS}
        with self._container:
            result = self.handler(event, LambdaContext(self.function_name))
        check_result(sent, result)
        return result

    def cors_headers(self, origin):
        if not self.cors_origins.allows(origin):
            return []
        return [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", self.cors_expose_headers),
                ("Vary", "Origin")]


def make_server(host, port, distribution, header_timeout=DEFAULT_HEADER_TIMEOUT):
    class StandInHandler(Handler):
        def version_string(self):
            return "CloudFront"

        def unexpected_body(self):
            """CloudFront answers a GET (or HEAD, OPTIONS) with a body 403 for an S3 origin."""
            self.close_connection = True  # the body is never read
            self._error(403, "This distribution does not accept a body on this request method.")
            return False

        def do_GET(self):
            # the edge answers preflights and denials itself, without the policy's CORS: a refused
            # origin is logged here, whatever answers
            distribution.cors_origins.allows(self.headers.get("Origin"))
            if not ORIGIN_FORM_TARGET.fullmatch(self.path):
                self._error(400, "Bad request.")
                return
            uri, _, querystring = self.path.partition("?")
            event = viewer_request_event(self.command, uri, querystring, self.headers.items(),
                                         self.client_address[0], distribution.domain)
            try:
                result = distribution.invoke(event)
            except Exception as exc:  # an exception in the function, or a result CloudFront refuses
                log_line({"stand_in": "lambda_error", "error": type(exc).__name__, "detail": str(exc)[:200]})
                self._error(502, "The Lambda function returned an invalid response or raised an error.",
                            "LambdaExecutionError from cloudfront")
                return
            if "status" in result:
                self._send_generated(result)
            else:
                self._forward(result)

        do_HEAD = do_OPTIONS = do_GET

        def _refuse_method(self):
            self.close_connection = True  # its body is never read
            self._error(403, "This distribution is not configured to allow the HTTP request method that was "
                             "used for this request. The distribution supports only cachable requests.")

        do_POST = do_PUT = do_PATCH = do_DELETE = do_TRACE = do_CONNECT = _refuse_method

        def _common_headers(self, x_cache):
            return [("Via", "1.1 local-stand-in.cloudfront.net (CloudFront)"), ("X-Cache", x_cache),
                    ("X-Amz-Cf-Pop", "LOCAL1"), ("X-Amz-Cf-Id", secrets.token_urlsafe(42))]

        def _common(self, x_cache):
            for name, value in self._common_headers(x_cache):
                self.send_header(name, value)

        def _send_generated(self, result):
            body = (result.get("body") or "").encode()
            if result.get("bodyEncoding") == "base64":
                body = base64.b64decode(body)
            self.send_response(int(result["status"]), result.get("statusDescription"))
            for entries in (result.get("headers") or {}).values():
                for entry in entries:
                    if entry["key"].lower() != "content-length":
                        self.send_header(entry["key"], entry["value"])
            self.send_header("Content-Length", str(len(body)))
            self._common("LambdaGeneratedResponse from cloudfront")
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def _forward(self, request):
            viewer = {name: entries[0]["value"] for name, entries in request["headers"].items()}
            try:
                response = distribution.origin.open(self.command, request["uri"], viewer)
            except (OSError, ValueError, http.client.HTTPException):
                # unreachable, or a request the origin connection cannot carry (a returned uri or
                # header value http.client refuses): CloudFront's answer is a 502 either way
                self._error(502, "CloudFront wasn't able to connect to the origin.")
                return
            try:
                x_cache = "Miss from cloudfront" if response.status < 400 else "Error from cloudfront"
                # the origin's own CORS headers are dropped (moto adds its own; a real bucket without
                # a CORS configuration sends none, and the policy overrides the origin's), and so are
                # those the policy's security headers override (an object's stored metadata cannot
                # switch off nosniff or the sandboxing CSP)
                self.relay(response, lambda name: not name.startswith("access-control-") and name not in _OVERRIDDEN,
                           distribution.cors_headers(self.headers.get("Origin")) + SECURITY_HEADERS
                           + self._common_headers(x_cache))
            finally:
                response.close()
                response.connection.close()

        def _error(self, status, message, x_cache="Error from cloudfront"):
            """An error CloudFront itself answers (not the function, not the origin)."""
            body = (f"<!DOCTYPE html><html><head><title>{status} ERROR</title></head><body><h1>{status} ERROR</h1>"
                    f"<h2>The request could not be satisfied.</h2><p>{html.escape(message)}</p></body></html>").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            for name, value in distribution.cors_headers(self.headers.get("Origin")):
                self.send_header(name, value)
            if self.close_connection:  # a body left unread: say so, or the client reuses the connection
                self.send_header("Connection", "close")
            self._common(x_cache)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    server = Server((host, port), StandInHandler)
    server.header_timeout = header_timeout
    return server


def main(argv):
    if len(argv) != 1:
        print("usage: python -m local_stack.cdn CONFIG.json", file=sys.stderr)
        return 2
    config = json.loads(pathlib.Path(argv[0]).read_text())
    # The edge prints one JSON line per decision from request threads: keep every line whole.
    sys.stdout, sys.stderr = WholeLines(1), WholeLines(2)
    with tempfile.TemporaryDirectory(prefix="edge-task-") as task_dir:
        handler = load_handler(config["package"], task_dir)
        credentials = config["oac_credentials"]
        origin = SignedOrigin(config["s3_endpoint"], config["bucket"], credentials["access_key_id"],
                              credentials["secret_access_key"])
        distribution = Distribution(handler, origin, config["function_name"], config["domain"],
                                    config["cors_allow_origins"], config["cors_expose_headers"])
        try:
            server = make_server(config["host"], config["port"], distribution, config["header_timeout_seconds"])
        except OSError as exc:
            print(f"cdn stand-in: cannot listen on {config['host']}:{config['port']}: {exc.strerror}", file=sys.stderr)
            return 1
        # SIGTERM from the runner: stop accepting, let serve_forever return, clean the task dir.
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        signal.signal(signal.SIGINT, lambda *_: threading.Thread(target=server.shutdown).start())
        server.serve_forever()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
