"""Object keys of one asset, from the key templates (docs/uploads.md, "Key layout").

The incoming key is `<incoming prefix with {sub}><id>`: everything before and after `{sub}` is
literal, `{sub}` is what the token service wrote (one or more characters), and the id is the last
segment, as the token service makes it (`secrets.token_urlsafe`).
"""
import dataclasses
import re

from media_processor.settings import SUB_PLACEHOLDER

_ID = r"[A-Za-z0-9_-]{1,64}"


@dataclasses.dataclass(frozen=True)
class AssetKeys:
    sub: str
    id: str
    incoming: str
    video: str
    poster: str
    status: str


def incoming_pattern(incoming_prefix: str) -> re.Pattern:
    before, after = incoming_prefix[1:].split(SUB_PLACEHOLDER)
    return re.compile(f"{re.escape(before)}(?P<sub>.+){re.escape(after)}(?P<id>{_ID})", re.DOTALL)


def asset_keys(settings, incoming_key: str) -> AssetKeys | None:
    """The asset's keys, or None when `incoming_key` does not match the incoming template."""
    match = incoming_pattern(settings.incoming_prefix).fullmatch(incoming_key)
    if not match:
        return None
    sub, asset_id = match["sub"], match["id"]

    def key(prefix, suffix):
        return prefix[1:].replace(SUB_PLACEHOLDER, sub) + asset_id + suffix

    return AssetKeys(sub=sub, id=asset_id, incoming=incoming_key, video=key(settings.published_prefix, ".mp4"),
                     poster=key(settings.published_prefix, ".jpg"), status=key(settings.asset_status_prefix, ".json"))
