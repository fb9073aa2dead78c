"""Key refresh from SSM over real HTTP (moto server): lazy, rate-limited, bounded, fail-closed."""
import json
import socket
import threading
import time

import boto3
import pytest

from tests.cf import bearer, viewer_request
from tests.servers import free_port, moto_server
from tests.edge.conftest import NOW, public_jwk, status

PARAMETER = "/media/edge/jwks"


@pytest.fixture(scope="module")
def moto_url():
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def ssm(moto_url, aws_env):
    client = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_url)

    def publish(*jwks):
        client.put_parameter(Name=PARAMETER, Type="String", Overwrite=True, Value=json.dumps({"keys": list(jwks)}))
    return publish


@pytest.fixture
def edge(make_authorizer, moto_url, backend):
    def make(endpoint=None, **overrides):
        return make_authorizer(ssm_parameter=PARAMETER, ssm_endpoint_url=endpoint or moto_url,
                               key_refresh_seconds=300, key_retry_seconds=30, max_key_staleness_seconds=3600,
                               ssm_timeout_seconds=0.5, **overrides)
    return make


def refreshes(authorizer):
    return [entry for entry in authorizer.logs if entry.get("event") == "key_refresh"]


def get(authorizer, token):
    return status(authorizer.handle(viewer_request(headers=bearer(token))))


def test_baked_keys_serve_without_touching_ssm(edge, tokens):
    authorizer = edge(endpoint="http://127.0.0.1:9")  # nothing listens there
    assert get(authorizer, tokens.make()) == "forward"
    assert refreshes(authorizer) == []


def test_unknown_kid_fetches_the_new_key_once(edge, ssm, tokens, key, other_key):
    ssm(public_jwk(key, "k1"), public_jwk(other_key, "k2"))
    authorizer = edge()
    assert get(authorizer, tokens.make(key=other_key, kid="k2")) == "forward"
    assert get(authorizer, tokens.make(key=other_key, kid="k2", jti="again")) == "forward"
    assert get(authorizer, tokens.make()) == "forward"  # k1 still published
    assert [(r["ok"], r["trigger"]) for r in refreshes(authorizer)] == [(True, "unknown_kid")]


def test_unknown_kid_flood_costs_one_ssm_call_per_retry_interval(edge, ssm, tokens, key, clock):
    ssm(public_jwk(key, "k1"))
    authorizer = edge()
    for n in range(300):
        assert get(authorizer, tokens.make(kid=f"flood-{n}")) == "401"
    assert len(refreshes(authorizer)) == 1
    clock.now += 30
    for n in range(300):
        get(authorizer, tokens.make(kid=f"flood2-{n}"))
    assert len(refreshes(authorizer)) == 2
    assert get(authorizer, tokens.make()) == "forward"


def test_age_refresh_retires_a_key_even_for_cached_tokens(edge, ssm, tokens, key, other_key, clock):
    ssm(public_jwk(key, "k1"))
    authorizer = edge(max_token_lifetime_seconds=3600)
    old = tokens.make(exp=NOW + 3600)
    assert get(authorizer, old) == "forward"
    ssm(public_jwk(other_key, "k2"))  # k1 retired
    clock.now += 301
    assert get(authorizer, old) == "401"
    assert authorizer.logs.decisions[-1]["reason"] == "unknown_kid"
    assert get(authorizer, tokens.make(key=other_key, kid="k2", iat=clock.now, nbf=clock.now,
                                       exp=clock.now + 300)) == "forward"


def test_a_kid_reused_for_another_key_refuses_tokens_cached_under_the_old_key(edge, ssm, tokens, key, other_key,
                                                                             clock):
    ssm(public_jwk(key, "k1"))
    authorizer = edge(max_token_lifetime_seconds=3600)
    old = tokens.make(exp=NOW + 3600)
    assert get(authorizer, old) == "forward"
    assert get(authorizer, old) == "forward"  # now served from the cache
    ssm(public_jwk(other_key, "k1"))  # same kid, different key
    clock.now += 301
    assert get(authorizer, old) == "401"
    assert authorizer.logs.decisions[-1]["reason"] == "bad_signature"
    assert [r["ok"] for r in refreshes(authorizer)] == [True]
    fresh = tokens.make(key=other_key, kid="k1", iat=clock.now, nbf=clock.now, exp=clock.now + 300)
    assert get(authorizer, fresh) == "forward"


def test_a_refresh_that_keeps_the_key_keeps_cached_grants(edge, ssm, tokens, key, other_key, clock):
    ssm(public_jwk(key, "k1"))
    authorizer = edge(max_token_lifetime_seconds=3600)
    token = tokens.make(exp=NOW + 3600)
    assert get(authorizer, token) == "forward"
    ssm(public_jwk(key, "k1"), public_jwk(other_key, "k2"))  # k1 unchanged, k2 added
    clock.now += 301
    assert get(authorizer, token) == "forward"
    assert [r["ok"] for r in refreshes(authorizer)] == [True]
    assert [d["cache"] for d in authorizer.logs.decisions] == ["miss", "hit"]


def test_ssm_down_serves_last_good_keys_then_fails_closed(edge, tokens, clock):
    authorizer = edge(endpoint=f"http://127.0.0.1:{free_port()}")  # connection refused
    clock.now += 301  # refresh due, fails
    token = tokens.make(iat=clock.now, nbf=clock.now, exp=clock.now + 300)
    assert get(authorizer, token) == "forward"
    assert [r["ok"] for r in refreshes(authorizer)] == [False]
    clock.now = NOW + 3601  # past max_key_staleness_seconds
    result = authorizer.handle(viewer_request(headers=bearer(tokens.make(iat=clock.now, nbf=clock.now,
                                                                         exp=clock.now + 300))))
    assert result["status"] == "503" and "uri" not in result
    assert result["headers"]["retry-after"][0]["value"] == "30"
    assert authorizer.logs.decisions[-1]["reason"] == "keys_stale"


def test_recovers_when_ssm_returns(edge, ssm, tokens, key, clock, moto_url):
    ssm(public_jwk(key, "k1"))
    authorizer = edge()
    clock.now = NOW + 3601
    token = tokens.make(iat=clock.now, nbf=clock.now, exp=clock.now + 300)
    assert get(authorizer, token) == "forward"  # refresh succeeded: the set is fresh again
    assert refreshes(authorizer)[-1]["ok"] is True


def test_bad_document_in_ssm_keeps_the_last_good_set(edge, moto_url, tokens, clock):
    client = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_url)
    weak = {"kty": "RSA", "kid": "weak", "n": "AQAB", "e": "Aw"}
    for value in ("not json", json.dumps({"keys": [weak]}), json.dumps({"keys": []})):
        client.put_parameter(Name=PARAMETER, Type="String", Overwrite=True, Value=value)
        authorizer = edge()
        clock.now = NOW + 301
        assert get(authorizer, tokens.make(iat=clock.now, nbf=clock.now, exp=clock.now + 300)) == "forward"
        assert refreshes(authorizer)[-1]["ok"] is False
        clock.now = NOW


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never answers: an SSM endpoint that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                pass
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_slow_ssm_is_cut_off_well_inside_the_viewer_timeout(edge, tokens, clock, silent_server):
    authorizer = edge(endpoint=silent_server)
    clock.now += 301
    started = time.monotonic()
    assert get(authorizer, tokens.make(kid="unknown", iat=clock.now, nbf=clock.now, exp=clock.now + 300)) == "401"
    elapsed = time.monotonic() - started
    assert [r["ok"] for r in refreshes(authorizer)] == [False]
    assert elapsed < 4.0, f"SSM wait {elapsed:.1f}s would break the 5 s viewer-request limit"
    # The failed attempt is not retried on the next request: it is served at once from the last good set.
    assert get(authorizer, tokens.make(iat=clock.now, nbf=clock.now, exp=clock.now + 300)) == "forward"
    assert len(refreshes(authorizer)) == 1
