"""Verification of one viewing token: strict compact JWS parsing, RS256, then the claims.

Order matters: the header is checked before any key is looked up, and the payload is parsed
only after its signature verified, so unauthenticated bytes reach as little code as possible.
"""
from edge import paths, strict
from edge.errors import InvalidToken

# Headers that would let the token choose its own key or extensions: never honoured.
_FORBIDDEN_HEADERS = ("jku", "jwk", "x5u", "x5c", "crit", "b64", "zip", "enc")
_MAX_NUMERIC_DATE = 2**40  # year ~36812: anything later is nonsense, not a date
MAX_KNOWN_HEADERS = 32  # as many as keys in a JWKS: one header per signing key in practice


class Grant:
    """What a verified token allows; cached so repeat requests skip the RSA operation."""

    __slots__ = ("sub", "kid", "verifier", "expires_at", "in_scope")

    def __init__(self, sub, kid, verifier, expires_at, in_scope):
        self.sub = sub
        self.kid = kid
        self.verifier = verifier  # the key that verified the signature: the grant is good while it is
        self.expires_at = expires_at  # exp + leeway
        self.in_scope = in_scope  # callable(object_path) -> bool, or None for every path


def _segment(segment, what):
    try:
        return strict.b64url_decode(segment)
    except ValueError:
        raise InvalidToken("malformed", f"{what} is not canonical base64url") from None


def _object(data, what):
    try:
        return strict.json_object(data)
    except ValueError:
        raise InvalidToken("malformed", f"{what} is not a JSON object") from None


def split(token, max_bytes):
    """The three segments of a compact JWS, still encoded."""
    if len(token) > max_bytes:
        raise InvalidToken("oversize", "token too large")
    segments = token.split(".")
    if len(segments) != 3:
        raise InvalidToken("malformed", "token must have three segments")
    return segments


def read_header(header_b64):
    """The kid named by a header segment, checked strictly."""
    header = _object(_segment(header_b64, "header"), "header")
    if header.get("alg") != "RS256":
        raise InvalidToken("bad_alg", "alg must be RS256")
    if "typ" in header and header["typ"] != "JWT":
        raise InvalidToken("bad_typ", "typ must be JWT")
    for name in _FORBIDDEN_HEADERS:
        if name in header:
            raise InvalidToken("forbidden_header", f"header '{name}' is not accepted")
    kid = header.get("kid")
    if type(kid) is not str or not 1 <= len(kid) <= 256:
        raise InvalidToken("bad_kid", "kid must be a string naming a known key")
    return kid


def _numeric_date(claims, name):
    value = claims.get(name)
    if type(value) is not int or not 0 <= value < _MAX_NUMERIC_DATE:
        raise InvalidToken(f"bad_{name}", f"'{name}' must be an integer NumericDate")
    return value


def check_claims(claims, kid, verifier, config, now):
    """A Grant for the verified claims of a token signed with `verifier`'s key, named `kid`;
    InvalidToken names the failed check."""
    if claims.get("iss") != config.issuer:
        raise InvalidToken("bad_iss", "wrong issuer")
    if claims.get("aud") != config.audience:
        raise InvalidToken("bad_aud", "wrong audience")
    sub = claims.get("sub")
    if type(sub) is not str or not 1 <= len(sub) <= 256:
        raise InvalidToken("bad_sub", "'sub' must be a non-empty string")
    exp, iat, nbf = _numeric_date(claims, "exp"), _numeric_date(claims, "iat"), _numeric_date(claims, "nbf")
    leeway = config.leeway_seconds
    if now >= exp + leeway:
        raise InvalidToken("expired", "token expired")
    if nbf > now + leeway:
        raise InvalidToken("not_yet_valid", "token not valid yet")
    if iat > now + leeway:
        raise InvalidToken("issued_in_future", "token issued in the future")
    if not iat <= exp or exp - iat > config.max_token_lifetime_seconds:
        raise InvalidToken("lifetime", "token lifetime exceeds the maximum")
    if "jti" in claims and type(claims["jti"]) is not str:
        raise InvalidToken("bad_jti", "'jti' must be a string")
    in_scope = None
    if "paths" in claims:
        try:
            in_scope = paths.compile_scope(claims["paths"])
        except ValueError as exc:
            raise InvalidToken("bad_paths", str(exc)) from None
    return Grant(sub, kid, verifier, exp + leeway, in_scope)


def verify(token, keys, config, now, known_headers):
    """A Grant for a token that passes every check; InvalidToken (or Unavailable) otherwise.

    `known_headers` maps header segments already seen on a validly signed token to their kid:
    every token signed with one key carries the same header, so it is parsed once, not per token.
    """
    header_b64, payload_b64, signature_b64 = split(token, config.max_token_bytes)
    kid = known_headers.get(header_b64) or read_header(header_b64)
    payload = _segment(payload_b64, "payload")  # decoded, but parsed only once the signature holds
    signature = _segment(signature_b64, "signature")
    verifier = keys.verifier(kid, now)
    if not verifier(f"{header_b64}.{payload_b64}".encode("ascii"), signature):
        raise InvalidToken("bad_signature", "signature does not verify")
    if len(known_headers) < MAX_KNOWN_HEADERS:
        known_headers[header_b64] = kid
    return check_claims(_object(payload, "payload"), kid, verifier, config, now)
