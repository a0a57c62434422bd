"""The program as a whole: outputs contract, standard tags, components, the stack file and Pulumi.yaml."""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import pulumi_aws
import pytest
import yaml

from infra.config import KEYS
from infra.outputs import OUTPUTS, export_outputs
from infra.tags import standard_tags
from tests.infra.support import FUNCTION, ROOT, run_stack
from tests.support.project_schema import validate_project
from tests.support.pulumi_harness import run_program

COMPONENTS = {"container-lambda:infra:ImageRegistry", "container-lambda:infra:Function",
              "container-lambda:infra:HttpApi"}
VARIANTS = {
    "defaults": {},
    "x86_64": {"architecture": "x86_64"},
    "provisioned": {"provisionedConcurrency": 2, "reservedConcurrency": 5},
    "cors": {"corsAllowOrigins": ["https://app.example.com"]},
    "kms": {"kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
    "extra-policies": {"extraPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
    "environment": {"environment": {"POWERTOOLS_SERVICE_NAME": "iris"}},
}


def sdk_class(token: str):
    """The pulumi_aws class of a type token such as aws:lambda/function:Function."""
    _, module_path, name = token.split(":")
    module = pulumi_aws
    for part in module_path.split("/")[0].split("."):
        module = getattr(module, part if part != "lambda" else "lambda_")
    return getattr(module, name)


def takes_tags(token: str) -> bool:
    return "tags" in inspect.signature(sdk_class(token)._internal_init).parameters


@pytest.mark.parametrize("variant", VARIANTS)
def test_outputs_are_exactly_the_contract(variant):
    outputs = run_stack(VARIANTS[variant]).outputs
    assert set(outputs) == set(OUTPUTS)
    assert all(isinstance(value, str) and value for value in outputs.values())


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_taggable_resource_carries_the_standard_tags(variant):
    run = run_stack(VARIANTS[variant], stack="staging")
    taggable = [r for r in run.resources if r.typ.startswith("aws:") and takes_tags(r.typ)]
    assert {r.typ for r in taggable} >= {"aws:ecr/repository:Repository", "aws:iam/role:Role", FUNCTION,
                                         "aws:cloudwatch/logGroup:LogGroup", "aws:apigatewayv2/api:Api",
                                         "aws:apigatewayv2/stage:Stage"}
    for resource in taggable:
        assert resource.inputs.get("tags") == standard_tags("staging"), resource.name


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_resource_belongs_to_one_of_the_three_components(variant):
    run = run_stack(VARIANTS[variant])
    components = {r.urn: r.typ for r in run.resources if r.typ in COMPONENTS}
    assert set(components.values()) == COMPONENTS
    for resource in run.resources:
        if resource.typ not in COMPONENTS:
            assert resource.parent in components, resource.name


@pytest.mark.parametrize(("component", "outputs"), [
    ("container-lambda:infra:ImageRegistry", {"imageUri", "repositoryUrl", "repositoryName"}),
    ("container-lambda:infra:Function", {"functionName", "functionArn", "invokeArn", "roleArn",
                                         "logGroupName"}),
    ("container-lambda:infra:HttpApi", {"apiId", "apiUrl"}),
])
def test_each_component_registers_its_outputs(default_run, component, outputs):
    (record,) = default_run.of_type(component)
    registered = default_run.registered_outputs[record.urn]
    assert outputs <= set(registered)
    for name in outputs:
        assert registered[name] == default_run.outputs[name], name


def test_export_outputs_refuses_anything_but_the_contract():
    values = dict.fromkeys(OUTPUTS, "value")
    with pytest.raises(ValueError, match=r"missing \['apiUrl'\], extra \[\]"):
        export_outputs({k: v for k, v in values.items() if k != "apiUrl"})
    with pytest.raises(ValueError, match=r"missing \[\], extra \['apiURL'\]"):
        export_outputs(values | {"apiURL": "value"})


def test_names_derive_from_the_stack():
    outputs = run_stack(stack="prod").outputs
    assert outputs["functionName"] == outputs["repositoryName"] == "container-lambda-prod"
    assert outputs["logGroupName"] == "/aws/lambda/container-lambda-prod"
    assert outputs["roleArn"].endswith(":role/container-lambda/container-lambda-prod")


def test_the_committed_dev_stack_file_runs_clean():
    stack_file = ROOT / "Pulumi.dev.yaml"
    declared = yaml.safe_load(stack_file.read_text())["config"]
    assert declared["aws:region"]
    run = run_stack(stack_file=stack_file)
    assert set(run.outputs) == set(OUTPUTS)
    function = run.one(FUNCTION).inputs
    applied = {  # each value the stack file sets, as the program applied it
        "container-lambda:architecture": lambda: function["architectures"][0],
        "container-lambda:memorySize": lambda: function["memorySize"],
        "container-lambda:logRetentionDays": lambda: one_value(
            {g.inputs["retentionInDays"] for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")}),
        "container-lambda:environment": lambda: function["environment"]["variables"],
    }
    for key, value in declared.items():
        if key != "aws:region":
            assert key in applied, f"add a check of {key} to this test"
            assert applied[key]() == value, key


def one_value(values: set):
    (value,) = values
    return value


def project() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_pulumi_yaml_validates_against_the_project_schema():
    validate_project(project())
    assert project()["name"] == "container-lambda"
    assert project()["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_pulumi_yaml_declares_every_key_with_its_type_description_and_default():
    declared = project()["config"]
    assert list(declared) == [key.name for key in KEYS]
    for key in KEYS:
        spec = declared[key.name]
        assert spec["default"] == key.default, key.name
        assert spec["description"].startswith(key.description), key.name
        if key.type == "object":  # Pulumi.yaml has no object type; the default documents the shape
            assert "type" not in spec
        else:
            assert spec["type"] == key.type, key.name
        if key.type == "array":
            assert spec["items"] == {"type": "string"}


CONSUMER = textwrap.dedent('''
    import pulumi

    from infra.outputs import OUTPUTS

    lambda_stack = pulumi.StackReference("organization/container-lambda/dev")
    for name in OUTPUTS:
        pulumi.export(name, lambda_stack.require_output(name))
''')


def test_another_stack_reads_every_output_through_a_stack_reference(default_run, tmp_path: Path):
    (tmp_path / "__main__.py").write_text(CONSUMER)
    consumer = run_program(tmp_path, project="consumer", stack="dev",
                           stack_references={"organization/container-lambda/dev": default_run.outputs})
    assert consumer.outputs == default_run.outputs
    (reference,) = consumer.of_type("pulumi:pulumi:StackReference")
    assert reference.name == "organization/container-lambda/dev"
