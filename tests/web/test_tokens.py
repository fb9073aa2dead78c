"""Tokens in the worker: renewed before they expire, renewed on a 401, forgotten on stop(), one per tab."""
from tests.web.conftest import SEEK_BOUND_MS, TOKEN_LIFETIME_SECONDS, in_every_engine, wait_until

ALICE_PROFILE = "/videos/alice/profile.webm"
BOB_PROFILE = "/videos/bob/profile.webm"


def last_request(page):
    return page.evaluate("() => harness.requests.at(-1)")


@in_every_engine
def test_a_seek_after_the_first_token_expired_plays(open_frontend, web_stack, media):
    """20 s tokens renewed at 15 s: after 30 s the first one is dead, and a seek still plays on the
    renewed one, as does another file (no 401 needed a retry). The other file makes sure a request
    goes out: WebKit, whose ranges are unbounded, may hold the whole first file by then."""
    page = open_frontend("alice")
    page.evaluate("url => harness.play(url)", web_stack["cdn_url"] + media["large"][0])
    page.evaluate("() => harness.video.pause()")
    page.wait_for_timeout((TOKEN_LIFETIME_SECONDS + 10) * 1000)
    before = page.evaluate("() => harness.requests.length")
    page.evaluate("() => harness.video.play()")
    assert page.evaluate("() => harness.seek(0.5)") < SEEK_BOUND_MS
    page.evaluate("url => harness.play(url)", web_stack["cdn_url"] + media["small"][0])
    after = page.evaluate("n => harness.requests.slice(n)", before)
    assert any(r["url"].endswith(media["small"][0]) for r in after), after
    assert all(r["status"] in (200, 206) and not r["retried"] for r in after), after  # 200: WebKit's Range-less first ask
    renewals = page.evaluate("() => harness.tokens.map(t => t.renewals)")
    assert renewals[-1] >= 1 and renewals == sorted(renewals)
    assert page.evaluate("() => harness.errors") == []


def test_a_refused_token_is_renewed_once_and_the_request_retried(open_frontend, web_stack):
    page = open_frontend("alice")
    page.evaluate("() => { harness.breakNextTokens = 1; return harness.media.refresh(); }")
    page.wait_for_timeout(2100)  # a 401 within 2 s of a renewal gets that same token (no renewal storm)
    page.evaluate("url => harness.play(url)", web_stack["cdn_url"] + ALICE_PROFILE)
    first = page.evaluate("() => harness.requests[0]")
    assert first["status"] == 206 and first["retried"] is True


@in_every_engine
def test_after_stop_the_media_origin_answers_401(open_frontend, web_stack, media, edge_decisions):
    page = open_frontend("alice")
    page.evaluate("url => harness.play(url)", web_stack["cdn_url"] + media["small"][0])
    page.evaluate("() => harness.media.stop()")
    reported = page.evaluate("() => harness.requests.length")
    # The element's own request goes out unchanged: the edge answers 401 (Chromium then blocks
    # the JSON body for a no-cors media request, ERR_BLOCKED_BY_ORB, so the page sees an error).
    assert page.evaluate("url => harness.playError(url)", web_stack["cdn_url"] + ALICE_PROFILE) > 0
    assert [(d["status"], d["reason"]) for d in edge_decisions(ALICE_PROFILE)] == [(401, "no_token")]
    assert page.evaluate("() => harness.requests.length") == reported  # the worker left it alone
    assert page.evaluate("url => fetch(url).then(r => r.status)", web_stack["cdn_url"] + ALICE_PROFILE) == 401
    assert page.evaluate("() => harness.media.refresh().catch(e => e.code)") == "stopped"


@in_every_engine
def test_two_tabs_of_two_members_each_get_their_own_files_only(open_frontend, web_stack):
    alice = open_frontend("alice")
    bob = open_frontend("bob", alice.context)  # same profile, same origin, same worker
    cdn = web_stack["cdn_url"]
    alice.evaluate("url => harness.play(url)", cdn + ALICE_PROFILE)
    bob.evaluate("url => harness.play(url)", cdn + BOB_PROFILE)
    # 200 in WebKit: its element asks first without a Range
    assert last_request(alice)["status"] in (200, 206) and last_request(bob)["status"] in (200, 206)
    # after alice's tab loaded her file, bob's tab asking for it still goes to the edge with bob's token
    bob.evaluate("url => harness.playError(url)", cdn + ALICE_PROFILE)
    alice.evaluate("url => harness.playError(url)", cdn + BOB_PROFILE)
    assert last_request(bob)["status"] == 403 and last_request(alice)["status"] == 403
    assert last_request(bob)["url"] == cdn + ALICE_PROFILE


def test_a_tab_that_did_not_start_gets_no_token(open_frontend, web_stack):
    started = open_frontend("alice")
    other = open_frontend(None, started.context)
    wait_until(other, "navigator.serviceWorker.controller")  # controlled by the worker, but not started
    assert other.evaluate("url => fetch(url).then(r => r.status)", web_stack["cdn_url"] + ALICE_PROFILE) == 401
    assert started.evaluate("url => fetch(url).then(r => r.status)", web_stack["cdn_url"] + ALICE_PROFILE) == 200


def test_a_missing_file_is_404_locally(open_frontend, web_stack):
    """In AWS the bucket answers 403 here: the CDN's OAC may not s3:ListBucket (docs/frontend.md)."""
    page = open_frontend("alice")
    page.evaluate("url => harness.playError(url)", web_stack["cdn_url"] + "/videos/alice/missing.mp4")
    assert last_request(page)["status"] == 404


def test_a_late_stop_of_an_earlier_start_keeps_the_current_one(open_frontend, web_stack):
    """As React's StrictMode does: start, start again, then the first one's cleanup stops it."""
    page = open_frontend(None)
    url = web_stack["cdn_url"] + ALICE_PROFILE
    statuses = page.evaluate("""async (url) => {
        await harness.login('alice');
        const { startPrivateMedia } = await import('/private-media.js');
        const options = {mediaOrigins: [harness.config.cdn_url], getToken: harness.getToken};
        const first = await startPrivateMedia(options);
        const second = await startPrivateMedia(options);
        await first.stop();
        const kept = (await fetch(url)).status;
        await second.stop();
        return [kept, (await fetch(url)).status];
    }""", url)
    assert statuses == [200, 401]
