"""A refused app token's log line says which setting disagrees and both values (shortened and
escaped), so an Auth0 trailing slash is one look at the log; the caller gets the short reason
only, and no log line ever holds the token."""
import time

import pytest

from tests.token_service.conftest import IDP_AUDIENCE, IDP_ISSUER


def refused_line(service, app_token):
    response = service.post_token(app_token, headers={"X-Request-Id": f"detail-{time.monotonic_ns()}"})
    assert response.status_code == 401
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [line for line in service.log_lines() if line["request_id"] == request_id]
        if lines:
            assert app_token not in service.log_text()
            assert "detail" not in response.text and IDP_ISSUER not in response.text
            return response.json()["error_description"], lines[0]
        time.sleep(0.02)
    raise AssertionError("no log line")


@pytest.mark.parametrize("claims, reason, detail", [
    ({"iss": IDP_ISSUER + "/"}, "wrong issuer",
     f"iss in the token is '{IDP_ISSUER}/' but TOKEN_SERVICE_IDP_ISSUER is '{IDP_ISSUER}' (trailing slash)"),
    ({"iss": IDP_ISSUER.upper()}, "wrong issuer",
     f"iss in the token is '{IDP_ISSUER.upper()}' but TOKEN_SERVICE_IDP_ISSUER is '{IDP_ISSUER}' (letter case)"),
    ({"aud": ["other-api", "more"]}, "wrong audience",
     f"aud in the token is ['other-api', 'more'] but TOKEN_SERVICE_IDP_AUDIENCE is '{IDP_AUDIENCE}' "
     "(TOKEN_SERVICE_IDP_AUDIENCE_CLAIM is 'aud')"),
    ({"aud": None, "client_id": "x"}, "token has no aud claim",
     "the token has no 'aud' claim (TOKEN_SERVICE_IDP_AUDIENCE_CLAIM is 'aud'); its claims are "
     "['client_id', 'exp', 'iat', 'iss', 'sub']"),
    ({"exp": 1_000_000_000}, "token expired", "exp in the token is 2001-09-09T01:46:40Z ("),
    ({"exp": "1700000000"}, "token exp must be a number of seconds (NumericDate)", "exp in the token is '1700000000'"),
])
def test_the_log_line_names_the_setting_and_both_values(service, idp, claims, reason, detail):
    shown_reason, line = refused_line(service, idp.token(**claims))
    assert shown_reason == reason and line["reason"] == reason
    assert line["detail"].startswith(detail)


def test_token_header_faults_name_their_setting(service, idp):
    _, line = refused_line(service, idp.token(kid="rotated-away"))
    assert line["detail"].startswith("kid 'rotated-away' is not among the usable keys of TOKEN_SERVICE_IDP_JWKS_URL")
    assert "kids: idp-1" in line["detail"]


def test_hostile_values_are_cut_short_and_escaped(service, idp):
    hostile = "https://idp.example.com/\x1b[2J\n\u202e" + "A" * 5000
    _, line = refused_line(service, idp.token(iss=hostile))
    assert len(line["detail"]) < 320
    assert "\x1b" not in line["detail"] and "\n" not in line["detail"] and "\u202e" not in line["detail"]
    assert "\\x1b[2J\\n\\u202e" in line["detail"]
