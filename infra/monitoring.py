"""The monitoring component: an SNS topic for the stack's alarms, the default alarms, and a dashboard.

Metric names and dimensions are the ones CloudWatch publishes:
- AWS/Lambda `Errors`, `Throttles`, `Duration`, `Invocations`, `ConcurrentExecutions`, dimension
  `FunctionName` (Lambda Developer Guide, "Types of metrics for Lambda functions"; with `FunctionName` alone
  the metric aggregates every version and alias of the function, so a canary version's errors count too);
  with `FunctionName`, `Resource` = `<function>:<alias>` and `ExecutedVersion` = a version, the invocations
  through the alias that ran that version (Lambda Developer Guide, "Types of metrics for Lambda functions":
  ExecutedVersion applies to alias invocations; the same dimension sets in aws-cdk-lib's generated
  LambdaMetrics). CodeDeploy watches only these `new-version-` alarms, as SAM's documented canary alarms do,
  so a failing serving version does not stop the deployment of its fix (docs/operations.md);
- AWS/ApiGateway `Count`, `4xx`, `5xx`, `Latency`, `IntegrationLatency` with dimension `ApiId` for **HTTP
  APIs** (API Gateway Developer Guide, "Monitor CloudWatch metrics for HTTP APIs in API Gateway",
  http-api-metrics.html; REST APIs publish `4XXError`/`5XXError` with `ApiName` instead,
  api-gateway-metrics-and-dimensions.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.iam_rules import ALARM_KINDS, ALARM_SEPARATOR, ALARM_TOPIC_SUFFIX, NEW_VERSION_ALARM_KINDS
from infra.project import PROJECT

LAMBDA = "AWS/Lambda"
API_GATEWAY = "AWS/ApiGateway"
PERIOD_S = 60  # Lambda and API Gateway publish one-minute data points

# Console hosts per partition (a dashboard link opens the CloudWatch console of the stack's region).
CONSOLE_HOSTS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def dashboard_url(partition: str, region: str, name: str) -> str:
    """The CloudWatch console link of dashboard `name`:
    `https://<region>.<console host>/cloudwatch/home?region=<region>#dashboards:name=<name>`."""
    return (
        f"https://{region}.{CONSOLE_HOSTS[partition]}/cloudwatch/home?region={region}#dashboards:name={name}"
    )


@dataclass(frozen=True)
class AlarmThresholds:
    """What raises an alarm (each evaluated over one-minute periods; see docs/operations.md).

    errors: function `Errors` (Sum per minute) at or above this count.
    throttles: function `Throttles` (Sum per minute) at or above this count.
    duration_percent: function `Duration` p99 above this percentage of the timeout, 3 minutes out of 5.
    server_errors: the HTTP API's `5xx` (Sum per minute) at or above this count.
    concurrency_percent: function `ConcurrentExecutions` (Maximum) at or above this percentage of the
        reserved concurrency, 3 minutes out of 5 (only when a reservation is set).
    """

    errors: int = 1
    throttles: int = 1
    duration_percent: int = 80
    server_errors: int = 1
    concurrency_percent: int = 80


@dataclass(frozen=True)
class MonitoringArgs:
    name: str  # `<project>-<stack>`: prefix of the topic, alarm and dashboard names
    function_name: pulumi.Input[str]
    api_id: pulumi.Input[str]
    timeout_s: int  # the function's timeout, which the duration alarm is relative to
    tags: Mapping[str, str]
    thresholds: AlarmThresholds = AlarmThresholds()
    reserved_concurrency: int | None = None
    alarm_email: str | None = None
    # with a CodeDeploy deployment preference: the version this deploy publishes and the alias it shifts,
    # for the alarms scoped to that version (None: no such alarms)
    new_version: pulumi.Input[str] | None = None
    alias_name: pulumi.Input[str] | None = None


def duration_threshold_ms(timeout_s: int, percent: int) -> float:
    """The `Duration` p99 (milliseconds) above which the duration alarm fires."""
    return timeout_s * 1000 * percent / 100


def concurrency_threshold(reserved: int, percent: int) -> int:
    """Concurrent executions at which the concurrency alarm fires (at least 1)."""
    return max(1, (reserved * percent) // 100)


def topic_policy(topic_arn: str, account: str, partition: str, region: str, alarm_prefix: str) -> str:
    """Only CloudWatch alarms of this stack (name prefix, same account) may publish to the topic; the account
    keeps managing it through IAM."""
    alarm_arn_prefix = f"arn:{partition}:cloudwatch:{region}:{account}:alarm"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "StackAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    # aws:SourceArn / aws:SourceAccount: the confused-deputy guard for service principals
                    # (IAM User Guide, "The confused deputy problem")
                    "Condition": {
                        "ArnLike": {"aws:SourceArn": f"{alarm_arn_prefix}:{alarm_prefix}{ALARM_SEPARATOR}*"},
                        "StringEquals": {"aws:SourceAccount": account},
                    },
                }
            ],
        },
        sort_keys=True,
    )


def dashboard_body(region: str, function_name: str, api_id: str, alarm_arns: Sequence[str]) -> str:
    """The dashboard's widgets (CloudWatch "Dashboard Body Structure and Syntax"): function, API, alarms."""
    fn = ["FunctionName", function_name]
    api = ["ApiId", api_id]

    def metric(x: int, y: int, title: str, metrics: list[Any], stat: str = "Sum") -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 8,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "view": "timeSeries",
                "stacked": False,
                "period": PERIOD_S,
                "stat": stat,
                "metrics": metrics,
            },
        }

    widgets = [
        metric(
            0,
            0,
            "Invocations, errors, throttles",
            [[LAMBDA, "Invocations", *fn], [LAMBDA, "Errors", *fn], [LAMBDA, "Throttles", *fn]],
        ),
        metric(
            8,
            0,
            "Duration p50 / p99 (ms)",
            [[LAMBDA, "Duration", *fn, {"stat": "p50"}], [LAMBDA, "Duration", *fn, {"stat": "p99"}]],
            "p99",
        ),
        metric(16, 0, "Concurrent executions", [[LAMBDA, "ConcurrentExecutions", *fn]], "Maximum"),
        metric(
            0,
            6,
            "API requests, 4xx, 5xx",
            [[API_GATEWAY, "Count", *api], [API_GATEWAY, "4xx", *api], [API_GATEWAY, "5xx", *api]],
        ),
        metric(
            8,
            6,
            "API latency p50 / p99 (ms)",
            [
                [API_GATEWAY, "Latency", *api, {"stat": "p50"}],
                [API_GATEWAY, "Latency", *api, {"stat": "p99"}],
                [API_GATEWAY, "IntegrationLatency", *api, {"stat": "p99"}],
            ],
            "p99",
        ),
        {
            "type": "alarm",
            "x": 16,
            "y": 6,
            "width": 8,
            "height": 6,
            "properties": {"title": "Alarms", "alarms": list(alarm_arns)},
        },
    ]
    return json.dumps({"widgets": widgets}, sort_keys=True)


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One alarm: its kind (the name's suffix, one of infra/iam_rules.py ALARM_KINDS), the metric it watches
    (CloudWatch namespace, name, dimensions), the statistic over each one-minute period (`Sum`, `Maximum` or
    a percentile `p<N>`), the threshold and comparison, and how many of how many periods must breach."""

    kind: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str
    threshold: float
    comparison: str
    description: str
    evaluation_periods: int = 1
    datapoints: int = 1


AT_LEAST = "GreaterThanOrEqualToThreshold"
ABOVE = "GreaterThanThreshold"


def default_alarms(args: MonitoringArgs) -> list[AlarmSpec]:
    """The stack's alarms on the function and the API, whatever version serves (see AlarmThresholds)."""
    t = args.thresholds
    fn = {"FunctionName": args.function_name}
    specs = [
        AlarmSpec(
            kind="errors",
            namespace=LAMBDA,
            metric="Errors",
            dimensions=fn,
            statistic="Sum",
            threshold=t.errors,
            comparison=AT_LEAST,
            description=f"function errors ≥ {t.errors} per minute",
        ),
        AlarmSpec(
            kind="throttles",
            namespace=LAMBDA,
            metric="Throttles",
            dimensions=fn,
            statistic="Sum",
            threshold=t.throttles,
            comparison=AT_LEAST,
            description=f"function throttles ≥ {t.throttles} per minute",
        ),
        AlarmSpec(
            kind="duration",
            namespace=LAMBDA,
            metric="Duration",
            dimensions=fn,
            statistic="p99",
            threshold=duration_threshold_ms(args.timeout_s, t.duration_percent),
            comparison=ABOVE,
            description=f"function duration p99 > {t.duration_percent}% of the {args.timeout_s} s timeout",
            evaluation_periods=5,
            datapoints=3,
        ),
        AlarmSpec(
            kind="5xx",
            namespace=API_GATEWAY,
            metric="5xx",
            dimensions={"ApiId": args.api_id},
            statistic="Sum",
            threshold=t.server_errors,
            comparison=AT_LEAST,
            description=f"HTTP API 5xx responses ≥ {t.server_errors} per minute",
        ),
    ]
    if args.reserved_concurrency:
        limit = concurrency_threshold(args.reserved_concurrency, t.concurrency_percent)
        specs.append(
            AlarmSpec(
                kind="concurrency",
                namespace=LAMBDA,
                metric="ConcurrentExecutions",
                dimensions=fn,
                statistic="Maximum",
                threshold=limit,
                comparison=AT_LEAST,
                description=f"concurrent executions ≥ {limit} ({t.concurrency_percent}% of the reserved "
                f"{args.reserved_concurrency})",
                evaluation_periods=5,
                datapoints=3,
            )
        )
    return specs


def new_version_alarms(args: MonitoringArgs) -> list[AlarmSpec]:
    """The alarms on the version a CodeDeploy deployment shifts to, through the alias (none without
    `new_version` and `alias_name`): what the deployment watches."""
    if args.new_version is None or args.alias_name is None:
        return []
    t = args.thresholds
    version = {
        "FunctionName": args.function_name,
        "Resource": pulumi.Output.concat(args.function_name, ":", args.alias_name),
        "ExecutedVersion": args.new_version,
    }
    errors, duration = NEW_VERSION_ALARM_KINDS
    return [
        AlarmSpec(
            kind=errors,
            namespace=LAMBDA,
            metric="Errors",
            dimensions=version,
            statistic="Sum",
            threshold=t.errors,
            comparison=AT_LEAST,
            description=f"errors of the version being deployed ≥ {t.errors} per minute",
        ),
        AlarmSpec(
            kind=duration,
            namespace=LAMBDA,
            metric="Duration",
            dimensions=version,
            statistic="p99",
            threshold=duration_threshold_ms(args.timeout_s, t.duration_percent),
            comparison=ABOVE,
            description=f"duration p99 of the version being deployed > {t.duration_percent}% of the "
            f"{args.timeout_s} s timeout",
            evaluation_periods=5,
            datapoints=3,
        ),
    ]


class Monitoring(pulumi.ComponentResource):
    """SNS topic `<name>_alarms` (+ optional e-mail subscription), the default alarms `<name>.<kind>`, the
    dashboard `<name>`."""

    alarm_topic_arn: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]
    alarm_arns: pulumi.Output[list[str]]
    alarms: dict[str, aws.cloudwatch.MetricAlarm]  # by short name: errors, throttles, duration, 5xx[, ...]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PROJECT}:infra:Monitoring", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        region = aws.get_region_output(opts=invoke).region
        self._topic(name, args, account, partition, region)
        self.alarms = {spec.kind: self._alarm(name, args, spec) for spec in default_alarms(args)}
        self.new_version_alarms = {
            spec.kind: self._alarm(name, args, spec) for spec in new_version_alarms(args)
        }
        # what a CodeDeploy deployment watches: the new version's alarms only
        self.deployment_alarm_names = [alarm.name for alarm in self.new_version_alarms.values()]
        self.deployment_alarm_arns = pulumi.Output.all(*[a.arn for a in self.new_version_alarms.values()])
        self.alarms.update(self.new_version_alarms)
        self.alarm_arns = pulumi.Output.all(*[alarm.arn for alarm in self.alarms.values()])
        self.alarm_names = [alarm.name for alarm in self.alarms.values()]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.name,
            dashboard_body=pulumi.Output.all(region, args.function_name, args.api_id, self.alarm_arns).apply(
                lambda v: dashboard_body(v[0], v[1], v[2], v[3])
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alarm_topic_arn = self.topic.arn
        self.dashboard_url = pulumi.Output.all(partition, region, self.dashboard.dashboard_name).apply(
            lambda v: dashboard_url(v[0], v[1], v[2])
        )
        self.register_outputs({"alarmTopicArn": self.alarm_topic_arn, "dashboardUrl": self.dashboard_url})

    def _topic(
        self,
        name: str,
        args: MonitoringArgs,
        account: pulumi.Output[str],
        partition: pulumi.Output[str],
        region: pulumi.Output[str],
    ) -> None:
        """The alarms' SNS topic, which only the stack's alarms may publish to, and its e-mail subscription."""
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{name}-alarm-topic", name=f"{args.name}{ALARM_TOPIC_SUFFIX}", tags=dict(args.tags), opts=child
        )
        self.topic_policy = aws.sns.TopicPolicy(
            f"{name}-alarm-topic-policy",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, account, partition, region).apply(
                lambda v: topic_policy(v[0], v[1], v[2], v[3], args.name)
            ),
            opts=child,
        )
        self.subscription = None
        if args.alarm_email:
            self.subscription = aws.sns.TopicSubscription(
                f"{name}-alarm-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.alarm_email,
                opts=child,
            )

    def _alarm(self, name: str, args: MonitoringArgs, spec: AlarmSpec) -> aws.cloudwatch.MetricAlarm:
        if spec.kind not in ALARM_KINDS:  # the bootstrap's deploy role may manage exactly these alarm names
            raise ValueError(f"alarm kind {spec.kind!r} is not one of {ALARM_KINDS} (infra/iam_rules.py)")
        percentile = spec.statistic.startswith("p")
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{spec.kind}-alarm",
            name=f"{args.name}{ALARM_SEPARATOR}{spec.kind}",
            alarm_description=f"{args.name}: {spec.description}",
            namespace=spec.namespace,
            metric_name=spec.metric,
            dimensions=dict(spec.dimensions),
            statistic=None if percentile else spec.statistic,
            extended_statistic=spec.statistic if percentile else None,
            period=PERIOD_S,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints,
            threshold=spec.threshold,
            comparison_operator=spec.comparison,
            treat_missing_data="notBreaching",  # no traffic is not an incident
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
