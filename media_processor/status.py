"""The asset's status record, `assets/{sub}/{id}.json` (docs/uploads.md, "Status record"), read by
the token service."""
import datetime
import json
from urllib.parse import unquote

MAX_FILENAME_CHARACTERS = 128  # the token service's limit on what it writes


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_record(keys, filename, created_at) -> dict:
    return {"id": keys.id, "status": "processing", "reason": None, "created_at": created_at,
            "updated_at": created_at, "duration": None, "width": None, "height": None,
            "media_path": "/" + keys.video, "poster_path": "/" + keys.poster, "filename": filename,
            "processing": None}


def display_filename(metadata_value) -> str | None:
    """The `x-amz-meta-filename` value decoded (percent-encoded UTF-8), or None if absent or not what
    the token service would have written."""
    if not metadata_value:
        return None
    try:
        name = unquote(metadata_value, errors="strict")
    except UnicodeDecodeError:
        return None
    if not 1 <= len(name) <= MAX_FILENAME_CHARACTERS or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in name):
        return None
    return name


def body(record) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()
