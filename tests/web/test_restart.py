"""A worker the browser stopped (idle, in a background tab) lost the token with its memory; the
first media request after it starts again asks the page for the token (the settings it kept in
Cache Storage say which pages and origins), so a seek plays at once, not at the next heartbeat."""
from tests.web.conftest import SEEK_BOUND_MS
from tests.web.workers import stop_service_workers

HOUR_MS = 3_600_000


def test_a_seek_after_the_worker_was_stopped_plays(open_frontend, web_stack, media):
    path, _ = media["large"]
    # no heartbeat and no renewal within the test: only the worker's own asking can bring the token back
    page = open_frontend("alice", heartbeatMs=HOUR_MS, renewAt=0.99)
    page.evaluate("url => harness.play(url)", web_stack["cdn_url"] + path)
    page.evaluate("() => harness.video.pause()")
    stop_service_workers(page)
    before = page.evaluate("() => harness.requests.length")
    page.evaluate("() => harness.video.play()")
    assert page.evaluate("() => harness.seek(0.7)") < SEEK_BOUND_MS
    after = page.evaluate("n => harness.requests.slice(n)", before)
    assert after and all(r["status"] == 206 and not r["retried"] for r in after), after
    assert page.evaluate("() => harness.errors") == []


def test_the_kept_settings_hold_no_token(open_frontend):
    page = open_frontend("alice")
    kept = page.evaluate("""async () => {
        const cache = await caches.open('private-media');
        return Promise.all((await cache.keys()).map(async (r) => (await cache.match(r)).text()));
    }""")
    assert len(kept) == 1 and '"session":1' in kept[0]
    assert "access_token" not in kept[0] and "ey" not in kept[0]  # no JWT (they begin with "ey")
