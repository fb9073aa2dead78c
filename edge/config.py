"""The edge's configuration: baked into the package as edge/config.json at deploy time.

Lambda@Edge has no environment variables, so everything the function needs is here.
`load_config` is used both by the package builder (a bad config makes no zip) and at cold start.
"""
import collections
import json
import re

from edge import jwk

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")  # RFC 6265 token
_SSM_NAME = re.compile(r"[A-Za-z0-9_.\-/]{1,2048}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")


class ConfigError(ValueError):
    """The configuration is unusable; the message names the field."""


REQUIRED = ("issuer", "audience", "jwks")
DEFAULTS = {  # every optional field and its default (the README's configuration table)
    "ssm_parameter": None,
    "ssm_region": "us-east-1",
    "ssm_endpoint_url": None,
    "ssm_timeout_seconds": 1.0,
    "cors_allowed_origins": (),
    "cors_max_age_seconds": 600,
    "cookie_name": None,
    "query_parameter": None,
    "realm": "media",
    "leeway_seconds": 30,
    "max_token_lifetime_seconds": 3600,
    "max_token_bytes": 8192,
    "key_refresh_seconds": 300,
    "key_retry_seconds": 30,
    "max_key_staleness_seconds": 86400,
    "token_cache_entries": 4096,
}


# A namedtuple rather than a dataclass: `dataclasses` pulls in `inspect`, ~4 ms of every cold start.
class Config(collections.namedtuple("Config", REQUIRED + tuple(DEFAULTS), defaults=tuple(DEFAULTS.values()))):
    """The validated, immutable configuration."""

    __slots__ = ()

    def to_json(self):
        out = self._asdict()
        out["cors_allowed_origins"] = list(self.cors_allowed_origins)
        return out


def _int(name, value, low, high):
    if type(value) is not int or not low <= value <= high:
        raise ConfigError(f"'{name}' must be an integer from {low} to {high}")
    return value


def _str(name, value, pattern=None, optional=False):
    if value is None and optional:
        return None
    if type(value) is not str or not value or (pattern and not pattern.fullmatch(value)):
        raise ConfigError(f"'{name}' must be a " + ("valid " if pattern else "non-empty ") + "string")
    return value


def load_config(raw: dict) -> Config:
    """Validate a config mapping, fill defaults, and return a Config; ConfigError on any problem."""
    if type(raw) is not dict:
        raise ConfigError("config must be a JSON object")
    unknown = sorted(set(raw) - set(Config._fields))
    if unknown:
        raise ConfigError(f"unknown field(s) {', '.join(map(repr, unknown))}")
    missing = [name for name in REQUIRED if raw.get(name) is None]
    if missing:
        raise ConfigError(f"missing required field(s) {', '.join(map(repr, missing))}")
    v = {**DEFAULTS, **raw}
    try:
        jwk.parse_jwks(v["jwks"])
    except jwk.JWKError as exc:
        raise ConfigError(f"'jwks': {exc}") from None
    origins = v["cors_allowed_origins"]
    if type(origins) not in (list, tuple) or not all(type(o) is str and _ORIGIN.fullmatch(o) for o in origins):
        raise ConfigError("'cors_allowed_origins' must be a list of origins like 'https://app.example.com'")
    timeout = v["ssm_timeout_seconds"]
    if type(timeout) not in (int, float) or not 0.1 <= timeout <= 2:
        raise ConfigError("'ssm_timeout_seconds' must be a number from 0.1 to 2 (the viewer limit is 5 s)")
    config = Config(
        issuer=_str("issuer", v["issuer"]),
        audience=_str("audience", v["audience"]),
        jwks=v["jwks"],
        ssm_parameter=_str("ssm_parameter", v["ssm_parameter"], _SSM_NAME, optional=True),
        ssm_region=_str("ssm_region", v["ssm_region"], _REGION),
        ssm_endpoint_url=_str("ssm_endpoint_url", v["ssm_endpoint_url"], re.compile(r"https?://\S+"), optional=True),
        ssm_timeout_seconds=float(timeout),
        cors_allowed_origins=tuple(origins),
        cors_max_age_seconds=_int("cors_max_age_seconds", v["cors_max_age_seconds"], 0, 86400),
        cookie_name=_str("cookie_name", v["cookie_name"], _COOKIE_NAME, optional=True),
        query_parameter=_str("query_parameter", v["query_parameter"], _COOKIE_NAME, optional=True),
        realm=_str("realm", v["realm"], re.compile(r"[\x20-\x7e]{1,64}")),
        leeway_seconds=_int("leeway_seconds", v["leeway_seconds"], 0, 300),
        max_token_lifetime_seconds=_int("max_token_lifetime_seconds", v["max_token_lifetime_seconds"], 1, 86400),
        max_token_bytes=_int("max_token_bytes", v["max_token_bytes"], 256, 16384),
        key_refresh_seconds=_int("key_refresh_seconds", v["key_refresh_seconds"], 1, 86400),
        key_retry_seconds=_int("key_retry_seconds", v["key_retry_seconds"], 1, 3600),
        max_key_staleness_seconds=_int("max_key_staleness_seconds", v["max_key_staleness_seconds"], 1, 30 * 86400),
        token_cache_entries=_int("token_cache_entries", v["token_cache_entries"], 0, 1_000_000),
    )
    if '"' in config.realm or "\\" in config.realm:
        raise ConfigError("'realm' must not contain quotes or backslashes")
    if config.max_key_staleness_seconds < config.key_refresh_seconds:
        raise ConfigError("'max_key_staleness_seconds' must be at least 'key_refresh_seconds'")
    return config


def load_config_file(path) -> Config:
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return load_config(raw)
