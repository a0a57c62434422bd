"""Monitoring: the default alarms (metric names CloudWatch publishes), their SNS topic, the dashboard."""

from __future__ import annotations

import json

import pytest

from infra.project import PROJECT
from tests.infra.support import run_stack
from tests.support.pulumi_harness import ACCOUNT, REGION

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
API = "aws:apigatewayv2/api:Api"


def alarms(run) -> dict[str, dict]:
    return {a.inputs["name"].removeprefix(f"{PROJECT}-dev."): a.inputs for a in run.of_type(ALARM)}


def test_the_default_alarms_watch_the_function_and_the_api(default_run):
    found = alarms(default_run)
    assert set(found) == {"errors", "throttles", "duration", "5xx"}  # no reservation: no concurrency alarm
    api_id = default_run.one(API).id
    watched = {name: (a["namespace"], a["metricName"], a["dimensions"]) for name, a in found.items()}
    assert watched == {
        "errors": ("AWS/Lambda", "Errors", {"FunctionName": f"{PROJECT}-dev"}),
        "throttles": ("AWS/Lambda", "Throttles", {"FunctionName": f"{PROJECT}-dev"}),
        "duration": ("AWS/Lambda", "Duration", {"FunctionName": f"{PROJECT}-dev"}),
        # HTTP APIs publish `5xx` with the dimension ApiId (REST APIs: 5XXError, ApiName)
        "5xx": ("AWS/ApiGateway", "5xx", {"ApiId": api_id}),
    }


def test_the_default_thresholds(default_run):
    found = alarms(default_run)
    assert (found["errors"]["statistic"], found["errors"]["threshold"]) == ("Sum", 1)
    assert found["errors"]["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (found["throttles"]["statistic"], found["throttles"]["threshold"]) == ("Sum", 1)
    assert (found["5xx"]["statistic"], found["5xx"]["threshold"]) == ("Sum", 1)
    # p99 above 80% of the default 29 s timeout
    assert (found["duration"]["extendedStatistic"], found["duration"]["threshold"]) == ("p99", 23_200)
    assert "statistic" not in found["duration"]
    assert all(a["treatMissingData"] == "notBreaching" for a in found.values())


def test_every_alarm_notifies_the_stack_topic_and_the_topic_is_an_output(default_run):
    topic = default_run.one(TOPIC)
    assert topic.inputs["name"] == f"{PROJECT}-dev_alarms"
    for alarm in default_run.of_type(ALARM):
        assert alarm.inputs["alarmActions"] == [topic.state["arn"]], alarm.name
        assert alarm.inputs["okActions"] == [topic.state["arn"]], alarm.name
    assert default_run.outputs["alarmTopicArn"] == topic.state["arn"]
    assert not default_run.of_type(SUBSCRIPTION)  # no alarmEmail, no subscription


def test_only_this_stacks_alarms_may_publish_to_the_topic(default_run):
    (statement,) = json.loads(default_run.one(TOPIC_POLICY).inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == default_run.one(TOPIC).state["arn"]
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{PROJECT}-dev.*"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    names = [a.inputs["name"] for a in default_run.of_type(ALARM)]
    assert all(name.startswith(f"{PROJECT}-dev.") for name in names)


def test_a_reservation_adds_the_concurrency_alarm_near_it():
    found = alarms(run_stack({"reservedConcurrency": 50}))
    concurrency = found["concurrency"]
    assert (concurrency["namespace"], concurrency["metricName"], concurrency["statistic"]) == (
        "AWS/Lambda",
        "ConcurrentExecutions",
        "Maximum",
    )
    assert concurrency["threshold"] == 40  # 80% of 50


def test_the_duration_threshold_follows_the_timeout():
    assert alarms(run_stack({"timeout": 10}))["duration"]["threshold"] == 8_000


def test_the_dashboard_shows_the_function_the_api_and_the_alarms(default_run):
    board = default_run.one(DASHBOARD)
    assert board.inputs["dashboardName"] == f"{PROJECT}-dev"
    widgets = json.loads(board.inputs["dashboardBody"])["widgets"]
    metrics = set()
    stats = set()
    for widget in widgets:
        for line in widget["properties"].get("metrics", []):
            namespace, name, *_dimensions = [part for part in line if not isinstance(part, dict)]
            metrics.add((namespace, name))
            stats |= {(name, part["stat"]) for part in line if isinstance(part, dict)}
    assert metrics >= {
        ("AWS/Lambda", "Invocations"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "ConcurrentExecutions"),
        ("AWS/ApiGateway", "Count"),
        ("AWS/ApiGateway", "4xx"),
        ("AWS/ApiGateway", "5xx"),
        ("AWS/ApiGateway", "Latency"),
    }
    assert {("Duration", "p50"), ("Duration", "p99")} <= stats
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(
        a.state["arn"] for a in default_run.of_type(ALARM)
    )


def test_the_dashboard_url_opens_it_in_the_console(default_run):
    assert default_run.outputs["dashboardUrl"] == (
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
        f"#dashboards:name={PROJECT}-dev"
    )


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_every_partition_has_a_console_host(partition):
    from infra.monitoring import dashboard_url

    assert dashboard_url(partition, "r-1", "d").startswith("https://r-1.console.")
