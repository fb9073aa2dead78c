"""The demo page's upload step in a real Chromium, under the page's own Content-Security-Policy:
POST /uploads, the form posted with XHR straight to the bucket (the advertised S3 endpoint, the
moto proxy that checks forms as S3 does), "processing…" while the stack's media processor runs,
then the poster, then the published video played from the CDN through the service worker; the
member's list (GET /videos) and deleting from it. Refusals from the token service and from the bucket are shown, and nothing is
stored. The HTTP-level flow is tests/local_stack/test_uploads_e2e.py."""
import json

import boto3
import pytest

from local_stack.demo_data import MEDIA_DIR
from tests.local_stack.conftest import ARTIFACTS, viewing_token
from tests.local_stack.test_browser import browser, new_page, video, wait_until  # browser: the module's fixture
from tests.media_processor.clips import make_clip

SAMPLE = MEDIA_DIR / "alice.webm"
# A hostile but valid display name: shown as text, never as markup.
HOSTILE_NAME = '<img src=x onerror="document.title=1"> é.mov'


@pytest.fixture(scope="module")
def reader(stack, internal):
    """The CDN's origin identity: may read objects (s3:GetObject), nothing else."""
    key = internal["access_keys"]["cdn"]
    return boto3.client("s3", endpoint_url=stack["s3_endpoint"], region_name="us-east-1",
                        aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])


def stored(reader, stack, key):
    try:
        return reader.get_object(Bucket=stack["bucket"], Key=key)
    except reader.exceptions.NoSuchKey:
        return None


def logged_in_page(browser, stack, member):
    page = new_page(browser)
    page.errors, page.requests = [], []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("request", lambda request: page.requests.append((request.method, request.url)))
    page.goto(stack["demo_url"])
    page.select_option("#username", member)
    page.click("#login")
    wait_until(page, f"document.querySelector('#token-sub').textContent === '{member}'")
    return page


def uploads_answered(page):
    """The page's own POST /uploads answer, as the browser received it."""
    return page.expect_response(lambda r: r.url.endswith("/uploads") and r.request.method == "POST")


def test_alice_uploads_a_phone_clip_sees_it_processed_then_its_poster_then_it_plays(
        browser, stack, http, reader, tmp_path):
    page = logged_in_page(browser, stack, "alice")
    # as an iPhone records it: HEVC 10-bit in QuickTime, index at the end, rotated 90°, AAC;
    # Chromium cannot play that, the published H.264 MP4 it can
    data = make_clip(tmp_path / "phone.mov", container="mov", video="libx265", pix_fmt="yuv420p10le", rotation=-90,
                     size=(320, 240), seconds=2.0).read_bytes()
    page.set_input_files("#upload-file", {"name": HOSTILE_NAME, "mimeType": "video/quicktime", "buffer": data})
    assert page.eval_on_selector("#upload-file", "i => i.files[0].type") == "video/quicktime"
    page.evaluate("""() => {
        const v = document.querySelector('#video'), poster = document.querySelector('#upload-poster');
        window.seen = [];  // what the member saw, in order
        new MutationObserver(() => window.seen.push('status: ' + document.querySelector('#upload-status').textContent))
            .observe(document.querySelector('#upload-status'), {childList: true, characterData: true, subtree: true});
        poster.addEventListener('load', () => window.seen.push('poster: ' + poster.currentSrc), {once: true});
        v.addEventListener('playing', () => { window.seen.push('playing: ' + v.currentSrc);
                                              v.dataset.reachedPlaying = v.currentSrc; }, {once: true});
    }""")
    with uploads_answered(page) as answered:
        page.click("#upload")
    form = answered.value.json()
    wait_until(page, "document.querySelector('#video').dataset.reachedPlaying", 120)

    # processing…, then the poster, then the video playing: in that order
    seen = page.evaluate("window.seen")
    processing = next(i for i, line in enumerate(seen) if line.startswith("status: ") and "processing…" in line)
    poster = seen.index(f"poster: {form['poster_url']}")
    playing = seen.index(f"playing: {form['media_url']}")
    assert processing < poster < playing, seen
    assert page.eval_on_selector("#upload-poster", "i => i.naturalWidth > 0 && !i.hidden")
    # the bar was driven to 100% by the XHR's upload progress
    assert page.get_attribute("#upload-meter", "aria-valuenow") == "100"
    assert page.eval_on_selector("#upload-bar", "b => b.style.width") == "100%"
    # the form went to the bucket's incoming folder; the processor took it from there and removed it
    s3_posts = [url for method, url in page.requests if method == "POST" and url.startswith(stack["s3_endpoint"])]
    assert s3_posts == [f"{stack['s3_endpoint']}/{stack['bucket']}"]
    assert form["path"] == f"/incoming/alice/{form['id']}"
    assert stored(reader, stack, form["path"][1:]) is None
    published = stored(reader, stack, form["media_path"][1:])
    assert published["ContentType"] == "video/mp4"
    # it plays from the CDN, through the service worker, not from a blob:
    assert video(page, "v.currentSrc") == form["media_url"]
    wait_until(page, "document.querySelector('#video').currentTime > 0.5", 30)
    assert video(page, "v.error") is None
    assert video(page, "[v.videoWidth, v.videoHeight]") == [240, 320]  # upright
    assert form["media_path"] in page.text_content("#log")
    assert "is ready" in page.text_content("#upload-status") and "transcoded" in page.text_content("#upload-status")
    # listed under "My videos"; the untrusted file name is text, never markup
    wait_until(page, f"document.querySelector('#videos li[data-id=\"{form['id']}\"]')")
    item = f"#videos li[data-id='{form['id']}']"
    assert HOSTILE_NAME in page.text_content(item) and HOSTILE_NAME in page.text_content("#object")
    images = page.eval_on_selector_all("img", "all => all.map(i => i.getAttribute('src'))")
    assert images and all(src == form["poster_url"] or src.startswith(stack["cdn_url"] + "/videos/alice/") for src in images)
    assert page.title() != "1"
    page.wait_for_timeout(1500)  # the video runs a little, for the picture
    page.screenshot(path=str(ARTIFACTS / "uploaded-playing.png"), full_page=True)

    # another member may not watch it: bob's page (his worker adds his token) and bob's token over HTTP
    bob_page = logged_in_page(browser, stack, "bob")
    assert bob_page.evaluate("async url => (await fetch(url)).status", form["media_url"]) == 403
    assert form["id"] not in bob_page.text_content("#videos")
    bob_page.context.close()
    bob = viewing_token(http, stack, "bob")
    refused = http.get(form["media_url"], headers={"Authorization": f"Bearer {bob}"})
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"

    # alice deletes it from her list: gone from the list and from the CDN
    page.click(f"{item} .delete-video")
    wait_until(page, f"!document.querySelector('#videos li[data-id=\"{form['id']}\"]')", 30)
    alice = viewing_token(http, stack, "alice")
    assert http.get(form["media_url"], headers={"Authorization": f"Bearer {alice}"}).status_code == 404
    assert stored(reader, stack, form["poster_path"][1:]) is None
    assert page.errors == []
    page.context.close()


def test_a_type_that_is_not_allowed_is_refused_before_any_upload(browser, stack):
    page = logged_in_page(browser, stack, "alice")
    page.set_input_files("#upload-file", {"name": "<b>notes</b>.txt", "mimeType": "text/plain", "buffer": b"hello"})
    with uploads_answered(page) as answered:
        page.click("#upload")
    assert answered.value.status == 400
    reason = answered.value.json()["error_description"]
    wait_until(page, "document.querySelector('#upload-status').textContent.includes('refused')")
    status = page.text_content("#upload-status")
    assert status == f"The token service refused it (400): {reason}"
    assert "content_type must be one of video/mp4" in status
    assert page.get_attribute("#upload-status", "class") == "status bad"
    # nothing went to the bucket (there was no form to post), and the bar never moved
    assert not any(url.startswith(stack["s3_endpoint"]) for _, url in page.requests)
    assert page.get_attribute("#upload-meter", "aria-valuenow") == "0"
    assert not page.is_disabled("#upload")  # the member may choose another file
    page.screenshot(path=str(ARTIFACTS / "upload-refused.png"))
    assert page.errors == []
    page.context.close()


def test_the_bucket_refusing_a_form_is_shown_and_nothing_is_stored(browser, stack, reader):
    """A form whose key was changed to another member's folder (as a hostile client would): the
    bucket checks the signed policy and refuses it; the page shows S3's code and message."""
    page = logged_in_page(browser, stack, "alice")
    issued = {}

    def redirect_to_bob(route):
        answer = route.fetch()
        form = answer.json()
        issued.update(form)
        form["fields"]["key"] = form["fields"]["key"].replace("incoming/alice/", "incoming/bob/")
        route.fulfill(response=answer, body=json.dumps(form))

    page.route(f"{stack['token_url']}/uploads", redirect_to_bob)
    page.set_input_files("#upload-file", str(SAMPLE))
    page.click("#upload")
    wait_until(page, "document.querySelector('#upload-status').textContent.includes('bucket refused')", 30)
    status = page.text_content("#upload-status")
    assert status.startswith("The bucket refused the upload (403): AccessDenied: Invalid according to Policy")
    assert "key" in status
    alice_key = issued["fields"]["key"]
    assert stored(reader, stack, alice_key) is None
    assert stored(reader, stack, alice_key.replace("incoming/alice/", "incoming/bob/")) is None
    assert video(page, "v.currentSrc") == ""  # nothing to play
    assert page.errors == []
    page.context.close()


def test_the_page_may_post_forms_to_the_s3_endpoint_and_nowhere_new(http, stack):
    policy = http.get(stack["demo_url"] + "/").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["connect-src"].split() == [
        "'self'", stack["idp_url"], stack["token_url"], stack["cdn_url"], stack["s3_endpoint"]]
    assert directives["media-src"].split() == [stack["cdn_url"], "blob:"]  # the bucket is never read directly
    assert directives["img-src"].split() == ["'self'", "data:", stack["cdn_url"], "blob:"]  # posters, from the CDN
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
