"""The fallback ladder where service workers are unavailable (Firefox private windows, some
in-app browsers): startPrivateMedia resolves with mode "cookie" when the deployment offers
cookie mode (cookieTokenUrl), else "blob" with its size limit. Service workers are removed from
the page before its scripts run, as in a browser without them."""
import pytest

from tests.web.conftest import wait_until

NO_SERVICE_WORKERS = "delete Navigator.prototype.serviceWorker;"


@pytest.fixture
def open_without_service_workers(browser, frontend, web_stack):
    contexts = []

    def open_page():
        context = browser.new_context()
        contexts.append(context)
        context.add_init_script(NO_SERVICE_WORKERS)
        page = context.new_page()
        page.goto(frontend.origin + "/")
        wait_until(page, "window.harness")
        assert page.evaluate("() => 'serviceWorker' in navigator") is False
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_with_cookie_mode_offered_the_mode_is_cookie(open_without_service_workers, third_origin):
    """The library asks getToken for the cookie-mode /token URL with credentials (so the browser
    stores the cookie it sets) and renews it like a token."""
    third_origin.files["/cookie-token"] = (b'{"access_token": "cookie.mode.token", "expires_in": 300}',
                                           "application/json")
    page = open_without_service_workers()
    page.evaluate("() => { document.cookie = 'probe=1; path=/'; }")  # a cookie of 127.0.0.1, every port
    outcome = page.evaluate("""async (url) => {
        const mode = await harness.start('alice', {cookieTokenUrl: url});
        return [mode, harness.media.mode, harness.starts.at(-1).tokens];
    }""", third_origin.origin + "/cookie-token")
    assert outcome == ["cookie", "cookie", ["cookie.mode.token"]]
    [asked] = [r for r in third_origin.requests_to("/cookie-token") if r["method"] == "POST"]
    assert asked["headers"]["authorization"].startswith("Bearer ")  # the app token, as getToken sends it
    assert asked["headers"].get("cookie") == "probe=1"  # credentials: "include"


def test_without_cookie_mode_the_mode_is_blob_and_short_files_play(open_without_service_workers, web_stack, media):
    path, size = media["small"]
    page = open_without_service_workers()
    outcome = page.evaluate("""async (url) => {
        const mode = await harness.start('alice');
        const played = await harness.media.playWithBlob(harness.video, url);
        await harness.video.play();
        return [mode, harness.media.blobMaxBytes, played.bytes, harness.video.currentSrc.startsWith('blob:')];
    }""", web_stack["cdn_url"] + path)
    assert outcome == ["blob", 64 * 1024 * 1024, size, True]


def test_blob_mode_refuses_a_file_over_its_limit(open_without_service_workers, web_stack, media):
    path, size = media["small"]
    page = open_without_service_workers()
    error = page.evaluate("""async ([url, limit]) => {
        await harness.start('alice', {blobMaxBytes: limit});
        return harness.media.playWithBlob(harness.video, url).then(() => null, e => e.code);
    }""", [web_stack["cdn_url"] + path, size - 1])
    assert error == "too_large"
