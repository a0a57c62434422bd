"""The permissions a function declares (function/permissions.json, infra/function_permissions.py): the rules
they keep, how the program attaches them to the execution role, how the bootstrap's boundary admits exactly
the approved ones, and the policy pack's verdict. What the role may do is evaluated request by request
(tests/support/iam.py): the execution role's inline policy under the stack's boundary."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pulumi
import pytest

import infra.config
from bootstrap import policies
from infra import catalogue, function_permissions
from infra.function import execution_policy, resource_statements
from infra.function_inputs import FunctionInputError
from infra.function_permissions import PermissionsError, Scope, load_statements, render, unapproved
from infra.project import PROJECT, prefix_for
from tests.infra.support import FUNCTION_ROLE_POLICY, ROLE_POLICY, ROOT, policy_document, run_stack
from tests.policy.support import document, violations
from tests.support.iam import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, evaluate

PARTITION, REGION, ACCOUNT = "aws", "eu-west-1", "123456789012"  # the harness's caller and region
DEV = Scope(PARTITION, REGION, ACCOUNT, "dev")
READ_ORDERS = {
    "Sid": "ReadOrders",
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:{partition}:s3:::orders-{stack}", "arn:{partition}:s3:::orders-{stack}/*"],
}
WRITE_EVENTS = {
    "Sid": "WriteEvents",
    "Effect": "Allow",
    "Action": "events:PutEvents",
    "Resource": "arn:{partition}:events:{region}:{account}:event-bus/{project}-{stack}",
}


def write_document(path: Path, *statements: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), encoding="utf-8")
    return path


@contextmanager
def function_declaring(directory: Path, *statements: dict[str, Any]) -> Iterator[Path]:
    """Within the block the program sees a copy of function/ whose permissions.json holds `statements`."""
    copy = directory / "function"
    shutil.copytree(ROOT / "function", copy, ignore=shutil.ignore_patterns("__pycache__", ".venv*"))
    write_document(copy / "permissions.json", *statements)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra.config, "ROOT", directory)
        yield copy


# --- the rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (READ_ORDERS | {"Effect": "Deny"}, "Effect must be Allow"),
        (READ_ORDERS | {"Sid": "read-orders"}, "Sid must be 1-100 letters and digits"),
        (READ_ORDERS | {"Principal": "*"}, "Principal is not allowed"),
        (READ_ORDERS | {"Action": "s3:*"}, "is not service:Action without wildcards"),
        (READ_ORDERS | {"Action": "s3:Get*"}, "is not service:Action without wildcards"),
        (READ_ORDERS | {"Action": "*"}, "is not service:Action without wildcards"),
        (READ_ORDERS | {"Action": "iam:PassRole"}, "no IAM action may be declared"),
        (READ_ORDERS | {"Action": "sts:AssumeRole"}, "no STS action may be declared"),
        (READ_ORDERS | {"Action": "kms:PutKeyPolicy"}, "of KMS only the use of a key"),
        (READ_ORDERS | {"Action": "kms:CreateGrant"}, "of KMS only the use of a key"),
        ({k: v for k, v in READ_ORDERS.items() if k != "Resource"}, "Resource must be an ARN"),
    ],
)
def test_a_statement_against_the_rules_is_refused_naming_it(tmp_path, statement, problem):
    with pytest.raises(PermissionsError, match=problem):
        load_statements(write_document(tmp_path / "permissions.json", statement))


@pytest.mark.parametrize(
    ("resource", "problem"),
    [
        ("*", "is not an ARN"),
        ("arn:aws:s3:::*", "holds a wildcard"),
        ("arn:aws:s3:::orders-*/x", "holds a wildcard"),
        ("arn:aws:dynamodb:{region}:{account}:table/*", "holds a wildcard"),
        ("arn:aws:dynamodb:{region}:{account}:table/orders/index/*", "holds a wildcard"),
        ("arn:aws:dynamodb:us-east-1:{account}:table/orders", "not of the stack's region eu-west-1"),
        ("arn:aws:dynamodb:{region}:999999999999:table/orders", "not of the stack's account"),
        ("arn:aws-cn:s3:::orders", "not of the stack's partition aws"),
        ("arn:aws:s3:::orders-{environment}", "unknown placeholder"),
    ],
)
def test_a_resource_outside_the_stack_or_with_a_wildcard_is_refused(resource, problem):
    with pytest.raises(PermissionsError, match=problem):
        render([READ_ORDERS | {"Resource": [resource]}], DEV)


def test_the_objects_of_one_bucket_and_the_stacks_own_names_are_allowed():
    (statement,) = render([READ_ORDERS], DEV)
    assert statement["Resource"] == ["arn:aws:s3:::orders-dev", "arn:aws:s3:::orders-dev/*"]
    (events,) = render([WRITE_EVENTS], DEV)
    assert events["Resource"] == [f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{PROJECT}-dev"]


def test_every_problem_is_listed_at_once(tmp_path):
    path = write_document(tmp_path / "p.json", READ_ORDERS | {"Action": "iam:PassRole"}, READ_ORDERS)
    with pytest.raises(PermissionsError) as caught:
        load_statements(path)
    assert len(caught.value.problems) == 2 and "'ReadOrders' is used twice" in str(caught.value)


def test_a_function_without_the_file_declares_nothing(tmp_path):
    assert load_statements(tmp_path / "permissions.json") == []


# --- approval ----------------------------------------------------------------------------------------------


def test_approved_statements_cover_their_rendered_forms_only():
    declared = render([READ_ORDERS], DEV)
    assert unapproved(declared, [READ_ORDERS], "dev") == []
    assert unapproved(declared, [READ_ORDERS], "prod") != [], "dev's bucket is not prod's"
    wider = render([READ_ORDERS | {"Action": ["s3:GetObject", "s3:PutObject"]}], DEV)
    (problem,) = unapproved(wider, [READ_ORDERS], "dev")
    assert "wider than approved" in problem and "s3:PutObject" in problem
    (problem,) = unapproved(render([WRITE_EVENTS], DEV), [READ_ORDERS], "dev")
    assert "WriteEvents: not approved" in problem


# --- the program ---------------------------------------------------------------------------------------------


def test_the_program_attaches_the_declared_statements_to_the_execution_role(tmp_path):
    with function_declaring(tmp_path, READ_ORDERS):
        run = run_stack()
    policy = policy_document(run.named(FUNCTION_ROLE_POLICY))
    (declared,) = [s for s in policy["Statement"] if s["Sid"] == "DeclaredReadOrders"]
    assert declared["Resource"] == ["arn:aws:s3:::orders-dev", "arn:aws:s3:::orders-dev/*"]


def test_refused_permissions_stop_the_program_before_anything_is_registered(tmp_path):
    with (
        function_declaring(tmp_path, READ_ORDERS | {"Action": "iam:CreateUser"}),
        pytest.raises(FunctionInputError, match="no IAM action") as caught,
    ):
        run_stack()
    assert caught.value.registered == []  # type: ignore[attr-defined]
    assert isinstance(caught.value, pulumi.RunError), "printed as its problems, without a traceback"


# --- the role under its boundary: what the function may do ---------------------------------------------------


def role_and_boundary(tmp_path: Path, declared: list[dict], approved: list[dict], stack: str = "dev"):
    with function_declaring(tmp_path, *declared):
        run = run_stack(stack=stack)
    boundary = policies.boundary_policy(policies.Scope(PARTITION, REGION, ACCOUNT), stack, approved)
    return [policy_document(run.named(FUNCTION_ROLE_POLICY))], boundary


def from_function(stack: str = "dev") -> dict[str, str]:
    return {"lambda:SourceFunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{prefix_for(stack)}"}


def test_an_approved_permission_lets_the_function_read_its_bucket_and_nothing_else(tmp_path):
    identity, boundary = role_and_boundary(tmp_path, [READ_ORDERS], [READ_ORDERS])
    read = Request("s3:GetObject", "arn:aws:s3:::orders-dev/2026/01.csv", from_function())
    assert evaluate(read, identity, boundary) == ALLOWED
    other = Request("s3:GetObject", "arn:aws:s3:::orders-prod/2026/01.csv", from_function())
    assert evaluate(other, identity, boundary) == IMPLICIT_DENY
    write = Request("s3:PutObject", "arn:aws:s3:::orders-dev/x", from_function())
    assert evaluate(write, identity, boundary) == IMPLICIT_DENY
    re_trusted = Request("s3:GetObject", "arn:aws:s3:::orders-dev/2026/01.csv", {})
    assert evaluate(re_trusted, identity, boundary) == IMPLICIT_DENY, "only from the stack's function"


def test_a_declared_permission_nobody_approved_is_denied_by_the_boundary(tmp_path):
    identity, boundary = role_and_boundary(tmp_path, [READ_ORDERS, WRITE_EVENTS], [READ_ORDERS])
    put = Request(
        "events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{PROJECT}-dev", from_function()
    )
    assert evaluate(put, identity, boundary) == IMPLICIT_DENY


def test_the_committed_approvals_are_what_every_boundary_admits():
    approved = load_statements(function_permissions.APPROVED)
    boundary = policies.boundary_policy(policies.Scope(PARTITION, REGION, ACCOUNT), "dev")
    assert [s["Sid"] for s in boundary["Statement"] if s["Sid"].startswith("Approved")] == [
        f"Approved{s['Sid']}" for s in approved
    ]


def requests_of(statement: dict[str, Any]) -> Iterator[Request]:
    """A request from the stack's function for each action of an Allow `statement` on each of its resources
    (a wildcard made concrete), with the values its StringEquals conditions ask for."""
    asked = (statement.get("Condition") or {}).get("StringEquals", {})
    context = from_function() | {key: v[0] if isinstance(v, list) else v for key, v in asked.items()}
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    for action in statement["Action"]:
        for resource in resources:
            yield Request(action, resource if resource == "*" else resource.replace("*", "stream-1"), context)


def test_the_boundary_admits_every_request_of_the_roles_own_statements():
    """What the program grants the function besides its declared permissions (its log group, traces, the
    parameters and secrets of secretEnvironment and their keys) the stack's boundary admits: a statement it
    did not would fail only in AWS, when Lambda or the function makes the request."""
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    references = {
        "DB_PASSWORD_ARN": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{PROJECT}/dev/db-AbCdEf",
        "API_TOKEN_ARN": {
            "arn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{PROJECT}/dev/token",
            "kmsKeyArn": key,
        },
    }
    run = run_stack({"secretEnvironment": references})
    identity = [policy_document(run.named(FUNCTION_ROLE_POLICY))]
    boundary = policies.boundary_policy(policies.Scope(PARTITION, REGION, ACCOUNT), "dev")
    requests = [request for statement in identity[0]["Statement"] for request in requests_of(statement)]
    assert {request.action.split(":")[0] for request in requests} >= {
        "logs",
        "xray",
        "ssm",
        "secretsmanager",
        "kms",
    }
    for request in requests:
        assert evaluate(request, identity, boundary) == ALLOWED, str(request)


USER = "test:index/topicUser:TopicUser"  # a type whose entry says AWS publishes to the stack's topic with the role
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:{prefix_for('dev')}_alarms"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{prefix_for('dev')}"


def declare_user(monkeypatch, condition: str | None = None) -> None:
    """Add to the catalogue an entry whose `execution` is sns:Publish on the stack's alarm topic."""
    used = catalogue.uses(catalogue.ALARM_TOPIC, ["sns:Publish"], condition)
    entry = catalogue.ResourceType(USER, frozenset({catalogue.STACK}), concern="function", execution=(used,))
    monkeypatch.setattr(catalogue, "CATALOGUE", (*catalogue.CATALOGUE, entry))
    monkeypatch.setattr(catalogue, "BY_TOKEN", MappingProxyType({**catalogue.BY_TOKEN, USER: entry}))


def dev_boundary() -> dict[str, Any]:
    return policies.boundary_policy(policies.Scope(PARTITION, REGION, ACCOUNT), "dev")


def test_what_an_entry_says_aws_does_with_the_role_on_a_stack_resource_the_role_holds_and_the_boundary_admits(
    monkeypatch,
):
    before = dev_boundary()
    declare_user(monkeypatch)
    identity = [json.loads(execution_policy(LOG_GROUP, False, resources={USER: TOPIC}))]
    publish = Request("sns:Publish", TOPIC, {})
    assert evaluate(publish, identity, dev_boundary()) == ALLOWED
    assert evaluate(publish, identity, before) == IMPLICIT_DENY  # the boundary's admission is derived
    everywhere = [{"Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}]
    other_stack = Request("sns:Publish", TOPIC.replace(prefix_for("dev"), prefix_for("dev-eu")), {})
    assert evaluate(other_stack, everywhere, dev_boundary()) == IMPLICIT_DENY
    other_topic = Request("sns:Publish", f"{TOPIC}-other", {})
    assert evaluate(other_topic, identity, dev_boundary()) == IMPLICIT_DENY


def test_what_aws_alone_may_do_with_the_role_on_a_stack_resource_the_functions_code_may_not(monkeypatch):
    declare_user(monkeypatch, catalogue.NOT_FROM_FUNCTION_CODE)
    identity = [json.loads(execution_policy(LOG_GROUP, False, resources={USER: TOPIC}))]
    assert evaluate(Request("sns:Publish", TOPIC, {}), identity, dev_boundary()) == ALLOWED
    assert evaluate(Request("sns:Publish", TOPIC, from_function()), identity, dev_boundary()) == EXPLICIT_DENY


def test_the_functions_own_execution_is_its_vpcs_not_a_stack_resources():
    with pytest.raises(ValueError, match="vpc_statements"):
        resource_statements("aws:lambda/function:Function", LOG_GROUP)


# --- the policy pack's verdict -------------------------------------------------------------------------------


def role_policy(*statements: dict) -> dict:
    return {"role": prefix_for("dev"), "policy": document(*statements)}


def declared_on_role(statement: dict) -> dict:
    (rendered,) = render([statement], DEV)
    return rendered | {"Sid": f"Declared{statement['Sid']}"}


def test_the_pack_passes_approved_permissions_and_refuses_wider_ones(monkeypatch, tmp_path):
    approved = write_document(tmp_path / "function-permissions.json", READ_ORDERS)
    monkeypatch.setattr(function_permissions, "APPROVED", approved)
    monkeypatch.setattr(function_permissions, "ROOT", tmp_path)
    good = role_policy(declared_on_role(READ_ORDERS))
    assert violations("function-permissions-approved", ROLE_POLICY, good) == []
    wider = role_policy(declared_on_role(READ_ORDERS | {"Action": ["s3:GetObject", "s3:DeleteObject"]}))
    (found,) = violations("function-permissions-approved", ROLE_POLICY, wider)
    assert "ReadOrders: wider than approved" in found and "s3:DeleteObject" in found
    unknown = role_policy(declared_on_role(WRITE_EVENTS))
    (found,) = violations("function-permissions-approved", ROLE_POLICY, unknown)
    assert "WriteEvents: not approved" in found
