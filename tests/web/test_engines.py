"""What the documented usage needs from a page in each engine: `crossorigin="anonymous"` on the
element (docs/frontend.md, "Browser engines"). The behaviour tests run in every engine through
`in_every_engine` (tests/web/conftest.py); this proves why the attribute is in the docs."""
import base64
import pathlib
import re

import pytest

from tests.media_processor.clips import make_clip
from tests.web.conftest import in_every_engine, wait_until
from tests.web.frontend import HARNESS

REPO = pathlib.Path(__file__).resolve().parents[2]
ALICE_PROFILE = "/videos/alice/profile.webm"
MEDIA_ERR_SRC_NOT_SUPPORTED = 4


@pytest.mark.parametrize("engine", ["firefox"], indirect=True)
def test_firefox_sends_a_video_without_crossorigin_past_the_worker(open_frontend, web_stack, edge_decisions):
    """Mozilla bug 1923096: no-CORS media requests bypass the service worker, so the element's
    request reaches the CDN without the token; the same file plays with the attribute."""
    page = open_frontend("alice")
    url = web_stack["cdn_url"] + ALICE_PROFILE
    outcome = page.evaluate("""url => new Promise(resolve => {
        const video = Object.assign(document.createElement('video'), {muted: true});  // no crossorigin
        video.onerror = () => resolve(video.error.code);
        video.onplaying = () => resolve('playing');
        video.src = url;
        video.play().catch(() => {});
    })""", url)
    assert outcome == MEDIA_ERR_SRC_NOT_SUPPORTED
    assert {(d["status"], d["reason"]) for d in edge_decisions(ALICE_PROFILE)} == {(401, "no_token")}
    assert page.evaluate("() => harness.requests") == []  # the worker never saw it
    assert page.evaluate("() => harness.video.crossOrigin") == "anonymous"  # the test page's element, as documented
    assert page.evaluate("url => harness.play(url)", url) > 0
    assert page.evaluate("() => harness.requests.at(-1).status") == 206


@in_every_engine
def test_an_uploaded_video_plays_through_the_worker(open_frontend, web_stack, tmp_path):
    """As docs/frontend.md's upload snippet: POST /uploads, the form straight to the bucket, the
    asset's status until the media processor is done, then its media_url in the <video>."""
    clip = base64.b64encode(make_clip(tmp_path / "clip.mp4", seconds=2.0).read_bytes()).decode()
    page = open_frontend("alice")
    asset = page.evaluate(UPLOAD, clip)
    assert asset["status"] == "ready", asset
    assert asset["media_url"].startswith(web_stack["cdn_url"] + "/videos/alice/")
    assert page.evaluate("url => harness.play(url)", asset["media_url"]) > 0
    last = page.evaluate("() => harness.requests.at(-1)")
    assert last["url"] == asset["media_url"] and last["status"] in (200, 206)  # 200: WebKit's first, Range-less ask


WEBKIT_STALLS = ("WebKitGTK 2.50 asks for nothing more after a 206 that answers an open-ended range (bytes=N-) with "
                 "less than the rest (RFC 9110 14.4 allows it): it stalls at readyState 2 at the end of a bounded "
                 "chunk until pause/play; so the library's default in WebKit is unbounded (defaultRangeChunkBytes)")


def play_on_after_a_seek(page, web_stack, media):
    """After a seek the element asks `bytes=N-`; at 8x speed 2 MiB of this video (~20 s of it) runs
    out within seconds, and the element must ask for the rest and play on: 60 s is three chunks on."""
    page.evaluate("url => harness.play(url)", web_stack["cdn_url"] + media["large"][0])
    page.evaluate("() => harness.seek(0.5)")
    start = page.evaluate("() => { harness.video.playbackRate = 8; return harness.video.currentTime; }")
    wait_until(page, f"harness.video.currentTime > {start + 60}", timeout=30)


@pytest.mark.parametrize("engine", ["chromium", "firefox", "webkit"], indirect=True)
def test_with_the_defaults_playback_goes_on_after_a_seek(request, open_frontend, web_stack, media):
    """The documented usage, no rangeChunkBytes given: 2 MiB chunks in Chromium and Firefox, which
    ask for the next one; unbounded in WebKit."""
    page = open_frontend("alice")
    play_on_after_a_seek(page, web_stack, media)
    sent = [r for r in page.evaluate("() => harness.requests.map((r) => r.sentRange)") if r]
    bounded = [r for r in sent if re.fullmatch(r"bytes=\d+-\d+", r)]
    if request.node.callspec.params["engine"] == "webkit":
        assert sent and not bounded, sent
    else:
        assert bounded, sent


@pytest.mark.parametrize("engine", ["chromium", "firefox", pytest.param("webkit", marks=pytest.mark.xfail(
    strict=True, reason=WEBKIT_STALLS))], indirect=True)
def test_playback_goes_on_past_the_end_of_a_bounded_chunk(open_frontend, web_stack, media):
    """rangeChunkBytes set to 2 MiB in every engine: why WebKit's default is unbounded."""
    play_on_after_a_seek(open_frontend("alice", rangeChunkBytes=2 * 1024 * 1024), web_stack, media)


UPLOAD = """async (clip) => {
  await harness.login("alice");
  const base = new URL(harness.config.token_url.endsWith("/") ? harness.config.token_url : harness.config.token_url + "/");
  const auth = { Authorization: "Bearer " + harness.appToken };
  const bytes = Uint8Array.from(atob(clip), (c) => c.charCodeAt(0));
  const answer = await (await fetch(new URL("uploads", base), { method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ content_type: "video/mp4", size: bytes.length, filename: "clip.mp4" }) })).json();
  const form = new FormData();
  for (const [name, value] of Object.entries(answer.fields)) form.append(name, value);
  form.append("file", new Blob([bytes], { type: "video/mp4" }), "clip.mp4");
  const posted = await fetch(answer.url, { method: "POST", body: form });
  if (posted.status !== 204) throw new Error(`the bucket answered ${posted.status}: ${await posted.text()}`);
  let asset;
  do {
    await new Promise((resolve) => setTimeout(resolve, 300));
    asset = await (await fetch(new URL(answer.status_url.slice(1), base), { headers: auth })).json();
  } while (asset.status === "processing");
  return asset;
}"""


def test_every_documented_element_that_plays_from_the_cdn_sets_crossorigin():
    """The README, docs/frontend.md's snippets, the demo page and the test page: each element that
    plays private media says crossorigin="anonymous" (in markup, JSX or as video.crossOrigin)."""
    for path in (REPO / "README.md", REPO / "docs" / "frontend.md"):
        for block in re.findall(r"```(?:js|jsx)\n(.*?)```", path.read_text(), re.S):
            if re.search(r"\bvideo\.src = ", block):
                assert 'video.crossOrigin = "anonymous"' in block, f"{path.name}: {block}"
            for tag in re.findall(r"<video\b[^>]*>", block):
                assert 'crossorigin="anonymous"' in tag.lower(), f"{path.name}: {tag}"
    for page in (HARNESS / "index.html", REPO / "local_stack" / "demo" / "index.html"):
        assert all('crossorigin="anonymous"' in tag for tag in re.findall(r"<video\b[^>]*>", page.read_text())), page
