"""Strict decoding of the untrusted parts of a token: base64url segments and JSON objects.

Each function raises `ValueError` on anything but the one canonical form; nothing else escapes.
"""
import binascii
import json

# '-' and '_' become the standard alphabet; '+', '/' and '=' become '!', which strict decoding refuses.
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = (b"", None, b"==", b"=")  # by length % 4; 1 is never valid
# A final group of 2 or 3 characters leaves 4 or 2 unused bits in its last character; only the
# characters with those bits zero spell the bytes canonically (RFC 4648 §3.5).
_CANONICAL_LAST = (None, None, frozenset("AQgw"), frozenset("AEIMQUYcgkosw048"))
_MAX_INT_DIGITS = 20  # NumericDate fits easily; 4,300-digit integers cost real CPU to parse.


def b64url_decode(segment: str) -> bytes:
    """Unpadded, canonical base64url (RFC 7515 §2): no '=', '+', '/', whitespace or stray bits."""
    remainder = len(segment) % 4
    if remainder == 1 or (remainder and segment[-1] not in _CANONICAL_LAST[remainder]):
        raise ValueError("not canonical base64url")
    # Non-ASCII fails to encode and any other stray character fails strict decoding: both ValueErrors.
    standard = segment.encode("ascii").translate(_URLSAFE_TO_STANDARD)
    return binascii.a2b_base64(standard + _PADDING[remainder], strict_mode=True)


def _no_duplicates(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member name")
    return obj


def _bounded_int(text):
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError("integer too large")
    return int(text)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_int=_bounded_int,
                            parse_constant=_no_constant)


def json_object(data: bytes) -> dict:
    """A JSON object from strict UTF-8 with nothing before or after it (not even whitespace);
    duplicate names, NaN/Infinity and huge integers refused."""
    try:
        text = data.decode("utf-8")
        obj, end = _decoder.raw_decode(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError("not a JSON object") from None
    if end != len(text) or type(obj) is not dict:
        raise ValueError("not a JSON object")
    return obj
