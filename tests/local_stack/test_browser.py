"""The demo page in a real Chromium (Debian's, driven by Playwright): log in, play from the CDN
through private-media.js's service worker, seek, refusals, renewal, and the whole-file fallback.
The library itself is tested in tests/web."""
import pytest
from playwright.sync_api import sync_playwright

from tests.local_stack.conftest import ARTIFACTS, REPO
from tests.web.conftest import CHROMIUM, wait_until  # wait_until: the demo page's CSP forbids eval() too

SAMPLE_SECONDS = 12.0  # alice.webm, as local_stack/media/make_sample_videos.py makes it


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


def new_page(browser):
    return browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()


@pytest.fixture(scope="module")
def page(browser, stack):
    """One page through the first tests, as a person goes through the demo."""
    page = new_page(browser)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(stack["demo_url"])
    return page


def video(page, expression):
    return page.eval_on_selector("#video", f"v => {expression}")


def test_log_in_play_and_seek(page, stack):
    page.select_option("#username", "alice")
    page.click("#login")
    wait_until(page, "document.querySelector('#token-sub').textContent === 'alice'")
    assert page.text_content("#token-paths") == "/videos/alice/"
    assert "in " in page.text_content("#token-expiry")  # the expiry countdown

    page.select_option("#object", "/videos/alice/profile.webm")
    page.click("#play")
    wait_until(page, "document.querySelector('#video').currentTime > 0.5", 30)
    assert video(page, "v.duration") == pytest.approx(SAMPLE_SECONDS, abs=0.1)
    assert video(page, "v.currentSrc") == stack["cdn_url"] + "/videos/alice/profile.webm"  # not a blob:
    first = video(page, "v.currentTime")
    page.wait_for_timeout(1000)
    assert video(page, "v.currentTime") > first + 0.3  # it plays
    assert "streamed from the CDN" in page.text_content("#play-status")
    assert "206" in page.text_content("#log") and "service worker" in page.text_content("#log")
    page.screenshot(path=str(ARTIFACTS / "playing.png"))

    page.evaluate("""() => new Promise(resolve => {
        const v = document.querySelector('#video');
        v.addEventListener('seeked', resolve, {once: true});
        v.currentTime = 9;
    })""")
    assert video(page, "v.currentTime") == pytest.approx(9, abs=0.5)
    wait_until(page, "document.querySelector('#video').currentTime > 9.3", 10)
    assert not video(page, "v.paused") and video(page, "v.error") is None
    page.screenshot(path=str(ARTIFACTS / "seeked.png"))


def test_tampered_token_shows_the_401(page):
    page.click("#try-tampered")
    wait_until(page, "!document.querySelector('#edge-result').hidden")
    wait_until(page, "document.querySelector('#result-status').textContent.startsWith('401')")
    assert 'error="invalid_token"' in page.text_content("#result-detail")
    page.screenshot(path=str(ARTIFACTS / "tampered-401.png"))


def test_another_members_file_shows_the_403(page):
    page.click("#try-other")
    wait_until(page, "document.querySelector('#result-status').textContent.startsWith('403')")
    assert "insufficient_scope" in page.text_content("#result-detail")
    assert "/videos/bob/" in page.text_content("#result-what")
    page.screenshot(path=str(ARTIFACTS / "other-member-403.png"))


def test_logged_out_shows_the_401(page):
    page.click("#logout")
    assert page.is_disabled("#play")
    wait_until(page, "document.querySelector('#token-status').textContent.includes(\"forgot this tab's token\")")
    page.click("#try-logged-out")
    wait_until(page, "document.querySelector('#result-status').textContent.startsWith('401')")
    assert "token" in page.text_content("#result-detail")
    page.screenshot(path=str(ARTIFACTS / "logged-out-401.png"))
    assert page.errors == []


def test_token_is_renewed_before_it_expires(browser, stack):
    """With the page's clock run past three quarters of the lifetime, a new token is in place."""
    page = new_page(browser)
    page.clock.install()
    page.goto(stack["demo_url"])
    page.click("#login")
    # The claims show as soon as /token answers; the status once the worker holds the token.
    wait_until(page, "document.querySelector('#token-status').textContent.startsWith('Issued; lifetime ')")
    assert page.text_content("#token-sub") == "alice"
    status = page.text_content("#token-status")
    lifetime = int(status.split("lifetime ")[1].split(" s")[0])
    page.clock.run_for(int(lifetime * 0.75 * 1000) + 1000)
    wait_until(page, "document.querySelector('#token-status').textContent.startsWith('Renewed 1')")
    page.click("#renew")  # and on demand
    wait_until(page, "document.querySelector('#token-status').textContent.startsWith('Renewed 2')")
    page.context.close()


def test_without_service_workers_the_page_falls_back_to_a_blob(browser, stack):
    """Where service workers are unavailable, playWithBlob fetches the whole (short) file first."""
    context = browser.new_context()
    # as in a browser without them (Firefox's private windows, for one): no navigator.serviceWorker
    context.add_init_script("delete Navigator.prototype.serviceWorker")
    page = context.new_page()
    page.goto(stack["demo_url"])
    page.click("#login")
    wait_until(page, "document.querySelector('#token-sub').textContent === 'alice'")
    assert "fallback" in page.text_content("#play-status")
    page.click("#play")
    wait_until(page, "document.querySelector('#video').currentTime > 0.5", 30)
    assert video(page, "v.currentSrc").startswith("blob:")
    assert "range requests" in page.text_content("#play-status")
    page.click("#try-other")  # the page sends the token itself here
    wait_until(page, "document.querySelector('#result-status').textContent.startsWith('403')")
    context.close()


def test_demo_page_is_served_with_a_content_security_policy(http, stack):
    response = http.get(stack["demo_url"] + "/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "worker-src 'self'" in policy
    assert f"media-src {stack['cdn_url']} blob:" in policy
    assert stack["cdn_url"] in policy and stack["token_url"] in policy and stack["idp_url"] in policy


@pytest.mark.parametrize("path", ["/private-media.js", "/private-media-sw.js"])
def test_demo_site_serves_the_library_from_its_own_origin(http, stack, path):
    response = http.get(stack["demo_url"] + path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.text == (REPO / "web" / path.lstrip("/")).read_text()
