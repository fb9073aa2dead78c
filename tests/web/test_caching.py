"""One preflight per media origin, and still no member's answer from the browser's HTTP cache for
another: the worker's requests use the default cache mode (a no-store request makes Chromium skip
its preflight cache, a preflight per range), and the CDN tells browsers to keep nothing
(`Cache-Control: private, no-store` from the response headers policy, infra/response_headers.py,
which the stand-in adds as CloudFront does)."""
import pytest

from tests.web.conftest import in_every_engine

ALICE_PROFILE = "/videos/alice/profile.webm"
BOB_PROFILE = "/videos/bob/profile.webm"

FETCH_CACHE_CONTROL = """async ([url, range]) => {
    const response = await fetch(url, range ? {headers: {Range: range}} : {});
    return [response.status, response.headers.get('Cache-Control')];
}"""


def test_every_cdn_answer_tells_browsers_to_keep_nothing(open_frontend, web_stack):
    page = open_frontend("alice")
    cdn = web_stack["cdn_url"]
    answers = [page.evaluate(FETCH_CACHE_CONTROL, [cdn + path, range]) for path, range in (
        (ALICE_PROFILE, "bytes=0-99"),              # 206 from the bucket
        (ALICE_PROFILE, None),                      # 200 from the bucket
        ("/videos/alice/missing.webm", None),       # 404 from the bucket
        (BOB_PROFILE, None),                        # 403 from the edge (not alice's folder)
    )]
    assert [status for status, _ in answers] == [206, 200, 404, 403]
    assert [cache for _, cache in answers[:3]] == ["private, no-store"] * 3
    assert "no-store" in answers[3][1]
    page.evaluate("() => harness.media.stop()")
    assert page.evaluate(FETCH_CACHE_CONTROL, [cdn + ALICE_PROFILE, None]) == [401, "no-store"]  # the edge's


@pytest.mark.parametrize("engine", ["chromium", pytest.param("firefox", marks=pytest.mark.xfail(
    strict=True, reason="measured: Firefox ESR 153.8 sends a preflight before every range the service worker "
                        "fetches (the edge's Access-Control-Max-Age 600 is not reused; with or without "
                        "Cache-Control on the 204); the cause is not established")), "webkit"], indirect=True)
def test_a_play_with_seeks_pays_one_preflight(request, open_frontend, web_stack, media, edge_decisions):
    """Every range of a play and its seeks reaches the edge (no HTTP cache), after one preflight."""
    engine = request.node.callspec.params["engine"]
    path, _ = media["large"]
    page = open_frontend("alice")
    page.evaluate("url => harness.play(url)", web_stack["cdn_url"] + path)
    for fraction in (0.9, 0.3, 0.6):
        page.evaluate("f => harness.seek(f)", fraction)
    reported = page.evaluate("() => harness.requests.length")
    first = page.evaluate("() => harness.requests[0]")  # the element asked for the rest, the worker sent 2 MiB
    if engine != "webkit":  # WebKit's first ask has no Range, and its ranges go out unbounded
        assert (first["range"], first["sentRange"]) == ("bytes=0-", "bytes=0-2097151")
    outcomes = [d["outcome"] for d in edge_decisions(path)]
    assert outcomes.count("preflight") == 1, outcomes
    if engine == "webkit":  # a request WebKit cancels on a seek may reach the edge yet never be reported
        assert outcomes.count("allow") >= reported >= 2, (outcomes, reported)
    else:
        assert outcomes.count("allow") == reported >= 4, (outcomes, reported)


@in_every_engine
def test_two_members_in_one_profile_never_get_each_others_bytes(open_frontend, web_stack, edge_decisions):
    """Alice's tab loads her file; bob's tab in the same profile asks for the same URL: it goes to
    the edge with bob's token (not from the HTTP cache) and is refused."""
    alice = open_frontend("alice")
    bob = open_frontend("bob", alice.context)
    url = web_stack["cdn_url"] + ALICE_PROFILE
    alice.evaluate("url => harness.play(url)", url)
    assert bob.evaluate("url => harness.playError(url)", url) > 0
    assert bob.evaluate("url => fetch(url, {headers: {Range: 'bytes=0-99'}}).then(r => r.status)", url) == 403
    by_bob = [(d["status"], d["reason"]) for d in edge_decisions(ALICE_PROFILE) if d["sub"] == "bob"]
    assert by_bob == [(403, "out_of_scope")] * 2, by_bob
