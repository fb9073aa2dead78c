"""Strict decoding of the untrusted parts of a token: base64url segments and JSON objects.

Each function raises `ValueError` on anything but the one canonical form; nothing else escapes.
"""
import base64
import binascii
import json
import re

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_MAX_INT_DIGITS = 20  # NumericDate fits easily; 4,300-digit integers cost real CPU to parse.


def b64url_decode(segment: str) -> bytes:
    """Unpadded, canonical base64url (RFC 7515 §2): no '=', '+', '/', whitespace or stray bits."""
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not canonical base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None
    # Non-zero unused trailing bits give a second spelling of the same bytes: refuse it.
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != segment:
        raise ValueError("not canonical base64url")
    return data


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
    """A JSON object from strict UTF-8; duplicate names, NaN/Infinity and huge integers refused."""
    try:
        obj = _decoder.decode(data.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError("not a JSON object") from None
    if type(obj) is not dict:
        raise ValueError("not a JSON object")
    return obj
