"""The architecture table (infra/architecture.py): what Lambda, OCI, Docker and GitHub call each CPU, the one
place the program, the local tools and the workflows' shell read it from."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from infra.architecture import ARCHITECTURES, ArchitectureError, architecture, of_stack
from infra.config import KEYS_BY_NAME
from infra.project import PROJECT, ROOT


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages, only the standard library, as on a bare runner's python3
    return subprocess.run(
        [sys.executable, "-S", "-m", "infra.architecture", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_each_lambda_architecture_has_its_oci_name_docker_platform_and_runner():
    described = {name: each.as_json() for name, each in ARCHITECTURES.items()}
    assert described == {
        "arm64": {"name": "arm64", "oci": "arm64", "platform": "linux/arm64", "runner": "ubuntu-24.04-arm"},
        "x86_64": {"name": "x86_64", "oci": "amd64", "platform": "linux/amd64", "runner": "ubuntu-24.04"},
    }


def test_the_config_key_allows_exactly_the_architectures_of_the_table():
    assert KEYS_BY_NAME["architecture"].rule.choices == tuple(ARCHITECTURES)  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["aarch64", "amd64", "ARM64", "", None, 64])
def test_any_other_value_is_refused_naming_it_and_the_allowed_ones(value):
    with pytest.raises(ArchitectureError, match=r"is not one of arm64, x86_64") as caught:
        architecture(value)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    ("project_config", "stack_config", "expected"),
    [
        (
            {"architecture": {"type": "string", "default": "arm64"}},
            {f"{PROJECT}:architecture": "x86_64"},
            "x86_64",
        ),
        ({"architecture": {"default": "x86_64"}}, {"architecture": "arm64"}, "arm64"),
        ({"architecture": {"default": "x86_64"}}, {"aws:region": "eu-west-1"}, "x86_64"),
        ({"architecture": "arm64"}, {}, "arm64"),
    ],
)
def test_a_stacks_architecture_is_its_setting_else_the_projects_default(
    project_config, stack_config, expected
):
    assert of_stack("dev", project_config, stack_config).name == expected


def test_a_stack_without_any_architecture_is_refused_naming_the_stack():
    with pytest.raises(ArchitectureError, match="stack dev: architecture None is not one of"):
        of_stack("dev", {}, {})


def test_the_command_line_shows_one_architecture_as_json():
    result = cli("show", "x86_64")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ARCHITECTURES["x86_64"].as_json()


def test_the_command_line_lists_every_architecture():
    result = cli("list")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [each.as_json() for each in ARCHITECTURES.values()]


def test_the_command_line_reads_a_stacks_architecture_from_the_config_maps():
    project_config = json.dumps({"architecture": {"default": "arm64"}})
    result = cli("stack", "prod", project_config, json.dumps({f"{PROJECT}:architecture": "x86_64"}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["runner"] == "ubuntu-24.04"
    assert json.loads(cli("stack", "dev", project_config, "null").stdout)["name"] == "arm64"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "sparc"), "architecture 'sparc' is not one of arm64, x86_64"),
        (("stack", "dev", "{}", '{"architecture": "sparc"}'), "stack dev: architecture 'sparc'"),
        (("stack", "dev", "[]", "{}"), "a config must be a JSON object"),
        (("stack", "dev", "{", "{}"), "Expecting"),
        (("shows", "arm64"), "usage: python3 -m infra.architecture"),
    ],
)
def test_the_command_line_refuses_bad_input_with_status_2(args, message):
    result = cli(*args)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr
