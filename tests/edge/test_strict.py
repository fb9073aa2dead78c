"""Strict base64url: exactly the canonical spellings decode, compared with the obvious definition."""
import base64
import json
import random

import pytest

from edge import strict

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def reference_decode(segment):
    """Canonical means: what encoding the decoded bytes gives back, without padding, is the input."""
    if any(c not in ALPHABET for c in segment) or len(segment) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return data if base64.urlsafe_b64encode(data).rstrip(b"=").decode() == segment else None


def decode_or_none(segment):
    try:
        return strict.b64url_decode(segment)
    except ValueError:
        return None


def test_agrees_with_the_reference_on_random_segments():
    rng = random.Random(7)
    junk = "+/= .\n\x00é"
    decoded = refused = 0
    for _ in range(20000):
        length = rng.randint(0, 12)
        segment = "".join(rng.choice(ALPHABET) for _ in range(length))
        if rng.random() < 0.2 and segment:
            i = rng.randrange(len(segment))
            segment = segment[:i] + rng.choice(junk) + segment[i + 1:]
        expected = reference_decode(segment)
        assert decode_or_none(segment) == expected, segment
        decoded += expected is not None
        refused += expected is None
    assert decoded > 3000 and refused > 3000


@pytest.mark.parametrize("data", [bytes(range(n)) for n in range(10)] + [b"\xff" * 7, b"\xfb\xff"])
def test_every_encoding_round_trips(data):
    assert strict.b64url_decode(base64.urlsafe_b64encode(data).rstrip(b"=").decode()) == data


@pytest.mark.parametrize("segment", ["AB", "AAB", "YR", "YWJ", "A", "AAAAA", "QQ==", "a+b/", "\u0661\u0662"])
def test_non_canonical_and_non_base64url_refused(segment):
    with pytest.raises(ValueError):
        strict.b64url_decode(segment)


@pytest.mark.parametrize("text", [b'{"a": 1}', b'{"a":{"b":[1,"x",null,true]}}', b"{}"])
def test_json_objects(text):
    assert strict.json_object(text) == json.loads(text)


@pytest.mark.parametrize("text", [b' {"a": 1}', b'{"a": 1} ', b'{"a": 1}\n', b'{"a": 1}{}', b'{"a": 1}x', b"[1]", b'"a"',
                                  b'{"a": 1, "a": 2}', b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1' + b"0" * 25 + b"}",
                                  b'{"a": "\xff"}', b""])
def test_json_refused(text):
    with pytest.raises(ValueError):
        strict.json_object(text)
