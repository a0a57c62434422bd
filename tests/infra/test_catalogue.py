"""The resource catalogue (infra/catalogue.py) against the real world: every action is an IAM action on the
kind of resource the catalogue names (the Service Authorization Reference, as parliament ships it), every
"*"-only action has no resource type, taggable types take tags and every output a mock fills is an output of
the SDK's class; and its ARN patterns agree with the IAM names infra/iam_rules.py owns."""

import importlib
import json
import re
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import parliament
import pytest

from infra import catalogue
from infra.iam_rules import boundary_arn, stack_role_names, stack_role_path
from infra.project import PROJECT
from tests.policy.support import takes_tags
from tests.support.pulumi_harness import FILLS, HarnessMocks

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pulumi_aws.s3 warns on import

PARTITION, REGION, ACCOUNT = "aws", "eu-west-1", "123456789012"
# HTTP APIs are tagged with POST /v2/tags/<arn> (API Gateway V2 API Reference, TagResource); the reference
# lists the Tags resource type for API Gateway V1's verbs (GET, PUT, DELETE) only, and POST also for requests
# without a resource type.
UNLISTED = {("apigateway:POST", catalogue.HTTP_API_TAGS.kind)}
ACCESSES = [(entry, access) for entry in catalogue.CATALOGUE for access in (*entry.access, *entry.execution)]
# the names the bootstrap may assign a stack (bootstrap/settings.py customDomains)
ASSIGNED = {"domain": "api.example.com", "hosted_zone": "Z0123456789ABCDEFGHIJ"}


@cache
def reference() -> dict[str, list[str]]:
    """action (lower case) -> the ARN format of each resource type it is authorized on ("*": none), over every
    service of its prefix (API Gateway's V1 and V2 share `apigateway`)."""
    services = json.loads(Path(parliament.__file__).with_name("iam_definition.json").read_text())
    formats: dict[str, list[str]] = {}
    for service in services:
        arns = {resource["resource"]: resource["arn"] for resource in service["resources"]}
        for privilege in service["privileges"]:
            action = f"{service['prefix']}:{privilege['privilege']}".lower()
            for resource in privilege["resource_types"]:
                kind = resource["resource_type"].rstrip("*")
                formats.setdefault(action, []).append(arns[kind] if kind else "*")
    return formats


def sample(reference_format: str) -> str:
    """A concrete ARN of a reference format, in the test account and region."""
    values = {"Partition": PARTITION, "Region": REGION, "Account": ACCOUNT}
    return re.sub(r"\$\{(\w+)\}", lambda match: values.get(match[1], "x"), reference_format)


def as_glob(reference_format: str) -> str:
    return re.sub(r"\$\{\w+\}", "*", reference_format)


@pytest.mark.parametrize(
    ("entry", "access"),
    ACCESSES,
    ids=[f"{entry.token}:{access.step}:{access.on.kind}" for entry, access in ACCESSES],
)
def test_every_action_is_authorized_on_the_kind_of_resource_the_catalogue_names(entry, access):
    for action in access.actions:
        formats = reference().get(action.lower())
        assert formats, f"{action} is not an IAM action"
        if access.on == catalogue.REGION:
            assert formats == ["*"], f"{action} has resource types: {formats}"
            continue
        if (action, access.on.kind) in UNLISTED:
            assert "*" in formats
            continue
        arns = access.on.of_stack(PARTITION, REGION, ACCOUNT, "dev", ASSIGNED)
        assert any(
            fnmatchcase(arn, as_glob(form)) or fnmatchcase(sample(form), arn)
            for arn in arns
            for form in formats
            if form != "*"
        ), f"{action} is authorized on none of {arns} (the reference: {formats})"


def test_never_actions_are_iam_actions():
    assert all(action.lower() in reference() for action in catalogue.never())


@pytest.mark.parametrize(
    "token", sorted(entry.token for entry in catalogue.CATALOGUE if entry.token.startswith("aws:"))
)
def test_taggable_is_what_the_sdk_says(token):
    assert catalogue.BY_TOKEN[token].taggable == takes_tags(token)


def sdk_class(token: str) -> type:
    package, module_path, class_name = token.split(":")
    module = module_path.split("/")[0]
    if package == "docker":
        return getattr(importlib.import_module("pulumi_docker"), class_name)
    return getattr(
        importlib.import_module(f"pulumi_aws.{module}_" if module == "lambda" else f"pulumi_aws.{module}"),
        class_name,
    )


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("entry", catalogue.CATALOGUE, ids=[entry.token for entry in catalogue.CATALOGUE])
def test_every_output_a_mock_fills_is_an_output_of_the_sdk_class(entry):
    cls = sdk_class(entry.token)
    for output in entry.outputs:
        assert isinstance(getattr(cls, snake(output), None), property), (
            f"{entry.token} has no output {output}"
        )


@pytest.mark.parametrize("entry", catalogue.CATALOGUE, ids=[entry.token for entry in catalogue.CATALOGUE])
def test_the_harness_fills_every_output_the_catalogue_declares(entry):
    inputs = {
        name: "x"
        for form in (entry.id, entry.state_arn, *entry.outputs.values(), *entry.defaults.values())
        for name in catalogue.fields(form)
    }
    inputs = {
        key: value
        for key, value in inputs.items()
        if key not in {"partition", "region", "account", "hex", "id", "logical"} | set(entry.outputs)
    }
    resource_id, computed = FILLS[entry.token](HarnessMocks(), "logical", inputs)
    assert resource_id
    assert set(entry.outputs) <= set(computed)


def test_the_stack_scopes_are_the_names_the_stack_uses():
    assert catalogue.ROLES.of_stack(PARTITION, REGION, ACCOUNT, "dev") == [
        f"arn:aws:iam::{ACCOUNT}:role{stack_role_path('dev')}{name}" for name in stack_role_names("dev")
    ]
    assert catalogue.BOUNDARY.of_stack(PARTITION, REGION, ACCOUNT, "dev") == [
        boundary_arn(PARTITION, ACCOUNT, "dev")
    ]
    assert catalogue.REPOSITORY.of_stack(PARTITION, REGION, ACCOUNT, "dev") == [
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{PROJECT}-dev"
    ]


def test_every_condition_is_rendered_by_the_bootstrap():
    from bootstrap import policies

    domains = {"dev": policies.CustomDomain(ASSIGNED["domain"], ASSIGNED["hosted_zone"])}
    own = policies.Scope(PARTITION, REGION, ACCOUNT, domains).stack("dev")
    named = {access.condition for _, access in ACCESSES if access.condition}
    assert named <= set(catalogue.CONDITIONS)
    for condition in catalogue.CONDITIONS:
        assert policies._condition(condition, own), condition


def test_a_format_leaves_out_an_optional_part_without_a_value():
    form = catalogue.FUNCTION.named(name="{function}[:{qualifier}]")
    values = {"partition": "aws", "region": REGION, "account": ACCOUNT, "function": "f"}
    assert catalogue.render(form, values) == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
    assert catalogue.render(form, values | {"qualifier": "live"}).endswith("function:f:live")
    with pytest.raises(KeyError):
        catalogue.render(form, {"partition": "aws"})


def test_a_kind_of_an_assigned_name_has_no_arn_for_a_stack_without_it():
    for kind in (
        catalogue.DOMAIN_NAME_LIST,
        catalogue.DOMAIN_NAME,
        catalogue.HOSTED_ZONE,
        catalogue.DNS_CHANGES,
    ):
        assert kind.of_stack(PARTITION, REGION, ACCOUNT, "dev") == [], kind.kind
        assert kind.of_stack(PARTITION, REGION, ACCOUNT, "dev", ASSIGNED), kind.kind
    assert catalogue.DOMAIN_NAME.of_stack(PARTITION, REGION, ACCOUNT, "dev", {"hosted_zone": "Z1"}) == []


def test_no_pipeline_role_gets_what_a_service_does_with_the_execution_role():
    # (the Describe actions on "*" aside: Lambda checks that its caller may see a VPC's subnets too)
    executed = {
        (action, access.on.kind)
        for access in catalogue.execution()
        if access.on != catalogue.REGION
        for action in access.actions
    }
    assert executed
    for role in catalogue.ROLE_STEPS:
        granted = {
            (action, access.on.kind) for access in catalogue.accesses(role) for action in access.actions
        }
        assert not executed & granted, role


def test_an_unknown_step_is_refused():
    with pytest.raises(ValueError, match="unknown step 'launch'"):
        catalogue.grants(catalogue.FUNCTION, launch=["lambda:InvokeFunction"])


def test_a_name_a_catalogue_entry_declares_is_held_to_its_aws_limit(monkeypatch):
    fits = len(f"{PROJECT}-dev.kind")
    name = catalogue.StackName("test kind name", ".kind", fits - 1, "its API Reference")
    entry = catalogue.ResourceType("test:index/kind:Kind", frozenset({catalogue.STACK}), names=(name,))
    assert catalogue.name_limit_problems(PROJECT, "dev") == []
    monkeypatch.setattr(catalogue, "CATALOGUE", (*catalogue.CATALOGUE, entry))
    assert catalogue.name_limit_problems(PROJECT, "dev") == [
        f"the test kind name '{PROJECT}-dev.kind' has {fits} characters, over AWS's {fits - 1} (its API Reference)"
    ]
    assert name.pattern == "{prefix}.kind" and name.of(f"{PROJECT}-dev") == f"{PROJECT}-dev.kind"
