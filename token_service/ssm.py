"""SSM GetParameter (with decryption) as one SigV4-signed POST over urllib: the standard library only.

At a Lambda cold start, importing boto3 and building its SSM client took longer than anything else
before the first answer (about 150 of 630 ms, docs/design.md "Token service on Lambda"). Lambda
gives the function its role's credentials in the environment, and reading a parameter is one
small signed request, so the service signs it here. keyring.py uses this only when the credentials
are in the environment; other credential sources (profiles, SSO, instance roles) go through boto3.

Signature Version 4 as AWS documents it ("Create a signed AWS API request", IAM user guide); the
tests check it byte for byte against botocore's signer and against a moto server that verifies it.
"""
import dataclasses
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 3  # per attempt; a GetParameter answers in milliseconds
ATTEMPTS = 3  # as boto3's "standard" retry mode
BACKOFF_SECONDS = 0.2  # full jitter: sleep up to 0.2 s, then up to 0.4 s
MAX_ANSWER_BYTES = 64 * 1024  # a parameter is at most 8 KB (advanced tier)
_RETRIED_CODES = {"ThrottlingException", "InternalServerError", "ServiceUnavailable"}
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,99}")
_XML_CODE = re.compile(rb"<Code>([A-Za-z0-9]{1,100})</Code>")


class SsmError(Exception):
    """str() is the AWS error code, or what went wrong on the way; never a credential or a value."""


@dataclasses.dataclass(frozen=True, repr=False)  # no repr: it would show the secret
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def environment_credentials(environ=None) -> Credentials | None:
    """The credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), as Lambda
    sets them for the function's role; None when either of the first two is missing."""
    environ = os.environ if environ is None else environ
    key_id, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if not key_id or not secret:
        return None
    return Credentials(key_id, secret, environ.get("AWS_SESSION_TOKEN") or None)


def endpoint(region: str) -> str:
    return f"https://ssm.{region}.amazonaws.com/"


def signed_request(name: str, region: str, credentials: Credentials, url: str, now: datetime.datetime):
    """(headers, body) of GetParameter(Name=name, WithDecryption=True) for POST `url`, signed at `now`."""
    body = json.dumps({"Name": name, "WithDecryption": True}).encode()
    parts = urlsplit(url)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"content-type": "application/x-amz-json-1.1", "host": parts.netloc, "x-amz-date": amz_date,
               "x-amz-target": "AmazonSSM.GetParameter"}
    if credentials.session_token:
        headers["x-amz-security-token"] = credentials.session_token
    signed_headers = ";".join(sorted(headers))
    canonical_request = "\n".join([
        "POST", parts.path or "/", "", *(f"{name}:{headers[name]}" for name in sorted(headers)), "",
        signed_headers, hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/ssm/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                                hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = ("AWS4" + credentials.secret_access_key).encode()
    for part in (day, region, "ssm", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
                                f"SignedHeaders={signed_headers}, Signature={signature}")
    del headers["host"]  # urllib sends the same value itself
    return headers, body


def get_parameter(name: str, region: str, credentials: Credentials, endpoint_url: str | None = None) -> dict:
    """The decrypted parameter (`Name`, `Type`, `Value`, ...). Retries throttling, 5xx answers and
    network faults (ATTEMPTS in all); raises SsmError."""
    url = endpoint_url.rstrip("/") + "/" if endpoint_url else endpoint(region)
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, BACKOFF_SECONDS * 2 ** (attempt - 1)))
        headers, body = signed_request(name, region, credentials, url, datetime.datetime.now(datetime.timezone.utc))
        try:
            with urllib.request.urlopen(urllib.request.Request(url, body, headers, method="POST"),
                                        timeout=TIMEOUT_SECONDS) as response:
                return _parameter(response.read(MAX_ANSWER_BYTES + 1))
        except urllib.error.HTTPError as exc:
            code = _error_code(exc)
            error = SsmError(code)
            if exc.code < 500 and code not in _RETRIED_CODES:
                raise error from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # refused, timed out, cut
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            error = SsmError(f"could not reach {url} ({reason})")
    raise error


def _parameter(answer: bytes) -> dict:
    try:
        parameter = json.loads(answer)["Parameter"] if len(answer) <= MAX_ANSWER_BYTES else None
    except (ValueError, TypeError, KeyError):
        parameter = None
    if not isinstance(parameter, dict) or not isinstance(parameter.get("Value"), str):
        raise SsmError("the answer is not a GetParameter result")
    return parameter


def _error_code(exc: urllib.error.HTTPError) -> str:
    """The AWS error code: the x-amzn-ErrorType header or the JSON "__type" (AWS's JSON protocol,
    maybe after a namespace and '#'), or an XML <Code> (moto's refusals of signatures and rights)."""
    try:
        body = exc.read(MAX_ANSWER_BYTES)
    except (OSError, http.client.HTTPException):  # the body stopped half-way (timed out, reset)
        body = b""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    xml_code = _XML_CODE.search(body)
    for code in (exc.headers.get("x-amzn-ErrorType", "").split(":")[0],
                 document.get("__type") if isinstance(document, dict) else None,
                 xml_code.group(1).decode() if xml_code else None):
        code = code.rsplit("#", 1)[-1] if isinstance(code, str) else ""
        if _ERROR_CODE.fullmatch(code):
            return code
    return f"HTTP {exc.code}"
