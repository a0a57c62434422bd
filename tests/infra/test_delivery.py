"""Delivery: the deployment of each published version (all at once or through CodeDeploy), the warm-up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import infra.config
from infra import delivery, function_contract
from infra.config import ConfigError
from infra.deployment_preferences import DEPLOYMENT_PREFERENCES
from infra.iam_rules import stack_role_path
from infra.project import PROJECT
from tests.infra.support import ALIAS, FUNCTION, PERMISSION, ROLE, ROLE_POLICY, ROOT, run_stack
from tests.support.iam import Request, allowed
from tests.support.pulumi_harness import ACCOUNT, REGION, HarnessMocks

COMMAND = "command:local:Command"
APPLICATION = "aws:codedeploy/application:Application"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SCHEDULE = "aws:scheduler/schedule:Schedule"
CONTRACT = function_contract.load_cases(ROOT / "function" / "events")

# SAM DeploymentPreference Type -> CodeDeploy predefined configuration (CodeDeploy User Guide, "Deployment
# configurations on an AWS Lambda compute platform"; samtranslator's
# CODEDEPLOY_PREDEFINED_CONFIGURATIONS_LIST)
PREDEFINED = {
    "Canary10Percent5Minutes": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "Canary10Percent10Minutes": "CodeDeployDefault.LambdaCanary10Percent10Minutes",
    "Canary10Percent15Minutes": "CodeDeployDefault.LambdaCanary10Percent15Minutes",
    "Canary10Percent30Minutes": "CodeDeployDefault.LambdaCanary10Percent30Minutes",
    "Linear10PercentEvery1Minute": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes": "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes": "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes": "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
}


def spec(run) -> dict:
    return json.loads(run.one(COMMAND).inputs["stdin"])


def test_by_default_the_alias_moves_all_at_once_after_the_smoke_requests(default_run):
    assert not default_run.of_type(APPLICATION) and not default_run.of_type(GROUP)
    command = default_run.one(COMMAND)
    assert command.inputs["create"].endswith(" -m infra.deployment_runner")
    assert Path(command.inputs["dir"]) == ROOT
    found = spec(default_run)
    assert found["codeDeploy"] is None
    assert (found["functionName"], found["alias"], found["repositoryName"]) == (
        f"{PROJECT}-dev",
        "live",
        f"{PROJECT}-dev",
    )
    assert found["targetVersion"] == default_run.one(FUNCTION).state["version"]
    assert found["keepVersions"] == 10  # keepImages
    assert found["protectedTagPrefix"] == "lambda-version-"
    # the smoke requests are the function contract's requests a deployed stack may receive
    assert found["smokeCases"] == [
        {"name": c.name, "event": c.event, "status": c.expected.status, "contains": c.expected.contains}
        for c in function_contract.deployable_cases(CONTRACT)
    ]


def test_an_event_marked_smoke_false_never_reaches_a_deployed_version(tmp_path, monkeypatch):
    # a copy of the function with one more event, a copy of its first deployable one marked "smoke": false
    # (however many events the team's function has, one is enough)
    shutil.copytree(
        ROOT / "function", tmp_path / "function", ignore=shutil.ignore_patterns("__pycache__", ".venv*")
    )
    events = tmp_path / "function" / "events"
    deployable = [case.name for case in function_contract.deployable_cases(CONTRACT)]
    marked = "zz-marked-smoke-false.json"
    shutil.copyfile(events / deployable[0], events / marked)
    expected_file = events / "expected-status.json"
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    entry = expected[deployable[0]]
    expected[marked] = {**(entry if isinstance(entry, dict) else {"status": entry}), "smoke": False}
    expected_file.write_text(json.dumps(expected), encoding="utf-8")
    monkeypatch.setattr(infra.config, "ROOT", tmp_path)
    sent = [case["name"] for case in spec(run_stack({"warmUpSchedule": "off"}))["smokeCases"]]
    assert sent == deployable, f"{marked} is marked smoke: false; sent {sent}, expected {deployable}"


def test_the_deployment_runs_again_for_each_new_version_and_after_the_alias_exists(default_run):
    command = default_run.one(COMMAND)
    assert command.inputs["triggers"][0] == default_run.one(FUNCTION).state["version"]
    assert default_run.one(ALIAS).urn in command.property_dependencies["stdin"]


def new_version_alarms(run) -> dict[str, dict]:
    """The alarms that watch only the invocations of the published version through the alias (SAM's canary
    alarms: dimensions FunctionName, Resource = <function>:<alias>, ExecutedVersion = the version)."""
    function = run.one(FUNCTION).inputs["name"]
    version = run.one(FUNCTION).state.get("version")
    found = {}
    for alarm in run.of_type(ALARM):
        dimensions = alarm.inputs.get("dimensions") or {}
        if "ExecutedVersion" in dimensions:
            assert dimensions == {
                "FunctionName": function,
                "Resource": f"{function}:live",
                "ExecutedVersion": version,
            }
            found[alarm.inputs["name"]] = alarm.inputs
    return found


def test_a_codedeploy_deployment_is_not_stopped_by_the_serving_versions_alarms():
    """During an incident the serving version's function-wide alarms are in ALARM; CodeDeploy watches only the
    new version's, so the fix can deploy (docs/operations.md)."""
    run = run_stack({"deploymentPreference": "Canary10Percent5Minutes"})
    watched = set(run.one(GROUP).inputs["alarmConfiguration"]["alarms"])
    assert watched and watched == set(new_version_alarms(run))
    metrics = {alarm["metricName"] for alarm in new_version_alarms(run).values()}
    assert metrics == {"Errors", "Duration"}
    # the deployment starts after the alarms watch this deploy's version
    depended = {run.by_urn(urn).inputs.get("name") for urn in run.one(COMMAND).depends_on}
    assert watched <= depended


def test_all_at_once_creates_no_new_version_alarms(default_run):
    assert not new_version_alarms(default_run)


@pytest.mark.parametrize(("preference", "config_name"), PREDEFINED.items())
def test_a_sam_preference_shifts_through_codedeploy_watching_the_new_versions_alarms(preference, config_name):
    run = run_stack({"deploymentPreference": preference})
    application = run.one(APPLICATION).inputs
    assert (application["name"], application["computePlatform"]) == (f"{PROJECT}-dev", "Lambda")
    group = run.one(GROUP).inputs
    assert group["deploymentConfigName"] == config_name
    assert group["appName"] == f"{PROJECT}-dev"
    assert group["deploymentStyle"] == {
        "deploymentOption": "WITH_TRAFFIC_CONTROL",
        "deploymentType": "BLUE_GREEN",
    }
    assert group["autoRollbackConfiguration"] == {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    assert group["alarmConfiguration"]["enabled"] is True
    assert sorted(group["alarmConfiguration"]["alarms"]) == sorted(new_version_alarms(run))
    code_deploy = spec(run)["codeDeploy"]
    assert code_deploy["application"] == f"{PROJECT}-dev"
    assert code_deploy["deploymentGroup"] == group["deploymentGroupName"]
    # the runner waits at least as long as the configuration shifts
    assert code_deploy["timeoutSeconds"] > DEPLOYMENT_PREFERENCES[preference] * 60


def test_without_the_bootstrap_the_codedeploy_role_has_no_boundary_either():
    # a first local deploy into an account without the bootstrap: no boundary exists for any role to carry
    boundary = f"arn:aws:iam::123456789012:policy/{PROJECT}-ci/{PROJECT}.boundary.dev"
    run = run_stack(
        {"deploymentPreference": "Canary10Percent5Minutes"}, mocks=HarnessMocks(missing_policies=[boundary])
    )
    roles = {r.inputs["name"]: r.inputs for r in run.of_type(ROLE)}
    assert set(roles) == {f"{PROJECT}-dev", f"{PROJECT}-dev.codedeploy", f"{PROJECT}-dev.scheduler"}
    assert all("permissionsBoundary" not in inputs for inputs in roles.values()), roles


def test_codedeploy_may_shift_only_this_alias_and_read_only_these_alarms():
    run = run_stack({"deploymentPreference": "Canary10Percent5Minutes"})
    (role,) = [r for r in run.of_type(ROLE) if r.inputs["name"] == f"{PROJECT}-dev.codedeploy"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "codedeploy.amazonaws.com"}]
    # like every role of the stack: its path and its permissions boundary (infra/iam_rules.py)
    assert role.inputs["path"] == stack_role_path("dev")
    assert role.inputs["permissionsBoundary"] == run.named("function-role").inputs["permissionsBoundary"]
    (policy,) = [p for p in run.of_type(ROLE_POLICY) if p.inputs["role"] == f"{PROJECT}-dev.codedeploy"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    function_arn = run.one(FUNCTION).state["arn"]
    assert statements["ShiftTheAlias"]["Resource"] == [function_arn, f"{function_arn}:*"]
    assert statements["WatchTheAlarms"]["Resource"] == sorted(
        a.state["arn"] for a in run.of_type(ALARM) if a.inputs["name"] in new_version_alarms(run)
    )


def test_an_unknown_preference_is_refused_before_any_resource():
    with pytest.raises(ConfigError) as error:
        run_stack({"deploymentPreference": "Canary50Percent1Minute"})
    assert "deploymentPreference" in str(error.value) and "Canary10Percent5Minutes" in str(error.value)
    assert not [r for r in error.value.registered if r.custom]


def test_the_warm_up_invokes_the_alias_weekly_with_the_health_request(default_run):
    schedule = default_run.one(SCHEDULE).inputs
    assert schedule["scheduleExpression"] == "rate(7 days)"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule["groupName"] == "default"
    assert schedule["target"]["arn"] == default_run.one(ALIAS).state["arn"]
    # the health request is chosen among the events a deployed stack may get
    assert json.loads(schedule["target"]["input"]) == delivery.health_event(
        function_contract.deployable_cases(CONTRACT)
    )
    # no grant in the function's resource policy: the schedule invokes through its execution role
    assert [p.inputs["principal"] for p in default_run.of_type(PERMISSION)] == ["apigateway.amazonaws.com"]


def test_the_warm_up_role_may_invoke_the_alias_only_for_this_accounts_schedules(default_run):
    role = default_run.named("warm-up-role")
    assert role.inputs["name"] == f"{PROJECT}-dev.scheduler"
    assert role.inputs["path"] == stack_role_path("dev")
    assert (
        role.inputs["permissionsBoundary"] == default_run.named("function-role").inputs["permissionsBoundary"]
    )
    assert default_run.one(SCHEDULE).inputs["target"]["roleArn"] == role.state["arn"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": ACCOUNT,
            "aws:SourceArn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/default",
        }
    }
    policy = json.loads(default_run.named("warm-up-policy").inputs["policy"])
    alias = default_run.one(ALIAS).state["arn"]
    assert allowed(Request("lambda:InvokeFunction", alias, {}), [policy])
    function = default_run.one(FUNCTION).state["arn"]
    for action, arn in [
        ("lambda:InvokeFunction", function),
        ("lambda:InvokeFunction", alias.replace("-dev:", "-production:")),
        ("lambda:UpdateFunctionCode", alias),
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue"),
    ]:
        assert not allowed(Request(action, arn, {}), [policy]), (action, arn)


def test_the_warm_up_schedule_is_configurable_or_off():
    assert (
        run_stack({"warmUpSchedule": "rate(1 day)"}).one(SCHEDULE).inputs["scheduleExpression"]
        == "rate(1 day)"
    )
    off = run_stack({"warmUpSchedule": "off"})
    assert not off.of_type(SCHEDULE)
    assert [r.inputs["name"] for r in off.of_type(ROLE)] == [f"{PROJECT}-dev"]
    assert [p.inputs["principal"] for p in off.of_type(PERMISSION)] == ["apigateway.amazonaws.com"]


def case(name: str, method: str, status: int) -> function_contract.Case:
    event = {"version": "2.0", "rawPath": f"/{name}", "requestContext": {"http": {"method": method}}}
    return function_contract.Case(name, Path(name), event, function_contract.Expected(status))


def test_the_health_request_is_the_contracts_first_get_answering_2xx_else_its_first_2xx():
    cases = [
        case("a.json", "GET", 405),
        case("b.json", "POST", 200),
        case("c.json", "GET", 200),
        case("d.json", "GET", 204),
    ]
    assert delivery.health_event(cases)["rawPath"] == "/c.json"
    assert delivery.health_event(cases[:2])["rawPath"] == "/b.json"
    assert delivery.health_event(cases[:1])["rawPath"] == "/a.json"
    with pytest.raises(ValueError, match="no event"):
        delivery.health_event([])
