"""Browser form uploads (S3's POST Object) to the local bucket, checked as S3 checks them.

moto cannot take a presigned POST while it enforces IAM (its signature check reads an
Authorization header a form upload does not have, and answers 500), so the moto proxy handles
`POST /<bucket>` with a multipart/form-data body here:
1. the form fields before `file` are read (at most MAX_FIELDS_BYTES, as S3's 20 KB);
2. the POST policy is checked as S3 checks it: SigV4 signature by a known access key, not
   expired, every field covered by a condition, every condition met (exact match, `eq`,
   `starts-with`, the bucket, `content-length-range`);
3. the file is streamed into a spool file (memory up to SPOOL_MEMORY_BYTES, then disk), held to the
   policy's byte range as it arrives, and nothing is stored unless it all checks out;
4. it is PUT to moto, SigV4-signed as the access key that signed the form, so moto's IAM check of
   that user's policy decides whether the key may be written, as IAM does in AWS.
Not emulated, and refused with 501 NotImplemented rather than ignored: `${filename}` in the key,
redirects, ACLs, tagging, encryption, storage class, checksums, session tokens and SigV2 forms.
"""
import base64
import binascii
import datetime
import hashlib
import hmac
import http.client
import io
import json
import tempfile
from urllib.parse import quote
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local_stack.httpserve import CHUNK_BYTES

MAX_FIELDS_BYTES = 20 * 1024  # S3: the form fields and their part headers, before the file
MAX_PART_HEADER_BYTES = 4 * 1024
MAX_OBJECT_BYTES = 5 * 1024 ** 3  # S3's limit for one POST upload
MAX_KEY_BYTES = 1024
SPOOL_MEMORY_BYTES = 1024 * 1024
DRAIN_LIMIT = 64 * 1024  # after the file: read this much of what follows, else close the connection
NOT_IN_POLICY = ("policy", "x-amz-signature", "file")  # fields the policy need not name
SIGV4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "policy", "key")
STORED_AS_HEADERS = ("content-type", "cache-control", "content-disposition", "content-encoding", "expires")


class FormError(Exception):
    """An S3 error answer: status, code and message (the message never holds a secret)."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def xml(self):
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code>'
                f"<Message>{escape(self.message)}</Message></Error>").encode()


def _denied(message):
    return FormError(403, "AccessDenied", f"Invalid according to Policy: {message}")


# ------------------------------------------------------------------ reading the form

class Body:
    """The request body: exactly `length` bytes of `rfile`, taken in chunks, never more."""

    def __init__(self, rfile, length):
        self._rfile, self.left, self._buffer = rfile, length, b""

    def _fill(self):
        if not self.left:
            raise FormError(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed "
                                                         "multipart/form-data.")
        chunk = self._rfile.read(min(CHUNK_BYTES, self.left))
        if not chunk:
            raise ConnectionAbortedError("the client stopped sending the body")
        self.left -= len(chunk)
        self._buffer += chunk

    def take(self, size):
        while len(self._buffer) < size:
            self._fill()
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken

    def read_until(self, delimiter, sink, limit, too_large):
        """Pass the bytes before `delimiter` to `sink` and consume the delimiter; raise `too_large`
        once more than `limit` bytes have passed. Linear: each byte is searched at most twice."""
        passed = 0
        keep = len(delimiter) - 1
        while True:
            at = self._buffer.find(delimiter)
            end = at if at >= 0 else max(0, len(self._buffer) - keep)
            passed += end
            if passed > limit:
                raise too_large
            sink(self._buffer[:end])
            if at >= 0:
                self._buffer = self._buffer[at + len(delimiter):]
                return passed
            self._buffer = self._buffer[end:]
            self._fill()

    def drain(self):
        """Read what is left (True), unless it is more than DRAIN_LIMIT (False: close instead)."""
        if self.left > DRAIN_LIMIT:
            return False
        while self.left:
            self._fill()
        return True


def _fields_too_large():
    return FormError(400, "MaxPostPreDataLengthExceeded",
                     f"Your POST request fields preceding the upload file were too large (over {MAX_FIELDS_BYTES} bytes).")


def _part_name(header_block):
    """(field name, is the file) from a part's headers."""
    headers = http.client.parse_headers(io.BytesIO(header_block + b"\r\n\r\n"))
    name = headers.get_param("name", header="content-disposition")
    if headers.get_content_disposition() != "form-data" or not isinstance(name, str) or not name:
        raise FormError(400, "MalformedPOSTRequest", "Each part of the form needs Content-Disposition: "
                                                     "form-data with a name.")
    return name, name.lower() == "file"


def read_fields(body, boundary):
    """The form fields before `file` as {lower-case name: value}; the body is left at the file's bytes."""
    dash_boundary = b"--" + boundary
    budget = MAX_FIELDS_BYTES
    budget -= body.read_until(dash_boundary, lambda data: None, budget, _fields_too_large())  # the preamble
    fields = {}
    while True:
        after = body.take(2)
        if after == b"--":  # the closing delimiter: the form had no file
            raise FormError(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        if after != b"\r\n":
            raise FormError(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed "
                                                         "multipart/form-data.")
        header_block = bytearray()
        budget -= body.read_until(b"\r\n\r\n", header_block.extend, min(budget, MAX_PART_HEADER_BYTES),
                                  _fields_too_large())
        name, is_file = _part_name(bytes(header_block))
        if is_file:
            return fields
        value = bytearray()
        budget -= body.read_until(b"\r\n" + dash_boundary, value.extend, budget, _fields_too_large())
        if name.lower() in fields:
            raise FormError(400, "InvalidArgument", f"The form field {name} appears more than once.")
        try:
            fields[name.lower()] = value.decode()
        except UnicodeDecodeError:
            raise FormError(400, "InvalidArgument", f"The form field {name} is not UTF-8.") from None


# ------------------------------------------------------------------ checking the policy

def policy_signature(secret, date, region, policy_b64):
    key = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


def _expiration(text):
    for form in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.datetime.strptime(text, form).replace(tzinfo=datetime.timezone.utc)
        except (TypeError, ValueError):
            pass
    raise FormError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.")


def _field_name(reference):
    if type(reference) is not str or not reference.startswith("$") or len(reference) < 2:
        raise FormError(400, "InvalidPolicyDocument", "Invalid Policy: a condition must name a field as $name.")
    return reference[1:].lower()


class CheckedForm:
    """A form whose policy holds: who signed it, the key, the byte range, the headers to store."""

    def __init__(self, access_key_id, key, min_bytes, max_bytes, fields):
        self.access_key_id, self.key = access_key_id, key
        self.min_bytes, self.max_bytes = min_bytes, max_bytes
        self.headers = {name: value for name, value in fields.items()
                        if name in STORED_AS_HEADERS or name.startswith("x-amz-meta-")}
        status = fields.get("success_action_status")
        self.success_status = int(status) if status in ("200", "201", "204") else 204  # S3 ignores other values


def check_form(fields, bucket, region, secrets_by_key, now):
    """Check the form fields as S3 does; a CheckedForm, or FormError. `fields` has lower-case names."""
    if "awsaccesskeyid" in fields or "signature" in fields:
        raise FormError(501, "NotImplemented", "Only Signature Version 4 forms are emulated here.")
    for name in SIGV4_FIELDS:
        if not fields.get(name):
            raise FormError(400, "InvalidArgument", f"Bucket POST must contain a field named '{name}'.")
    if fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
        raise FormError(400, "InvalidArgument", "x-amz-algorithm must be AWS4-HMAC-SHA256.")
    if "x-amz-security-token" in fields:
        raise FormError(403, "InvalidToken", "The local stack has no session credentials.")
    credential = fields["x-amz-credential"].split("/")
    if (len(credential) != 5 or credential[3:] != ["s3", "aws4_request"] or len(credential[1]) != 8
            or not credential[1].isdigit() or not fields["x-amz-date"].startswith(credential[1] + "T")):
        raise FormError(400, "InvalidArgument", "x-amz-credential must be KEY/YYYYMMDD/region/s3/aws4_request, "
                                                "dated as x-amz-date.")
    access_key_id, date, credential_region = credential[:3]
    if credential_region != region:
        raise FormError(400, "AuthorizationHeaderMalformed", f"The region '{credential_region}' is wrong; "
                                                             f"expecting '{region}'.")
    secret = secrets_by_key.get(access_key_id)
    if secret is None:
        raise FormError(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    if not hmac.compare_digest(policy_signature(secret, date, region, fields["policy"]),
                               fields["x-amz-signature"].lower()):
        raise FormError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                      "signature you provided.")
    try:
        policy = json.loads(base64.b64decode(fields["policy"], validate=True))
    except (binascii.Error, ValueError, RecursionError):
        raise FormError(400, "InvalidPolicyDocument", "Invalid Policy: not base64-encoded JSON.") from None
    if type(policy) is not dict or type(policy.get("conditions")) is not list:
        raise FormError(400, "InvalidPolicyDocument", "Invalid Policy: needs 'expiration' and 'conditions'.")
    if _expiration(policy.get("expiration")) <= now:
        raise _denied("Policy expired.")
    min_bytes, max_bytes, named = _check_conditions(policy["conditions"], fields, bucket)
    for name in fields:
        if name not in named and name not in NOT_IN_POLICY and not name.startswith("x-ignore-"):
            raise _denied(f"Extra input fields: {name}")
    _check_emulated(fields)
    return CheckedForm(access_key_id, fields["key"], min_bytes, max_bytes, fields)


def _check_conditions(conditions, fields, bucket):
    """(min bytes, max bytes, names of the fields the conditions cover); FormError if one fails."""
    min_bytes, max_bytes, named = 0, MAX_OBJECT_BYTES, set()
    values = {**fields, "bucket": bucket}
    for condition in conditions:
        if type(condition) is dict and len(condition) == 1:
            ((name, expected),) = condition.items()
            operator, name = "eq", name.lower()
        elif type(condition) is list and len(condition) == 3 and condition[0] == "content-length-range":
            low, high = condition[1:]
            if type(low) is not int or type(high) is not int or not 0 <= low <= high:
                raise FormError(400, "InvalidPolicyDocument", "Invalid Policy: bad content-length-range.")
            min_bytes, max_bytes = max(min_bytes, low), min(max_bytes, high)
            continue
        elif type(condition) is list and len(condition) == 3 and condition[0] in ("eq", "starts-with"):
            operator, name, expected = condition[0], _field_name(condition[1]), condition[2]
        else:
            raise FormError(400, "InvalidPolicyDocument", f"Invalid Policy: unknown condition {json.dumps(condition)[:200]}.")
        if type(expected) is not str:
            raise FormError(400, "InvalidPolicyDocument", "Invalid Policy: condition values are strings.")
        value = values.get(name)
        if value is None or not (value == expected if operator == "eq" else value.startswith(expected)):
            raise _denied(f"Policy Condition failed: {json.dumps(condition)[:300]}")
        named.add(name)
    return min_bytes, max_bytes, named


def _check_emulated(fields):
    for name in fields:
        if name in SIGV4_FIELDS or name in NOT_IN_POLICY or name in STORED_AS_HEADERS or name == "success_action_status":
            continue
        if not (name.startswith("x-amz-meta-") or name.startswith("x-ignore-")):
            raise FormError(501, "NotImplemented", f"The form field {name} is not emulated by the local stack.")
    key = fields["key"]
    if "${filename}" in key:
        raise FormError(501, "NotImplemented", "${filename} in the key is not emulated by the local stack.")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise FormError(400, "KeyTooLongError", "Your key is too long.")
    for name, value in fields.items():
        if (name in STORED_AS_HEADERS or name.startswith("x-amz-meta-")) and not _header_safe(value):
            raise FormError(400, "InvalidArgument", f"The form field {name} cannot be stored as a header.")


def _header_safe(value):
    return all(c == "\t" or " " <= c <= "~" for c in value)


# ------------------------------------------------------------------ receiving and storing the file

def receive(body, boundary, form):
    """(spool file at its start, size): the file part's bytes, held to the form's byte range.
    The caller closes the file."""
    spool = tempfile.SpooledTemporaryFile(SPOOL_MEMORY_BYTES)
    too_large = FormError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
    try:
        size = body.read_until(b"\r\n--" + boundary, spool.write, form.max_bytes, too_large)
        if size < form.min_bytes:
            raise FormError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size


def put_object(connection, host, bucket, region, form, secret, spool, size):
    """PUT the spooled file to moto, signed (payload hash included) as the form's signer; returns
    moto's response."""
    path = f"/{bucket}/{quote(form.key, safe='/~')}"
    headers = {"Host": host, "Content-Length": str(size),
               "Content-Type": "binary/octet-stream"}  # S3's type when the form names none
    headers.update({_HEADER_CASE.get(name, name): value for name, value in form.headers.items()})
    request = AWSRequest(method="PUT", url=f"http://{host}{path}", headers=headers, data=spool)
    S3SigV4Auth(Credentials(form.access_key_id, secret), "s3", region).add_auth(request)
    connection.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
    for name, value in request.headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    while chunk := spool.read(CHUNK_BYTES):
        connection.send(chunk)
    return connection.getresponse()


_HEADER_CASE = {"content-type": "Content-Type", "cache-control": "Cache-Control",
                "content-disposition": "Content-Disposition", "content-encoding": "Content-Encoding",
                "expires": "Expires"}


def success_answer(form, bucket, location, etag):
    """(status, headers, body) of S3's answer to a stored upload."""
    headers = [("ETag", etag), ("Location", location)]
    if form.success_status != 201:
        return form.success_status, headers, b""
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>{escape(location)}</Location>'
            f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(form.key)}</Key><ETag>{escape(etag)}</ETag>"
            "</PostResponse>").encode()
    return 201, headers, body
