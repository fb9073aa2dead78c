"""Uploads: an S3 presigned POST for one object whose key, type and size the service chooses.

The caller names only a content type and a size; the service picks the key (a random id under
the caller's own prefix) and signs a POST policy that pins the key, the Content-Type and the
byte range, so the browser can send the file straight to the bucket and nowhere else.
Presigning is local computation (no call to S3). boto3 and its S3 client are made at the first
upload, not at start: they cost a Lambda cold start ~150 ms before its first answer (docs/design.md).
"""
import re
import secrets
import threading
from urllib.parse import quote, urlsplit

from token_service import scopes
from token_service.minting import MAX_SUB_LENGTH

EXTENSIONS = {"video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov"}
DEFAULT_PREFIX = "/videos/{sub}/"
DEFAULT_CONTENT_TYPES = tuple(EXTENSIONS)
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
MAX_POST_BYTES = 5 * 1024 ** 3  # S3 refuses a single POST upload larger than 5 GB
MIN_EXPIRES_SECONDS, MAX_EXPIRES_SECONDS = 60, 3600
MAX_FILENAME_LENGTH = 128  # percent-encoded, at most 12 bytes a character: within S3's 2 KB of metadata
MAX_KEY_BYTES = 1024  # S3's limit on a key (UTF-8)
MAX_URL_PATH_LENGTH = 2048  # the edge refuses longer request paths, so the media URL must fit
FILENAME_METADATA = "x-amz-meta-filename"

_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")  # S3 refuses bucket names formatted as one
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# Control characters, and the bidirectional controls that make a displayed name read other than it
# is ("clip\u202Egpj.exe" shows as "clipexe.jpg"): Trojan Source, CVE-2021-42574.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class InvalidUpload(ValueError):
    """The request asks for an upload the settings do not allow (400)."""


class SubjectUnusable(ValueError):
    """The caller's subject cannot name a key inside its own prefix (403)."""


class SigningUnavailable(RuntimeError):
    """No credentials to sign with, or boto3 failed (503); the message carries no secret."""


# Settings rules: each returns a fault (without the variable name) or None.

def prefix_fault(prefix: str):
    if scopes.SUB_PLACEHOLDER not in prefix:
        return f"must contain {scopes.SUB_PLACEHOLDER} (each caller uploads under its own prefix), got {prefix!r}"
    if not prefix.endswith("/") or "*" in prefix:
        return f"must be a folder ending in '/' without '*', got {prefix!r}"
    try:
        scopes.check_scope(prefix.replace(scopes.SUB_PLACEHOLDER, "sub"))
    except scopes.ScopeError as exc:
        return str(exc)


def content_types_fault(types):
    if not types:
        return "name at least one media type"
    for media_type in types:
        if not _MEDIA_TYPE.fullmatch(media_type):
            return f"{media_type!r} is not a lower-case media type like video/mp4"
        if media_type not in EXTENSIONS:
            return f"{media_type!r} has no known file extension (known: {', '.join(EXTENSIONS)})"


def max_bytes_fault(value: int):
    if not 1 <= value <= MAX_POST_BYTES:
        return f"must be 1..{MAX_POST_BYTES} (S3's limit for one POST), got {value}"


def bucket_fault(name: str):
    if not _BUCKET_NAME.fullmatch(name) or ".." in name or _IP_ADDRESS.fullmatch(name):
        return f"not an S3 bucket name: {name!r}"


def region_fault(name: str):
    if not _REGION.fullmatch(name):
        return f"not an AWS region like eu-west-1: {name!r}"


def media_base_url_fault(url: str):
    parts = urlsplit(url)
    # The media URL is this plus the object path: a path here would name another object.
    if (parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc
            or parts.path not in ("", "/") or parts.query or parts.fragment or url.endswith(("?", "#"))):
        return f"not an http(s) URL like https://media.example.com (an origin: no path, user or query): {url!r}"


class Uploader:
    """Signs presigned POSTs for one bucket. Settings are checked by the Settings rules above."""

    def __init__(self, bucket: str, region: str = "us-east-1", prefix: str = DEFAULT_PREFIX,
                 content_types=DEFAULT_CONTENT_TYPES, max_bytes: int = DEFAULT_MAX_BYTES,
                 expires_seconds: int = 300, media_base_url: str | None = None,
                 endpoint_url: str | None = None, session=None):
        self.bucket = bucket
        self.region = region
        self.prefix = prefix
        self.content_types = tuple(content_types)
        self.max_bytes = max_bytes
        self.expires_seconds = expires_seconds
        self.media_base_url = media_base_url.rstrip("/") if media_base_url else None
        self.endpoint_url = endpoint_url
        self._session = session
        self._signer = None  # (S3 client, whether it has credentials), made by the first upload
        self._signer_lock = threading.Lock()  # presign runs in worker threads: make one client only

    def _signing_client(self):
        """(boto3 S3 client, has credentials), made once, on first use."""
        with self._signer_lock:
            if self._signer is None:
                import boto3
                from botocore.config import Config

                session = self._session or boto3.session.Session()
                # Resolved once: a client without credentials would fail deep inside boto3 on every call.
                has_credentials = session.get_credentials() is not None
                # Virtual-hosted regional endpoint (https://<bucket>.s3.<region>.amazonaws.com/): the
                # global endpoint redirects for young buckets outside us-east-1, and a browser's CORS
                # request does not follow redirects. botocore falls back to path style for dotted names.
                client = session.client("s3", region_name=self.region, endpoint_url=self.endpoint_url, config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "virtual" if self.endpoint_url is None else "path",
                        "us_east_1_regional_endpoint": "regional"}))
                self._signer = (client, has_credentials)
        return self._signer

    @classmethod
    def from_settings(cls, settings) -> "Uploader | None":
        """None when uploads are off (no TOKEN_SERVICE_UPLOAD_BUCKET)."""
        if not settings.upload_bucket:
            return None
        return cls(settings.upload_bucket, settings.upload_bucket_region, settings.upload_prefix,
                   settings.upload_content_types, settings.upload_max_bytes,
                   settings.upload_expires_seconds, settings.media_base_url, settings.s3_endpoint_url)

    def object_key(self, sub: str, content_type: str) -> str:
        """A new key: a random id with the type's extension, under the caller's own prefix."""
        if len(sub) > MAX_SUB_LENGTH:
            raise SubjectUnusable(f"the caller's subject is longer than {MAX_SUB_LENGTH} characters")
        if not _utf8(sub):
            raise SubjectUnusable("the caller's subject is not valid Unicode")
        try:
            (folder,) = scopes.expand((self.prefix,), sub)
        except scopes.ScopeError:
            raise SubjectUnusable("the caller's subject cannot be used in an upload key") from None
        path = f"{folder}{secrets.token_urlsafe(16)}{EXTENSIONS[content_type]}"
        if len(path[1:].encode()) > MAX_KEY_BYTES or len(quote(path)) > MAX_URL_PATH_LENGTH:
            raise SubjectUnusable("the caller's subject makes the upload key too long")
        return path[1:]

    def presign(self, sub: str, content_type: str, size: int, filename: str | None = None) -> dict:
        """The answer of POST /uploads. Raises InvalidUpload, SubjectUnusable or SigningUnavailable."""
        content_type = content_type.lower()
        if content_type not in self.content_types:
            raise InvalidUpload(f"content_type must be one of {', '.join(self.content_types)}")
        if not 1 <= size <= self.max_bytes:
            raise InvalidUpload(f"size must be 1..{self.max_bytes} bytes")
        fields = {"Content-Type": content_type}
        if filename is not None:
            fields[FILENAME_METADATA] = filename_metadata(filename)
        key = self.object_key(sub, content_type)
        conditions = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, size])
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            client, has_credentials = self._signing_client()
            if not has_credentials:
                raise SigningUnavailable("no AWS credentials to sign uploads with")
            # boto3 adds the bucket, the exact key and the SigV4 fields to the policy.
            post = client.generate_presigned_post(
                self.bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=self.expires_seconds)
        except (BotoCoreError, ClientError) as exc:  # a broken credential source too, now met at first use
            raise SigningUnavailable(f"could not sign the upload: {type(exc).__name__}") from None
        path = "/" + key
        return {
            "url": post["url"],
            "fields": post["fields"],
            "path": path,
            "media_url": self.media_base_url + quote(path) if self.media_base_url else None,
            "expires_in": self.expires_seconds,
            "max_bytes": size,
        }


def filename_metadata(filename: str) -> str:
    """The display name as stored in the object's metadata: percent-encoded UTF-8 (S3 metadata
    must be ASCII). Raises InvalidUpload for names that are empty, too long or hold control characters."""
    if not filename or len(filename) > MAX_FILENAME_LENGTH:
        raise InvalidUpload(f"filename must be 1..{MAX_FILENAME_LENGTH} characters")
    if _CONTROL.search(filename) or not _utf8(filename):
        raise InvalidUpload("filename must not contain control characters, bidirectional controls or invalid Unicode")
    return quote(filename, safe=" !#$&'()*+,-./:;=?@[]^_`{|}~")


def _utf8(text: str) -> bool:
    """False for strings with lone surrogates (JSON "\\ud800"), which cannot be encoded."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True

