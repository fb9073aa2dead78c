"""Verifying the caller's app access token against the app's identity provider (IdP).

Keys come from the IdP's JWKS URL (cached; fetched again when older than the cache time, or
when a token names an unknown kid, at most once per minimum refresh interval, with bounded
timeouts) or from a public key PEM file. Verification is PyJWT's, with the expected issuer,
audience and the configured asymmetric algorithms only. Verified tokens are cached (bounded)
so a client calling /token again with the same app token pays for no second RSA operation.

Fails closed: keys older than the cache time are not used; if they cannot be fetched again,
callers get IdpUnavailable (503 + Retry-After) until a fetch succeeds.

A refusal carries a short reason for the caller and a `detail` for the operator (the log line,
`python -m token_service check-idp`): which setting disagrees with the token, with both values
shortened and escaped. Neither ever contains the token.
"""
import asyncio
import math
import time

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from token_service.keys import read_key_file
from token_service.settings import SettingsError

MAX_TOKEN_LENGTH = 8192
MAX_JWKS_BYTES = 512 * 1024
VERIFIED_CACHE_ENTRIES = 10_000
NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")
MAX_NUMERIC_DATE = 253402300799  # 9999-12-31T23:59:59Z
MAX_SHOWN_CHARS = 200


class InvalidAppToken(Exception):
    """The caller's token is not acceptable; str() is a short reason safe to show and log.

    `detail` (or None) names the setting the token disagrees with and both values, for the
    operator: logged, never sent to the caller."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason)
        self.detail = detail


def shown(value) -> str:
    """A value from a token, fit for a log line: repr (control characters escaped), cut short."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "..."


class IdpUnavailable(Exception):
    def __init__(self, reason: str, retry_after: int):
        super().__init__(reason)
        self.retry_after = retry_after


class JwksSource:
    """The IdP's signing keys from its JWKS URL, refreshed lazily and rate-limited."""

    def __init__(self, url, algorithms, timeout_seconds, cache_seconds, min_refresh_seconds, clock=time.monotonic):
        self._url = url
        self._algorithms = algorithms
        self._timeout = httpx.Timeout(timeout_seconds)
        self._total_timeout = 2 * timeout_seconds
        self._cache_seconds = cache_seconds
        self._min_refresh_seconds = min_refresh_seconds
        self._clock = clock
        self._keys = {}
        self._fetched_at = None
        self._attempted_at = None
        self._last_error = "not fetched yet"
        self._lock = asyncio.Lock()

    async def key_for(self, header: dict):
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidAppToken("token header has no kid")
        keys = await self.current_keys(kid)
        if kid not in keys:
            raise InvalidAppToken("token signed with an unknown key",
                                  f"kid {shown(kid)} is not among the usable keys of TOKEN_SERVICE_IDP_JWKS_URL "
                                  f"{self._url} (kids: {', '.join(sorted(keys))}; algorithms "
                                  f"TOKEN_SERVICE_IDP_ALGORITHMS: {', '.join(self._algorithms)})")
        return keys[kid]

    async def current_keys(self, wanted_kid=None) -> dict:
        """The fresh key set; raises IdpUnavailable when there is none."""
        if not self._satisfied(wanted_kid):
            async with self._lock:
                # Another request may have refreshed while this one waited for the lock.
                if not self._satisfied(wanted_kid) and self._may_attempt():
                    await self._refresh()
        if not self._fresh():
            raise IdpUnavailable(f"identity provider keys unavailable: {self._last_error}", self._retry_after())
        return self._keys

    def _fresh(self):
        return self._fetched_at is not None and self._clock() - self._fetched_at < self._cache_seconds

    def _satisfied(self, wanted_kid):
        return self._fresh() and (wanted_kid is None or wanted_kid in self._keys)

    def _may_attempt(self):
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._min_refresh_seconds

    def _retry_after(self):
        if self._attempted_at is None:
            return 1
        return max(1, math.ceil(self._min_refresh_seconds - (self._clock() - self._attempted_at)))

    async def _refresh(self):
        self._attempted_at = self._clock()
        try:
            document = await asyncio.wait_for(self._fetch(), self._total_timeout)
            keys = self._usable_keys(document)
        except asyncio.TimeoutError:
            self._last_error = "timed out"
            return
        except Exception as exc:  # whatever went wrong, there are no new keys: fail closed, not 500
            self._last_error = str(exc)[:200] or type(exc).__name__
            return
        self._keys, self._fetched_at = keys, self._clock()

    async def _fetch(self):
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            response = await client.get(self._url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise ValueError(f"JWKS URL answered HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document too large")
        return response.json()

    def _usable_keys(self, document) -> dict:
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError("JWKS document has no keys list")
        keys = {}
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or not isinstance(entry.get("kid"), str):
                continue
            try:
                key = jwt.PyJWK(entry)
            except Exception:  # a key we cannot use (type, curve, encoding): its tokens meet "unknown key"
                continue
            if key.algorithm_name in self._algorithms:
                keys[entry["kid"]] = key
        if not keys:
            raise ValueError(f"JWKS document has no usable signing key (use sig, a kid, an algorithm in "
                             f"TOKEN_SERVICE_IDP_ALGORITHMS: {', '.join(self._algorithms)})")
        return keys


class PublicKeySource:
    """One fixed IdP public key from a PEM file (any kid)."""

    def __init__(self, path):
        try:
            self._key = serialization.load_pem_public_key(read_key_file(path))
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not a PEM public key"
            raise SettingsError(f"TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE {path}: {reason}") from None

    async def key_for(self, header: dict):
        return self._key

    async def current_keys(self, wanted_kid=None) -> dict:
        return {"file": self._key}


class AppTokenVerifier:
    def __init__(self, source, issuer, audience, algorithms, leeway_seconds, audience_claim="aud",
                 cache_seconds=300, clock=time.time):
        self.source = source
        self._issuer = issuer
        self._audience = audience
        self._audience_claim = audience_claim
        self._algorithms = list(algorithms)
        self._leeway = leeway_seconds
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._verified = {}  # token -> (claims, valid until); insertion order = age

    @classmethod
    def from_settings(cls, settings) -> "AppTokenVerifier":
        if settings.idp_jwks_url:
            source = JwksSource(settings.idp_jwks_url, settings.idp_algorithms, settings.idp_timeout_seconds,
                                settings.idp_jwks_cache_seconds, settings.idp_jwks_min_refresh_seconds)
        else:
            source = PublicKeySource(settings.idp_public_key_file)
        return cls(source, settings.idp_issuer, settings.idp_audience, settings.idp_algorithms,
                   settings.idp_leeway_seconds, settings.idp_audience_claim, settings.idp_jwks_cache_seconds)

    async def verify(self, token: str) -> dict:
        """The token's claims; raises InvalidAppToken or IdpUnavailable."""
        now = self._clock()
        cached = self._verified.get(token)
        if cached is not None and now < cached[1]:
            return cached[0]
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidAppToken("token too long", f"the token is {len(token)} characters, over {MAX_TOKEN_LENGTH}")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
            raise InvalidAppToken("malformed token") from None
        if header.get("alg") not in self._algorithms:
            raise InvalidAppToken("token algorithm not allowed",
                                  f"alg in the token header is {shown(header.get('alg'))} but "
                                  f"TOKEN_SERVICE_IDP_ALGORITHMS is {','.join(self._algorithms)}")
        key = await self.source.key_for(header)
        claims = self._decode(token, key, now)
        self._remember(token, claims, now)
        return claims

    def _decode(self, token, key, now) -> dict:
        check_aud = self._audience_claim == "aud"
        try:
            # The time claims are checked below: PyJWT would take a numeric string for a NumericDate.
            claims = jwt.decode(
                token, key, algorithms=self._algorithms, issuer=self._issuer,
                audience=self._audience if check_aud else None,
                options={"require": ["exp", "iss", "sub"], "verify_aud": check_aud,
                         "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "enforce_minimum_key_length": True},
            )
        except jwt.InvalidIssuerError:
            raise InvalidAppToken("wrong issuer", self._issuer_detail(token)) from None
        except jwt.InvalidAudienceError:
            raise InvalidAppToken("wrong audience", self._audience_detail(_unverified_claims(token))) from None
        except jwt.MissingRequiredClaimError as exc:
            detail = self._audience_detail(_unverified_claims(token)) if exc.claim == "aud" else None
            raise InvalidAppToken(f"token has no {exc.claim} claim", detail) from None
        except jwt.InvalidSignatureError:
            raise InvalidAppToken("bad signature", "the signature does not verify with the IdP key "
                                  "the token's kid names (a token from another IdP or tenant?)") from None
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
            raise InvalidAppToken("malformed or unverifiable token") from None
        self._check_times(claims, now)
        if not check_aud and claims.get(self._audience_claim) != self._audience:
            raise InvalidAppToken("wrong audience", self._audience_detail(claims))
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidAppToken("token sub must be a non-empty string", f"sub in the token is {shown(claims.get('sub'))}")
        return claims

    def _check_times(self, claims, now):
        """NumericDate (RFC 7519 §2) is a JSON number: no strings, booleans, NaN or huge values."""
        for name in NUMERIC_DATE_CLAIMS:
            if name in claims:
                value = claims[name]
                if type(value) not in (int, float) or not 0 <= value <= MAX_NUMERIC_DATE:
                    raise InvalidAppToken(f"token {name} must be a number of seconds (NumericDate)",
                                          f"{name} in the token is {shown(value)}")
        if claims["exp"] <= now - self._leeway:
            raise InvalidAppToken("token expired", _time_detail("exp", claims["exp"], now, self._leeway))
        for name in ("nbf", "iat"):
            if name in claims and claims[name] > now + self._leeway:
                raise InvalidAppToken("token not valid yet", _time_detail(name, claims[name], now, self._leeway))

    def _issuer_detail(self, token) -> str:
        got = _unverified_claims(token).get("iss")
        detail = f"iss in the token is {shown(got)} but TOKEN_SERVICE_IDP_ISSUER is {shown(self._issuer)}"
        if isinstance(got, str):
            if got.rstrip("/") == self._issuer.rstrip("/"):
                detail += " (trailing slash)"
            elif got.lower() == self._issuer.lower():
                detail += " (letter case)"
        return detail

    def _audience_detail(self, claims) -> str:
        name = self._audience_claim
        setting = f"TOKEN_SERVICE_IDP_AUDIENCE_CLAIM is {shown(name)}"
        if name not in claims:
            return (f"the token has no {shown(name)} claim ({setting}); its claims are "
                    f"{shown(sorted(str(key) for key in claims))}")
        return f"{name} in the token is {shown(claims[name])} but TOKEN_SERVICE_IDP_AUDIENCE is {shown(self._audience)} ({setting})"

    def _remember(self, token, claims, now):
        if len(self._verified) >= VERIFIED_CACHE_ENTRIES:
            del self._verified[next(iter(self._verified))]
        valid_until = min(claims["exp"] + self._leeway, now + self._cache_seconds)
        self._verified[token] = (claims, valid_until)


def _unverified_claims(token) -> dict:
    """The payload of a token whose signature PyJWT already checked (to explain a refusal)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _time_detail(name, value, now, leeway) -> str:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))
    ago = round(now - value)
    relation = f"{ago} s ago" if ago >= 0 else f"in {-ago} s"
    return f"{name} in the token is {when} ({relation}); leeway TOKEN_SERVICE_IDP_LEEWAY_SECONDS is {leeway} s"
