"""Allowed requests are logged by sample, every other decision always, and a per-container summary
line keeps the totals (allow_log_sample_rate, SUMMARY_SECONDS)."""
import math

import pytest

from edge.authorizer import SUMMARY_SECONDS
from edge.config import ConfigError, load_config
from tests.cf import bearer, viewer_request


def summaries(authorizer):
    return [entry for entry in authorizer.logs if entry.get("event") == "summary"]


def allowed(authorizer, token):
    return authorizer.handle(viewer_request(headers={**bearer(token), "Range": "bytes=0-99"}))


def test_default_logs_every_allowed_request(make_authorizer, tokens):
    authorizer = make_authorizer()
    token = tokens.make()
    for _ in range(50):
        allowed(authorizer, token)
    assert [d["outcome"] for d in authorizer.logs.decisions] == ["allow"] * 50


def test_denies_errors_and_preflights_are_all_logged_when_allowed_ones_are_not(make_authorizer, tokens,
                                                                               monkeypatch):
    authorizer = make_authorizer(allow_log_sample_rate=0)
    token = tokens.make()
    for _ in range(30):
        allowed(authorizer, token)
        authorizer.handle(viewer_request())  # no token
        authorizer.handle(viewer_request(uri="/videos/u7/other.mp4", headers=bearer(tokens.make(paths=["/videos/u42/"]))))
        authorizer.handle(viewer_request(method="OPTIONS", headers={"Origin": "https://app.example.com"}))
    monkeypatch.setattr(authorizer.cache, "get", lambda *a: 1 / 0)
    allowed(authorizer, token)
    reasons = [(d["outcome"], d["reason"]) for d in authorizer.logs.decisions]
    assert reasons == [("deny", "no_token"), ("deny", "out_of_scope"), ("preflight", "preflight")] * 30 + [
        ("deny", "internal_error")]


def test_summary_keeps_the_totals_and_comes_on_the_first_request_after_the_interval(make_authorizer, tokens,
                                                                                    clock):
    authorizer = make_authorizer(allow_log_sample_rate=0)
    token = tokens.make()
    for _ in range(40):
        allowed(authorizer, token)
    authorizer.handle(viewer_request())
    authorizer.handle(viewer_request(method="OPTIONS"))
    clock.now += SUMMARY_SECONDS - 1
    allowed(authorizer, token)
    assert summaries(authorizer) == []  # not yet due
    clock.now += 3600  # the container was frozen for an hour: its next request logs the counts
    token = tokens.make(iat=clock.now, nbf=clock.now, exp=clock.now + 300)
    allowed(authorizer, token)
    assert summaries(authorizer) == [{"event": "summary", "seconds": SUMMARY_SECONDS - 1 + 3600, "allow": 42,
                                      "hit": 40, "logged": 0, "deny": 1, "preflight": 1}]
    allowed(authorizer, token)
    clock.now += SUMMARY_SECONDS
    authorizer.handle(viewer_request())
    assert summaries(authorizer)[1] == {"event": "summary", "seconds": SUMMARY_SECONDS, "allow": 1, "hit": 1,
                                        "logged": 0, "deny": 1, "preflight": 0}  # counted anew


def test_sampled_lines_match_the_rate_and_the_summary_counts_them(make_authorizer, tokens, clock):
    rate, requests = 0.05, 20_000
    authorizer = make_authorizer(allow_log_sample_rate=rate)
    token = tokens.make()
    for _ in range(requests):
        allowed(authorizer, token)
    clock.now += SUMMARY_SECONDS
    authorizer.handle(viewer_request())
    logged = len(authorizer.logs.decisions) - 1
    expected, sd = requests * rate, math.sqrt(requests * rate * (1 - rate))
    assert abs(logged - expected) < 6 * sd  # 1,000 ± 31: a wrong rate or a fixed stride lands far outside
    [summary] = summaries(authorizer)
    assert summary["allow"] == requests and summary["hit"] == requests - 1 and summary["logged"] == logged


def test_each_container_samples_independently_from_its_first_request(make_authorizer, tokens):
    """The first allowed request of a container (a cache miss, the slowest) is logged with the rate's
    probability, not always (a stride starting at 1) nor never (a stride ending at n)."""
    rate, containers = 0.2, 1500
    token = tokens.make()
    first_logged = 0
    for _ in range(containers):
        authorizer = make_authorizer(allow_log_sample_rate=rate)
        allowed(authorizer, token)
        first_logged += len(authorizer.logs.decisions)
    expected, sd = containers * rate, math.sqrt(containers * rate * (1 - rate))
    assert abs(first_logged - expected) < 6 * sd  # 300 ± 15


def test_a_failing_log_still_answers(make_authorizer, tokens, clock):
    authorizer = make_authorizer(allow_log_sample_rate=0.5)
    authorizer._log = lambda line: 1 / 0
    clock.now += SUMMARY_SECONDS
    assert "uri" in allowed(authorizer, tokens.make())
    assert authorizer.handle(viewer_request())["status"] == "401"


@pytest.mark.parametrize("rate", [0, 0.0001, 0.01, 1, 1.0])
def test_sample_rate_accepted(raw_config, rate):
    assert load_config({**raw_config, "allow_log_sample_rate": rate}).allow_log_sample_rate == rate


@pytest.mark.parametrize("rate", [-0.1, 1.5, 0.00001, True, "0.1", None, float("nan"), float("inf")])
def test_sample_rate_refused(raw_config, rate):
    with pytest.raises(ConfigError, match="allow_log_sample_rate: must be 0 or a fraction 0.0001..1"):
        load_config({**raw_config, "allow_log_sample_rate": rate})
