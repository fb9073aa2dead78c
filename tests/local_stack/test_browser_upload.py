"""The demo page's upload step in a real Chromium, under the page's own Content-Security-Policy:
POST /uploads, the form posted with XHR straight to the bucket (the advertised S3 endpoint, the
moto proxy that checks forms as S3 does), then the uploaded file played from the CDN through the
service worker. Refusals from the token service and from the bucket are shown, and nothing is
stored. The HTTP-level flow is tests/local_stack/test_uploads_e2e.py."""
import json
import urllib.parse

import boto3
import pytest

from local_stack.demo_data import MEDIA_DIR
from tests.local_stack.conftest import ARTIFACTS, viewing_token
from tests.local_stack.test_browser import browser, new_page, video, wait_until  # browser: the module's fixture

SAMPLE = MEDIA_DIR / "alice.webm"
# A hostile but valid display name: shown as text, never as markup.
HOSTILE_NAME = '<img src=x onerror="document.title=1"> é.webm'


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


def test_alice_uploads_a_video_and_it_plays_from_the_cdn(browser, stack, http, reader):
    page = logged_in_page(browser, stack, "alice")
    data = SAMPLE.read_bytes()
    page.set_input_files("#upload-file", {"name": HOSTILE_NAME, "mimeType": "video/webm", "buffer": data})
    assert page.eval_on_selector("#upload-file", "i => i.files[0].type") == "video/webm"
    page.evaluate("""() => {
        const v = document.querySelector('#video');
        v.addEventListener('playing', () => (v.dataset.reachedPlaying = v.currentSrc), {once: true});
    }""")
    with uploads_answered(page) as answered:
        page.click("#upload")
    form = answered.value.json()
    wait_until(page, "document.querySelector('#video').dataset.reachedPlaying", 30)

    # the bar was driven to 100% by the XHR's upload progress
    assert page.get_attribute("#upload-meter", "aria-valuenow") == "100"
    assert page.eval_on_selector("#upload-bar", "b => b.style.width") == "100%"
    # the form went to the bucket: the file's own bytes, with the type the service pinned
    s3_posts = [url for method, url in page.requests if method == "POST" and url.startswith(stack["s3_endpoint"])]
    assert s3_posts == [f"{stack['s3_endpoint']}/{stack['bucket']}"]
    key = form["path"][1:]
    assert key.startswith("videos/alice/") and key.endswith(".webm")
    obj = stored(reader, stack, key)
    assert obj["Body"].read() == data
    assert obj["ContentType"] == "video/webm"
    assert urllib.parse.unquote(obj["Metadata"]["filename"]) == HOSTILE_NAME
    # and it plays from the CDN, through the service worker, not from a blob:
    assert form["media_url"] == stack["cdn_url"] + form["path"]
    assert video(page, "v.dataset.reachedPlaying") == form["media_url"]
    assert video(page, "v.currentSrc") == form["media_url"]
    wait_until(page, "document.querySelector('#video').currentTime > 0.5", 30)
    assert video(page, "v.error") is None
    assert form["path"] in page.text_content("#log")
    # the untrusted file name is text, never markup
    assert HOSTILE_NAME in page.text_content("#upload-status")
    assert HOSTILE_NAME in page.text_content("#object")
    assert page.query_selector_all("img") == [] and page.title() != "1"
    assert "it plays above" in page.text_content("#upload-status")
    page.wait_for_timeout(1500)  # the video runs a little, for the picture
    page.screenshot(path=str(ARTIFACTS / "uploaded-playing.png"), full_page=True)
    assert page.errors == []
    page.context.close()

    # another member may not watch it: bob's page (his worker adds his token) and bob's token over HTTP
    bob_page = logged_in_page(browser, stack, "bob")
    assert bob_page.evaluate("async url => (await fetch(url)).status", form["media_url"]) == 403
    bob_page.context.close()
    alice, bob = viewing_token(http, stack, "alice"), viewing_token(http, stack, "bob")
    assert http.get(form["media_url"], headers={"Authorization": f"Bearer {alice}"}).content == data
    refused = http.get(form["media_url"], headers={"Authorization": f"Bearer {bob}"})
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"


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
        form["fields"]["key"] = form["fields"]["key"].replace("videos/alice/", "videos/bob/")
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
    assert stored(reader, stack, alice_key.replace("videos/alice/", "videos/bob/")) is None
    assert video(page, "v.currentSrc") == ""  # nothing to play
    assert page.errors == []
    page.context.close()


def test_the_page_may_post_forms_to_the_s3_endpoint_and_nowhere_new(http, stack):
    policy = http.get(stack["demo_url"] + "/").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["connect-src"].split() == [
        "'self'", stack["idp_url"], stack["token_url"], stack["cdn_url"], stack["s3_endpoint"]]
    assert directives["media-src"].split() == [stack["cdn_url"], "blob:"]  # the bucket is never read directly
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
