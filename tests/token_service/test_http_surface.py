"""The service's HTTP surface beyond /token's logic: no redirects, the docs switch."""
import pytest


@pytest.mark.parametrize("method, path", [("POST", "/token/"), ("GET", "/healthz/"), ("GET", "/.well-known/jwks.json/")])
def test_no_slash_redirects_that_would_echo_the_host_header(service, method, path):
    response = service.request(method, path, headers={"Host": "evil.example.com"}, follow_redirects=False)
    assert response.status_code in (404, 405)
    assert "location" not in response.headers
    assert "evil.example.com" not in response.text


def test_docs_are_on_by_default(service):
    assert service.get("/docs").status_code == 200
    assert service.get("/openapi.json").json()["info"]["title"] == "Token service"


def test_docs_enabled_false_switches_off_every_docs_route(start_service, base_settings):
    service = start_service({**base_settings, "docs_enabled": "false"})
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert service.get(path).status_code == 404, path
    assert service.get("/healthz").status_code == 200
