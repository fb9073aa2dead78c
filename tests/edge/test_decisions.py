"""What the edge answers and forwards: token sources, CORS, methods, logs, cache, no exceptions."""
import copy
import json

import pytest

from edge.authorizer import log_line
from tests.cf import bearer, viewer_request
from tests.edge.conftest import NOW, header, status

APP = "https://app.example.com"


def test_forwarded_request_has_the_token_removed(authorizer, tokens):
    token = tokens.make()
    event = viewer_request(headers={**bearer(token), "Cookie": f"a=1; media_token={token}; b=2",
                                    "Range": "bytes=0-99"})
    result = authorizer.handle(event)
    assert status(result) == "forward"
    assert "authorization" not in result["headers"]
    assert result["headers"]["cookie"] == [{"key": "Cookie", "value": "a=1; b=2"}]
    assert result["headers"]["range"][0]["value"] == "bytes=0-99"
    assert token not in json.dumps(result)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(authorizer, tokens, scheme):
    event = viewer_request(headers={"Authorization": f"{scheme} {tokens.make()}"})
    assert status(authorizer.handle(event)) == "forward"


def test_cookie_token_when_no_header(authorizer, tokens):
    result = authorizer.handle(viewer_request(headers={"Cookie": f"media_token={tokens.make()}"}))
    assert status(result) == "forward"
    assert "cookie" not in result["headers"]


def test_header_wins_over_cookie(authorizer, tokens):
    expired = tokens.make(exp=NOW - 100, iat=NOW - 400, nbf=NOW - 400)
    event = viewer_request(headers={**bearer(expired), "Cookie": f"media_token={tokens.make()}"})
    assert status(authorizer.handle(event)) == "401"
    event = viewer_request(headers={**bearer(tokens.make()), "Cookie": f"media_token={expired}"})
    assert status(authorizer.handle(event)) == "forward"


def test_cookie_ignored_when_not_configured(make_authorizer, tokens):
    authorizer = make_authorizer(cookie_name=None)
    cookie = f"media_token={tokens.make()}"
    result = authorizer.handle(viewer_request(headers={"Cookie": cookie}))
    assert status(result) == "401"


def test_two_different_cookie_tokens_are_refused(authorizer, tokens):
    event = viewer_request(headers={"Cookie": [f"media_token={tokens.make()}", f"media_token={tokens.make(jti='2')}"]})
    assert status(authorizer.handle(event)) == "400"


def test_query_tokens_are_off_by_default(authorizer, tokens):
    result = authorizer.handle(viewer_request(querystring=f"token={tokens.make()}"))
    assert status(result) == "401"


def test_query_token_when_opted_in_is_stripped(make_authorizer, tokens):
    authorizer = make_authorizer(query_parameter="token")
    result = authorizer.handle(viewer_request(querystring=f"a=1&token={tokens.make()}&b=2"))
    assert status(result) == "forward"
    assert result["querystring"] == "a=1&b=2"


def test_missing_token_is_401_without_error_code(authorizer):
    result = authorizer.handle(viewer_request())
    assert result["status"] == "401"
    assert header(result, "WWW-Authenticate") == 'Bearer realm="media"'
    assert header(result, "Cache-Control") == "no-store"
    assert json.loads(result["body"])["error"] == "token_required"


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Token abc", "Bearer", "Bearer   "])
def test_other_schemes_and_empty_bearer(authorizer, value):
    result = authorizer.handle(viewer_request(headers={"Authorization": value}))
    assert result["status"] in ("400", "401")
    assert header(result, "WWW-Authenticate").startswith('Bearer realm="media"')


def test_two_authorization_headers_refused(authorizer, tokens):
    event = viewer_request(headers={"Authorization": [f"Bearer {tokens.make()}", "Bearer x"]})
    assert status(authorizer.handle(event)) == "400"


def test_invalid_token_answer_follows_rfc_6750(authorizer, tokens):
    result = authorizer.handle(viewer_request(headers=bearer(tokens.make(exp=NOW - 100, iat=NOW - 400, nbf=NOW - 400))))
    assert result["status"] == "401"
    assert header(result, "WWW-Authenticate") == \
        'Bearer realm="media", error="invalid_token", error_description="token expired"'
    assert json.loads(result["body"]) == {"error": "invalid_token", "error_description": "token expired"}
    assert header(result, "Content-Type") == "application/json"
    assert len(result["body"]) < 200


def test_preflight_from_allowed_origin(authorizer):
    event = viewer_request(method="OPTIONS", headers={
        "Origin": APP, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,range"})
    result = authorizer.handle(event)
    assert result["status"] == "204"
    assert header(result, "Access-Control-Allow-Origin") == APP
    assert header(result, "Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS"
    allowed = {h.strip().lower() for h in header(result, "Access-Control-Allow-Headers").split(",")}
    assert {"authorization", "range"} <= allowed
    assert int(header(result, "Access-Control-Max-Age")) == 600
    assert "Origin" in header(result, "Vary")


@pytest.mark.parametrize("origin", ["https://evil.example.com", "https://app.example.com.evil.com", "null", None])
def test_preflight_from_other_origins_gets_no_grant(authorizer, origin):
    headers = {"Access-Control-Request-Method": "GET"} | ({"Origin": origin} if origin else {})
    result = authorizer.handle(viewer_request(method="OPTIONS", headers=headers))
    assert result["status"] == "204"
    assert not any(name.startswith("access-control-") for name in result["headers"])


def test_denials_carry_cors_for_allowed_origin_only(authorizer):
    result = authorizer.handle(viewer_request(headers={"Origin": APP}))
    assert header(result, "Access-Control-Allow-Origin") == APP
    assert "WWW-Authenticate" in header(result, "Access-Control-Expose-Headers")
    result = authorizer.handle(viewer_request(headers={"Origin": "https://evil.example.com"}))
    assert header(result, "Access-Control-Allow-Origin") is None


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_refused(authorizer, tokens, method):
    result = authorizer.handle(viewer_request(method=method, headers=bearer(tokens.make())))
    assert result["status"] == "405"
    assert header(result, "Allow") == "GET, HEAD, OPTIONS"


def test_head_allowed(authorizer, tokens):
    assert status(authorizer.handle(viewer_request(method="HEAD", headers=bearer(tokens.make())))) == "forward"


def test_one_json_log_line_per_decision(authorizer, tokens):
    authorizer.handle(viewer_request(headers=bearer(tokens.make(sub="member-7"))))
    authorizer.handle(viewer_request(uri="/x/y.mp4"))
    allow, deny = authorizer.logs.decisions
    assert allow["outcome"] == "allow" and allow["reason"] == "ok" and allow["kid"] == "k1"
    assert allow["sub"] == "member-7" and allow["uri"] == "/videos/u42/profile.mp4"
    assert allow["cache"] == "miss" and isinstance(allow["us"], int) and allow["us"] > 0
    assert deny == {**deny, "outcome": "deny", "status": 401, "reason": "no_token", "uri": "/x/y.mp4"}


@pytest.mark.parametrize("record", [
    {"outcome": "allow", "status": None, "reason": "ok", "kid": "k1", "sub": "u42", "uri": "/a.mp4", "cache": "hit",
     "us": 12},
    {"outcome": "deny", "status": 401, "reason": "bad_kid", "kid": None, "sub": None, "uri": None, "cache": None,
     "us": 0},
    {"outcome": "allow", "status": None, "reason": "ok", "kid": 'k"\\\n\u2028', "sub": "é\x00\x7f\ud800",
     "uri": "/</script>\t.mp4", "cache": "miss", "us": 10**6},
    {"outcome": "deny", "status": 503, "reason": "internal_error", "kid": None, "sub": None, "uri": "/a",
     "cache": None, "error": "ZeroDivisionError", "us": 3},
    {"outcome": "allow", "status": 200, "reason": "ok", "kid": "k1", "sub": "u", "uri": "/a", "cache": "hit", "us": 1},
    {"outcome": "allow", "status": None, "reason": "other", "kid": "k1", "sub": "u", "uri": "/a", "cache": "hit",
     "us": 1},
    {"status": None, "outcome": "allow", "reason": "ok", "kid": "k1", "sub": "u", "uri": "/a", "cache": "hit", "us": 1},
    {"outcome": "preflight", "status": 204, "reason": "preflight", "kid": None, "sub": None, "uri": "/a",
     "cache": None, "us": 2},
])
def test_log_line_is_what_json_dumps_writes(record):
    assert log_line(record) == json.dumps(record)


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": [{"cf": {}}]}, None, "x",
                                   {"Records": [{"cf": {"request": {"headers": {}, "uri": "/a", "method": None}}}]},
                                   {"Records": [{"cf": {"request": {"headers": {"authorization": "Bearer x"},
                                                                    "uri": "/a", "method": "GET"}}}]}])
def test_never_raises(authorizer, event):
    result = authorizer.handle(copy.deepcopy(event))
    assert result["status"] in ("400", "401", "405", "503")
    assert authorizer.logs.decisions[-1]["outcome"] == "deny"


def test_internal_error_fails_closed(authorizer, tokens, monkeypatch):
    monkeypatch.setattr(authorizer.cache, "get", lambda *a: 1 / 0)
    result = authorizer.handle(viewer_request(headers=bearer(tokens.make())))
    assert result["status"] == "503" and header(result, "Retry-After")
    assert authorizer.logs.decisions[-1]["reason"] == "internal_error"


def test_cache_one_rsa_operation_per_token(authorizer, tokens, monkeypatch):
    from edge import tokens as edge_tokens
    calls = []
    real_verify = edge_tokens.verify
    monkeypatch.setattr(edge_tokens, "verify", lambda *a: calls.append(1) or real_verify(*a))
    token = tokens.make()
    for start in range(0, 200_000, 1000):
        event = viewer_request(headers={**bearer(token), "Range": f"bytes={start}-{start + 999}"})
        assert status(authorizer.handle(event)) == "forward"
    assert len(calls) == 1


def test_cached_token_not_used_after_expiry(authorizer, tokens, clock):
    token = tokens.make()
    assert status(authorizer.handle(viewer_request(headers=bearer(token)))) == "forward"
    clock.now = NOW + 300 + 30  # exp + leeway
    assert status(authorizer.handle(viewer_request(headers=bearer(token)))) == "401"
    assert len(authorizer.cache) == 0


def test_cache_is_bounded(make_authorizer, tokens, backend):
    authorizer = make_authorizer(token_cache_entries=5)
    for n in range(12):
        authorizer.handle(viewer_request(headers=bearer(tokens.make(jti=str(n)))))
        assert len(authorizer.cache) <= 5
    assert len(authorizer.cache) == 5


def test_expired_entries_are_trimmed_on_insert(make_authorizer, tokens, clock, backend):
    authorizer = make_authorizer()
    for n in range(3):
        authorizer.handle(viewer_request(headers=bearer(tokens.make(jti=str(n)))))
    clock.now = NOW + 400
    authorizer.handle(viewer_request(headers=bearer(tokens.make(jti="new", iat=NOW + 400, nbf=NOW + 400,
                                                                exp=NOW + 700))))
    assert len(authorizer.cache) == 1
