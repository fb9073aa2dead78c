"""Viewing tokens: claims per the contract, signed RS256 with the active key.

Signs with `cryptography` directly: the key object is parsed once at start and the header is
encoded once, so a token costs one JSON dump and one RSA signature.
"""
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from token_service.keys import b64url

MAX_SUB_LENGTH = 256  # the edge refuses tokens with a longer subject
EDGE_MAX_TOKEN_BYTES = 8192  # the edge's max_token_bytes (default): it refuses a longer token
COOKIE_MAX_BYTES = 4096  # what browsers keep of one cookie, counting name=value


def subject_fault(sub: str):
    """Why the caller's subject can be in no token (403 on every route), or None. One rule for all
    routes: a lone surrogate (JSON "\\ud800") is not Unicode a key, a URL or a log line can carry."""
    if len(sub) > MAX_SUB_LENGTH:
        return f"the caller's subject is longer than {MAX_SUB_LENGTH} characters"
    try:
        sub.encode()
    except UnicodeEncodeError:
        return "the caller's subject is not valid Unicode"
    return None


class TokenTooLarge(ValueError):
    """The token would not reach the edge whole; the message gives both sizes."""


def token_size_limit(cookie_name: str | None) -> tuple:
    """(bytes, what sets it): the longest token that reaches the edge intact."""
    if cookie_name is None:
        return EDGE_MAX_TOKEN_BYTES, f"the edge's limit of {EDGE_MAX_TOKEN_BYTES} bytes"
    # The edge's limit is the larger one: the cookie is what binds.
    return COOKIE_MAX_BYTES - len(cookie_name) - 1, f"the cookie limit of {COOKIE_MAX_BYTES} bytes for {cookie_name}=<token>"


class Minter:
    def __init__(self, signing_key, issuer: str, audience: str, lifetime_seconds: int,
                 size_limit=token_size_limit(None), clock=time.time):
        header = {"alg": "RS256", "typ": "JWT", "kid": signing_key.kid}
        self._header_b64 = b64url(json.dumps(header, separators=(",", ":")).encode())
        self._private_key = signing_key.private_key
        # A signature is as long as the modulus in whole octets: 257 for a 2050-bit key, not 256.
        self._signature_chars = len(b64url(bytes((signing_key.private_key.key_size + 7) // 8)))
        self._issuer = issuer
        self._audience = audience
        self.lifetime_seconds = lifetime_seconds
        self._max_bytes, self._limit = size_limit
        self._clock = clock

    def claims(self, sub: str, paths=None) -> dict:
        now = int(self._clock())
        claims = {
            "iss": self._issuer, "aud": self._audience, "sub": sub,
            "iat": now, "nbf": now, "exp": now + self.lifetime_seconds,
            "jti": secrets.token_urlsafe(16),
        }
        if paths is not None:
            claims["paths"] = list(paths)
        return claims

    def encode_payload(self, claims: dict) -> str:
        """The token's payload segment; TokenTooLarge when the whole token would pass the limit."""
        payload_b64 = b64url(json.dumps(claims, separators=(",", ":")).encode())
        size = len(self._header_b64) + len(payload_b64) + self._signature_chars + 2
        if size > self._max_bytes:
            raise TokenTooLarge(f"the viewing token would be {size} bytes, over {self._limit}")
        return payload_b64

    def sign(self, claims: dict) -> str:
        """The compact JWS of `claims`; TokenTooLarge (before any signing) when it would be too long."""
        payload_b64 = self.encode_payload(claims)
        signing_input = f"{self._header_b64}.{payload_b64}"
        signature = self._private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"
