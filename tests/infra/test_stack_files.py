"""Every committed Pulumi.<stack>.yaml passes the program's own settings validation (bad values, unknown or
misspelt keys fail `make check`, not the stack's `pulumi up`); each value it sets reaches the resources."""

from __future__ import annotations

import pytest
import yaml

from infra.config import ConfigError
from infra.outputs import OUTPUTS
from tests.infra.support import FUNCTION, ROOT, run_stack

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))


def stack_name(path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def test_there_is_a_committed_stack_file():
    assert STACK_FILES, "no Pulumi.<stack>.yaml beside Pulumi.yaml"


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=stack_name)
def test_a_committed_stack_file_passes_the_program_validation(stack_file):
    declared = yaml.safe_load(stack_file.read_text()) or {}
    assert (declared.get("config") or {}).get("aws:region"), f"{stack_file.name} sets no aws:region"
    try:
        run = run_stack(stack=stack_name(stack_file), stack_file=stack_file)
    except ConfigError as error:
        pytest.fail(f"{stack_file.name}: {error}")
    assert set(run.outputs) == set(OUTPUTS)


def test_a_bad_stack_file_fails_with_every_problem(tmp_path):
    bad = tmp_path / "Pulumi.prod.yaml"
    bad.write_text(
        "config:\n  aws:region: eu-west-1\n  container-lambda:memorySize: 99999\n"
        "  container-lambda:memorysize: 512\n"
    )
    with pytest.raises(ConfigError) as caught:
        run_stack(stack="prod", stack_file=bad)
    assert sorted(p.key for p in caught.value.problems) == [
        "container-lambda:memorySize",
        "container-lambda:memorysize",
    ]


def test_the_dev_stack_file_values_reach_the_function():
    stack_file = ROOT / "Pulumi.dev.yaml"
    declared = yaml.safe_load(stack_file.read_text())["config"]
    run = run_stack(stack_file=stack_file)
    function = run.one(FUNCTION).inputs
    applied = {  # each value the stack file sets, as the program applied it
        "container-lambda:architecture": lambda: function["architectures"][0],
        "container-lambda:memorySize": lambda: function["memorySize"],
        "container-lambda:logRetentionDays": lambda: one_value(
            {g.inputs["retentionInDays"] for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")}
        ),
        "container-lambda:environment": lambda: {
            k: v for k, v in function["environment"]["variables"].items() if k != "POWERTOOLS_LOG_LEVEL"
        },
        "container-lambda:environmentClass": lambda: function["tags"]["EnvironmentClass"],
    }
    for key, value in declared.items():
        if key != "aws:region":
            assert key in applied, f"add a check of {key} to this test"
            assert applied[key]() == value, key


def one_value(values: set):
    (value,) = values
    return value
