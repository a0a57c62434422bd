"""`make preflight`, the first step of `make check`: what the suite would fail on, said in a second."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """A copy of the platform's Makefile, library and function, without any installed environment."""
    for package in ("infra", "bootstrap", "scripts"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "function", tmp_path / "function", ignore=shutil.ignore_patterns("__pycache__", ".venv*")
    )
    for name in ("Makefile", "Pulumi.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def preflight(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "preflight"],  # noqa: S607 - the make on PATH, as the README runs it
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_platform_as_it_is_passes(platform: Path) -> None:
    result = preflight(platform)
    assert result.returncode == 0, result.stderr
    assert "characters fit" in result.stdout


@pytest.mark.parametrize(
    ("breakage", "said"),
    [
        (lambda d: (d / "function" / "Dockerfile").unlink(), "no Dockerfile"),
        (
            lambda d: (d / "function" / "events" / "expected-status.json").write_text("[]"),
            "expected a JSON object",
        ),
        (
            lambda d: (d / "Pulumi.yaml").write_text("name: Orders\nruntime: python\n"),
            "the project name 'Orders'",
        ),
        (lambda d: (d / f"Pulumi.{'s' * 32}.yaml").write_text("config: {}\n"), "is not allowed"),
    ],
    ids=["no-dockerfile", "bad-expectations", "bad-project-name", "bad-stack-file"],
)
def test_what_the_suite_would_fail_on_stops_the_preflight(platform: Path, breakage, said) -> None:
    breakage(platform)
    result = preflight(platform)
    assert result.returncode != 0 and said in result.stderr, result.stderr
