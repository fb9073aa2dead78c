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


class Minter:
    def __init__(self, signing_key, issuer: str, audience: str, lifetime_seconds: int, clock=time.time):
        header = {"alg": "RS256", "typ": "JWT", "kid": signing_key.kid}
        self._header_b64 = b64url(json.dumps(header, separators=(",", ":")).encode())
        self._private_key = signing_key.private_key
        self._issuer = issuer
        self._audience = audience
        self.lifetime_seconds = lifetime_seconds
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

    def sign(self, claims: dict) -> str:
        """The compact JWS of `claims`."""
        payload_b64 = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._header_b64}.{payload_b64}"
        signature = self._private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"
