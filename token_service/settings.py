"""Settings from environment variables with the prefix TOKEN_SERVICE_, validated once at start.

Every fault is collected, so a bad environment is reported in one run: SettingsError carries
the list (`faults`), each line naming its variable and the rule it breaks. Lists are
comma-separated; booleans are "true" or "false". docs/reference.md has the table.

Adding a setting is one line in `Settings`: the field's type says how the value is parsed
(str, int, float, bool, tuple = comma-separated list), its default makes it optional (no
default = required), and `setting(default, check, ...)` attaches rules that each return a
fault (without the variable name) or None (a ValueError a rule raises becomes a "not a URL"
fault). Rules between settings go in `_cross_field_faults`.
"""
import dataclasses
import math
import os
from urllib.parse import urlsplit

from token_service import scopes, uploads

PREFIX = "TOKEN_SERVICE_"
MAX_TOKEN_LIFETIME_SECONDS = 3600  # the edge's default max_token_lifetime_seconds
# Asymmetric only: an HMAC or "none" algorithm here would let a public key act as a secret.
IDP_ALGORITHMS_ALLOWED = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
SAMESITE_VALUES = ("Strict", "Lax", "None")
# Plain http is accepted for the IdP's JWKS only on these hosts (a local IdP); the Pulumi stack
# config (idpJwksUrl) applies the same rule.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class SettingsError(ValueError):
    """One or more faults, each a line like "TOKEN_SERVICE_ISSUER: required"."""

    def __init__(self, faults):
        self.faults = [faults] if isinstance(faults, str) else list(faults)
        super().__init__("; ".join(self.faults))


# Rules: each takes the parsed value and returns a fault (without the variable name) or None.

def between(low, high):
    def check(value):
        if not low <= value <= high:
            return f"must be {low}..{high}, got {value}"
    return check


def positive_at_most(high):
    def check(value):
        if not 0 < value <= high:
            return f"must be > 0 and <= {high}, got {value}"
    return check


def not_negative(value):
    if value < 0:
        return f"must not be negative, got {value}"


def one_of(allowed):
    def check(value):
        if value not in allowed:
            return f"one of {', '.join(allowed)}, got {value!r}"
    return check


def http_url(value):
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"not an http(s) URL: {value!r}"


def https_url_or_loopback(value):
    """https, or http on a loopback host (a local IdP): the IdP's keys must not travel in clear."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return None
    return f"must be an https:// URL (http only for {', '.join(LOOPBACK_HOSTS)}), got {value!r}"


def idp_algorithms(values):
    bad = [alg for alg in values if alg not in IDP_ALGORITHMS_ALLOWED]
    if bad or not values:
        return f"allowed values are {', '.join(IDP_ALGORITHMS_ALLOWED)}, got {', '.join(values) or 'nothing'}"


def scope_templates(entries):
    try:
        for entry in entries:
            scopes.check_scope(entry.replace(scopes.SUB_PLACEHOLDER, "sub"))
        scopes.check_star_budget(entries)  # {sub} can add neither a '*' nor a segment
    except ValueError as exc:
        return str(exc)


def origins(values):
    # Compared exactly with the Origin header a browser sends: scheme://host[:port], lower case.
    # Anything else (a wildcard, user info, a path or query, capitals) would never match.
    for origin in values:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 -- a ValueError for a bad port becomes a fault
        if (parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or "*" in origin
                or origin != f"{parts.scheme}://{parts.netloc}" or origin != origin.lower()):
            return f"{origin!r} is not an origin like https://app.example.com (no wildcard, user, path, query or capitals)"


# A cookie with this prefix is host-only, Secure and Path=/ (the stack names its host-only cookie so).
HOST_COOKIE_PREFIX = "__Host-"


def cookie_token(name):
    if not all(c.isascii() and (c.isalnum() or c in "-_.") for c in name):
        return "letters, digits and - _ . only"


def cookie_domain(name):
    # Set-Cookie's Domain attribute: a ';' would add attributes of the sender's choosing.
    if not all(c.isascii() and (c.isalnum() or c in "-.") for c in name.removeprefix(".")) or not name.strip("."):
        return f"{name!r} is not a domain name like media.example.com"


def setting(default=dataclasses.MISSING, *checks):
    return dataclasses.field(default=default, metadata={"checks": checks})


@dataclasses.dataclass(frozen=True)
class Settings:
    issuer: str
    audience: str
    idp_issuer: str
    idp_audience: str
    signing_key_file: tuple = ()
    signing_key_ssm_parameter: tuple = ()
    ssm_region: str = "us-east-1"
    ssm_endpoint_url: str | None = setting(None, http_url)
    signing_key_ids: tuple = ()
    active_kid: str | None = None
    idp_jwks_url: str | None = setting(None, https_url_or_loopback)
    idp_public_key_file: str | None = None
    idp_algorithms: tuple = setting(("RS256",), idp_algorithms)
    idp_audience_claim: str = "aud"
    idp_leeway_seconds: int = setting(30, between(0, 300))
    idp_timeout_seconds: float = setting(3.0, positive_at_most(30))
    idp_jwks_cache_seconds: int = setting(300, not_negative)
    idp_jwks_min_refresh_seconds: int = setting(30, not_negative)
    token_lifetime_seconds: int = setting(300, between(1, MAX_TOKEN_LIFETIME_SECONDS))
    default_paths: tuple = setting((), scope_templates)
    jwks_max_age_seconds: int = setting(300, not_negative)
    cors_allowed_origins: tuple = setting((), origins)
    cookie_name: str | None = setting(None, cookie_token)
    cookie_domain: str | None = setting(None, cookie_domain)
    cookie_samesite: str = setting("Lax", one_of(SAMESITE_VALUES))
    docs_enabled: bool = True
    # Uploads (docs/uploads.md): on when the bucket is set.
    upload_bucket: str | None = setting(None, uploads.bucket_fault)
    upload_bucket_region: str = setting("us-east-1", uploads.region_fault)
    upload_prefix: str = setting(uploads.DEFAULT_PREFIX, uploads.prefix_fault)
    upload_incoming_prefix: str = setting(uploads.DEFAULT_INCOMING_PREFIX, uploads.prefix_fault)
    asset_status_prefix: str = setting(uploads.DEFAULT_STATUS_PREFIX, uploads.prefix_fault)
    upload_content_types: tuple = setting(uploads.DEFAULT_CONTENT_TYPES, uploads.content_types_fault)
    upload_max_bytes: int = setting(uploads.DEFAULT_MAX_BYTES, uploads.max_bytes_fault)
    upload_expires_seconds: int = setting(300, between(uploads.MIN_EXPIRES_SECONDS, uploads.MAX_EXPIRES_SECONDS))
    media_base_url: str | None = setting(None, uploads.media_base_url_fault)
    s3_endpoint_url: str | None = setting(None, http_url)
    s3_timeout_seconds: float = setting(3.0, positive_at_most(30))

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

    @property
    def cookie_mode(self) -> bool:
        return self.cookie_name is not None


def _env(name):
    return PREFIX + name.upper()


def _parse(kind, raw):
    if kind is tuple:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if kind is bool:
        if raw not in ("true", "false"):
            raise ValueError(f"must be true or false, got {raw!r}")
        return raw == "true"
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
    """Every rule broken by `values` (the parsed settings present; absent ones take defaults)."""
    faults = []
    for field in dataclasses.fields(Settings):
        value = values.get(field.name)
        if field.default is dataclasses.MISSING and not value:
            faults.append(f"{_env(field.name)}: required")
        if value is None:
            continue
        for check in field.metadata.get("checks", ()):
            try:
                fault = check(value)
            except ValueError as exc:  # urlsplit raises on some strings ("http://[") instead of parsing
                fault = f"not a URL ({exc}): {value!r}"
            if fault:
                faults.append(f"{_env(field.name)}: {fault}")
                break
    return faults + _cross_field_faults(values)


def _cross_field_faults(values) -> list:
    faults = []
    for first, second in (("signing_key_file", "signing_key_ssm_parameter"), ("idp_jwks_url", "idp_public_key_file")):
        if bool(values.get(first)) == bool(values.get(second)):
            faults.append(f"{_env(first)} or {_env(second)}: set exactly one")
    if values.get("cookie_domain") and not values.get("cookie_name"):
        faults.append(f"{_env('cookie_domain')}: needs {_env('cookie_name')} (cookie mode is on when the name is set)")
    if values.get("cookie_domain") and (values.get("cookie_name") or "").startswith(HOST_COOKIE_PREFIX):
        # Browsers drop a __Host- cookie that has a Domain (it must also be Secure with Path=/,
        # which the service always sets): RFC 6265bis, "The __Host- Prefix".
        faults.append(f"{_env('cookie_domain')}: a {HOST_COOKIE_PREFIX} cookie is host-only, so it takes no Domain; "
                      f"unset this, or name the cookie without the prefix")
    if values.get("upload_bucket"):
        faults += _unserved_prefix_faults(values)
    return faults


def _unserved_prefix_faults(values) -> list:
    """The incoming and status prefixes must lie outside every viewing scope and the published prefix,
    and apart from each other: what lands there is never served. With no default paths a token opens
    every path; the edge's refused prefixes keep these two unreachable all the same. Prefixes that
    break their own rule are reported by it, not here."""
    def prefix(name, default):
        value = values.get(name) or default
        return None if uploads.prefix_fault(value) else value

    incoming = prefix("upload_incoming_prefix", uploads.DEFAULT_INCOMING_PREFIX)
    status = prefix("asset_status_prefix", uploads.DEFAULT_STATUS_PREFIX)
    served = [("default_paths", entry) for entry in values.get("default_paths") or ()]
    served.append(("upload_prefix", prefix("upload_prefix", uploads.DEFAULT_PREFIX)))
    faults = []
    for name, value in (("upload_incoming_prefix", incoming), ("asset_status_prefix", status)):
        overlapping = [(other, entry) for other, entry in served if value and entry and uploads.prefixes_overlap(value, entry)]
        if overlapping:
            other, entry = overlapping[0]
            faults.append(f"{_env(name)}: {value!r} overlaps {_env(other)} entry {entry!r} (never served: keep it apart)")
    if incoming and status and uploads.prefixes_overlap(incoming, status):
        faults.append(f"{_env('asset_status_prefix')}: {status!r} overlaps {_env('upload_incoming_prefix')} "
                      f"{incoming!r} (a status record would be taken for an upload)")
    return faults
