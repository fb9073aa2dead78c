"""Settings from environment variables with the prefix TOKEN_SERVICE_, validated once at start.

Every problem raises SettingsError whose message names the variable, so start-up can stop with
one clear line. Lists are comma-separated. The README ("The token service") has the table.
"""
import dataclasses
import os
from urllib.parse import urlsplit

from token_service import scopes

PREFIX = "TOKEN_SERVICE_"
MAX_TOKEN_LIFETIME_SECONDS = 3600  # the edge's default max_token_lifetime_seconds
# Asymmetric only: an HMAC or "none" algorithm here would let a public key act as a secret.
IDP_ALGORITHMS_ALLOWED = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
SAMESITE_VALUES = ("Strict", "Lax", "None")


class SettingsError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Settings:
    issuer: str
    audience: str
    idp_issuer: str
    idp_audience: str
    signing_key_file: tuple = ()
    signing_key_ssm_parameter: tuple = ()
    ssm_region: str = "us-east-1"
    ssm_endpoint_url: str | None = None
    signing_key_ids: tuple = ()
    active_kid: str | None = None
    idp_jwks_url: str | None = None
    idp_public_key_file: str | None = None
    idp_algorithms: tuple = ("RS256",)
    idp_audience_claim: str = "aud"
    idp_leeway_seconds: int = 30
    idp_timeout_seconds: float = 3.0
    idp_jwks_cache_seconds: int = 300
    idp_jwks_min_refresh_seconds: int = 30
    token_lifetime_seconds: int = 300
    default_paths: tuple = ()
    jwks_max_age_seconds: int = 300
    cors_allowed_origins: tuple = ()
    cookie_name: str | None = None
    cookie_domain: str | None = None
    cookie_samesite: str = "Lax"

    def __post_init__(self):
        _exactly_one(self, "signing_key_file", "signing_key_ssm_parameter")
        _exactly_one(self, "idp_jwks_url", "idp_public_key_file")
        for name in ("issuer", "audience", "idp_issuer", "idp_audience"):
            if not getattr(self, name):
                raise SettingsError(f"{_env(name)}: required")
        if self.idp_jwks_url:
            _check_http_url("idp_jwks_url", self.idp_jwks_url)
        if self.ssm_endpoint_url:
            _check_http_url("ssm_endpoint_url", self.ssm_endpoint_url)
        bad = [alg for alg in self.idp_algorithms if alg not in IDP_ALGORITHMS_ALLOWED]
        if bad or not self.idp_algorithms:
            raise SettingsError(f"{_env('idp_algorithms')}: allowed values are {', '.join(IDP_ALGORITHMS_ALLOWED)}")
        if not 1 <= self.token_lifetime_seconds <= MAX_TOKEN_LIFETIME_SECONDS:
            raise SettingsError(f"{_env('token_lifetime_seconds')}: must be 1..{MAX_TOKEN_LIFETIME_SECONDS}")
        if not 0 <= self.idp_leeway_seconds <= 300:
            raise SettingsError(f"{_env('idp_leeway_seconds')}: must be 0..300")
        if not 0 < self.idp_timeout_seconds <= 30:
            raise SettingsError(f"{_env('idp_timeout_seconds')}: must be > 0 and <= 30")
        for name in ("idp_jwks_cache_seconds", "idp_jwks_min_refresh_seconds", "jwks_max_age_seconds"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{_env(name)}: must not be negative")
        for entry in self.default_paths:
            try:
                scopes.check_scope(entry.replace(scopes.SUB_PLACEHOLDER, "sub"))
            except ValueError as exc:
                raise SettingsError(f"{_env('default_paths')}: {exc}") from None
        for origin in self.cors_allowed_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or origin.endswith("/"):
                raise SettingsError(f"{_env('cors_allowed_origins')}: {origin!r} is not an origin like https://app.example.com")
        if self.cookie_samesite not in SAMESITE_VALUES:
            raise SettingsError(f"{_env('cookie_samesite')}: one of {', '.join(SAMESITE_VALUES)}")
        if self.cookie_domain and not self.cookie_name:
            raise SettingsError(f"{_env('cookie_domain')}: needs {_env('cookie_name')} (cookie mode is on when the name is set)")
        if self.cookie_name and not _is_cookie_token(self.cookie_name):
            raise SettingsError(f"{_env('cookie_name')}: letters, digits and - _ . only")

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(_env(field.name), "").strip()
            if raw:
                values[field.name] = _parse(field, raw)
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and f.name not in values]
        if missing:
            raise SettingsError(f"{_env(missing[0])}: required")
        return cls(**values)

    @property
    def cookie_mode(self) -> bool:
        return self.cookie_name is not None


def _env(name):
    return PREFIX + name.upper()


def _parse(field, raw):
    if field.type is tuple:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if field.type is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{_env(field.name)}: not an integer: {raw!r}") from None
    if field.type is float:
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{_env(field.name)}: not a number: {raw!r}") from None
    return raw


def _exactly_one(settings, first, second):
    if bool(getattr(settings, first)) == bool(getattr(settings, second)):
        raise SettingsError(f"{_env(first)} or {_env(second)}: set exactly one")


def _check_http_url(name, url):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{_env(name)}: not an http(s) URL: {url!r}")


def _is_cookie_token(name):
    return all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)
