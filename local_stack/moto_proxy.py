"""The S3 + SSM endpoint the stack advertises: a proxy in front of moto, run in the runner.

moto serves on a Unix socket in a private directory (mode 0700), so other users' processes and
web pages cannot reach it; only this proxy listens on TCP. moto's own `/moto-api/` hands out
everything it holds (`data.json`: the signing key's PEM, every IAM secret) and can switch IAM
checks off (`reset-auth`), and moto's blanket CORS reflects any Origin. The proxy:
- forwards only requests for the bucket (`/<bucket>...`) and for `/` (where SSM, IAM and STS calls
  go), judged on the path as moto reads it (percent-decoded, empty segments dropped), so
  `/moto-api/` and moto's instance-metadata stand-in are a 404 however they are spelled;
- forwards those exactly as sent (request target, headers in order with Host, body streamed both
  ways), so SigV4 signatures, Range and conditional requests work unchanged;
- answers CORS as the bucket's CORS rule in infra/bucket.py does: POST from the upload origins
  only (preflight and answer); moto's own Access-Control-* headers are dropped;
- takes browser form uploads itself (post_object): moto cannot check a POST policy while it
  enforces IAM;
- answers malformed requests as S3 does where moto would fail with a 500 and an HTML traceback
  page (integer parameters, XML bodies, copy sources: `malformed`), and turns any other moto 5xx
  into S3's own `500 InternalError` XML (an unreadable If-Modified-Since, which S3 ignores, is
  one: the header is signed, so the proxy cannot drop it);
- tells `on_object_created(key, size, how)` of each object a form upload (`Post`) or a plain PUT stored, as S3's
  event notifications do (the stack runs the media processor on those under incoming/).
"""
import datetime
import http.client
import re
import socket
import sys
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.etree import ElementTree

from infra.response_headers import UPLOAD_CORS_EXPOSE_HEADERS, UPLOAD_CORS_MAX_AGE_SECONDS
from local_stack import post_object
from local_stack.httpserve import CHUNK_BYTES, HOP_BY_HOP, IDLE_TIMEOUT, ORIGIN_FORM_TARGET, Handler, Server

_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,./:=?-]{1,70}")  # RFC 2046 (without the space)
MAX_DECODES = 3
NOT_FORWARDED = HOP_BY_HOP | {"expect"}  # the proxy answers `Expect: 100-continue` itself
# Query parameters S3 reads as integers, with the range it takes (400 InvalidArgument outside it).
INTEGER_PARAMETERS = {"max-keys": (0, 2 ** 31 - 1), "max-uploads": (0, 2 ** 31 - 1), "max-parts": (0, 2 ** 31 - 1),
                      "part-number-marker": (0, 10_000), "partNumber": (1, 10_000)}
# Sub-resources whose PUT/POST body is an XML document (400 MalformedXML when it is not one).
XML_BODY_PARAMETERS = ("delete", "tagging", "cors", "lifecycle", "acl", "versioning", "uploadId")
MAX_XML_BODY_BYTES = 1024 * 1024
_DIGITS = re.compile(r"[0-9]{1,12}")


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a server on a Unix socket (moto)."""

    def __init__(self, path, timeout=IDLE_TIMEOUT):
        super().__init__("localhost", timeout=timeout)
        self._socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def path_segments(target):
    """The non-empty segments of the target's path as moto reads it, decoded again while decoding
    changes it (so no layer of percent-encoding hides a segment); None if it does not settle."""
    path = target.partition("?")[0]
    for _ in range(MAX_DECODES):
        decoded = unquote(path)
        if decoded == path:
            return [segment for segment in path.split("/") if segment]
        path = decoded
    return None


def forwardable(segments, bucket):
    """`/` (SSM, IAM, STS) or a path in the bucket, without dot segments."""
    return (segments is not None and (not segments or segments[0] == bucket)
            and not any(segment in (".", "..") for segment in segments))


def malformed(method, target, headers, body=None):
    """(status, code, message) of S3's answer to a request moto would fail on with a 500, or None.
    `body` is the XML body of a sub-resource request (XML_BODY_PARAMETERS), read by the caller."""
    query = parse_qs(urlsplit(target).query, keep_blank_values=True)
    for name, (low, high) in INTEGER_PARAMETERS.items():
        for value in query.get(name, ()):
            if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
                return 400, "InvalidArgument", f"{name} must be an integer from {low} to {high}."
    source = headers.get("x-amz-copy-source")
    if source is not None:
        try:
            unquote(source, errors="strict")
        except UnicodeDecodeError:
            return 400, "InvalidArgument", "Invalid copy source encoding."
    if body is not None and not _well_formed(body, delete="delete" in query):
        return 400, "MalformedXML", ("The XML you provided was not well-formed or did not validate "
                                     "against our published schema.")
    return None


def xml_body_expected(method, target):
    """True for the requests whose body is an XML document: a part upload (PUT ?uploadId) is not."""
    query = parse_qs(urlsplit(target).query, keep_blank_values=True)
    names = [name for name in XML_BODY_PARAMETERS if name in query]
    return (method == "POST" and bool(names)) or (method == "PUT" and bool(names) and "uploadId" not in query)


def _well_formed(body, delete):
    """An XML document without a DTD (S3 takes none; so no entity expansion here either); a
    DeleteObjects document must name at least one object."""
    if b"<!DOCTYPE" in body.upper():
        return False
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return False
    return not delete or any(child.tag.rpartition("}")[2] == "Object" for child in root)


class MotoProxy(Server):
    def __init__(self, host, port, moto_socket, bucket, region, upload_origins):
        self.moto_socket = moto_socket
        self.bucket, self.region = bucket, region
        self.upload_origins = frozenset(upload_origins)
        self.post_signers = {}  # access key id -> secret, of the users whose form uploads are taken
        self.on_object_created = lambda key, size, how: None
        super().__init__((host, port), ProxyHandler)
        bound = self.server_address[1]
        self.hosts = {f"{host}:{bound}", f"localhost:{bound}"}


class ProxyHandler(Handler):
    BODYLESS_METHODS = ()  # every body is forwarded (or read by the form upload)

    def version_string(self):
        return "LocalStackMotoProxy"

    def do_request(self):
        server = self.server
        if not ORIGIN_FORM_TARGET.fullmatch(self.path):
            return self._error(400, "InvalidURI", "Couldn't parse the specified URI.")
        if len(self.headers.get_all("Host", [])) != 1 or self.headers["Host"] not in server.hosts:
            return self._error(421, "MisdirectedRequest", "This endpoint answers only as "
                                                          + " or ".join(sorted(server.hosts)) + ".")
        segments = path_segments(self.path)
        if not forwardable(segments, server.bucket):
            return self._error(404, "NotFound", "Only the bucket and / are served here.")
        in_bucket = bool(segments)
        if self.command == "OPTIONS":
            return self._preflight(in_bucket)
        cors = self._cors() if in_bucket and self.command == "POST" else []
        if (self.command == "POST" and segments == [server.bucket] and "?" not in self.path
                and self.headers.get_content_type() == "multipart/form-data"):
            return self._post_object(cors)
        status = self._forward(cors)
        if self.command == "PUT" and status == 200 and len(segments) > 1 and "?" not in self.path:
            server.on_object_created("/".join(segments[1:]), self.body_length(), "Put")

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_request

    # ------------------------------------------------------------- CORS (the bucket's rule)
    def _cors(self):
        origin = self.headers.get("Origin")
        if origin not in self.server.upload_origins:
            return [("Vary", "Origin")]
        return [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Methods", "POST"),
                ("Access-Control-Expose-Headers", ", ".join(UPLOAD_CORS_EXPOSE_HEADERS)), ("Vary", "Origin")]

    def _preflight(self, in_bucket):
        if (not in_bucket or self.headers.get("Origin") not in self.server.upload_origins
                or self.headers.get("Access-Control-Request-Method") != "POST"):
            return self._error(403, "AccessForbidden", "CORSResponse: This CORS request is not allowed.")
        headers = self._cors() + [("Access-Control-Max-Age", str(UPLOAD_CORS_MAX_AGE_SECONDS))]
        requested = self.headers.get("Access-Control-Request-Headers")
        if requested:  # the rule allows every header: S3 names the requested ones
            headers.append(("Access-Control-Allow-Headers", requested))
        self.send_body(200, b"", "text/plain", headers)

    # ------------------------------------------------------------- forwarding
    def _forward(self, cors):
        length = self.body_length()
        if length is None:
            return
        body = None
        if length and xml_body_expected(self.command, self.path):
            if length > MAX_XML_BODY_BYTES:
                return self._error(400, "MaxMessageLengthExceeded", "Your request was too big.", cors)
            body = self.rfile.read(length)
            if len(body) < length:
                self.close_connection = True
                return
        refusal = malformed(self.command, self.path, self.headers, body)
        if refusal:
            return self._error(*refusal, cors)
        connection = UnixHTTPConnection(self.server.moto_socket)
        try:
            try:
                connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in NOT_FORWARDED:
                        connection.putheader(name, value)
                connection.endheaders()
                if body is not None:
                    connection.send(body)
                elif not self._copy_body(length, connection):
                    return
                response = connection.getresponse()
            except (OSError, http.client.HTTPException):
                return self._error(502, "BadGateway", "moto is not answering.", cors)
            if response.status >= 500:  # moto's traceback page: S3 never shows its insides
                print(f"moto-proxy: moto failed ({response.status}) on {self.command} {self.path.partition('?')[0]}; "
                      "answered S3's 500 InternalError", file=sys.stderr, flush=True)
                return self._error(500, "InternalError", "We encountered an internal error. Please try again.", cors)
            self.relay(response, lambda name: not name.startswith("access-control-"), cors)
            return response.status
        finally:
            connection.close()

    def _copy_body(self, length, connection):
        """Stream the request body to moto; False (and the connection closed) if the client stops."""
        left = length
        while left:
            chunk = self.rfile.read(min(CHUNK_BYTES, left))
            if not chunk:
                self.close_connection = True
                return False
            connection.send(chunk)
            left -= len(chunk)
        return True

    # ------------------------------------------------------------- browser form uploads
    def _post_object(self, cors):
        server = self.server
        length = self.body_length()
        if length is None:
            return
        boundary = self.headers.get_param("boundary")
        if not isinstance(boundary, str) or not _BOUNDARY.fullmatch(boundary):
            return self._error(400, "MalformedPOSTRequest", "multipart/form-data needs a boundary.", cors)
        body = post_object.Body(self.rfile, length)
        try:
            fields = post_object.read_fields(body, boundary.encode())
            form = post_object.check_form(fields, server.bucket, server.region, server.post_signers,
                                          datetime.datetime.now(datetime.timezone.utc))
            spool, size = post_object.receive(body, boundary.encode(), form)
        except post_object.FormError as error:
            return self._error(error.status, error.code, error.message, cors)
        if not body.drain():
            self.close_connection = True
        host = self.headers["Host"]
        connection = UnixHTTPConnection(server.moto_socket)
        try:
            response = post_object.put_object(connection, host, server.bucket, server.region, form,
                                              server.post_signers[form.access_key_id], spool, size)
            if response.status != 200:  # moto's IAM check said no, or moto failed: its answer as it is
                return self.relay(response, lambda name: not name.startswith("access-control-"), cors)
            response.read()
            location = f"http://{host}/{server.bucket}/{quote(form.key, safe='/~')}"
            status, headers, answer = post_object.success_answer(form, server.bucket, location,
                                                                 response.getheader("ETag", ""))
            if status == 204:  # no content: no Content-Type or Content-Length either
                self.send_response(204)
                for name, value in headers + cors:
                    self.send_header(name, value)
                self.end_headers()
            else:
                self.send_body(status, answer, "application/xml", headers + cors)
            server.on_object_created(form.key, size, "Post")
        except (OSError, http.client.HTTPException):
            self._error(502, "BadGateway", "moto is not answering.", cors)
        finally:
            spool.close()
            connection.close()

    def _error(self, status, code, message, headers=()):
        """An S3-style XML error from the proxy itself; the connection closes (a body may be unread)."""
        self.close_connection = True
        self.send_body(status, post_object.FormError(status, code, message).xml(), "application/xml",
                       list(headers) + [("Connection", "close")])

