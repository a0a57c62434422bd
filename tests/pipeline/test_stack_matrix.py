"""scripts/stack_matrix.py: which stacks exist, their architecture, runner and Dockerfile."""

from __future__ import annotations

import json

import pytest

from scripts import stack_matrix
from tests.pipeline.helpers import ROOT, run_script

PROJECT = """name: container-lambda
runtime:
  name: python
config:
  architecture:
    type: string
    default: arm64
  dockerfile:
    type: string
    default: function/Dockerfile
"""


def make_project(tmp_path, stacks: dict[str, str], project: str = PROJECT):
    (tmp_path / "Pulumi.yaml").write_text(project, encoding="utf-8")
    for name, body in stacks.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(body, encoding="utf-8")
    return tmp_path


def outputs(result) -> dict[str, str]:
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def test_dev_comes_first_and_defaults_come_from_the_project(tmp_path):
    root = make_project(
        tmp_path,
        {
            "prod": "config:\n  container-lambda:architecture: x86_64\n",
            "dev": "config:\n  aws:region: eu-west-1\n",
            "a-stage": "config:\n  container-lambda:dockerfile: function/Dockerfile.debian\n",
        },
    )
    stacks = stack_matrix.select(root)
    assert [s.stack for s in stacks] == ["dev", "a-stage", "prod"]
    assert stacks[0] == stack_matrix.Stack(
        "dev", "arm64", "linux/arm64", "ubuntu-24.04-arm", "function/Dockerfile"
    )
    assert stacks[1].dockerfile == "function/Dockerfile.debian"
    assert (stacks[2].platform, stacks[2].runner) == ("linux/amd64", "ubuntu-24.04")


def test_cli_prints_named_outputs_and_distinct_builds(tmp_path):
    root = make_project(
        tmp_path,
        {
            "dev": "config: {}\n",
            "stage": "config: {}\n",
            "prod": "config:\n  container-lambda:architecture: x86_64\n",
        },
    )
    result = run_script(
        ROOT / "scripts" / "stack_matrix.py", "--root", str(root), "--name", "further", "--exclude", "dev"
    )
    assert result.returncode == 0, result.stderr
    out = outputs(result)
    assert [s["stack"] for s in json.loads(out["further"])] == ["prod", "stage"]
    assert out["further-count"] == "2"
    assert [b["architecture"] for b in json.loads(out["further-builds"])] == ["x86_64", "arm64"]
    only_dev = outputs(run_script(ROOT / "scripts" / "stack_matrix.py", "--root", str(root), "--only", "dev"))
    assert json.loads(only_dev["stacks"])[0]["runner"] == "ubuntu-24.04-arm"


def test_no_further_stacks_gives_an_empty_list(tmp_path):
    root = make_project(tmp_path, {"dev": "config: {}\n"})
    out = outputs(run_script(ROOT / "scripts" / "stack_matrix.py", "--root", str(root), "--exclude", "dev"))
    assert (out["stacks"], out["stacks-count"], out["stacks-builds"]) == ("[]", "0", "[]")


@pytest.mark.parametrize(
    ("stacks", "message"),
    [
        ({"dev": "config:\n  container-lambda:architecture: arm\n"}, "architecture 'arm' is not one of"),
        (
            {"dev": "config:\n  container-lambda:dockerfile: ../Dockerfile\n"},
            "must be a path inside function/",
        ),
        ({"dev": "config:\n  container-lambda:dockerfile: Dockerfile\n"}, "must be a path inside function/"),
        ({"Dev": "config: {}\n"}, "stack name 'Dev' must match"),
        ({"dev": "config: [unclosed\n"}, "not valid YAML"),
        ({"prod": "config: {}\n"}, "stack 'dev' not found"),
    ],
)
def test_bad_stacks_fail_with_a_clear_message(tmp_path, stacks, message):
    root = make_project(tmp_path, stacks)
    result = run_script(ROOT / "scripts" / "stack_matrix.py", "--root", str(root), "--only", "dev")
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_an_architecture_missing_everywhere_is_an_error(tmp_path):
    root = make_project(
        tmp_path, {"dev": "config: {}\n"}, project="name: container-lambda\nruntime: python\n"
    )
    with pytest.raises(stack_matrix.StackError, match="architecture None"):
        stack_matrix.select(root)


@pytest.mark.skipif(
    not (ROOT / "Pulumi.dev.yaml").is_file(), reason="the stack files are not in this checkout"
)
def test_the_repository_dev_stack_resolves():
    (dev,) = stack_matrix.select(ROOT, only=["dev"])
    assert dev.architecture in stack_matrix.ARCHITECTURES
    assert (ROOT / dev.dockerfile).is_file()
