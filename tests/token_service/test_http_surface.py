"""The service's HTTP surface beyond /token's logic: no redirects, one Authorization header, the
docs switch, and the docs page's pinned Swagger UI (in a real Chromium, CDN routed by Playwright)."""
import re

import pytest
from playwright.sync_api import sync_playwright

from token_service.routers.docs import SWAGGER_UI_CSS, SWAGGER_UI_JS, SWAGGER_UI_VERSION

CHROMIUM = "/usr/bin/chromium"  # Debian's; `make test` installs it (scripts/ensure-system-deps)


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


def test_two_authorization_headers_are_400_like_at_the_edge(service, idp):
    valid, junk = ("Authorization", f"Bearer {idp.token()}"), ("Authorization", "Bearer junk")
    for headers in ([valid, junk], [junk, valid], [valid, valid]):
        response = service.request("POST", "/token", headers=headers)
        assert response.status_code == 400, response.text
        assert response.json() == {"error": "invalid_request", "error_description": "send one Authorization header"}


def test_docs_page_pins_swagger_ui_with_subresource_integrity_and_a_policy(service):
    response = service.get("/docs")
    html = response.text
    for url, integrity in (SWAGGER_UI_JS, SWAGGER_UI_CSS):
        assert url.startswith(f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}/")
        assert re.fullmatch(r"sha384-[A-Za-z0-9+/]{64}", integrity)
        assert f'"{url}" integrity="{integrity}" crossorigin="anonymous"' in html
    assert re.fullmatch(r"\d+\.\d+\.\d+", SWAGGER_UI_VERSION)
    assert html.count("cdn.jsdelivr.net") == 2 and "fastapi.tiangolo.com" not in html
    policy = dict(part.split(" ", 1) for part in response.headers["content-security-policy"].split("; "))
    cdn = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}/"
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert policy["script-src"].startswith(f"{cdn} 'sha256-") and policy["style-src"] == cdn
    assert "unsafe" not in response.headers["content-security-policy"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


def test_chromium_refuses_a_changed_swagger_ui_file(service, browser):
    """The CDN answered with other bytes than the pinned ones: Chromium runs none of them. The
    page's own inline script is allowed by the policy (it runs, and finds no Swagger UI)."""
    page = browser.new_page()
    messages, errors = [], []
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    fetched = []

    def changed_file(route):
        fetched.append(route.request.url)
        route.fulfill(status=200, body=b"window.SwaggerUIBundle = () => { document.title = 'pwned' };",
                      headers={"Content-Type": "text/javascript", "Access-Control-Allow-Origin": "*"})

    page.route("https://cdn.jsdelivr.net/**", changed_file)
    page.goto(f"{service.url}/docs")
    page.wait_for_load_state("load")
    assert sorted(fetched) == sorted([SWAGGER_UI_JS[0], SWAGGER_UI_CSS[0]])
    assert page.title() == "Token service - API docs"
    assert page.evaluate("typeof window.SwaggerUIBundle") == "undefined"
    blocked = [text for text in messages if "Failed to find a valid digest in the 'integrity' attribute" in text]
    assert len(blocked) == 2, messages
    assert any("SwaggerUIBundle is not defined" in error for error in errors), errors
    assert not [text for text in messages if "Content Security Policy" in text], messages
    page.close()
