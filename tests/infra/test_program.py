"""The program as a whole: outputs contract, standard tags, components, the stack file and Pulumi.yaml."""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path

import pulumi_aws
import pytest
import yaml

from infra.config import KEYS, NAMESPACE
from infra.config_docs import project_file
from infra.outputs import OUTPUTS, export_outputs
from infra.project import PROJECT
from infra.tags import standard_tags
from tests.infra.support import FUNCTION, ROOT, run_stack
from tests.support.project_schema import validate_project
from tests.support.pulumi_harness import project_config, run_program

COMPONENTS = {
    f"{PROJECT}:infra:{name}"
    for name in ("ImageRegistry", "Function", "HttpApi", "Monitoring", "Delivery", "WarmUp")
}
VARIANTS = {
    "defaults": {},
    "x86_64": {"architecture": "x86_64"},
    "provisioned": {"provisionedConcurrency": 2, "reservedConcurrency": 5},
    "cors": {"corsAllowOrigins": ["https://app.example.com"]},
    "kms": {"kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
    "extra-policies": {"extraPolicyArns": [f"arn:aws:iam::123456789012:policy/{PROJECT}/reads"]},
    "environment": {"environment": {"POWERTOOLS_SERVICE_NAME": "orders"}},
    "canary": {"deploymentPreference": "Canary10Percent5Minutes", "alarmEmail": "ops@example.org"},
    "day-two": {
        "customDomain": "api.example.com",
        "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab",
        "hostedZoneId": "Z0123456789ABCDEFGHIJ",
        "jwtIssuer": "https://issuer.example.com",
        "jwtAudiences": ["client"],
        "vpcSubnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
        "vpcSecurityGroupIds": ["sg-0123456789abcdef0"],
        "maxInitDurationMs": 3000,
    },
}
# Outputs that are empty unless the config key they come from is set.
OPTIONAL_OUTPUTS = {
    "domainTarget": "customDomain",
    "domainHostedZoneId": "customDomain",
    "jwtIssuer": "jwtIssuer",
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
    assert all(isinstance(value, str) for value in outputs.values())
    for name, value in outputs.items():
        assert bool(value) == (name not in OPTIONAL_OUTPUTS or OPTIONAL_OUTPUTS[name] in VARIANTS[variant]), (
            name
        )


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("environment_class", ["production", "non-production"])
def test_every_taggable_resource_carries_the_standard_tags(variant, environment_class):
    run = run_stack(VARIANTS[variant] | {"environmentClass": environment_class}, stack="staging")
    taggable = [r for r in run.resources if r.typ.startswith("aws:") and takes_tags(r.typ)]
    assert {r.typ for r in taggable} >= {
        "aws:ecr/repository:Repository",
        "aws:iam/role:Role",
        FUNCTION,
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:apigatewayv2/api:Api",
        "aws:apigatewayv2/stage:Stage",
    }
    expected = {
        "Project": PROJECT,
        "Stack": "staging",
        "ManagedBy": "pulumi",
        "EnvironmentClass": environment_class,
    }
    assert standard_tags("staging", environment_class) == expected
    for resource in taggable:
        assert resource.inputs.get("tags") == expected, resource.name


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_resource_belongs_to_one_of_the_components(variant):
    run = run_stack(VARIANTS[variant])
    components = {r.urn: r.typ for r in run.resources if r.typ in COMPONENTS}
    assert set(components.values()) == COMPONENTS
    for resource in run.resources:
        if resource.typ not in COMPONENTS:
            assert resource.parent in components, resource.name


@pytest.mark.parametrize(
    ("component", "outputs"),
    [
        (f"{PROJECT}:infra:ImageRegistry", {"imageUri", "repositoryUrl", "repositoryName"}),
        (
            f"{PROJECT}:infra:Function",
            {"functionName", "functionArn", "invokeArn", "roleArn", "logGroupName"},
        ),
        (f"{PROJECT}:infra:HttpApi", {"apiId", "apiUrl"}),
        (f"{PROJECT}:infra:Monitoring", {"alarmTopicArn", "dashboardUrl"}),
    ],
)
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
    assert outputs["functionName"] == outputs["repositoryName"] == f"{PROJECT}-prod"
    assert outputs["logGroupName"] == f"/aws/lambda/{PROJECT}-prod"
    assert outputs["roleArn"].endswith(f":role/{PROJECT}/prod/{PROJECT}-prod")


def project() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_pulumi_yaml_validates_against_the_project_schema():
    validate_project(project())
    assert project()["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_the_generated_config_block_gives_the_engine_every_default_of_the_table(tmp_path: Path):
    generated = tmp_path / "Pulumi.yaml"
    generated.write_text(project_file("name: renamed\nruntime: python\n"))
    validate_project(yaml.safe_load(generated.read_text()))
    defaults = project_config(generated, "renamed")
    assert defaults == {
        f"renamed:{key.name}": key.default if isinstance(key.default, str) else json.dumps(key.default)
        for key in KEYS
    }
    declared = yaml.safe_load(generated.read_text())["config"]
    for key in KEYS:
        assert declared[key.name].get("type") == key.rule.pulumi_type, key.name
    assert project_file(generated.read_text()) == generated.read_text()  # regenerating changes nothing


def test_the_config_namespace_is_the_project_name():
    assert NAMESPACE == PROJECT == project()["name"]


CONSUMER = textwrap.dedent("""
    import pulumi

    from infra.outputs import OUTPUTS

    lambda_stack = pulumi.StackReference("organization/service/dev")
    for name in OUTPUTS:
        pulumi.export(name, lambda_stack.require_output(name))
""")


def test_another_stack_reads_every_output_through_a_stack_reference(default_run, tmp_path: Path):
    (tmp_path / "__main__.py").write_text(CONSUMER)
    consumer = run_program(
        tmp_path,
        project="consumer",
        stack="dev",
        stack_references={"organization/service/dev": default_run.outputs},
    )
    assert consumer.outputs == default_run.outputs
    (reference,) = consumer.of_type("pulumi:pulumi:StackReference")
    assert reference.name == "organization/service/dev"
