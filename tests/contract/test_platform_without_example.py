"""The platform separates from its example: with another function in function/ its own tests still pass.

A copy of the repository gets tests/fixtures/function in place of function/ (one route, Pillow installed
inline by its Dockerfile, no Powertools, no requirements file; its handler is `handler.main`, none of the
example's file names), loses tests/function/ (the example's tests) if it is still there, and runs every
other test of the suite, none deselected, with make's install rule resolving. Linters are not run again in
the copy: `make lint` already checks the fixture function where it lies, and no linter reads the example.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "function"
# tools that `make install` puts in the working tree; the copy shares them
INSTALLED = ("venv", ".venv-checkov", ".tools")


def copy_repository(target: Path) -> None:
    """The files git would commit now (tracked or new, not ignored), without installed tools."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for name in INSTALLED:
        if (ROOT / name).exists():
            (target / name).symlink_to(ROOT / name)


def pytest_in(repository: Path, *args: str) -> tuple[int, str]:
    """Run pytest in `repository` with this interpreter: (exit status, the FAILED/ERROR summary lines)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rfE", *args],
        cwd=repository,
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    summary = [line for line in result.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    return result.returncode, "\n".join(summary) or result.stdout[-3000:]


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """The repository with the fixture function in place of the example and without the example's tests."""
    copy = tmp_path_factory.mktemp("platform") / "repository"
    copy_repository(copy)
    shutil.rmtree(copy / "function")
    shutil.copytree(FIXTURE, copy / "function")
    # the docs tell adopters to delete the example's tests: the proof holds whether or not they still exist
    shutil.rmtree(copy / "tests" / "function", ignore_errors=True)
    return copy


def test_make_resolves_its_targets_without_the_examples_requirements(repository):
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "install", "test"],
        cwd=repository,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"make refuses to start without function requirements:\n{result.stderr}"


def test_the_platform_tests_pass_with_another_function_in_place_of_the_example(repository):
    status, summary = pytest_in(repository, "--ignore=tests/contract")
    assert status == 0, f"platform tests that need the example:\n{summary}"
