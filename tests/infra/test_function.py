"""Function: execution role and its documents, log group first, image function settings, alias variant."""

from __future__ import annotations

import logging

import pytest

from infra.project import PROJECT
from tests.infra.support import (
    ALIAS,
    ATTACHMENT,
    FUNCTION,
    FUNCTION_ROLE,
    FUNCTION_ROLE_POLICY,
    LOG_GROUP,
    PERMISSION,
    PROVISIONED,
    ROLE,
    ROLE_POLICY,
    log_group,
    policy_document,
    run_stack,
)
from tests.support.iam import ALLOWED, Request, evaluate
from tests.support.pulumi_harness import HarnessMocks
from tests.support.second_dockerfile import snapstart_function

LOG_GROUP_ARN = f"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/{PROJECT}-dev"
READ_ONLY = f"arn:aws:iam::123456789012:policy/{PROJECT}/team/reads-the-table"
OWN_POLICY = f"arn:aws:iam::123456789012:policy/{PROJECT}/team/reads-the-bucket"


def statements(run) -> list[dict]:
    return policy_document(run.named(FUNCTION_ROLE_POLICY))["Statement"]


def test_the_role_is_trusted_by_lambda_only(default_run):
    role = default_run.named(FUNCTION_ROLE).inputs
    assert role["name"] == f"{PROJECT}-dev" and role["path"] == f"/{PROJECT}/dev/"
    (statement,) = policy_document(default_run.named(FUNCTION_ROLE), "assumeRolePolicy")["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert "Condition" not in statement


def test_the_role_carries_the_stacks_permissions_boundary(default_run):
    # the bootstrap's deploy role may create the role only with this boundary (infra/iam_rules.py)
    role = default_run.named(FUNCTION_ROLE).inputs
    assert (
        role["permissionsBoundary"] == f"arn:aws:iam::123456789012:policy/{PROJECT}-ci/{PROJECT}.boundary.dev"
    )


BOUNDARY = f"arn:aws:iam::123456789012:policy/{PROJECT}-ci/{PROJECT}.boundary.dev"


def test_without_the_bootstrap_the_role_has_no_boundary_and_a_warning_says_why(caplog):
    # a first `make deploy` into an account without the bootstrap: IAM has no boundary to refer to
    run = run_stack(mocks=HarnessMocks(missing_policies=[BOUNDARY]))
    assert "permissionsBoundary" not in run.named(FUNCTION_ROLE).inputs
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(BOUNDARY in message for message in warnings), warnings


def test_the_boundary_is_looked_up_by_its_arn(default_run):
    assert ("aws:iam/getPolicy:getPolicy", {"arn": BOUNDARY}) in default_run.calls


def test_any_other_failure_of_the_boundary_lookup_stops_the_program():
    denied = {"aws:iam/getPolicy:getPolicy": lambda m, a: ({}, [("arn", "reading IAM Policy: AccessDenied")])}
    with pytest.raises(Exception, match="AccessDenied"):
        run_stack(mocks=HarnessMocks(extra_calls=denied))


def test_the_inline_policy_writes_to_its_own_log_group_only(default_run):
    policy = default_run.named(FUNCTION_ROLE_POLICY)
    assert policy.inputs["role"] == f"{PROJECT}-dev"
    logs = [s for s in statements(default_run) if any(a.startswith("logs:") for a in s["Action"])]
    assert logs == [
        {
            "Sid": "WriteOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{LOG_GROUP_ARN}:*"],
        }
    ]


def test_no_wildcard_action_and_resource_star_only_for_xray(default_run):
    for statement in statements(default_run):
        actions = statement["Action"]
        assert all("*" not in action for action in actions)
        if statement["Resource"] == "*":
            assert all(action.startswith("xray:") for action in actions)


def test_tracing_adds_the_xray_writes_and_is_active(default_run):
    xray = [s for s in statements(default_run) if s["Sid"] == "WriteTraces"]
    assert xray == [
        {
            "Sid": "WriteTraces",
            "Effect": "Allow",
            "Resource": "*",
            "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        }
    ]
    assert default_run.one(FUNCTION).inputs["tracingConfig"] == {"mode": "Active"}


def test_without_tracing_there_is_no_xray_permission():
    run = run_stack({"tracing": False})
    # the platform's own statements; those function/permissions.json declares (Sid Declared<Sid>) are the
    # function's, whatever it is
    own = [s for s in statements(run) if not s["Sid"].startswith("Declared")]
    assert [s["Sid"] for s in own] == ["WriteOwnLogGroup"]
    actions = [a for s in own for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if a.startswith("xray:")]
    assert run.one(FUNCTION).inputs["tracingConfig"] == {"mode": "PassThrough"}


def test_the_log_group_exists_before_the_function_with_retention(default_run):
    group = log_group(default_run, f"/aws/lambda/{PROJECT}-dev")
    assert group.inputs["retentionInDays"] == 14
    function = default_run.one(FUNCTION)
    assert group.urn in function.depends_on
    assert default_run.named(FUNCTION_ROLE_POLICY).urn in function.depends_on
    assert function.inputs["loggingConfig"] == {
        "logFormat": "JSON",
        "logGroup": f"/aws/lambda/{PROJECT}-dev",
        "applicationLogLevel": "INFO",
        "systemLogLevel": "INFO",
    }


def test_log_retention_is_configurable():
    run = run_stack({"logRetentionDays": 365})
    assert {g.inputs["retentionInDays"] for g in run.of_type(LOG_GROUP)} == {365}


def test_the_function_defaults(default_run):
    function = default_run.one(FUNCTION).inputs
    assert function["name"] == f"{PROJECT}-dev"
    assert function["packageType"] == "Image"
    assert function["role"] == f"arn:aws:iam::123456789012:role/{PROJECT}/dev/{PROJECT}-dev"
    assert (function["memorySize"], function["timeout"]) == (1024, 29)
    assert function["ephemeralStorage"] == {"size": 512}
    assert function["reservedConcurrentExecutions"] == -1  # unreserved
    assert function["publish"] is True  # every deploy publishes a version behind the alias `live`
    assert function["environment"] == {"variables": {"POWERTOOLS_LOG_LEVEL": "INFO"}}
    assert not default_run.of_type(PROVISIONED)
    assert not default_run.of_type(ATTACHMENT)


def test_memory_timeout_storage_and_reserved_concurrency_are_passed_through():
    function = (
        run_stack({"memorySize": 2048, "timeout": 60, "ephemeralStorage": 1024, "reservedConcurrency": 5})
        .one(FUNCTION)
        .inputs
    )
    assert (
        function["memorySize"],
        function["timeout"],
        function["ephemeralStorage"]["size"],
        function["reservedConcurrentExecutions"],
    ) == (2048, 60, 1024, 5)


def test_environment_variables_reach_the_function():
    variables = {"POWERTOOLS_SERVICE_NAME": "orders", "MODEL_STAGE": "beta"}
    function = run_stack({"environment": variables}).one(FUNCTION)
    assert function.inputs["environment"] == {"variables": {"POWERTOOLS_LOG_LEVEL": "INFO", **variables}}
    assert function.secret_paths == set() and function.additional_secret_outputs == []


@pytest.mark.parametrize(
    ("level", "system", "powertools"),
    [
        ("TRACE", "DEBUG", "DEBUG"),
        ("DEBUG", "INFO", "DEBUG"),
        ("WARN", "WARN", "WARNING"),
        ("ERROR", "INFO", "ERROR"),
        ("FATAL", "WARN", "CRITICAL"),
    ],
)
def test_log_levels_set_the_logging_config_and_powertools(level, system, powertools):
    function = run_stack({"logLevel": level, "systemLogLevel": system}).one(FUNCTION).inputs
    assert function["loggingConfig"]["logFormat"] == "JSON"  # Lambda filters levels of JSON logs only
    assert (
        function["loggingConfig"]["applicationLogLevel"],
        function["loggingConfig"]["systemLogLevel"],
    ) == (level, system)
    assert function["environment"]["variables"]["POWERTOOLS_LOG_LEVEL"] == powertools


def test_powertools_reads_the_level_the_program_sets(monkeypatch):
    """POWERTOOLS_LOG_LEVEL is a level Powertools' Logger accepts, and Powertools finds it consistent with the
    level Lambda passes as AWS_LAMBDA_LOG_LEVEL (it warns when they disagree). Powertools is the platform's
    test dependency here (requirements-dev.txt): whether the function uses it is the function's choice."""
    import warnings

    from aws_lambda_powertools import Logger

    for level, python_level in (
        ("TRACE", 0),
        ("DEBUG", 10),
        ("INFO", 20),
        ("WARN", 30),
        ("ERROR", 40),
        ("FATAL", 50),
    ):
        variables = run_stack({"logLevel": level}).one(FUNCTION).inputs["environment"]["variables"]
        monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", variables["POWERTOOLS_LOG_LEVEL"])
        monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL", raising=False)
        assert Logger(service=f"alone-{level}").log_level == max(python_level, 10), level
        monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", level)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert Logger(service=f"in-lambda-{level}").log_level == python_level, level


def test_extra_policies_are_attached_to_the_role_and_nothing_else_changes(default_run):
    run = run_stack({"extraPolicyArns": [READ_ONLY, OWN_POLICY]})
    attached = sorted((a.inputs["role"], a.inputs["policyArn"]) for a in run.of_type(ATTACHMENT))
    assert attached == [(f"{PROJECT}-dev", OWN_POLICY), (f"{PROJECT}-dev", READ_ONLY)]
    assert run.named(FUNCTION_ROLE_POLICY).inputs == default_run.named(FUNCTION_ROLE_POLICY).inputs
    assert {a.urn for a in run.of_type(ATTACHMENT)} <= set(run.one(FUNCTION).depends_on)


def test_reordering_extra_policies_keeps_their_logical_names():
    first = run_stack({"extraPolicyArns": [READ_ONLY, OWN_POLICY]})
    second = run_stack({"extraPolicyArns": [OWN_POLICY, READ_ONLY]})
    assert {a.name for a in first.of_type(ATTACHMENT)} == {a.name for a in second.of_type(ATTACHMENT)}


@pytest.fixture(scope="module")
def provisioned_run():
    return run_stack({"provisionedConcurrency": 3, "reservedConcurrency": 10})


@pytest.mark.parametrize("config", [{}, {"provisionedConcurrency": 3, "reservedConcurrency": 10}])
def test_every_stack_publishes_a_version_behind_the_alias_live(config):
    run = run_stack(config)
    function = run.one(FUNCTION)
    assert function.inputs["publish"] is True
    alias = run.one(ALIAS)
    assert alias.inputs["name"] == "live" and alias.inputs["functionName"] == f"{PROJECT}-dev"
    assert alias.inputs["functionVersion"] == function.state["version"] == "1"
    # after its creation only the deployment moves the alias (CodeDeploy's shifts are never reverted)
    assert set(alias.ignore_changes) == {"functionVersion", "routingConfig"}


def test_provisioned_concurrency_stays_on_the_alias(provisioned_run):
    config = provisioned_run.one(PROVISIONED).inputs
    assert config == {
        "functionName": f"{PROJECT}-dev",
        "qualifier": "live",
        "provisionedConcurrentExecutions": 3,
    }


@pytest.mark.parametrize("config", [{}, {"provisionedConcurrency": 3, "reservedConcurrency": 10}])
def test_the_api_always_invokes_the_alias(config):
    provisioned_run = run_stack(config)
    alias_arn = provisioned_run.one(ALIAS).state["arn"]
    assert alias_arn.endswith(f":function:{PROJECT}-dev:live")
    integration = provisioned_run.one("aws:apigatewayv2/integration:Integration").inputs
    assert integration["integrationUri"] == provisioned_run.one(ALIAS).state["invokeArn"]
    assert provisioned_run.outputs["invokeArn"] == provisioned_run.one(ALIAS).state["invokeArn"]
    (permission,) = [
        p for p in provisioned_run.of_type(PERMISSION) if p.inputs["principal"] == "apigateway.amazonaws.com"
    ]
    assert permission.inputs["qualifier"] == "live"
    # the permission on the alias is added only once the alias exists
    assert provisioned_run.one(ALIAS).urn in permission.property_dependencies["qualifier"]


def test_the_function_children_belong_to_the_component(provisioned_run):
    (component,) = provisioned_run.of_type(f"{PROJECT}:infra:Function")
    children = {r.typ for r in provisioned_run.children_of(component)}
    assert children == {LOG_GROUP, ROLE, ROLE_POLICY, FUNCTION, ALIAS, PROVISIONED}


# --- VPC access and SnapStart ------------------------------------------------------------------------------

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SECURITY_GROUP = "sg-0123456789abcdef0"
VPC = {"vpcSubnetIds": SUBNETS, "vpcSecurityGroupIds": [SECURITY_GROUP]}
EC2 = "arn:aws:ec2:eu-west-1:123456789012"
FUNCTION_ARN = f"arn:aws:lambda:eu-west-1:123456789012:function:{PROJECT}-dev"


def test_without_vpc_keys_the_function_has_no_vpc_and_no_network_permission(default_run):
    assert "vpcConfig" not in default_run.one(FUNCTION).inputs
    assert not any(a.startswith("ec2:") for s in statements(default_run) for a in s["Action"])


def test_the_vpc_keys_become_the_functions_vpc_config():
    config = run_stack(VPC).one(FUNCTION).inputs["vpcConfig"]
    assert config == {"subnetIds": SUBNETS, "securityGroupIds": [SECURITY_GROUP]}


@pytest.mark.parametrize(
    ("request_", "allowed"),
    [
        # Lambda creates the function's interfaces in its subnets with its security groups...
        (Request("ec2:CreateNetworkInterface", f"{EC2}:subnet/{SUBNETS[1]}"), True),
        (Request("ec2:CreateNetworkInterface", f"{EC2}:security-group/{SECURITY_GROUP}"), True),
        (Request("ec2:CreateNetworkInterface", f"{EC2}:network-interface/*"), True),
        # ...never in another subnet, with another security group, or in another region or account
        (Request("ec2:CreateNetworkInterface", f"{EC2}:subnet/subnet-0aaaaaaaaaaaaaaaa"), False),
        (Request("ec2:CreateNetworkInterface", f"{EC2}:security-group/sg-0aaaaaaaaaaaaaaaa"), False),
        (
            Request("ec2:CreateNetworkInterface", f"arn:aws:ec2:us-east-1:123456789012:subnet/{SUBNETS[0]}"),
            False,
        ),
        (Request("ec2:DeleteNetworkInterface", f"{EC2}:network-interface/eni-0123456789abcdef0"), True),
        (
            Request(
                "ec2:DeleteNetworkInterface", "arn:aws:ec2:eu-west-1:999999999999:network-interface/eni-1"
            ),
            False,
        ),
        (Request("ec2:DescribeNetworkInterfaces", "*"), True),
        # the function's own code (Lambda adds lambda:SourceFunctionArn to its requests) gets none of them
        (
            Request(
                "ec2:CreateNetworkInterface",
                f"{EC2}:subnet/{SUBNETS[0]}",
                {"lambda:SourceFunctionArn": FUNCTION_ARN},
            ),
            False,
        ),
        (Request("ec2:DescribeSubnets", "*", {"lambda:SourceFunctionArn": FUNCTION_ARN}), False),
        (Request("ec2:ModifyNetworkInterfaceAttribute", f"{EC2}:network-interface/eni-1"), False),
    ],
    ids=str,
)
def test_the_execution_role_may_manage_network_interfaces_only_as_lambda_does(request_, allowed):
    policy = policy_document(run_stack(VPC).named(FUNCTION_ROLE_POLICY))
    assert (evaluate(request_, [policy]) == ALLOWED) == allowed


def test_one_subnet_is_accepted_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        run = run_stack({"vpcSubnetIds": SUBNETS[:1], "vpcSecurityGroupIds": [SECURITY_GROUP]})
    assert run.one(FUNCTION).inputs["vpcConfig"]["subnetIds"] == SUBNETS[:1]
    assert "one subnet" in caplog.text and "Availability Zone" in caplog.text


def test_snapstart_applies_to_published_versions_only_when_set(default_run, tmp_path):
    assert "snapStart" not in default_run.one(FUNCTION).inputs
    with snapstart_function(tmp_path):
        function = run_stack({"snapStart": True}).one(FUNCTION).inputs
    assert function["snapStart"] == {"applyOn": "PublishedVersions"} and function["publish"] is True
