"""The Lambda handler: each S3 ObjectCreated record under the incoming prefix becomes a published
asset (video + poster + `ready` status) or a `failed` status with a reason; the incoming object is
deleted either way, and the webhook (if configured) is told.

A bad file is never an exception out of here: it is a `failed` status. Only an infrastructure fault
(S3 unreachable, ...) raises, after cleaning up, so that Lambda's retries and failure destination see it.
"""
import logging
import os
import tempfile
import time
from urllib.parse import unquote_plus

import av
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from media_processor import keys as asset_keys, poster, probe, publish, status, webhook
from media_processor.settings import Settings

log = logging.getLogger(__name__)
# One line per asset at INFO (Lambda's runtime sets the root logger to WARNING).
logging.getLogger("media_processor").setLevel(logging.INFO)
# Time kept back from Lambda's timeout for uploading, cleaning up and the status write; the
# webhook's own budget is added to it.
RESERVED_SECONDS = 10
DAMAGED = "the video is damaged and could not be decoded"
TOO_BIG = "the video needs more memory than the processor has"
_cache = {}


def handle(event, context=None):
    """Processes every record of an S3 ObjectCreated notification."""
    settings = _settings()
    deadline = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        reserved = RESERVED_SECONDS + (settings.webhook_max_seconds if settings.webhook_url else 0)
        deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - reserved
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records if isinstance(records, list) else ():
        try:
            bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
        except (TypeError, KeyError):
            log.error("ignored a record that is not an S3 object notification")
            continue
        process(settings, _s3(settings), bucket, key, deadline)


def process(settings, s3, bucket, key, deadline=None) -> dict | None:
    """One incoming object to one asset; returns the final status record (None if not an asset)."""
    keys = asset_keys.asset_keys(settings, key)
    if keys is None:
        log.error("ignored %r: not under the incoming prefix %s", key[:200], settings.incoming_prefix)
        return None
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            log.info("asset %s: incoming object already gone (processed before)", keys.id)
            return None
        raise
    started = time.monotonic()
    record = status.new_record(keys, status.display_filename(head.get("Metadata", {}).get("filename")), status.now())
    _put_status(s3, bucket, keys, record)
    try:
        record.update(_publish(settings, s3, bucket, keys, head["ContentLength"], deadline), status="ready")
    except probe.Refused as refused:
        record.update(status="failed", reason=refused.reason)
    except (av.FFmpegError, MemoryError) as exc:
        record.update(status="failed", reason=TOO_BIG if isinstance(exc, (MemoryError, av.MemoryError)) else DAMAGED)
    except BaseException:
        _fail_quietly(s3, bucket, keys, record)
        raise
    if record["status"] == "failed":
        _delete(s3, bucket, keys.video, keys.poster)
    record["updated_at"] = status.now()
    _put_status(s3, bucket, keys, record)
    _delete(s3, bucket, keys.incoming)
    log.info("asset %s: %s (%s) in %.2f s%s", keys.id, record["status"], record["processing"],
             time.monotonic() - started, f": {record['reason']}" if record["reason"] else "")
    webhook.deliver(settings, record, keys.sub)
    return record


def _publish(settings, s3, bucket, keys, size, deadline) -> dict:
    """Downloads, probes, publishes the video and poster; the status fields of a ready asset."""
    probe.check_byte_size(size, settings)  # before the download: the limit also bounds the disk used
    with tempfile.TemporaryDirectory(dir=settings.temp_dir, prefix="media-") as work:
        source, video, jpeg = (os.path.join(work, name) for name in ("input", "video.mp4", "poster.jpg"))
        s3.download_file(bucket, keys.incoming, source)  # streamed to disk, never held in memory
        found = probe.probe(source, settings)
        how = publish.method(found, settings)
        (publish.remux if how == publish.REMUX else publish.transcode)(source, video, found, settings, deadline)
        os.remove(source)  # frees ephemeral storage before the poster and uploads
        poster.write_poster(video, jpeg)
        width, height = publish.output_size(found, settings)
        duration = _published_duration(video)
        try:
            s3.upload_file(video, bucket, keys.video, ExtraArgs={"ContentType": "video/mp4"})
            s3.upload_file(jpeg, bucket, keys.poster, ExtraArgs={"ContentType": "image/jpeg"})
        except BaseException:
            _delete(s3, bucket, keys.video, keys.poster)
            raise
    return {"duration": duration, "width": width, "height": height, "processing": how}


def _published_duration(video) -> float | None:
    with av.open(video, format="mp4", options={"protocol_whitelist": "file"}) as container:
        return round(container.duration / av.time_base, 3) if container.duration else None


def _fail_quietly(s3, bucket, keys, record):
    """After an unexpected fault: nothing half-published, a `failed` status, no incoming object; each step
    best effort (S3 itself may be what failed)."""
    log.exception("asset %s: processing failed", keys.id)
    record.update(status="failed", reason="processing failed", updated_at=status.now())
    for step in (lambda: _delete(s3, bucket, keys.video, keys.poster),
                 lambda: _put_status(s3, bucket, keys, record), lambda: _delete(s3, bucket, keys.incoming)):
        try:
            step()
        except Exception:
            log.exception("asset %s: clean-up step failed", keys.id)


def _put_status(s3, bucket, keys, record):
    s3.put_object(Bucket=bucket, Key=keys.status, Body=status.body(record), ContentType="application/json")


def _delete(s3, bucket, *keys):
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)


def _settings() -> Settings:
    if "settings" not in _cache:
        _cache["settings"] = Settings.from_env()
    return _cache["settings"]


def _s3(settings):
    if "s3" not in _cache:
        _cache["s3"] = boto3.client("s3", region_name=settings.region, endpoint_url=settings.s3_endpoint_url,
                                    config=Config(s3={"addressing_style": "path"} if settings.s3_endpoint_url else {}))
    return _cache["s3"]
