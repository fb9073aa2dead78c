"""Uploads: an S3 presigned POST for one object whose key, type and size the service chooses.

The caller names only a content type and a size; the service picks the asset id (random) and
signs a POST policy that pins the incoming key (`incoming/{sub}/{id}`, never served), the
Content-Type and the byte range, so the browser can send the file straight to the bucket and
nowhere else. The media processor turns the incoming object into the published video and poster
under the caller's own prefix (docs/uploads.md). Presigning is local computation (no call to S3).
boto3 and its S3 client are made at first use, not at start: they cost a Lambda cold start
~150 ms before its first answer (docs/design.md).
"""
import re
import secrets
import threading
import typing
from urllib.parse import quote, urlsplit

from token_service import scopes
from token_service.minting import subject_fault

# The containers the media processor reads (MP4, QuickTime, WebM): an upload of another type could only fail.
KNOWN_TYPES = ("video/mp4", "video/webm", "video/quicktime")
DEFAULT_PREFIX = "/videos/{sub}/"  # published assets: {id}.mp4 and {id}.jpg
DEFAULT_INCOMING_PREFIX = "/incoming/{sub}/"  # uploads waiting for the processor: {id}
DEFAULT_STATUS_PREFIX = "/assets/{sub}/"  # status records the processor writes: {id}.json
DEFAULT_CONTENT_TYPES = KNOWN_TYPES
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
MAX_POST_BYTES = 5 * 1024 ** 3  # S3 refuses a single POST upload larger than 5 GB
MIN_EXPIRES_SECONDS, MAX_EXPIRES_SECONDS = 60, 3600
MAX_FILENAME_LENGTH = 128  # percent-encoded, at most 12 bytes a character: within S3's 2 KB of metadata
MAX_KEY_BYTES = 1024  # S3's limit on a key (UTF-8)
MAX_URL_PATH_LENGTH = 2048  # the edge refuses longer request paths, so the media URL must fit
FILENAME_METADATA = "x-amz-meta-filename"
ASSET_ID = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)

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


def prefixes_overlap(first: str, second: str) -> bool:
    """True when some path lies under (or is) both scope templates; `{sub}` stands for any member.

    Compared segment by segment: a `*` or `{sub}` matches any run within its segment (a segment
    with several is read as from its first to its last, which can only find more overlaps).
    """
    def split(template):
        path = template.replace(scopes.SUB_PLACEHOLDER, "*")
        segments = path[1:].split("/")
        if path.endswith("/"):
            segments.pop()
        return segments, path.endswith("/")

    (left, left_folder), (right, right_folder) = split(first), split(second)
    if not all(map(_segments_meet, left, right)):
        return False
    if left_folder and right_folder:
        return True
    if left_folder or right_folder:  # an exact path lies under the folder only if it is deeper
        exact, folder = (right, left) if left_folder else (left, right)
        return len(exact) > len(folder)
    return len(left) == len(right)


def _segments_meet(first: str, second: str) -> bool:
    """Some text matches both segment patterns."""
    if "*" not in first and "*" not in second:
        return first == second
    if "*" not in first:
        first, second = second, first
    head, tail = first.split("*")[0], first.split("*")[-1]
    if "*" not in second:
        return len(second) >= len(head) + len(tail) and second.startswith(head) and second.endswith(tail)
    other_head, other_tail = second.split("*")[0], second.split("*")[-1]
    return ((head.startswith(other_head) or other_head.startswith(head))
            and (tail.endswith(other_tail) or other_tail.endswith(tail)))


def content_types_fault(types):
    if not types:
        return "name at least one media type"
    for media_type in types:
        if not _MEDIA_TYPE.fullmatch(media_type):
            return f"{media_type!r} is not a lower-case media type like video/mp4"
        if media_type not in KNOWN_TYPES:
            return f"{media_type!r} is not a type the media processor reads (known: {', '.join(KNOWN_TYPES)})"


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


class AssetFolders(typing.NamedTuple):
    """One member's folders (paths ending in '/')."""
    incoming: str
    published: str
    status: str


class AssetPaths(typing.NamedTuple):
    """Where one asset's objects are, as paths ('/' + key)."""
    incoming: str  # the upload, until the processor has read it (never served)
    media: str  # the published H.264/AAC MP4
    poster: str  # the published JPEG
    status: str  # the processor's status record (never served)


class Uploader:
    """Signs presigned POSTs for one bucket and names each asset's keys. Settings are checked by
    the Settings rules above; the S3 client is shared with token_service.assets."""

    def __init__(self, bucket: str, region: str = "us-east-1", prefix: str = DEFAULT_PREFIX,
                 content_types=DEFAULT_CONTENT_TYPES, max_bytes: int = DEFAULT_MAX_BYTES,
                 expires_seconds: int = 300, media_base_url: str | None = None,
                 endpoint_url: str | None = None, session=None, incoming_prefix: str = DEFAULT_INCOMING_PREFIX,
                 status_prefix: str = DEFAULT_STATUS_PREFIX, s3_timeout_seconds: float = 3.0):
        self.bucket = bucket
        self.region = region
        self.prefix = prefix
        self.incoming_prefix = incoming_prefix
        self.status_prefix = status_prefix
        self.content_types = tuple(content_types)
        self.max_bytes = max_bytes
        self.expires_seconds = expires_seconds
        self.media_base_url = media_base_url.rstrip("/") if media_base_url else None
        self.endpoint_url = endpoint_url
        self.s3_timeout_seconds = s3_timeout_seconds
        self._session = session
        self._client = None  # (S3 client, whether it has credentials), made at first use
        self._client_lock = threading.Lock()  # requests run in worker threads: make one client only

    def s3_client(self):
        """(boto3 S3 client, has credentials), made once, on first use."""
        with self._client_lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                session = self._session or boto3.session.Session()
                # Resolved once: a client without credentials would fail deep inside boto3 on every call.
                has_credentials = session.get_credentials() is not None
                # Virtual-hosted regional endpoint (https://<bucket>.s3.<region>.amazonaws.com/): the
                # global endpoint redirects for young buckets outside us-east-1, and a browser's CORS
                # request does not follow redirects. botocore falls back to path style for dotted names.
                # The timeouts and the single retry bound what a slow S3 costs a request (then 503).
                client = session.client("s3", region_name=self.region, endpoint_url=self.endpoint_url, config=Config(
                    signature_version="s3v4", connect_timeout=self.s3_timeout_seconds,
                    read_timeout=self.s3_timeout_seconds, retries={"max_attempts": 2, "mode": "standard"},
                    s3={"addressing_style": "virtual" if self.endpoint_url is None else "path",
                        "us_east_1_regional_endpoint": "regional"}))
                self._client = (client, has_credentials)
        return self._client

    @classmethod
    def from_settings(cls, settings) -> "Uploader | None":
        """None when uploads are off (no TOKEN_SERVICE_UPLOAD_BUCKET)."""
        if not settings.upload_bucket:
            return None
        return cls(settings.upload_bucket, settings.upload_bucket_region, settings.upload_prefix,
                   settings.upload_content_types, settings.upload_max_bytes,
                   settings.upload_expires_seconds, settings.media_base_url, settings.s3_endpoint_url,
                   incoming_prefix=settings.upload_incoming_prefix, status_prefix=settings.asset_status_prefix,
                   s3_timeout_seconds=settings.s3_timeout_seconds)

    def folders(self, sub: str) -> AssetFolders:
        """The caller's own folders; SubjectUnusable when the subject cannot be spliced into them."""
        fault = subject_fault(sub)  # the rule every route applies (token_service.auth), kept for direct callers
        if fault:
            raise SubjectUnusable(fault)
        try:
            return AssetFolders(*scopes.expand((self.incoming_prefix, self.prefix, self.status_prefix), sub))
        except scopes.ScopeError:
            raise SubjectUnusable("the caller's subject cannot be used in an upload key") from None

    def asset_paths(self, sub: str, asset_id: str) -> AssetPaths:
        """The paths of the caller's asset `asset_id` (already checked against ASSET_ID)."""
        incoming, published, status = self.folders(sub)
        paths = AssetPaths(f"{incoming}{asset_id}", f"{published}{asset_id}.mp4", f"{published}{asset_id}.jpg",
                           f"{status}{asset_id}.json")
        if (any(len(path[1:].encode()) > MAX_KEY_BYTES for path in paths)
                or any(len(quote(path)) > MAX_URL_PATH_LENGTH for path in (paths.media, paths.poster))):
            raise SubjectUnusable("the caller's subject makes the upload key too long")
        return paths

    def media_url(self, path: str) -> str | None:
        """Where `path` is on the CDN, or None without TOKEN_SERVICE_MEDIA_BASE_URL."""
        return self.media_base_url + quote(path) if self.media_base_url else None

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
        asset_id = secrets.token_urlsafe(16)
        paths = self.asset_paths(sub, asset_id)
        conditions = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, size])
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            client, has_credentials = self.s3_client()
            if not has_credentials:
                raise SigningUnavailable("no AWS credentials to sign uploads with")
            # boto3 adds the bucket, the exact key and the SigV4 fields to the policy.
            post = client.generate_presigned_post(
                self.bucket, paths.incoming[1:], Fields=fields, Conditions=conditions, ExpiresIn=self.expires_seconds)
        except (BotoCoreError, ClientError) as exc:  # a broken credential source too, now met at first use
            raise SigningUnavailable(f"could not sign the upload: {type(exc).__name__}") from None
        return {
            "id": asset_id,
            "url": post["url"],
            "fields": post["fields"],
            "path": paths.incoming,
            "status_url": f"/uploads/{asset_id}",
            "media_path": paths.media,
            "poster_path": paths.poster,
            "media_url": self.media_url(paths.media),
            "poster_url": self.media_url(paths.poster),
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

