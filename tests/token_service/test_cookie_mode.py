"""Cookie mode: the viewing token also set as a cookie the edge accepts, for `<video src>`."""
from http.cookies import SimpleCookie

import pytest

from tests.token_service.conftest import APP_ORIGIN
from token_service.settings import Settings, SettingsError


def cookie_attributes(set_cookie: str):
    parts = [part.strip() for part in set_cookie.split(";")]
    name, _, value = parts[0].partition("=")
    attributes = {}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val
    return name, value, attributes


def test_cookie_with_domain_for_a_shared_site(start_service, base_settings, idp):
    service = start_service({**base_settings, "cookie_name": "media_token", "cookie_domain": ".example.com",
                             "cookie_samesite": "Strict", "token_lifetime_seconds": 120})
    response = service.post_token(idp.token(), headers={"Origin": APP_ORIGIN})
    assert response.status_code == 200
    name, value, attributes = cookie_attributes(response.headers["set-cookie"])
    assert (name, value) == ("media_token", response.json()["access_token"])
    assert attributes == {"domain": ".example.com", "httponly": "", "max-age": "120", "path": "/",
                          "samesite": "strict", "secure": ""}
    assert SimpleCookie(response.headers["set-cookie"])["media_token"].value == value
    # The browser keeps a cookie from a cross-origin fetch only when credentials are allowed.
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN


def test_cookie_without_domain_is_host_only(start_service, base_settings, idp):
    service = start_service({**base_settings, "cookie_name": "media_token"})
    response = service.post_token(idp.token())
    name, value, attributes = cookie_attributes(response.headers["set-cookie"])
    assert name == "media_token" and value == response.json()["access_token"]
    assert "domain" not in attributes
    assert attributes["samesite"] == "lax" and attributes["max-age"] == "300"


def test_no_cookie_on_refusals(start_service, base_settings, idp):
    service = start_service({**base_settings, "cookie_name": "media_token"})
    refused = service.post_token(idp.token(aud="other"))
    assert refused.status_code == 401 and "set-cookie" not in refused.headers


def test_host_prefixed_cookie_is_secure_host_only_at_the_root(start_service, base_settings, idp):
    """What the stack configures for a host-only cookie: browsers keep a __Host- cookie only when it
    is Secure, has Path=/ and no Domain (RFC 6265bis), which is what the service sends."""
    service = start_service({**base_settings, "cookie_name": "__Host-media_token"})
    response = service.post_token(idp.token(), headers={"Origin": APP_ORIGIN})
    name, value, attributes = cookie_attributes(response.headers["set-cookie"])
    assert (name, value) == ("__Host-media_token", response.json()["access_token"])
    assert "domain" not in attributes
    assert attributes["path"] == "/" and "secure" in attributes


def test_host_prefixed_cookie_with_a_domain_is_refused_at_start():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"TOKEN_SERVICE_COOKIE_NAME": "__Host-media_token",
                           "TOKEN_SERVICE_COOKIE_DOMAIN": "example.com"})
    assert ("TOKEN_SERVICE_COOKIE_DOMAIN: a __Host- cookie is host-only, so it takes no Domain; unset this, "
            "or name the cookie without the prefix") in raised.value.faults
