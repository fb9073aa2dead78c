"""The viewing token goes to the configured media origins only; everything else passes untouched;
bad configurations are refused with a reason."""
import pytest
from playwright.sync_api import Browser

from tests.web import engines
from tests.web.conftest import in_every_engine

ALICE_PROFILE = "/videos/alice/profile.webm"


def no_token_anywhere(requests):
    for r in requests:
        assert "authorization" not in r["headers"], r
        assert "authorization" not in r["headers"].get("access-control-request-headers", "").lower(), r


@in_every_engine
def test_the_token_reaches_no_other_origin(open_frontend, frontend, third_origin, web_stack, engine):
    page = open_frontend("alice")
    page.evaluate("url => harness.play(url)", web_stack["cdn_url"] + ALICE_PROFILE)  # the worker holds a token
    seen_third, seen_own = len(third_origin.requests), len(frontend.requests)  # the servers outlive one engine
    sent = []
    if isinstance(engine, Browser):  # Playwright's Chromium: it sees every request, the worker's own included
        page.context.on("request", lambda r: sent.append(r))
    page.evaluate("""async (third) => {
        await fetch(third + '/data');                                          // simple GET
        await fetch(third + '/data', {headers: {'X-Trace': 'one'}});           // preflighted GET
        await fetch(third + '/data?post', {method: 'POST', body: 'third-body'});
        await fetch('/own');                                                   // the page's own origin
        await fetch('/own?put', {method: 'PUT', body: 'own-body'});
        const img = new Image(); img.src = third + '/pixel.svg'; await img.decode().catch(() => {});
        const video = document.createElement('video');                         // media from elsewhere
        video.src = third + '/clip.mp4';
        await new Promise(resolve => { video.onerror = resolve; video.load(); });
    }""", third_origin.origin)
    third = [r for r in third_origin.requests[seen_third:] if r["path"] in ("/data", "/pixel.svg", "/clip.mp4")]
    assert {r["path"] for r in third} == {"/data", "/pixel.svg", "/clip.mp4"}
    assert any(r["method"] == "GET" and r["headers"].get("x-trace") == "one" for r in third)
    if not isinstance(engine, engines.WebKit):  # WebKitGTK 2.50 sends this GET without a preflight
        assert any(r["method"] == "OPTIONS" and r["headers"]["access-control-request-headers"] == "x-trace" for r in third)
    no_token_anywhere(third)
    no_token_anywhere(frontend.requests)
    # method and body kept on what passes through
    assert [(r["method"], r["body"]) for r in third if r["method"] == "POST"] == [("POST", b"third-body")]
    own = [r for r in frontend.requests[seen_own:] if r["path"] == "/own" and r["method"] == "PUT"]
    assert [(r["method"], r["body"]) for r in own] == [("PUT", b"own-body")]
    # and as Chromium sent them
    assert sent or not isinstance(engine, Browser)
    assert all("authorization" not in r.headers for r in sent if not r.url.startswith(web_stack["cdn_url"]))


def test_navigations_and_other_methods_pass_untouched(open_frontend, frontend, web_stack):
    page = open_frontend("alice")
    page.evaluate("url => harness.play(url)", web_stack["cdn_url"] + ALICE_PROFILE)
    posts = []
    page.context.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    # A POST to the media origin is not a media request: no token (the CDN refuses the method).
    status = page.evaluate("url => fetch(url, {method: 'POST', body: 'x'}).then(r => r.status)",
                           web_stack["cdn_url"] + ALICE_PROFILE)
    assert status == 403
    assert [r.post_data for r in posts] == ["x"] and "authorization" not in posts[0].headers
    # A form POST navigation to the page's own origin keeps its method and body.
    page.evaluate("""() => {
        const form = Object.assign(document.createElement('form'), {method: 'post', action: '/own?form'});
        form.append(Object.assign(document.createElement('input'), {name: 'field', value: 'kept'}));
        document.body.append(form);
        form.submit();
    }""")
    page.wait_for_url("**/own?form")
    navigation = [r for r in frontend.requests_to("/own") if r["method"] == "POST"][-1]
    assert navigation["body"] == b"field=kept" and "authorization" not in navigation["headers"]


def test_a_request_with_its_own_authorization_is_left_alone(open_frontend, web_stack):
    page = open_frontend("alice")
    status = page.evaluate("url => fetch(url, {headers: {Authorization: 'Bearer not-a-token'}}).then(r => r.status)",
                           web_stack["cdn_url"] + ALICE_PROFILE)
    assert status == 401
    assert page.evaluate("() => harness.requests") == []  # not the worker's


@pytest.mark.parametrize("origins, reason", [
    (["*"], "no wildcards"),
    (["https://*.example.com"], "no wildcards"),
    (["{cdn}/"], "must be written exactly as"),
    (["http://media.example.com"], "must be https"),
    (["{own}"], "own origin"),
    ([], "1 to 16"),
])
def test_bad_media_origins_are_refused_with_a_reason(open_frontend, frontend, web_stack, origins, reason):
    page = open_frontend(None)
    origins = [o.format(cdn=web_stack["cdn_url"], own=frontend.origin) for o in origins]
    error = page.evaluate("""async (origins) => {
        await harness.login('alice');
        const { startPrivateMedia } = await import('/private-media.js');
        return startPrivateMedia({mediaOrigins: origins, getToken: harness.getToken})
            .then(() => 'started', e => [e.code, e.message]);
    }""", origins)
    assert error[0] == "worker" and reason in error[1]


def test_start_reports_a_failing_token_service(open_frontend):
    page = open_frontend(None)
    error = page.evaluate("""async () => {
        harness.appToken = 'not-an-app-token';  // the token service answers 401
        const { startPrivateMedia } = await import('/private-media.js');
        return startPrivateMedia({mediaOrigins: [harness.config.cdn_url], getToken: harness.getToken})
            .then(() => 'started', e => [e.code, e.message]);
    }""")
    assert error[0] == "token" and "401" in error[1]


def test_start_reports_a_worker_that_is_not_served(open_frontend):
    page = open_frontend(None)
    error = page.evaluate("""async () => {
        const { startPrivateMedia } = await import('/private-media.js');
        return startPrivateMedia({mediaOrigins: [harness.config.cdn_url], getToken: harness.getToken,
                                  serviceWorkerUrl: '/missing-sw.js'}).then(() => 'started', e => [e.code, e.message]);
    }""")
    assert error[0] == "worker" and "missing-sw.js" in error[1]
