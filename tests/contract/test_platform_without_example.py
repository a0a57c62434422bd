"""The platform separates from its example: with another function in function/ its own tests still pass.

A copy of the repository gets tests/fixtures/function (one route, Pillow, no Powertools) in place of
function/, loses tests/function/ (the example's tests), and runs every other test of the suite. Linters are
not run again in the copy: `make lint` already checks the fixture function where it lies, and no linter
reads the example.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_the_platform_tests_pass_with_another_function_in_place_of_the_example(tmp_path):
    repository = tmp_path / "repository"
    copy_repository(repository)
    shutil.rmtree(repository / "function")
    shutil.copytree(FIXTURE, repository / "function")
    shutil.rmtree(repository / "tests" / "function")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--ignore=tests/contract",
            "-o",
            "addopts=",
            "-rf",
        ],
        cwd=repository,
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    summary = "\n".join(line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR")))
    assert result.returncode == 0, (
        f"platform tests that need the example:\n{summary or result.stdout[-3000:]}"
    )
