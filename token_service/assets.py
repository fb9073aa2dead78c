"""A member's assets in the bucket: one upload's status, the list of ready videos, deleting one.

Read at request time from the status records the media processor writes (`assets/{sub}/{id}.json`,
docs/uploads.md), with the Uploader's S3 client (boto3, made at first use). Every key is built
from the caller's own subject and an id that matched ASSET_ID before any S3 call, so a caller can
name nothing but their own objects. Existence is asked with ListObjectsV2 on the exact key: S3
answers a missing key's GetObject 403, not 404, to a role without s3:ListBucket, and the role's
ListBucket is held to the incoming and status prefixes. A slow or failing S3 is StorageUnavailable
(503 with a reason), never a 500.
"""
import base64
import binascii
import concurrent.futures
import datetime
import json
import re

from token_service.uploads import ASSET_ID

DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 50
MAX_LIST_CALLS = 10  # ListObjectsV2 answers of 1000 keys: a member's newest 10,000 records are listed
MAX_RECORD_BYTES = 64 * 1024  # a status record is a few hundred bytes
MAX_CURSOR_LENGTH = 64
STALE_PROCESSING_SECONDS = 3600  # the processor's Lambda stops after 15 minutes: a record this old is stuck
READ_THREADS = 8
STATUSES = ("processing", "ready", "failed")
_CURSOR = re.compile(r"(\d{1,15})\.([A-Za-z0-9_-]{22})")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
# The record's fields an answer carries, and the JSON types each may have (anything else: null).
_RECORD_FIELDS = {"reason": (str,), "created_at": (str,), "updated_at": (str,), "duration": (int, float),
                  "width": (int,), "height": (int,), "filename": (str,), "processing": (str,)}


class AssetNotFound(LookupError):
    """No such asset of the caller's (404): unknown, malformed, or another member's id."""


class AssetBusy(RuntimeError):
    """The asset is still being processed (409): it cannot be deleted yet."""


class InvalidListRequest(ValueError):
    """A cursor this service did not make (400)."""


class StorageUnavailable(RuntimeError):
    """S3 failed, timed out or refused (503); the message names the error class or code, no secret."""


class Assets:
    def __init__(self, uploader):
        self.uploader = uploader
        self.bucket = uploader.bucket

    # ------------------------------------------------------------------ S3
    def _s3(self, operation, **kwargs):
        """The S3 answer, or None for a missing key; StorageUnavailable for every other failure."""
        from botocore.exceptions import BotoCoreError, ClientError
        client, has_credentials = self.uploader.s3_client()
        if not has_credentials:
            raise StorageUnavailable("no AWS credentials to read assets with")
        try:
            return getattr(client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "")) or "an error"
            if code in ("NoSuchKey", "404"):
                return None
            raise StorageUnavailable(f"S3 answered {code[:64]}") from None
        except BotoCoreError as exc:  # timeouts, connection errors, a broken credential source
            raise StorageUnavailable(f"S3 did not answer: {type(exc).__name__}") from None

    def _exists(self, path):
        listed = self._s3("list_objects_v2", Prefix=path[1:], MaxKeys=1)
        return any(item["Key"] == path[1:] for item in listed.get("Contents", ()))

    def _record(self, path):
        """(status record, its LastModified), or None when it is gone."""
        answer = self._s3("get_object", Key=path[1:])
        if answer is None:
            return None
        try:
            with answer["Body"] as body:
                raw = body.read(MAX_RECORD_BYTES + 1)
        except Exception as exc:  # the body stalled or was cut: botocore and urllib3 raise several kinds
            raise StorageUnavailable(f"S3 did not answer: {type(exc).__name__}") from None
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            record = None
        if len(raw) > MAX_RECORD_BYTES or type(record) is not dict or record.get("status") not in STATUSES:
            raise StorageUnavailable("the asset's status record is unreadable")
        return record, answer["LastModified"]

    def _answer(self, asset_id, paths, record):
        media_url = self.uploader.media_url
        fields = {name: value if type(value) in types else None
                  for name, types in _RECORD_FIELDS.items() for value in (record.get(name),)}
        return {"id": asset_id, "status": record["status"], **fields,
                "media_path": paths.media, "poster_path": paths.poster,
                "media_url": media_url(paths.media), "poster_url": media_url(paths.poster)}

    def _paths(self, sub, asset_id):
        if type(asset_id) is not str or not ASSET_ID.fullmatch(asset_id):
            raise AssetNotFound("no such upload")
        return self.uploader.asset_paths(sub, asset_id)

    # ------------------------------------------------------------------ the three operations
    def status(self, sub, asset_id) -> dict:
        """GET /uploads/{id}: the record; `processing` while only the upload exists."""
        paths = self._paths(sub, asset_id)
        if self._exists(paths.status):
            found = self._record(paths.status)
            if found is not None:
                return self._answer(asset_id, paths, found[0])
        if self._exists(paths.incoming):  # uploaded, the processor has not written its first record yet
            return self._answer(asset_id, paths, {"status": "processing"})
        raise AssetNotFound("no such upload")

    def delete(self, sub, asset_id, now=None) -> None:
        """DELETE /videos/{id}: the video, the poster, then the record (so a failed delete can be retried)."""
        paths = self._paths(sub, asset_id)
        found = self._record(paths.status) if self._exists(paths.status) else None
        if found is None:
            if self._exists(paths.incoming):
                raise AssetBusy("the upload is still being processed; delete it once it is ready or failed")
            raise AssetNotFound("no such video")
        record, modified = found
        now = now or datetime.datetime.now(datetime.timezone.utc)
        if record["status"] == "processing" and (now - modified).total_seconds() < STALE_PROCESSING_SECONDS:
            raise AssetBusy("the video is still being processed; delete it once it is ready or failed")
        for path in (paths.media, paths.poster, paths.status):
            self._s3("delete_object", Key=path[1:])

    def list_ready(self, sub, limit=DEFAULT_LIST_LIMIT, cursor=None) -> dict:
        """GET /videos: the caller's ready assets, newest record first, `limit` a page; `next` the
        cursor of the following page or None. A page may hold fewer (records not ready are skipped)."""
        after = _parse_cursor(cursor) if cursor is not None else None
        folder = self.uploader.folders(sub).status
        candidates = sorted(self._listed(folder), key=_order)
        if after is not None:
            candidates = [c for c in candidates if _order(c) > _order(after)]
        videos, examined = [], 0
        budget = limit + MAX_LIST_LIMIT  # records read per request, ready or not
        with concurrent.futures.ThreadPoolExecutor(READ_THREADS) as pool:
            while len(videos) < limit and examined < len(candidates) and examined < budget:
                batch = candidates[examined:examined + min(limit - len(videos), budget - examined)]
                paths = [self.uploader.asset_paths(sub, asset_id) for _, asset_id in batch]
                for (_, asset_id), path, found in zip(batch, paths, pool.map(self._record, [p.status for p in paths])):
                    examined += 1
                    if found is not None and found[0]["status"] == "ready":
                        videos.append(self._answer(asset_id, path, found[0]))
                        if len(videos) == limit:
                            break
        more = examined < len(candidates)
        return {"videos": videos, "next": _cursor(candidates[examined - 1]) if more and examined else None}

    def _listed(self, folder):
        """(LastModified in ms, id) of each status record in `folder`."""
        found, token = [], None
        for _ in range(MAX_LIST_CALLS):
            kwargs = {"Prefix": folder[1:], **({"ContinuationToken": token} if token else {})}
            answer = self._s3("list_objects_v2", **kwargs)
            for item in answer.get("Contents", ()):
                name = item["Key"][len(folder) - 1:]
                if name.endswith(".json") and ASSET_ID.fullmatch(name[:-5]):
                    found.append((int(item["LastModified"].timestamp() * 1000), name[:-5]))
            token = answer.get("NextContinuationToken")
            if not answer.get("IsTruncated") or not token:
                break
        return found


def _order(candidate):
    """Newest first, then by id: a total order, so a cursor is a position in it."""
    millis, asset_id = candidate
    return -millis, asset_id


def _cursor(candidate) -> str:
    millis, asset_id = candidate
    return base64.urlsafe_b64encode(f"{millis}.{asset_id}".encode()).decode().rstrip("=")


def _parse_cursor(cursor: str):
    if len(cursor) > MAX_CURSOR_LENGTH or not _BASE64URL.fullmatch(cursor):
        raise InvalidListRequest("cursor is not one this service gave (use `next` as it is)")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        text = ""
    match = _CURSOR.fullmatch(text)
    if not match:
        raise InvalidListRequest("cursor is not one this service gave (use `next` as it is)")
    return int(match[1]), match[2]
