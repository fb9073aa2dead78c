"""Hostile tokens: every one must be refused at the edge, through both RSA backends."""
import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import serialization

from edge.tokens import MAX_KNOWN_HEADERS
from tests.cf import bearer, viewer_request
from tests.edge.conftest import NOW, b64url, claims, encode_json, status

GOOD_HEADER = {"alg": "RS256", "typ": "JWT", "kid": "k1"}


def deny(authorizer, token, uri="/videos/u42/profile.mp4"):
    result = authorizer.handle(viewer_request(uri=uri, headers=bearer(token)))
    assert "uri" not in result, "a hostile token was forwarded to the origin"
    return result


def reason(authorizer):
    return authorizer.logs.decisions[-1]["reason"]


def test_valid_token_is_forwarded(authorizer, tokens):
    result = authorizer.handle(viewer_request(headers=bearer(tokens.make())))
    assert status(result) == "forward"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "", None])
@pytest.mark.parametrize("signature", ["", "AAAA"])
def test_alg_none_in_every_spelling(authorizer, alg, signature):
    header = {"typ": "JWT", "kid": "k1"} if alg is None else {"alg": alg, "typ": "JWT", "kid": "k1"}
    token = f"{encode_json(header)}.{encode_json(claims())}.{signature}"
    assert deny(authorizer, token)["status"] == "401"
    assert reason(authorizer) == "bad_alg"


@pytest.mark.parametrize("alg", ["HS256", "RS384", "RS512", "PS256", "ES256", "rs256", "RS256 ", ["RS256"]])
def test_other_algorithms(authorizer, tokens, alg):
    header = encode_json({"alg": alg, "typ": "JWT", "kid": "k1"})
    deny(authorizer, tokens.raw(header, encode_json(claims())))
    assert reason(authorizer) == "bad_alg"


@pytest.mark.parametrize("form", ["pem", "jwk_json", "der"])
def test_hs256_signed_with_the_public_key(authorizer, key, jwks, form):
    public = key.public_key()
    secret = {
        "pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "jwk_json": json.dumps(jwks["keys"][0]).encode(),
    }[form]
    for alg in ("HS256", "RS256"):  # also an HMAC tag presented under alg RS256
        signing_input = f"{encode_json({'alg': alg, 'typ': 'JWT', 'kid': 'k1'})}.{encode_json(claims())}"
        tag = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        deny(authorizer, f"{signing_input}.{b64url(tag)}")
        assert reason(authorizer) == ("bad_alg" if alg == "HS256" else "bad_signature")


def test_signature_variants(authorizer, tokens):
    good = tokens.make()
    head, payload, sig = good.split(".")
    raw_sig = base64.urlsafe_b64decode(sig + "==")
    zero = bytes(1)
    variants = {
        "missing": f"{head}.{payload}",
        "empty": f"{head}.{payload}.",
        "truncated": f"{head}.{payload}.{b64url(raw_sig[:-1])}",
        "over_long": f"{head}.{payload}.{b64url(raw_sig + zero)}",
        "leading_zero_added": f"{head}.{payload}.{b64url(zero + raw_sig)}",
        "zeros": f"{head}.{payload}.{b64url(bytes(256))}",
        "bit_flipped": f"{head}.{payload}.{b64url(raw_sig[:-1] + bytes([raw_sig[-1] ^ 1]))}",
        "other_payload": f"{head}.{encode_json(claims(sub='admin'))}.{sig}",
    }
    for name, token in variants.items():
        result = deny(authorizer, token)
        assert result["status"] == "401", name
        assert reason(authorizer) in ("bad_signature", "malformed"), name


def test_signature_by_another_key(authorizer, tokens, other_key):
    deny(authorizer, tokens.make(key=other_key))
    assert reason(authorizer) == "bad_signature"


@pytest.mark.parametrize("kid", ["k2", "../../../../etc/passwd", "' OR '1'='1' --", "k1\x00", "K1", "k1 ",
                                 "http://evil.example/jwks.json"])
def test_unknown_kid(authorizer, tokens, kid):
    deny(authorizer, tokens.make(kid=kid))
    assert reason(authorizer) == "unknown_kid"


@pytest.mark.parametrize("kid", [None, 1, ["k1"], {"k": "k1"}, "", "k" * 257])
def test_kid_not_a_usable_string(authorizer, tokens, kid):
    header = {"alg": "RS256", "typ": "JWT"} if kid is None else {"alg": "RS256", "typ": "JWT", "kid": kid}
    deny(authorizer, tokens.raw(encode_json(header), encode_json(claims())))
    assert reason(authorizer) == "bad_kid"


@pytest.mark.parametrize("extra", [
    {"jku": "https://evil.example/jwks.json"},
    {"x5u": "https://evil.example/cert.pem"},
    {"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},
    {"x5c": ["MIIB"]},
    {"crit": ["exp"]},
    {"crit": []},
])
def test_key_choosing_and_crit_headers_refused(authorizer, tokens, extra):
    # Correctly signed by the real key: the header alone must be enough to refuse.
    deny(authorizer, tokens.raw(encode_json({**GOOD_HEADER, **extra}), encode_json(claims())))
    assert reason(authorizer) == "forbidden_header"


@pytest.mark.parametrize("typ", ["JWS", "jwt", "at+jwt", 1])
def test_typ_other_than_jwt(authorizer, tokens, typ):
    deny(authorizer, tokens.raw(encode_json({**GOOD_HEADER, "typ": typ}), encode_json(claims())))
    assert reason(authorizer) == "bad_typ"


def test_typ_may_be_absent(authorizer, tokens):
    token = tokens.raw(encode_json({"alg": "RS256", "kid": "k1"}), encode_json(claims()))
    assert status(authorizer.handle(viewer_request(headers=bearer(token)))) == "forward"


def _respell(token, how):
    parts = token.split(".")
    if how == "padded":
        parts = [p + "=" * (-len(p) % 4) for p in parts]
        assert any(p.endswith("=") for p in parts)
    elif how == "standard_alphabet":
        parts = [p.replace("-", "+").replace("_", "/") for p in parts]
        assert parts != token.split(".")
    elif how == "whitespace":
        parts[0] = parts[0][:10] + " " + parts[0][10:]
    elif how == "newline":
        parts[0] = parts[0][:10] + "\n" + parts[0][10:]
    return ".".join(parts)


@pytest.mark.parametrize("how", ["padded", "standard_alphabet", "whitespace", "newline"])
def test_non_canonical_base64(authorizer, tokens, how):
    # A token whose segments contain '-'/'_' and need padding, so every respelling differs.
    for n in range(200):
        token = tokens.make(jti=f"j-{n}")
        if all("-" in p or "_" in p for p in token.split(".")) and any(len(p) % 4 for p in token.split(".")):
            break
    deny(authorizer, _respell(token, how))
    assert reason(authorizer) == "malformed"


def test_non_zero_trailing_bits(authorizer, tokens):
    # 'AQAB' decodes to 01 00 01; 'AQAC' would too if trailing bits were ignored: find such a segment.
    token = tokens.make()
    head, payload, sig = token.split(".")
    assert len(sig) % 4 == 2  # 256 bytes -> 342 chars, 4 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    bumped = sig[:-1] + alphabet[alphabet.index(sig[-1]) + 1]
    deny(authorizer, f"{head}.{payload}.{bumped}")
    assert reason(authorizer) == "malformed"


@pytest.mark.parametrize("segment", [0, 1, 2])
@pytest.mark.parametrize("junk", ["é", "\u2024", "%2E", "\x00", "=", "."])
def test_non_base64_characters_in_any_segment(authorizer, tokens, segment, junk):
    parts = tokens.make().split(".")
    parts[segment] = parts[segment][:8] + junk + parts[segment][8:]
    result = deny(authorizer, ".".join(parts))
    assert result["status"] == "401"
    assert reason(authorizer) == "malformed"


@pytest.mark.parametrize("segments", [1, 2, 4, 5])
def test_wrong_segment_count(authorizer, tokens, segments):
    parts = tokens.make().split(".")
    token = ".".join((parts * 2)[:segments])
    deny(authorizer, token)
    assert reason(authorizer) == "malformed"


def test_oversize_token(authorizer, tokens):
    token = tokens.make(padding="x" * 9000)
    deny(authorizer, token)
    assert reason(authorizer) == "oversize"


@pytest.mark.parametrize("where", ["header", "payload"])
def test_deep_nesting(authorizer, tokens, where):
    nested = "[" * 1500 + "]" * 1500  # deeper than the json module's recursion limit
    body = f'{{"alg":"RS256","kid":"k1","x":{nested}}}' if where == "header" else \
        json.dumps(claims())[:-1] + f', "x": {nested}}}'
    segment = b64url(body.encode())
    token = tokens.raw(segment, encode_json(claims())) if where == "header" else \
        tokens.raw(encode_json(GOOD_HEADER), segment)
    deny(authorizer, token)
    assert reason(authorizer) == "malformed"


@pytest.mark.parametrize("raw_header", [
    b'{"alg":"RS256","kid":"k1","x":"\xff\xfe"}',  # invalid UTF-8
    b'\xff\xfe{\x00"\x00a\x00l\x00g\x00"\x00:\x00"\x00R\x00S\x002\x005\x006\x00"\x00}\x00',  # UTF-16
    b'{"alg":"none","alg":"RS256","kid":"k1"}',  # duplicate names
    b'{"alg":"RS256","kid":"k1","kid":"k2"}',
    b'["RS256"]',
    b'"RS256"',
    b'{"alg":"RS256","kid":"k1"} trailing',
    b'{"alg":"RS256","kid":"k1","n":NaN}',
    b'{"alg":"RS256","kid":"k1","n":' + b"9" * 5000 + b"}",
    b'',
])
def test_strict_header_json(authorizer, tokens, raw_header):
    deny(authorizer, tokens.raw(b64url(raw_header), encode_json(claims())))
    assert reason(authorizer) == "malformed"


@pytest.mark.parametrize("raw_payload", [
    json.dumps(claims())[:-1].encode() + b', "sub": "admin"}',  # duplicate claim
    json.dumps(claims())[:-1].encode() + b', "x": "\xc3\x28"}',  # invalid UTF-8
    json.dumps(claims())[:-1].encode() + b', "big": ' + b"1" * 4400 + b"}",
])
def test_strict_payload_json(authorizer, tokens, raw_payload):
    deny(authorizer, tokens.raw(encode_json(GOOD_HEADER), b64url(raw_payload)))
    assert reason(authorizer) == "malformed"


@pytest.mark.parametrize("overrides,expected", [
    ({"exp": NOW - 31}, "expired"),
    ({"exp": NOW - 30}, "expired"),  # leeway 30 s: exp + leeway is already past
    ({"nbf": NOW + 31}, "not_yet_valid"),
    ({"iat": NOW + 31, "nbf": NOW}, "issued_in_future"),
    ({"iss": "https://evil.example.com"}, "bad_iss"),
    ({"iss": None}, "bad_iss"),
    ({"aud": "other.example.com"}, "bad_aud"),
    ({"aud": ["media.example.com"]}, "bad_aud"),
    ({"aud": None}, "bad_aud"),
    ({"sub": None}, "bad_sub"),
    ({"sub": ""}, "bad_sub"),
    ({"sub": 42}, "bad_sub"),
    ({"exp": None}, "bad_exp"),
    ({"iat": None}, "bad_iat"),
    ({"nbf": None}, "bad_nbf"),
    ({"exp": float(NOW + 300)}, "bad_exp"),
    ({"exp": True}, "bad_exp"),
    ({"exp": str(NOW + 300)}, "bad_exp"),
    ({"exp": 10**15}, "bad_exp"),
    ({"exp": NOW + 3601}, "lifetime"),  # lifetime over the 3600 s cap
    ({"iat": NOW + 10, "exp": NOW + 5}, "lifetime"),
    ({"jti": 7}, "bad_jti"),
    ({"paths": "/videos/u42/"}, "bad_paths"),
    ({"paths": ["videos/u42/"]}, "bad_paths"),
    ({"paths": ["/videos/../"]}, "bad_paths"),
    ({"paths": [7]}, "bad_paths"),
])
def test_claims(authorizer, tokens, overrides, expected):
    deny(authorizer, tokens.make(**overrides))
    assert reason(authorizer) == expected


@pytest.mark.parametrize("overrides", [
    {"iat": NOW - 300, "nbf": NOW - 300, "exp": NOW - 29},  # inside the leeway
    {"nbf": NOW + 30},
    {"iat": NOW + 30, "nbf": NOW + 30, "exp": NOW + 330},
    {"exp": NOW + 3600},  # exactly the cap
    {"jti": None},
])
def test_claims_at_the_boundaries_pass(authorizer, tokens, overrides):
    assert status(authorizer.handle(viewer_request(headers=bearer(tokens.make(**overrides))))) == "forward"


def test_the_token_is_never_logged(authorizer, tokens):
    good, bad = tokens.make(), tokens.make(exp=NOW - 100)
    for token in (good, bad, good + "x", "garbage"):
        authorizer.handle(viewer_request(headers=bearer(token)))
    text = json.dumps(authorizer.logs)
    for token in (good, bad):
        for segment in token.split("."):
            assert segment not in text


def test_header_memo_takes_only_headers_of_validly_signed_tokens(authorizer, tokens, other_key):
    header = encode_json({"alg": "RS256", "typ": "JWT", "kid": "k1", "note": "new"})
    deny(authorizer, tokens.raw(header, encode_json(claims()), key=other_key))
    assert reason(authorizer) == "bad_signature"
    assert header not in authorizer.known_headers
    result = authorizer.handle(viewer_request(headers=bearer(tokens.raw(header, encode_json(claims())))))
    assert status(result) == "forward"
    assert authorizer.known_headers == {header: "k1"}


def test_a_known_header_excuses_nothing_else(authorizer, tokens):
    good = tokens.make()
    assert status(authorizer.handle(viewer_request(headers=bearer(good)))) == "forward"
    head, _, signature = good.split(".")
    assert head in authorizer.known_headers
    deny(authorizer, f"{head}.{encode_json(claims(sub='admin'))}.{signature}")
    assert reason(authorizer) == "bad_signature"
    deny(authorizer, tokens.make(exp=NOW - 100, iat=NOW - 400, nbf=NOW - 400))
    assert reason(authorizer) == "expired"
    deny(authorizer, f"{head}.{encode_json(claims())}")
    assert reason(authorizer) == "malformed"


def test_header_memo_is_bounded(authorizer, tokens):
    for n in range(MAX_KNOWN_HEADERS + 5):
        token = tokens.make(headers={"n": n}, jti=str(n))
        assert status(authorizer.handle(viewer_request(headers=bearer(token)))) == "forward"
    assert len(authorizer.known_headers) == MAX_KNOWN_HEADERS
