"""Settings from environment variables with the prefix MEDIA_PROCESSOR_, validated once at start.

Every fault is collected, so a bad environment is reported in one run: SettingsError carries the
list (`faults`), each line naming its variable and the rule it breaks. A field's type says how its
value is parsed (str, int, float); its default makes it optional; `setting(default, check)` attaches
rules that return a fault (without the variable name) or None. docs/uploads.md has the table.
"""
import dataclasses
import math
import os
import re
import tempfile
from urllib.parse import urlsplit

PREFIX = "MEDIA_PROCESSOR_"
SUB_PLACEHOLDER = "{sub}"
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
_PREFIX_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\*]")


class SettingsError(ValueError):
    """One or more faults, each a line like "MEDIA_PROCESSOR_BUCKET_PREFIX: ..."."""

    def __init__(self, faults):
        self.faults = list(faults)
        super().__init__("; ".join(self.faults))


def between(low, high):
    def check(value):
        if not low <= value <= high:
            return f"must be {low}..{high}, got {value}"
    return check


def http_url(value):
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"not an http(s) URL: {value!r}"


def one_of(allowed):
    def check(value):
        if value not in allowed:
            return f"one of {', '.join(allowed)}, got {value!r}"
    return check


def key_prefix(value):
    """A folder template like /videos/{sub}/: one {sub}, starts and ends with /, clean segments."""
    if value.count(SUB_PLACEHOLDER) != 1:
        return f"must contain {SUB_PLACEHOLDER} once, got {value!r}"
    if not value.startswith("/") or not value.endswith("/") or _PREFIX_FORBIDDEN.search(value):
        return f"must start and end with / and hold no control characters, backslashes or *: {value!r}"
    if any(segment in ("", ".", "..") for segment in value[1:-1].split("/")):
        return f"no empty, . or .. segments: {value!r}"


def setting(default=dataclasses.MISSING, *checks):
    return dataclasses.field(default=default, metadata={"checks": checks})


@dataclasses.dataclass(frozen=True)
class Settings:
    # Where things are (the same templates as the token service's, docs/uploads.md "Key layout").
    incoming_prefix: str = setting("/incoming/{sub}/", key_prefix)
    published_prefix: str = setting("/videos/{sub}/", key_prefix)
    asset_status_prefix: str = setting("/assets/{sub}/", key_prefix)
    s3_endpoint_url: str | None = setting(None, http_url)
    region: str = "us-east-1"
    # Lambda's ephemeral storage (/tmp) by default: the download and the outputs are written here.
    temp_dir: str = tempfile.gettempdir()
    # Limits on what is accepted, checked from the probe.
    max_input_bytes: int = setting(209715200, between(1, 10 * 1024**3))
    max_duration_seconds: float = setting(600.0, between(1, 6 * 3600))
    max_input_long_side: int = setting(3840, between(16, 16384))
    max_input_short_side: int = setting(2160, between(16, 16384))
    max_frame_rate: float = setting(60.0, between(1, 1000))
    # What is published: the shorter side of the upright picture (1080 = 1080p, landscape or portrait).
    max_output_short_side: int = setting(1080, between(144, 4320))
    x264_preset: str = setting("veryfast", one_of(X264_PRESETS))
    x264_crf: int = setting(23, between(0, 51))
    # The webhook (off when the URL is unset); its secret is an SSM SecureString parameter.
    webhook_url: str | None = setting(None, http_url)
    webhook_secret_ssm_parameter: str | None = None
    ssm_endpoint_url: str | None = setting(None, http_url)
    webhook_timeout_seconds: float = setting(5.0, between(0.1, 60))
    webhook_max_seconds: float = setting(30.0, between(0, 300))

    def __post_init__(self):
        faults = _faults(dataclasses.asdict(self))
        if faults:
            raise SettingsError(faults)

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        """The settings, or SettingsError listing every fault of the environment."""
        environ = os.environ if environ is None else environ
        values, faults = {}, []
        for field in dataclasses.fields(cls):
            raw = environ.get(_env(field.name), "").strip()
            if not raw:
                continue
            try:
                values[field.name] = _parse(field.type, raw)
            except ValueError as exc:
                faults.append(f"{_env(field.name)}: {exc}")
        faults += _faults(values)
        if faults:
            raise SettingsError(faults)
        return cls(**values)


def _env(name):
    return PREFIX + name.upper()


def _parse(kind, raw):
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"not an integer: {raw!r}") from None
    if kind is float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ValueError(f"not a number: {raw!r}")
        return value
    return raw


def _faults(values) -> list:
    faults = []
    for field in dataclasses.fields(Settings):
        value = values.get(field.name)
        if value is None:
            continue
        for check in field.metadata.get("checks", ()):
            try:
                fault = check(value)
            except ValueError as exc:  # urlsplit raises on some strings ("http://[")
                fault = f"not a URL ({exc}): {value!r}"
            if fault:
                faults.append(f"{_env(field.name)}: {fault}")
                break
    if values.get("webhook_url") and not values.get("webhook_secret_ssm_parameter"):
        faults.append(f"{_env('webhook_secret_ssm_parameter')}: required when {_env('webhook_url')} is set")
    if values.get("max_input_short_side", 2160) > values.get("max_input_long_side", 3840):
        faults.append(f"{_env('max_input_short_side')}: must not exceed {_env('max_input_long_side')}")
    return faults
