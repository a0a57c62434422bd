"""The platform separates from its example: with another function in function/ its own tests still pass.

A copy of the repository gets tests/fixtures/function (one route, Pillow, no Powertools) in place of
function/, loses tests/function/ (the example's tests), and runs every other test of the suite. Linters are
not run again in the copy: `make lint` already checks the fixture function where it lies, and no linter
reads the example. The platform tests that still need the example are listed with their reasons and
deselected, and checked to still fail without it, so the list only ever shrinks.
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
# Platform tests that still assume the example's second Dockerfile (function/Dockerfile.debian): deselected
# in the copy, each with its reason. The list shrinks as they learn to make the Dockerfile they need.
SECOND_DOCKERFILE = "assumes the example's second Dockerfile, function/Dockerfile.debian"
POLICY_VARIANTS = [
    f"{name}[debian-image]"
    for name in (
        "test_the_stack_passes_every_mandatory_policy",
        "test_the_policies_saw_the_resources_they_guard",
        "test_the_image_variants_build_no_image_and_run_the_reused_one",
        "test_the_execution_role_policy_passes_parliament_with_zero_findings",
        "test_the_execution_role_trust_policy_gets_only_parliaments_documented_exception",
        "test_taggable_types_the_stack_registers_are_known_to_the_tag_policy",
    )
]
STILL_NEED_THE_EXAMPLE = {
    f"tests/{module}::{test}": reason
    for module, tests, reason in [
        (
            "infra/test_config.py",
            ["test_the_example_of_every_key_is_accepted_and_reaches_the_settings[dockerfile]"],
            "the `dockerfile` key's documented example is function/Dockerfile.debian",
        ),
        (
            "infra/test_registry.py",
            ["test_the_image_builds_function_with_the_configured_dockerfile_and_inline_cache"],
            SECOND_DOCKERFILE,
        ),
        (
            "policy/test_security_map.py",
            ["test_each_file_the_map_names_exists[function/Dockerfile.debian]"],
            "SECURITY.md's map names function/Dockerfile.debian",
        ),
        (
            "policy/test_security_map.py",
            ["test_the_inline_skips_the_map_lists_are_the_ones_in_the_dockerfiles"],
            "SECURITY.md's map lists the example's checkov skips",
        ),
        ("policy/test_stack_under_policies.py", POLICY_VARIANTS, SECOND_DOCKERFILE),
    ]
    for test in tests
}


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
    shutil.rmtree(copy / "tests" / "function")
    return copy


def test_the_platform_tests_pass_with_another_function_in_place_of_the_example(repository):
    deselected = [f"--deselect={node}" for node in STILL_NEED_THE_EXAMPLE]
    status, summary = pytest_in(repository, "--ignore=tests/contract", *deselected)
    assert status == 0, f"platform tests that need the example:\n{summary}"


def test_the_tests_listed_as_needing_the_example_still_do(repository):
    """When one of them passes without the example, it leaves the list (and runs in the proof again)."""
    status, summary = pytest_in(repository, *STILL_NEED_THE_EXAMPLE)
    failing = {line.split()[1] for line in summary.splitlines() if line.startswith(("FAILED ", "ERROR "))}
    passing = [node for node in STILL_NEED_THE_EXAMPLE if node not in failing]
    assert status != 0 and not passing, (
        f"these pass without the example; remove them from the list: {passing}"
    )
