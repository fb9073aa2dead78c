"""CloudWatch metrics, alarms and one dashboard for the edge gate and the token service.

The edge's replicas log in the Region that served the viewer, and a metric filter publishes its
metric in its log group's Region, where an alarm on it must live too (alarms cannot reach across
Regions, nor notify a topic in another Region). So every Region with an edge log group gets the same
filters, two alarms and a topic; the token service's two alarms and topic live in its own Region;
one dashboard (CloudWatch dashboards are global) shows them side by side.
docs/operations.md, "Alarms", says what each alarm means and what to do.
"""
import json

import pulumi
import pulumi_aws as aws

from infra.config import Settings

# The deny-rate and token service alarms (and the dashboard's graphs) look at 5-minute sums; the
# 503 alarm at each minute. Below DENY_RATE_MIN_DECISIONS decisions in 5 minutes a share of denials
# says little (one stale browser tab at night), so that alarm stays quiet.
WINDOW_SECONDS = 300
UNAVAILABLE_PERIOD_SECONDS = 60
DENY_RATE_MIN_DECISIONS = 100


def edge_metric_filters() -> dict:
    """{metric name: (JSON filter pattern, value, dimensions, unit)} over the edge's log lines
    (edge/authorizer.py): a decision line per deny, error and preflight and per sampled allowed
    request, and a summary line per container and minute with the totals."""
    return {
        # Totals from the summary lines: exact whatever allow_log_sample_rate is.
        "Allowed": ('{ $.event = "summary" }', "$.allow", None, "Count"),
        "CacheHits": ('{ $.event = "summary" }', "$.hit", None, "Count"),
        "Denied": ('{ $.event = "summary" }', "$.deny", None, "Count"),
        # Every deny line, at once: by reason, and the 503s (keys unavailable, internal or config error).
        "DeniedByReason": ('{ $.outcome = "deny" }', "1", {"reason": "$.reason"}, "Count"),
        "Unavailable": ("{ $.status = 503 }", "1", None, "Count"),
        # The handler's own time on the allowed requests that are logged (an unbiased sample).
        "AllowedMicroseconds": ('{ $.outcome = "allow" }', "$.us", None, "Microseconds"),
    }


class Monitoring(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        edge_log_groups: dict,
        token_service_function: aws.lambda_.Function | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`edge_log_groups` is {Region: the edge's log group there}; `token_service_function` is the
        token service's function, if the stack has one."""
        super().__init__("edge-private-media:infra:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = settings.resource_prefix
        self.namespace = f"EdgePrivateMedia/{prefix}"
        self.edge_topics = {}  # Region -> the topic the edge's alarms there notify
        self.token_service_topic = None

        for region, log_group in edge_log_groups.items():
            for metric, (pattern, value, dimensions, unit) in edge_metric_filters().items():
                aws.cloudwatch.LogMetricFilter(
                    f"{name}-{metric}-{region}",
                    name=f"{prefix}-{metric}",
                    log_group_name=log_group.name,
                    pattern=pattern,
                    metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                        name=metric, namespace=self.namespace, value=value, dimensions=dimensions, unit=unit),
                    region=region,
                    opts=child,
                )
            self.edge_topics[region] = alarm_topic(name, settings, f"{prefix}-edge-alarms", region, child)
            actions = [self.edge_topics[region].arn]
            aws.cloudwatch.MetricAlarm(
                f"{name}-edge-unavailable-{region}",
                name=f"{prefix}-edge-unavailable",
                alarm_description="The edge answered 503: keys stale, config unreadable or an internal error "
                                  "(docs/operations.md, Alarms)",
                namespace=self.namespace,
                metric_name="Unavailable",
                statistic="Sum",
                period=UNAVAILABLE_PERIOD_SECONDS,
                evaluation_periods=1,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=actions,
                ok_actions=actions,
                region=region,
                opts=child,
            )
            aws.cloudwatch.MetricAlarm(
                f"{name}-edge-deny-rate-{region}",
                name=f"{prefix}-edge-deny-rate",
                alarm_description=f"More than {settings.edge_deny_rate_alarm_percent}% of the edge's decisions in "
                                  f"5 minutes were denials (docs/operations.md, Alarms)",
                metric_queries=deny_rate_queries(self.namespace),
                evaluation_periods=1,
                threshold=settings.edge_deny_rate_alarm_percent,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=actions,
                ok_actions=actions,
                region=region,
                opts=child,
            )

        token_region = None
        if token_service_function is not None:
            self.token_service_topic = alarm_topic(name, settings, f"{prefix}-token-service-alarms", None, child)
            actions = [self.token_service_topic.arn]
            for metric, meaning in (("Errors", "invocations failed (an exception or a timeout)"),
                                    ("Throttles", "invocations were throttled (reserved concurrency reached)")):
                aws.cloudwatch.MetricAlarm(
                    f"{name}-token-service-{metric.lower()}",
                    name=f"{prefix}-token-service-{metric.lower()}",
                    alarm_description=f"Token service {meaning} (docs/operations.md, Alarms)",
                    namespace="AWS/Lambda",
                    metric_name=metric,
                    dimensions={"FunctionName": token_service_function.name},
                    statistic="Sum",
                    period=WINDOW_SECONDS,
                    evaluation_periods=1,
                    threshold=0,
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                    alarm_actions=actions,
                    ok_actions=actions,
                    opts=child,
                )
            # arn:aws:lambda:<region>:<account>:function:<name>
            token_region = token_service_function.arn.apply(lambda arn: arn.split(":")[3])

        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=prefix,
            dashboard_body=pulumi.Output.all(
                token_region, token_service_function.name if token_service_function is not None else None,
            ).apply(lambda args: json.dumps(dashboard_body(self.namespace, list(edge_log_groups), *args))),
            opts=child,
        )
        self.topic_arns = {"edge": {region: topic.arn for region, topic in self.edge_topics.items()}}
        if self.token_service_topic:
            self.topic_arns["tokenService"] = self.token_service_topic.arn
        self.register_outputs({"dashboard_name": self.dashboard.dashboard_name, "topic_arns": self.topic_arns})


def alarm_topic(name, settings, topic_name, region, child):
    """The SNS topic `topic_name` in `region` (None: the stack's) that alarms there notify (an alarm
    can only notify a topic in its own Region), with `alarmEmail` subscribed."""
    where = region or "stack"
    topic = aws.sns.Topic(f"{name}-{topic_name}-{where}", name=topic_name, region=region, opts=child)
    if settings.alarm_email:
        # Each subscription mails a confirmation link; until it is followed the topic delivers nothing.
        aws.sns.TopicSubscription(f"{name}-{topic_name}-{where}-email", topic=topic.arn, protocol="email",
                                  endpoint=settings.alarm_email, region=region, opts=child)
    return topic


def deny_rate_queries(namespace: str) -> list:
    """Denied / (allowed + denied) in percent over 5 minutes, 0 below DENY_RATE_MIN_DECISIONS.

    Both counts come from the summary lines, so they lag the same way (a container's counts arrive
    with its next summary) and their ratio is not skewed by the lag."""
    def metric(query_id, metric_name):
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query_id, return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=namespace, metric_name=metric_name, stat="Sum", period=WINDOW_SECONDS))

    return [
        metric("denied", "Denied"),
        metric("allowed", "Allowed"),
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="rate", return_data=True, label="Denied, % of decisions",
            expression=f"IF(denied + allowed >= {DENY_RATE_MIN_DECISIONS}, 100 * denied / (denied + allowed), 0)"),
    ]


def dashboard_body(namespace: str, edge_regions: list, token_region: str | None, token_function: str | None) -> dict:
    """One row of edge graphs with a line per Region, a graph per Region of its denials by reason and
    cache hit rate, and with a token service a row of its Lambda metrics."""
    def per_region(metric, stat):
        return [[namespace, metric, {"region": region, "label": region, "stat": stat}] for region in edge_regions]

    def graph(x, y, title, metrics, region, width=8, **extra):
        return {"type": "metric", "x": x, "y": y, "width": width, "height": 6,
                "properties": {"title": title, "metrics": metrics, "region": region, "view": "timeSeries",
                               "period": WINDOW_SECONDS, **extra}}

    home = token_region or edge_regions[0]
    widgets = [
        {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"markdown": (
            "Edge gate (one line per Region where replicas ran) and token service. Allowed and denied counts "
            "come from the edge's per-container summary lines, a minute late at most; alarms and what to do: "
            "docs/operations.md, Alarms.")}},
        graph(0, 2, "Edge: allowed requests", per_region("Allowed", "Sum"), home, width=6),
        graph(6, 2, "Edge: denied requests", per_region("Denied", "Sum"), home, width=6),
        graph(12, 2, "Edge: 503 answers", per_region("Unavailable", "Sum"), home, width=6),
        graph(18, 2, "Edge: handler time, allowed requests, p99 (µs)", per_region("AllowedMicroseconds", "p99"),
              home, width=6),
    ]
    for index, region in enumerate(edge_regions):
        # The namespace quoted: it holds the stack's name, which may hold characters search syntax reserves.
        search = f"SEARCH('{{\"{namespace}\",reason}} MetricName=\"DeniedByReason\"', 'Sum', {WINDOW_SECONDS})"
        widgets.append(graph(index % 4 * 6, 8 + index // 4 * 6, f"Edge in {region}: denials by reason, cache hit %", [
            [{"expression": search, "id": "reasons"}],
            [{"expression": "100 * hits / allowed", "id": "hit_rate", "label": "cache hit %", "yAxis": "right"}],
            [namespace, "CacheHits", {"id": "hits", "stat": "Sum", "visible": False}],
            [namespace, "Allowed", {"id": "allowed", "stat": "Sum", "visible": False}],
        ], region, width=6))
    if token_function:
        y = 8 + -(-len(edge_regions) // 4) * 6
        def lambda_metric(metric, stat):
            return ["AWS/Lambda", metric, "FunctionName", token_function, {"stat": stat}]

        widgets += [
            graph(0, y, "Token service: invocations, errors, throttles",
                  [lambda_metric(m, "Sum") for m in ("Invocations", "Errors", "Throttles")], token_region),
            graph(8, y, "Token service: duration p99 (ms)", [lambda_metric("Duration", "p99")], token_region),
            graph(16, y, "Token service: concurrent executions",
                  [lambda_metric("ConcurrentExecutions", "Maximum")], token_region),
        ]
    return {"widgets": widgets}
