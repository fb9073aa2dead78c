"""RSA public keys from a JWKS document (RFC 7517), refused unless fit for RS256 at the edge."""
from edge import strict

MIN_MODULUS_BITS = 2048
MAX_MODULUS_BITS = 8192
REQUIRED_EXPONENT = 65537
MAX_KEYS = 32


class JWKError(ValueError):
    """A key or key set the edge must not use (the message says why)."""


def _uint(jwk, name):
    value = jwk.get(name)
    if type(value) is not str or not value:
        raise JWKError(f"'{name}' must be a non-empty base64url string")
    try:
        raw = strict.b64url_decode(value)
    except ValueError:
        raise JWKError(f"'{name}' is not canonical base64url") from None
    if raw[:1] == b"\x00":
        raise JWKError(f"'{name}' has leading zero bytes")  # RFC 7518 §6.3.1: minimal encoding
    return int.from_bytes(raw, "big")


def rsa_public_key(jwk):
    """(kid, n, e) from one JWK, or JWKError naming the problem."""
    if type(jwk) is not dict:
        raise JWKError("a key must be a JSON object")
    kid = jwk.get("kid")
    if type(kid) is not str or not 1 <= len(kid) <= 256:
        raise JWKError("'kid' must be a string of 1-256 characters")
    where = f"key {kid!r}: "
    if jwk.get("kty") != "RSA":
        raise JWKError(where + "'kty' must be 'RSA'")
    if jwk.get("alg", "RS256") != "RS256":
        raise JWKError(where + "'alg' must be 'RS256' when present")
    if jwk.get("use", "sig") != "sig":
        raise JWKError(where + "'use' must be 'sig' when present")
    if "d" in jwk or "p" in jwk:
        raise JWKError(where + "holds private key material; publish only public keys")
    try:
        n, e = _uint(jwk, "n"), _uint(jwk, "e")
    except JWKError as exc:
        raise JWKError(where + str(exc)) from None
    if e != REQUIRED_EXPONENT:
        raise JWKError(where + f"exponent must be {REQUIRED_EXPONENT}")
    if not MIN_MODULUS_BITS <= n.bit_length() <= MAX_MODULUS_BITS:
        raise JWKError(where + f"modulus must be {MIN_MODULUS_BITS}-{MAX_MODULUS_BITS} bits")
    if n % 2 == 0:
        raise JWKError(where + "modulus must be odd")
    return kid, n, e


def parse_jwks(document):
    """{kid: (n, e)} from a JWKS object; every key must pass `rsa_public_key`."""
    if type(document) is not dict or type(document.get("keys")) is not list:
        raise JWKError("JWKS must be an object with a 'keys' list")
    keys = document["keys"]
    if not 1 <= len(keys) <= MAX_KEYS:
        raise JWKError(f"JWKS must hold 1-{MAX_KEYS} keys")
    out = {}
    for jwk in keys:
        kid, n, e = rsa_public_key(jwk)
        if kid in out:
            raise JWKError(f"key {kid!r} appears twice")
        out[kid] = (n, e)
    return out
