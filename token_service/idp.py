"""Verifying the caller's app access token against the app's identity provider (IdP).

Keys come from the IdP's JWKS URL (cached; fetched again when older than the cache time, or
when a token names an unknown kid, at most once per minimum refresh interval, with bounded
timeouts) or from a public key PEM file. Verification is PyJWT's, with the expected issuer,
audience and the configured asymmetric algorithms only. Verified tokens are cached (bounded)
so a client calling /token again with the same app token pays for no second RSA operation.

Fails closed: keys older than the cache time are not used; if they cannot be fetched again,
callers get IdpUnavailable (503 + Retry-After) until a fetch succeeds.
"""
import asyncio
import math
import time

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from token_service.settings import SettingsError

MAX_TOKEN_LENGTH = 8192
MAX_JWKS_BYTES = 512 * 1024
VERIFIED_CACHE_ENTRIES = 10_000


class InvalidAppToken(Exception):
    """The caller's token is not acceptable; str() is a short reason safe to show and log."""


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
            raise InvalidAppToken("token signed with an unknown key")
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
            raise ValueError("JWKS document has no usable signing key")
        return keys


class PublicKeySource:
    """One fixed IdP public key from a PEM file (any kid)."""

    def __init__(self, path):
        try:
            with open(path, "rb") as file:
                self._key = serialization.load_pem_public_key(file.read())
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
            raise InvalidAppToken("token too long")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
            raise InvalidAppToken("malformed token") from None
        if header.get("alg") not in self._algorithms:
            raise InvalidAppToken("token algorithm not allowed")
        key = await self.source.key_for(header)
        claims = self._decode(token, key)
        self._remember(token, claims, now)
        return claims

    def _decode(self, token, key) -> dict:
        check_aud = self._audience_claim == "aud"
        try:
            claims = jwt.decode(
                token, key, algorithms=self._algorithms, issuer=self._issuer,
                audience=self._audience if check_aud else None, leeway=self._leeway,
                options={"require": ["exp", "iss", "sub"], "verify_aud": check_aud,
                         "enforce_minimum_key_length": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidAppToken("token expired") from None
        except jwt.InvalidIssuerError:
            raise InvalidAppToken("wrong issuer") from None
        except jwt.InvalidAudienceError:
            raise InvalidAppToken("wrong audience") from None
        except jwt.ImmatureSignatureError:
            raise InvalidAppToken("token not valid yet") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidAppToken(f"token has no {exc.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise InvalidAppToken("bad signature") from None
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
            raise InvalidAppToken("malformed or unverifiable token") from None
        if not check_aud and claims.get(self._audience_claim) != self._audience:
            raise InvalidAppToken("wrong audience")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidAppToken("token sub must be a non-empty string")
        return claims

    def _remember(self, token, claims, now):
        if len(self._verified) >= VERIFIED_CACHE_ENTRIES:
            del self._verified[next(iter(self._verified))]
        valid_until = min(claims["exp"] + self._leeway, now + self._cache_seconds)
        self._verified[token] = (claims, valid_until)
