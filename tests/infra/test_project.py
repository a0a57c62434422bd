"""The project name and the stack-name rule (infra/project.py), the one place both are stated."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra import project


def test_project_name_is_what_a_yaml_parser_reads_from_pulumi_yaml():
    declared = yaml.safe_load(project.PROJECT_FILE.read_text(encoding="utf-8"))["name"]
    assert declared == project.PROJECT


# whatever the value, what PyYAML reads: a name outside the rule is then refused by the rule, not misread
@pytest.mark.parametrize(
    "line",
    [
        "name: orders",
        "name: 'orders-api'",
        'name: "orders"  # the service',
        "name: orders api",
        "name: orders@api",
        "name: ordérs",
        "name: a#b",
    ],
)
def test_the_name_read_is_the_one_a_yaml_parser_reads(tmp_path, line):
    path = tmp_path / "Pulumi.yaml"
    path.write_text(f"{line}\nruntime: python\n", encoding="utf-8")
    assert project.project_name(path) == yaml.safe_load(path.read_text(encoding="utf-8"))["name"]


def test_a_project_file_without_a_name_line_is_an_error(tmp_path):
    path = tmp_path / "Pulumi.yaml"
    path.write_text("runtime: python\nconfig:\n  name: nested\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no top-level `name:`"):
        project.project_name(path)


@pytest.mark.parametrize("name", ["dev", "prod-eu", "a1", "x" * 31, "qa-2-b"])
def test_valid_stack_names(name):
    assert project.is_stack_name(name)


@pytest.mark.parametrize(
    "name", ["", "Dev", "dev-", "-dev", "a--b", "x" * 32, "dev_eu", "dev.eu", "d\u0435v", "\u0661\u0662"]
)
def test_invalid_stack_names(name):
    assert not project.is_stack_name(name)


def test_this_projects_name_follows_the_project_name_rule():
    assert project.is_project_name(project.PROJECT), project.PROJECT_NAME_RULE


@pytest.mark.parametrize(
    "name", ["Orders", "orders_api", "orders.api", "a--b", "-a", "a-", "é", "", "orders api", "aws", "pulumi"]
)
def test_invalid_project_names(name):
    assert not project.is_project_name(name)


def test_the_command_line_check_refuses_a_bad_name_with_the_rule():
    result = subprocess.run(
        [sys.executable, "-m", "infra.project", "stack", "a--b"],
        cwd=project.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "'a--b'" in result.stderr and "lowercase" in result.stderr


def test_the_command_line_prints_the_project_name():
    result = subprocess.run(
        [sys.executable, "-m", "infra.project", "name"],
        cwd=project.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == project.PROJECT


def test_the_command_line_prints_a_stacks_prefix_and_refuses_a_bad_name():
    command = [sys.executable, "-m", "infra.project", "prefix"]
    printed = subprocess.run(
        [*command, "dev-eu"], cwd=project.ROOT, capture_output=True, text=True, check=True
    )
    assert printed.stdout.strip() == project.prefix_for("dev-eu")
    refused = subprocess.run(
        [*command, "a--b"], cwd=project.ROOT, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2 and refused.stdout == ""


# infra/python_host.py runs in the function's own interpreter and puts function/ on the path to import the
# handler the way Lambda imports it from the task root (LAMBDA_TASK_ROOT is on the runtime's sys.path): the
# emulation of the runtime, not a way to the library.
SYS_PATH_AS_THE_RUNTIME = {"infra/python_host.py"}


def test_no_module_outside_function_and_tests_edits_sys_path():
    """The platform's library is a package (pyproject.toml): the program, scripts/, the bootstrap and the
    policy pack import it without editing the import path."""
    skipped = {
        "function",
        "tests",
        "venv",
        ".venv-function",
        ".venv-checkov",
        ".venv-bench",
        ".tools",
        "node_modules",
        ".git",
    }
    files = []
    for directory, subdirectories, names in os.walk(project.ROOT):
        subdirectories[:] = [name for name in subdirectories if name not in skipped]
        base = Path(directory).relative_to(project.ROOT)
        files += [(base / name).as_posix() for name in names if name.endswith(".py")]
    editing = [
        name
        for name in files
        if name not in SYS_PATH_AS_THE_RUNTIME
        and any(
            isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys"
            for node in ast.walk(ast.parse((project.ROOT / name).read_text(encoding="utf-8")))
        )
    ]
    assert editing == []
