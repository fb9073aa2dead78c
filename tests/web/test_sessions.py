"""No token confusion: each startPrivateMedia is a session, and only the page's newest one ever
puts a token on a request. Each race is made deterministic by holding back what the page gets
or sends (getToken's answer, a message to the worker, the page's token answer: tests/web/harness),
and the media origin here is a recording server, so every token a request carried is seen and
its member (the JWT's sub) read."""
import base64
import json

import pytest

CONFIGURE = "private-media/configure"


def member_of(request):
    """The sub of the viewing token a recorded request carried, or None."""
    authorization = request["headers"].get("authorization")
    if authorization is None:
        return None
    payload = authorization.removeprefix("Bearer ").split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


@pytest.fixture
def recorder(request, third_origin):
    """(origin, path prefix of this test): a media origin that records every request; each path
    under the prefix answers 200, except those ending in /refused (401)."""
    prefix = f"/sessions/{request.node.name}"

    def files(*names):
        for name in names:
            third_origin.files[f"{prefix}/{name}"] = (b"{}", "application/json", 401 if name == "refused" else 200)

    def gets(name=None):
        return [r for r in third_origin.requests if r["method"] == "GET" and r["path"].startswith(prefix)
                and (name is None or r["path"] == f"{prefix}/{name}")]

    return type("Recorder", (), {"origin": third_origin.origin, "prefix": prefix, "files": staticmethod(files),
                                 "gets": staticmethod(gets)})


@pytest.mark.parametrize("alice_delay_ms, bob_delay_ms", [(1500, 0), (300, 1500)],
                         ids=["alice-answers-after-bob-started", "alice-answers-while-bob-waits"])
def test_bob_logging_in_during_alices_slow_first_token_never_sends_alices_token(open_frontend, recorder,
                                                                                alice_delay_ms, bob_delay_ms):
    """Alice logs out while her first getToken is still running and bob logs in (a new start);
    the page keeps asking the media origin all along. Alice's token, when it comes, goes nowhere."""
    recorder.files("media")
    page = open_frontend(None)
    outcome = page.evaluate("""async ([origin, path, aliceDelay, bobDelay]) => {
        const mediaOrigins = [harness.config.cdn_url, origin];
        const alice = harness.starts[harness.begin('alice', {mediaOrigins, tokenDelayMs: aliceDelay})];
        await harness.until(() => alice.calls > 0);   // alice's getToken is running
        const bob = harness.starts[harness.begin('bob', {mediaOrigins, tokenDelayMs: bobDelay})];
        while (!alice.settled || !bob.settled) {
            await fetch(origin + path);
            await harness.sleep(50);
        }
        await fetch(origin + path);
        return {alice: alice.error, aliceTokens: alice.tokens.length, bob: bob.error,
                configured: harness.sent.filter(m => m.type === 'private-media/configure').map(m => m.session)};
    }""", [recorder.origin, recorder.prefix + "/media", alice_delay_ms, bob_delay_ms])
    assert outcome["alice"][0] == "stopped" and outcome["aliceTokens"] == 1  # her token came, and was dropped
    assert outcome["bob"] is None
    assert len(set(outcome["configured"])) == 1  # only bob's session ever configured the worker
    members = [member_of(r) for r in recorder.gets()]
    assert "alice" not in members and members[-1] == "bob", members


def test_a_late_configure_of_an_earlier_session_is_dropped(open_frontend, recorder):
    """Alice's configure is held back in transit until after bob's start: the worker keeps bob's."""
    recorder.files("media")
    page = open_frontend(None)
    outcome = page.evaluate("""async ([origin, path]) => {
        const mediaOrigins = [harness.config.cdn_url, origin];
        harness.messageDelays.push({type: 'private-media/configure', ms: 1500});
        const alice = harness.starts[harness.begin('alice', {mediaOrigins})];
        await harness.until(() => harness.sent.some(m => m.type === 'private-media/configure'));
        const bob = harness.starts[harness.begin('bob', {mediaOrigins})];
        await bob.promise;
        await fetch(origin + path);
        await alice.promise;   // settles on the worker's answer: her configure has arrived
        await fetch(origin + path);
        return [alice.error, bob.error];
    }""", [recorder.origin, recorder.prefix + "/media"])
    assert outcome[0] is not None and outcome[1] is None
    assert [member_of(r) for r in recorder.gets()] == ["bob", "bob"]


def test_a_late_token_answer_of_an_earlier_session_is_dropped(open_frontend, recorder):
    """The media origin refuses alice's token; the worker asks the page for a fresh one; alice's
    answer is held back until after bob's start. The worker drops it: the refused request gets
    no retry, and bob's session keeps bob's token."""
    recorder.files("refused", "media")
    page = open_frontend(None)
    outcome = page.evaluate("""async ([origin, prefix]) => {
        const mediaOrigins = [harness.config.cdn_url, origin];
        const alice = harness.starts[harness.begin('alice', {mediaOrigins, refreshFloorMs: 0})];
        await alice.promise;
        harness.answerDelayMs = 1500;
        const refused = fetch(origin + prefix + '/refused').then(r => r.status);
        await harness.until(() => harness.answersHeld > 0);   // alice renewed; her answer is in transit
        harness.answerDelayMs = 0;
        const bob = harness.starts[harness.begin('bob', {mediaOrigins})];
        await bob.promise;
        const status = await refused;
        await fetch(origin + prefix + '/media');
        return [status, alice.tokens.length, bob.error];
    }""", [recorder.origin, recorder.prefix])
    assert outcome == [401, 2, None]
    assert [member_of(r) for r in recorder.gets("refused")] == ["alice"]  # no retry, with any token
    assert [member_of(r) for r in recorder.gets("media")] == ["bob"]


def test_strict_mode_start_stop_start_with_a_slow_get_token_ends_with_the_second_starts_token(open_frontend,
                                                                                               recorder):
    """As React's StrictMode runs an effect: start, the cleanup (stop once started), start again
    at once; getToken slow. Each round the page ends with a token, the second start's."""
    recorder.files(*(f"media{i}" for i in range(3)))
    page = open_frontend(None)
    rounds = page.evaluate("""async ([origin, prefix]) => {
        const mediaOrigins = [harness.config.cdn_url, origin];
        const appToken = await harness.appTokenOf('alice');
        const rounds = [];
        for (let i = 0; i < 3; i++) {
            const first = harness.starts[harness.begin('alice', {mediaOrigins, appToken, tokenDelayMs: 400})];
            first.promise.then(() => first.media && first.media.stop());   // the effect's cleanup
            const second = harness.starts[harness.begin('alice', {mediaOrigins, appToken, tokenDelayMs: 400})];
            await Promise.all([first.promise, second.promise]);
            await harness.sleep(100);
            await fetch(origin + prefix + '/media' + i);
            rounds.push({first: first.error && first.error[0], second: second.error, token: second.tokens.at(-1)});
            if (i < 2) await second.media.stop();   // logout before the next round
        }
        return rounds;
    }""", [recorder.origin, recorder.prefix])
    for i, round in enumerate(rounds):
        assert round["first"] == "stopped" and round["second"] is None, round
        sent = recorder.gets(f"media{i}")
        assert [r["headers"].get("authorization") for r in sent] == ["Bearer " + round["token"]], i


def test_a_second_start_stops_the_first(open_frontend, recorder):
    recorder.files("media")
    page = open_frontend(None)
    outcome = page.evaluate("""async ([origin, path]) => {
        const mediaOrigins = [harness.config.cdn_url, origin];
        const alice = harness.starts[harness.begin('alice', {mediaOrigins})];
        await alice.promise;
        const bob = harness.starts[harness.begin('bob', {mediaOrigins})];
        await bob.promise;
        await fetch(origin + path);
        return [alice.media.stopped, bob.media.stopped, await alice.media.refresh().catch(e => e.code)];
    }""", [recorder.origin, recorder.prefix + "/media"])
    assert outcome == [True, False, "stopped"]
    assert [member_of(r) for r in recorder.gets()] == ["bob"]


def test_the_page_sends_nothing_after_stop(open_frontend):
    """stop() while a renewal's getToken is running, with a fast heartbeat: after the forget the
    page posts nothing to the worker (no configure of the renewal, no heartbeat, nothing on
    visibilitychange or pageshow)."""
    page = open_frontend(None)
    sent = page.evaluate("""async () => {
        const alice = harness.starts[harness.begin('alice', {heartbeatMs: 100})];
        await alice.promise;
        alice.tokenDelayMs = 500;
        const renewal = alice.media.refresh().catch(e => e.code);
        await harness.until(() => alice.calls === 2);
        await alice.media.stop();
        const stoppedAt = harness.sent.length;
        document.dispatchEvent(new Event('visibilitychange'));
        window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}));
        const renewed = await renewal;
        await harness.sleep(800);
        return {renewed, after: harness.sent.slice(stoppedAt), last: harness.sent[stoppedAt - 1].type};
    }""")
    assert sent == {"renewed": "stopped", "after": [], "last": "private-media/forget"}


def test_only_the_pages_own_worker_gets_a_token_answer(open_frontend, frontend):
    """Another service worker of the app's origin (another scope) asks the page for its token, for
    every session number it can guess: the page answers only its controller."""
    frontend.files["/other/asker-sw.js"] = (ASKER_WORKER.encode(), "text/javascript")
    page = open_frontend("alice")
    answers = page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.register('/other/asker-sw.js', {scope: '/other/'});
        const worker = registration.installing || registration.waiting || registration.active;
        await harness.until(() => worker.state === 'activated');
        const channel = new MessageChannel();
        const answers = new Promise(resolve => (channel.port1.onmessage = (e) => resolve(e.data)));
        worker.postMessage('ask', [channel.port2]);
        return answers;
    }""")
    assert answers == {"asked": 20, "answers": []}
    assert page.evaluate("() => harness.media.stopped") is False


# Asks every window of the origin for a token as private-media-sw.js does, for sessions 1 to 20.
ASKER_WORKER = """
self.addEventListener("message", (event) => event.waitUntil((async () => {
  const answers = [];
  const clients = await self.clients.matchAll({ includeUncontrolled: true, type: "window" });
  let asked = 0;
  for (const client of clients) {
    for (let session = 1; session <= 20; session++) {
      const channel = new MessageChannel();
      channel.port1.onmessage = (e) => answers.push(e.data);
      client.postMessage({ type: "private-media/token-needed", session, reason: "missing" }, [channel.port2]);
      asked += 1;
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  event.ports[0].postMessage({ asked, answers });
})()));
"""


def test_a_get_token_that_never_settles_fails_is_reported_and_retried(open_frontend, web_stack):
    page = open_frontend("alice", getTokenTimeoutMs=500, retryBaseMs=200)
    outcome = page.evaluate("""async (url) => {
        harness.hangNextTokens = 1;
        const tokens = harness.tokens.length;
        const failed = await harness.media.refresh().then(() => null, e => [e.code, e.message]);
        await harness.until(() => harness.tokens.length > tokens, 5000);   // the retry got one
        return {failed, errors: harness.errors, status: (await fetch(url)).status};
    }""", web_stack["cdn_url"] + "/videos/alice/profile.webm")
    assert outcome["failed"] == ["token", "getToken() did not settle within 500 ms"]
    assert outcome["errors"] == ["PrivateMediaError: getToken() did not settle within 500 ms"]
    assert outcome["status"] == 200
