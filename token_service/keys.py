"""RSA signing keys as the token contract needs them: PEM loading, RFC 7638 thumbprints, JWKs.

Imported by the token service, the Pulumi program and the local stack, so it depends only on
`cryptography` and the standard library.
"""
import base64
import hashlib
import json
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The edge pins these at key load; a key it would refuse must never be accepted here either.
REQUIRED_EXPONENT = 65537
MIN_MODULUS_BITS = 2048

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _public(key):
    """Accepts a private key too: callers holding one should not have to convert it."""
    if isinstance(key, rsa.RSAPrivateKey):
        key = key.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"not an RSA key: {type(key).__name__}")
    return key


def check_key_strength(key) -> None:
    numbers = _public(key).public_numbers()
    if numbers.e != REQUIRED_EXPONENT:
        raise ValueError(f"RSA public exponent must be {REQUIRED_EXPONENT}, got {numbers.e}")
    if numbers.n.bit_length() < MIN_MODULUS_BITS:
        raise ValueError(f"RSA modulus must be at least {MIN_MODULUS_BITS} bits, got {numbers.n.bit_length()}")


def thumbprint(public_key) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): the required members in lexicographic order."""
    numbers = _public(public_key).public_numbers()
    canonical = json.dumps(
        {"e": _uint_b64url(numbers.e), "kty": "RSA", "n": _uint_b64url(numbers.n)},
        separators=(",", ":"), sort_keys=True,
    )
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def public_jwk(public_key, kid=None) -> dict:
    """The public JWK the edge accepts; `kid` defaults to the RFC 7638 thumbprint."""
    numbers = _public(public_key).public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid or thumbprint(public_key),
        "n": _uint_b64url(numbers.n),
        "e": _uint_b64url(numbers.e),
    }


def jwks(keys) -> dict:
    """A JWKS document from RSA keys (public or private; kid = thumbprint) or ready JWK dicts."""
    entries = [key if isinstance(key, dict) else public_jwk(key) for key in keys]
    kids = [entry["kid"] for entry in entries]
    duplicates = sorted({kid for kid in kids if kids.count(kid) > 1})
    if duplicates:
        raise ValueError(f"duplicate kid in JWKS: {', '.join(duplicates)}")
    return {"keys": entries}


MAX_KEY_FILE_BYTES = 1024 * 1024  # a PEM of many keys is a few KB; /dev/urandom would never end


def read_key_file(path) -> bytes:
    """A key file's bytes; OSError, or ValueError for a file over MAX_KEY_FILE_BYTES (read no further)."""
    with open(path, "rb") as file:
        data = file.read(MAX_KEY_FILE_BYTES + 1)
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ValueError(f"larger than {MAX_KEY_FILE_BYTES} bytes: not a PEM key file")
    return data


def load_private_keys_pem(data: bytes) -> list:
    """Every RSA private key in a PEM document, in order; one PEM may hold several keys.

    Raises ValueError naming the block (never its content) when a block is not an unencrypted
    RSA private key the edge would accept.
    """
    blocks = [m.group(0) for m in _PEM_BLOCK.finditer(data)]
    if not blocks:
        raise ValueError("no PEM private key found")
    keys = []
    for number, block in enumerate(blocks, start=1):
        try:
            key = serialization.load_pem_private_key(block, password=None)
        except (ValueError, TypeError) as exc:
            # cryptography's messages describe the format problem, never the key material.
            raise ValueError(f"PEM block {number}: not an unencrypted private key ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"PEM block {number}: not an RSA key")
        try:
            check_key_strength(key)
        except ValueError as exc:
            raise ValueError(f"PEM block {number}: {exc}") from None
        keys.append(key)
    return keys


def new_private_key():
    """A fresh RSA-2048 private key with e = 65537 (what `keys new` writes)."""
    return rsa.generate_private_key(public_exponent=REQUIRED_EXPONENT, key_size=MIN_MODULUS_BITS)


def private_key_pem(key) -> bytes:
    """A private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
    )
