"""Hostile claims in a validly signed app token: every registered claim x values of every wrong
shape. Never a 5xx; a value of the wrong type or out of range is 401 invalid_token.

NumericDate (exp, nbf, iat) is a JSON number (RFC 7519 §2): PyJWT alone takes a numeric string,
and `exp: "1700000000"` used to be a 500.
"""
import json
import math
import time

import jwt
import pytest

from tests.token_service.conftest import IDP_AUDIENCE, IDP_ISSUER

CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")
NOW = int(time.time())
HOSTILE = {
    "numeric string": str(NOW + 600),
    "float string": f"{NOW + 600}.5",
    "empty string": "",
    "true": True,
    "false": False,
    "zero": 0,
    "negative": -1,
    "float": NOW + 600.5,
    "huge int": 10 ** 30,
    "2**63": 2 ** 63,
    "huge float": 1e308,
    "NaN": math.nan,
    "Infinity": math.inf,
    "-Infinity": -math.inf,
    "empty list": [],
    "list": [NOW + 600],
    "list of strings": ["a", "b"],
    "empty object": {},
    "nested object": {"a": {"b": [1, {"c": None}]}},
    "deep list": json.loads("[" * 200 + "]" * 200),
    "long string": "x" * 4000,
    "unicode": "ünï😀\u202e\u2028",
    "control characters": "a\x00b\x1f\x7fc",
    "lone surrogate": "\ud800",
}
# Literals json.dumps does not write (or not this way).
RAW = {
    "null": "null",
    "1e400": "1e400",
    "5000 digits": "1" + "0" * 5000,
    "tiny float": "1e-400",
    "duplicate key": '1, "exp": "1"',
}


def is_numeric_date(value):
    return type(value) in (int, float) and 0 <= value <= 253402300799


def must_be_refused(claim, value):
    """True when the service must answer 401 for this claim value (the rest of the token is valid)."""
    if claim in ("iss", "aud"):
        return True  # none of the hostile values equals the expected one
    if claim in ("sub", "jti"):
        return not isinstance(value, str) or (claim == "sub" and value == "")
    if not is_numeric_date(value):
        return True
    return value <= NOW if claim == "exp" else value > NOW + 60


def raw_token(idp, claim, literal):
    """Signed by the IdP, with `literal` spliced in as the claim's JSON text (PyJWT's encoder
    refuses some of these values)."""
    body = {"iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "sub": "u42", "iat": NOW, "exp": NOW + 600}
    body.pop(claim, None)
    payload = json.dumps(body)[:-1] + f', "{claim}": {literal}}}'
    return jwt.api_jws.encode(payload.encode(), idp.key, algorithm="RS256", headers={"kid": idp.kid})


@pytest.mark.parametrize("claim", CLAIMS)
def test_hostile_claim_values_are_refused_never_5xx(service, idp, claim):
    answers = {}
    for name, value in HOSTILE.items():
        response = service.post_token(raw_token(idp, claim, json.dumps(value)))
        answers[name] = response.status_code
        assert response.status_code < 500, (claim, name, response.text)
        if must_be_refused(claim, value):
            assert response.status_code == 401, (claim, name, response.text)
            assert response.json()["error"] == "invalid_token"
    for name, literal in RAW.items():
        response = service.post_token(raw_token(idp, claim, literal))
        answers[name] = response.status_code
        assert response.status_code < 500, (claim, name, response.text)
        if claim in ("iss", "aud", "exp") or name != "tiny float":  # 1e-400 reads as 0.0, a past time
            assert response.status_code == 401, (claim, name, response.text)
    print(claim, answers)


@pytest.mark.parametrize("claim, value, reason", [
    ("exp", str(NOW + 600), "token exp must be a number of seconds (NumericDate)"),
    ("iat", str(NOW), "token iat must be a number of seconds (NumericDate)"),
    ("nbf", str(NOW), "token nbf must be a number of seconds (NumericDate)"),
    ("exp", True, "token exp must be a number of seconds (NumericDate)"),
    ("exp", 10 ** 30, "token exp must be a number of seconds (NumericDate)"),
    ("iat", -5, "token iat must be a number of seconds (NumericDate)"),
])
def test_numeric_dates_must_be_json_numbers(service, idp, claim, value, reason):
    response = service.post_token(idp.token(**{claim: value}))
    assert response.status_code == 401, response.text
    assert response.json() == {"error": "invalid_token", "error_description": reason}


def test_numeric_dates_may_be_fractional(service, idp):
    assert service.post_token(idp.token(iat=NOW - 0.5, nbf=NOW - 0.25, exp=NOW + 600.75)).status_code == 200


@pytest.mark.parametrize("sub, reason", [
    ("\ud800", "the caller's subject is not valid Unicode"),
    ("a\udfffb", "the caller's subject is not valid Unicode"),
    ("x" * 257, "the caller's subject is longer than 256 characters"),
])
def test_a_subject_no_token_can_carry_is_403_on_token_as_on_uploads(service, idp, sub, reason):
    """One rule for every route (test_uploads refuses the same subjects): POST /token once minted a
    token whose sub was a lone surrogate while /uploads refused that caller."""
    response = service.post_token(idp.token(sub=sub))
    assert response.status_code == 403, response.text
    assert response.json() == {"error": "access_denied", "error_description": reason}
