"""Every committed Pulumi.<stack>.yaml passes the program's own settings validation (bad values, unknown or
misspelt keys fail `make check`, not the stack's `pulumi up`), whichever keys it sets: each key's way to the
resources is tested with its example (tests/infra/test_config.py)."""

from __future__ import annotations

import pytest
import yaml

from infra.config import NAMESPACE, ConfigError
from infra.outputs import OUTPUTS
from tests.infra.support import ROOT, run_stack

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
        f"config:\n  aws:region: eu-west-1\n  {NAMESPACE}:memorySize: 99999\n  {NAMESPACE}:memorysize: 512\n"
    )
    with pytest.raises(ConfigError) as caught:
        run_stack(stack="prod", stack_file=bad)
    assert sorted(p.key for p in caught.value.problems) == [
        f"{NAMESPACE}:memorySize",
        f"{NAMESPACE}:memorysize",
    ]


def test_keys_left_under_an_old_project_name_are_named_for_renaming(tmp_path):
    former = f"former-{NAMESPACE}"  # any name but this project's (the suite holds whatever Pulumi.yaml names)
    stale = tmp_path / "Pulumi.dev.yaml"
    stale.write_text(f"config:\n  aws:region: eu-west-1\n  {former}:memorySize: 2048\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        run_stack(stack_file=stale)
    (problem,) = caught.value.problems
    assert problem.key == f"{former}:memorySize" and f"did you mean {NAMESPACE}:memorySize?" in str(problem)
