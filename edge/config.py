"""The edge's configuration: baked into the package as edge/config.json at deploy time.

Lambda@Edge has no environment variables, so everything the function needs is here.
`load_config` is used both by the package builder (a bad config makes no zip) and at cold start.
It checks every field before it gives up, so one run lists every fault.
"""
import collections
import json
import re

from edge import jwk

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")  # RFC 6265 token
_SSM_NAME = re.compile(r"[A-Za-z0-9_.\-/]{1,2048}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
_URL = re.compile(r"https?://\S+")
_FOLDER = re.compile(r"/(?:[^/\x00-\x1f\x7f\\*]+/)+")  # as the decoded object path compares
_REALM = re.compile(r'[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}')  # printable ASCII but " and \


class ConfigError(ValueError):
    """The configuration is unusable. `errors` holds every fault as a "field: rule" line; str() is all of them."""

    def __init__(self, errors):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


REQUIRED = ("issuer", "audience", "jwks")
DEFAULTS = {  # every optional field and its default (docs/reference.md, "Edge config")
    "ssm_parameter": None,
    "ssm_region": "us-east-1",
    "ssm_endpoint_url": None,
    "ssm_timeout_seconds": 1.0,
    "cors_allowed_origins": (),
    "cors_max_age_seconds": 600,
    "refused_prefixes": ("/incoming/", "/assets/"),  # uploads waiting for processing, status records
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
    "allow_log_sample_rate": 1.0,
}


# A namedtuple rather than a dataclass: `dataclasses` pulls in `inspect`, ~4 ms of every cold start.
class Config(collections.namedtuple("Config", REQUIRED + tuple(DEFAULTS), defaults=tuple(DEFAULTS.values()))):
    """The validated, immutable configuration."""

    __slots__ = ()

    def to_json(self):
        out = self._asdict()
        out["cors_allowed_origins"] = list(self.cors_allowed_origins)
        out["refused_prefixes"] = list(self.refused_prefixes)
        return out


def _shown(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _integer(low, high):
    def check(value):
        if type(value) is not int:
            return f"must be an integer {low}..{high}, got {_shown(value)}"
        if not low <= value <= high:
            return f"must be {low}..{high}, got {value}"
    return check


def _string(pattern, rule, optional=False):
    def check(value):
        if value is None and optional:
            return None
        if type(value) is not str or not pattern.fullmatch(value):
            return f"must be {rule}, got {_shown(value)}"
    return check


def _jwks(value):
    try:
        jwk.parse_jwks(value)
    except jwk.JWKError as exc:
        return str(exc)


def _timeout(value):
    if type(value) not in (int, float) or not 0.1 <= value <= 2:
        return f"must be a number of seconds 0.1..2 (the viewer-request limit is 5 s), got {_shown(value)}"


def _sample_rate(value):
    # A floor keeps the sampler's draw short (edge/authorizer.py, _gap: about 1/rate steps).
    if type(value) not in (int, float) or not (value == 0 or 0.0001 <= value <= 1):
        return f"must be 0 or a fraction 0.0001..1 of allowed requests to log, got {_shown(value)}"


def _origins(value):
    if type(value) not in (list, tuple):
        return f"must be a list of origins like https://app.example.com, got {_shown(value)}"
    bad = [o for o in value if type(o) is not str or not _ORIGIN.fullmatch(o)]
    if bad:
        return f"must be origins like https://app.example.com (scheme and host, no path), got {_shown(bad)}"


def _folders(value):
    if (type(value) not in (list, tuple) or len(value) > 16
            or any(type(p) is not str or len(p) > 256 or not _FOLDER.fullmatch(p) for p in value)
            or any(s in (".", "..") for p in value for s in p.split("/"))):
        return f"must be at most 16 folders like /incoming/ (no '*', empty or dot segments), got {_shown(value)}"


_NON_EMPTY = re.compile(r".+", re.DOTALL)
_RULES = {  # field -> check(value) returning the broken rule, or None
    "issuer": _string(_NON_EMPTY, "a non-empty string"),
    "audience": _string(_NON_EMPTY, "a non-empty string"),
    "jwks": _jwks,
    "ssm_parameter": _string(_SSM_NAME, "an SSM parameter name (letters, digits, _ . - /) or null", optional=True),
    "ssm_region": _string(_REGION, "an AWS region like us-east-1"),
    "ssm_endpoint_url": _string(_URL, "an http(s):// URL or null", optional=True),
    "ssm_timeout_seconds": _timeout,
    "cors_allowed_origins": _origins,
    "cors_max_age_seconds": _integer(0, 86400),
    "refused_prefixes": _folders,
    "cookie_name": _string(_COOKIE_NAME, "a cookie name (1-64 letters, digits, !#$%&'*+-.^_`|~) or null", optional=True),
    "query_parameter": _string(_COOKIE_NAME, "a parameter name (1-64 letters, digits, !#$%&'*+-.^_`|~) or null",
                               optional=True),
    "realm": _string(_REALM, 'printable ASCII, 1-64 characters, without " or \\'),
    "leeway_seconds": _integer(0, 300),
    "max_token_lifetime_seconds": _integer(1, 86400),
    "max_token_bytes": _integer(256, 16384),
    "key_refresh_seconds": _integer(1, 86400),
    "key_retry_seconds": _integer(1, 3600),
    "max_key_staleness_seconds": _integer(1, 30 * 86400),
    "token_cache_entries": _integer(0, 1_000_000),
    "allow_log_sample_rate": _sample_rate,
}


def _unknown(name):
    import difflib  # only on this error path: it is not needed at cold start
    close = difflib.get_close_matches(name, Config._fields, n=1)
    return f"{name}: unknown field" + (f" (did you mean {close[0]}?)" if close else "")


def load_config(raw: dict) -> Config:
    """Validate a config mapping, fill defaults, and return a Config.

    ConfigError lists every fault, one "field: rule" line each: unknown fields, then the rest in field order.
    """
    if type(raw) is not dict:
        raise ConfigError(f"config: must be a JSON object, got {type(raw).__name__}")
    errors = [_unknown(name) for name in sorted(map(str, set(raw) - set(Config._fields)))]
    values = {**DEFAULTS, **{name: raw[name] for name in raw if name in Config._fields}}
    faulty = set()
    for name in Config._fields:  # every field has a rule
        fault = "required" if name in REQUIRED and values.get(name) is None else _RULES[name](values[name])
        if fault:
            errors.append(f"{name}: {fault}")
            faulty.add(name)
    if not faulty & {"key_refresh_seconds", "max_key_staleness_seconds"} \
            and values["max_key_staleness_seconds"] < values["key_refresh_seconds"]:
        errors.append(f"max_key_staleness_seconds: must be at least key_refresh_seconds "
                      f"({values['key_refresh_seconds']}), got {values['max_key_staleness_seconds']}")
    if errors:
        raise ConfigError(errors)
    values["ssm_timeout_seconds"] = float(values["ssm_timeout_seconds"])
    values["allow_log_sample_rate"] = float(values["allow_log_sample_rate"])
    values["cors_allowed_origins"] = tuple(values["cors_allowed_origins"])
    values["refused_prefixes"] = tuple(values["refused_prefixes"])
    return Config(**values)


def load_config_file(path) -> Config:
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"config: cannot read {path}: {exc}") from None
    return load_config(raw)
