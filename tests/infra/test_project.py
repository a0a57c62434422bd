"""The project name and the stack-name rule (infra/project.py), the one place both are stated."""

import subprocess
import sys

import pytest
import yaml

from infra import project


def test_project_name_is_what_a_yaml_parser_reads_from_pulumi_yaml():
    declared = yaml.safe_load(project.PROJECT_FILE.read_text(encoding="utf-8"))["name"]
    assert declared == project.PROJECT


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
