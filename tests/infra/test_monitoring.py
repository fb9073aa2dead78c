"""Metric filters on the edge's log groups in every Region, the alarms on them and on the token
service, the alarm topics, the dashboard, and the edge's logging settings (infra/monitoring.py)."""
import json
import re
import zipfile

import pytest

from edge.authorizer import SUMMARY_SECONDS, Authorizer
from edge.config import load_config
from infra.config import REGIONAL_EDGE_CACHE_REGIONS, ConfigError
from infra.monitoring import DENY_RATE_MIN_DECISIONS
from tests.cf import bearer, viewer_request
from tests.infra.harness import ACCOUNT, STACK_REGION, RANDOM_HEX, run_program

PREFIX = "edge-private-media-test"
NAMESPACE = f"EdgePrivateMedia/{PREFIX}"
EDGE_LOG_GROUP = f"/aws/lambda/us-east-1.{PREFIX}-viewer-auth-{RANDOM_HEX[:8]}"
FILTERS = {"Allowed", "CacheHits", "Denied", "DeniedByReason", "Unavailable", "AllowedMicroseconds"}


def filters(deployment):
    return deployment.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")


def alarms(deployment, name):
    return [a for a in deployment.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["name"] == name]


def test_every_edge_log_group_gets_the_same_filters(deployment):
    found = {}
    for f in filters(deployment):
        assert f.inputs["logGroupName"] == EDGE_LOG_GROUP
        assert f.inputs["metricTransformation"]["namespace"] == NAMESPACE
        found.setdefault(f.inputs["region"], set()).add(f.inputs["metricTransformation"]["name"])
    assert found == {region: FILTERS for region in REGIONAL_EDGE_CACHE_REGIONS}
    groups = {g.inputs["region"] for g in deployment.of_type("aws:cloudwatch/logGroup:LogGroup")
              if g.inputs["name"] == EDGE_LOG_GROUP}
    assert groups == set(found)  # each filter's group is made by the program in that Region


def _matches(pattern, line):
    """CloudWatch's JSON filter pattern `{ $.key = value }` (the only form the program uses) against a line."""
    key, value = re.fullmatch(r'\{ \$\.(\w+) = ("?[\w]+"?) \}', pattern).groups()
    record = json.loads(line)
    return key in record and record[key] == json.loads(value)


def _selected(value, line):
    return 1 if value == "1" else json.loads(line)[re.fullmatch(r"\$\.(\w+)", value)[1]]


@pytest.fixture(scope="module")
def edge_lines():
    """Real lines from the edge: an allowed request, a denial, a 503 and a summary."""
    from tests.edge.conftest import AUDIENCE, ISSUER, NOW, Tokens, public_jwk
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    lines, clock = [], [NOW]
    edge = Authorizer(load_config({"issuer": ISSUER, "audience": AUDIENCE, "jwks": {"keys": [public_jwk(key, "k1")]}}),
                      clock=lambda: clock[0], log=lines.append)
    token = Tokens(key).make()
    edge.handle(viewer_request(headers=bearer(token)))
    edge.handle(viewer_request(headers=bearer(token)))
    edge.handle(viewer_request(uri="/x.mp4"))
    clock[0] += SUMMARY_SECONDS
    edge.cache.get = lambda *args: 1 / 0
    edge.handle(viewer_request(headers=bearer(token)))  # an internal error: 503
    kinds = [json.loads(line).get("event") or json.loads(line).get("status") or "allow" for line in lines]
    assert kinds == ["allow", "allow", 401, 503, "summary"], lines
    return dict(zip(["miss", "hit", "denied", "unavailable", "summary"], lines))


def test_filters_select_what_the_edge_logs(deployment, edge_lines):
    """Each pattern matches the edge's own lines it is meant for and no other, and its value is there."""
    meant = {"Allowed": "summary", "CacheHits": "summary", "Denied": "summary", "DeniedByReason": ("denied", "unavailable"),
             "Unavailable": "unavailable", "AllowedMicroseconds": ("miss", "hit")}
    summary = json.loads(edge_lines["summary"])
    assert (summary["allow"], summary["hit"], summary["deny"]) == (2, 1, 2)
    for f in filters(deployment):
        if f.inputs["region"] != "us-east-1":
            continue
        transformation = f.inputs["metricTransformation"]
        name = transformation["name"]
        for kind, line in edge_lines.items():
            assert _matches(f.inputs["pattern"], line) == (kind in meant[name]), (name, kind)
            if kind in meant[name]:
                assert isinstance(_selected(transformation["value"], line), int)
        for dimension, selector in (transformation.get("dimensions") or {}).items():
            assert (name, dimension, selector) == ("DeniedByReason", "reason", "$.reason")
    units = {f.inputs["metricTransformation"]["name"]: f.inputs["metricTransformation"]["unit"] for f in filters(deployment)}
    assert units["AllowedMicroseconds"] == "Microseconds"


def test_each_region_alarms_on_any_503_and_notifies_its_own_topic(deployment):
    found = alarms(deployment, f"{PREFIX}-edge-unavailable")
    assert sorted(a.inputs["region"] for a in found) == sorted(REGIONAL_EDGE_CACHE_REGIONS)
    for alarm in found:
        region = alarm.inputs["region"]
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"], alarm.inputs["statistic"]) == (
            NAMESPACE, "Unavailable", "Sum")
        assert (alarm.inputs["period"], alarm.inputs["evaluationPeriods"], alarm.inputs["threshold"]) == (60, 1, 0)
        assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
        assert alarm.inputs["treatMissingData"] == "notBreaching"
        topic = f"arn:aws:sns:{region}:{ACCOUNT}:{PREFIX}-edge-alarms"  # an alarm notifies only its own Region
        assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"] == [topic]


def test_each_region_alarms_on_the_deny_rate_with_the_configured_threshold(deployment):
    for config, threshold in (({}, 10), ({"edgeDenyRateAlarmPercent": 25}, 25)):
        found = alarms(run_program(config) if config else deployment, f"{PREFIX}-edge-deny-rate")
        assert sorted(a.inputs["region"] for a in found) == sorted(REGIONAL_EDGE_CACHE_REGIONS)
        for alarm in found:
            assert alarm.inputs["threshold"] == threshold
            assert (alarm.inputs["evaluationPeriods"], alarm.inputs["comparisonOperator"]) == (1, "GreaterThanThreshold")
            queries = {q["id"]: q for q in alarm.inputs["metricQueries"]}
            for query_id, metric in (("denied", "Denied"), ("allowed", "Allowed")):
                assert queries[query_id]["metric"] == {"namespace": NAMESPACE, "metricName": metric, "stat": "Sum",
                                                       "period": 300}
                assert not queries[query_id]["returnData"]
            assert queries["rate"]["returnData"]
            assert queries["rate"]["expression"] == (f"IF(denied + allowed >= {DENY_RATE_MIN_DECISIONS}, "
                                                     f"100 * denied / (denied + allowed), 0)")
            assert alarm.inputs["alarmActions"] == [f"arn:aws:sns:{alarm.inputs['region']}:{ACCOUNT}:{PREFIX}-edge-alarms"]


def test_token_service_errors_and_throttles_alarm_in_its_region(header_deployment, deployment):
    for metric in ("errors", "throttles"):
        [alarm] = alarms(header_deployment, f"{PREFIX}-token-service-{metric}")
        assert "region" not in alarm.inputs or alarm.inputs["region"] is None  # the stack's, where the function is
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/Lambda", metric.capitalize())
        assert alarm.inputs["dimensions"] == {"FunctionName": f"{PREFIX}-token-service"}
        assert (alarm.inputs["statistic"], alarm.inputs["threshold"]) == ("Sum", 0)
        assert alarm.inputs["alarmActions"] == [f"arn:aws:sns:{STACK_REGION}:{ACCOUNT}:{PREFIX}-token-service-alarms"]
        assert alarms(deployment, f"{PREFIX}-token-service-{metric}") == []  # no token service, no alarm
    assert header_deployment.exports["alarmTopicArns"]["tokenService"] == (
        f"arn:aws:sns:{STACK_REGION}:{ACCOUNT}:{PREFIX}-token-service-alarms")
    assert set(header_deployment.exports["alarmTopicArns"]["edge"]) == set(REGIONAL_EDGE_CACHE_REGIONS)


def test_alarm_email_is_subscribed_to_every_topic(deployment):
    assert deployment.of_type("aws:sns/topicSubscription:TopicSubscription") == []
    subscribed = run_program({"alarmEmail": "oncall@example.com", "tokenService": True})
    topics = {t.outputs["arn"] for t in subscribed.of_type("aws:sns/topic:Topic")}
    subscriptions = subscribed.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert {s.inputs["topic"] for s in subscriptions} == topics and len(topics) == len(REGIONAL_EDGE_CACHE_REGIONS) + 1
    assert {(s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions} == {("email", "oncall@example.com")}
    for s in subscriptions:
        assert s.inputs["topic"].split(":")[3] == (s.inputs.get("region") or STACK_REGION)


@pytest.mark.parametrize("overrides, message", [
    ({"alarmEmail": "not an address"}, "config alarmEmail: not an email address"),
    ({"edgeDenyRateAlarmPercent": 0}, "config edgeDenyRateAlarmPercent: 1..100"),
    ({"edgeDenyRateAlarmPercent": 101}, "config edgeDenyRateAlarmPercent: 1..100"),
    ({"edgeAllowLogSampleRate": "1.5"}, "config edgeAllowLogSampleRate: 0 or a fraction 0.0001..1"),
    ({"edgeAllowLogSampleRate": "0.00001"}, "config edgeAllowLogSampleRate: 0 or a fraction 0.0001..1"),
    ({"edgeAllowLogSampleRate": "nan"}, "config edgeAllowLogSampleRate: 0 or a fraction 0.0001..1"),
    ({"edgeAllowLogSampleRate": "a lot"}, "config edgeAllowLogSampleRate: not a number"),
])
def test_bad_monitoring_settings_stop_the_program(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        run_program(overrides)


def _edge_config(deployment):
    with zipfile.ZipFile(deployment.one("aws:lambda/function:Function", "viewer-auth").inputs["code"].path) as package:
        return load_config(json.loads(package.read("edge/config.json")))


def test_edge_samples_allowed_lines_at_the_configured_rate(deployment):
    assert _edge_config(deployment).allow_log_sample_rate == 0.01
    assert _edge_config(run_program({"edgeAllowLogSampleRate": "1"})).allow_log_sample_rate == 1
    assert _edge_config(run_program({"edgeAllowLogSampleRate": "0"})).allow_log_sample_rate == 0


def test_edge_function_drops_lambdas_start_end_report_lines(deployment):
    function = deployment.one("aws:lambda/function:Function", "viewer-auth")
    assert function.inputs["loggingConfig"] == {"logFormat": "JSON", "systemLogLevel": "WARN"}


def test_one_dashboard_shows_every_region_and_the_token_service(deployment, header_deployment):
    for d, token_service in ((deployment, False), (header_deployment, True)):
        dashboard = d.one("aws:cloudwatch/dashboard:Dashboard")
        assert dashboard.inputs["dashboardName"] == d.exports["dashboardName"] == PREFIX
        body = json.loads(dashboard.inputs["dashboardBody"])
        metric_names, regions = set(), set()
        for widget in body["widgets"]:
            if widget["type"] != "metric":
                continue
            for metric in widget["properties"]["metrics"]:
                options = metric[-1] if isinstance(metric[-1], dict) else {}
                regions.add(options.get("region", widget["properties"]["region"]))
                if len(metric) > 1 and metric[0] == NAMESPACE:
                    metric_names.add(metric[1])
                if "expression" in options and "SEARCH" in options["expression"]:
                    assert "DeniedByReason" in options["expression"] and NAMESPACE in options["expression"]
        assert metric_names <= FILTERS and {"Allowed", "Denied", "Unavailable", "AllowedMicroseconds"} <= metric_names
        assert regions == set(REGIONAL_EDGE_CACHE_REGIONS) | ({STACK_REGION} if token_service else set())
        lambda_metrics = {m[1] for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]
                          if m[0] == "AWS/Lambda"}
        assert lambda_metrics == ({"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"}
                                  if token_service else set())
