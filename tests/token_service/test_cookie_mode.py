"""Cookie mode: the viewing token also set as a cookie the edge accepts, for `<video src>`."""
from http.cookies import SimpleCookie

from tests.token_service.conftest import APP_ORIGIN


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
