"""Adopting the platform never touches the platform: with another function in function/, in another language,
with dependencies that conflict with every pin of the platform's, and under another name, `make check` passes.

Two copies of the repository, each without the example's tests (tests/function/):

- **a Python function on a non-AWS base image, under another name** (tests/fixtures/function-python: a
  Debian Python base, the runtime interface client and the emulator started by its own entry script, a
  handler in a subfolder, no Powertools, every documented option of the events contract, its first event one
  the smoke test must skip, and AWS permissions declared in permissions.json and approved as the README says
  an administrator does). The copy renames
  the project by its one edit (`name:` in Pulumi.yaml) and gives the function test requirements that pin
  another version of every package the platform pins. It builds the function's own environment from them
  and runs the function's own checks in it, then runs every test of the platform's suite, none deselected:
  every test reads the project name, through infra/project.py. Resolving and installing the conflicting pins
  stays offline and fast: they are empty wheels, built here, of each pinned name at a version no platform pin
  has, so that pip resolves the function's environment exactly as it would from an index.
- **the Node.js function of the how-to** (tests/fixtures/function-node: `public.ecr.aws/lambda/nodejs:20`,
  `CMD ["index.handler"]`, no function.json): make resolves every target, `make invoke` and `make serve` say
  in one line why they cannot run the handler and what to run instead, and the platform tests that read
  function/ (`READ_FUNCTION`) pass. The rest of the suite reads nothing of function/, and the Python copy
  already runs all of it with a function other than the example: running it again would double the suite's
  longest test for no other reading of function/.

Linters are not run in the copies: `make lint` already checks both fixtures where they lie.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.config_docs import CONFIG_DOC, OUTPUTS_DOC, PROJECT_FILE
from scripts.security_docs import GUARDRAILS, SECURITY

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# tools that `make install` puts in the working tree; the copies share them
INSTALLED = ("venv", ".venv-checkov", ".tools")
# pytest-xdist workers of the copies' suites: every core by default; scripts/bench_check.py --proof-baseline
# sets 0 (one process) to measure what running them in parallel saves
PROOF_WORKERS = "CONTRACT_PROOF_WORKERS"
RENAMED = "acme-orders"  # a name with nothing of the template's
GENERATED = (PROJECT_FILE, CONFIG_DOC, OUTPUTS_DOC, GUARDRAILS, SECURITY)
GENERATORS = ("infra.config_docs", "scripts.security_docs")  # what `make docs` runs
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", re.MULTILINE)
# The platform tests that read function/ (besides tests/contract), which the Node.js copy runs: the stack
# program on the committed stack files (events, declared permissions, Dockerfile), the image tag of the build
# context, the contract and its declarations, the reasons of its Dockerfiles' inline skips, and make with its
# function.mk (or none).
READ_FUNCTION = (
    "tests/infra/test_stack_files.py",
    "tests/infra/test_build_context.py::test_the_program_tags_the_image_with_the_hash_of_function",
    "tests/pipeline/test_function_contract.py::test_the_function_in_the_repository_keeps_the_contract",
    "tests/policy/test_security_map.py::test_every_inline_skip_gives_its_reason",
    "tests/local/test_local_tools.py::test_emulator_url_is_the_port_local_run_publishes",
    "tests/local/test_local_tools.py::test_platform_is_the_default_stacks_architecture",
)


def copy_repository(target: Path) -> None:
    """The files git would commit now (tracked or new, not ignored, still there), without installed tools."""
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


def adopt(target: Path, fixture: str) -> Path:
    """A copy of the repository with `fixture` in place of function/ and without the example's tests (the docs
    tell adopters to delete them: the proof holds whether or not they still exist)."""
    copy_repository(target)
    shutil.rmtree(target / "function")
    shutil.copytree(FIXTURES / fixture, target / "function")
    shutil.rmtree(target / "tests" / "function", ignore_errors=True)
    declared = target / "function" / "permissions.json"
    if declared.exists():  # what the README asks of a platform administrator: review it, copy it, bootstrap
        shutil.copy2(declared, target / "bootstrap" / "function-permissions.json")
    return target


def rename(repository: Path, name: str) -> None:
    """The one edit of a rename: `name:` in Pulumi.yaml."""
    project = repository / "Pulumi.yaml"
    text, count = re.subn(
        r"^name:.*$", f"name: {name}", project.read_text(encoding="utf-8"), count=1, flags=re.M
    )
    assert count == 1
    project.write_text(text, encoding="utf-8")


def platform_pins() -> dict[str, str]:
    """Every `name==version` pin of the platform's requirement files (the function's own are not the
    platform's)."""
    files = [*ROOT.glob("requirements*.txt"), *ROOT.glob("*/requirements*.txt")]
    pins: dict[str, str] = {}
    for path in files:
        if path.parent.name not in ("function", "tests"):
            pins |= {name.lower(): version for name, version in PIN.findall(path.read_text(encoding="utf-8"))}
    return pins


def empty_wheel(directory: Path, name: str, version: str) -> None:
    """An installable wheel of `name` `version` that holds only its metadata (PEP 427, PEP 376 RECORD)."""
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
    (directory / f"{dist}-{version}-py3-none-any.whl").write_bytes(buffer.getvalue())


def make(repository: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=repository,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def pytest_in(repository: Path, *args: str) -> tuple[int, str]:
    """Run pytest in `repository` with this interpreter, on every core as `make test` does (pytest-xdist: the
    copy's suite is the longest test of the outer run, which has nothing else left to run at its end):
    (exit status, the FAILED/ERROR summary lines)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTEST_XDIST"))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rfE"]
    result = subprocess.run(
        [*command, "-n", os.environ.get(PROOF_WORKERS, "auto"), *args],
        cwd=repository,
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    summary = [line for line in result.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    return result.returncode, "\n".join(summary) or result.stdout[-3000:]


# --- a Python function on a non-AWS base image, conflicting pins, another name --------------------------------


@pytest.fixture(scope="module")
def python_copy(tmp_path_factory) -> Path:
    repository = adopt(tmp_path_factory.mktemp("python") / "repository", "function-python")
    rename(repository, RENAMED)
    return repository


@pytest.mark.parametrize("name", [RENAMED, "key", "policy", "a1"])
def test_renaming_is_one_edit_no_generated_file_changes(tmp_path, name):
    """Whatever the new name (one that is also a word of the docs, say), `make docs` has nothing to rewrite."""
    repository = tmp_path / "repository"
    copy_repository(repository)
    rename(repository, name)
    before = {
        path.name: (repository / path.relative_to(ROOT)).read_text(encoding="utf-8") for path in GENERATED
    }
    for generator in GENERATORS:
        result = subprocess.run(
            [sys.executable, "-m", generator],
            cwd=repository,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    after = {
        path.name: (repository / path.relative_to(ROOT)).read_text(encoding="utf-8") for path in GENERATED
    }
    assert after == before, "a rename must not ask for `make docs`"
    read = subprocess.run(
        [sys.executable, "-m", "infra.project", "name"],
        cwd=repository,
        capture_output=True,
        text=True,
        check=True,
    )
    assert read.stdout.strip() == name


def test_a_function_pinning_against_every_platform_pin_gets_its_own_environment(python_copy, tmp_path):
    pins = platform_pins()
    conflicting = {name: f"{version}.post9999" for name, version in pins.items()}
    function = python_copy / "function"
    (function / "requirements-dev.txt").write_text(
        "".join(f"{name}=={version}\n" for name, version in sorted(conflicting.items())), encoding="utf-8"
    )
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wanted = {}
    for requirements in ("requirements.txt", "requirements-dev.txt"):
        wanted |= dict(PIN.findall((function / requirements).read_text(encoding="utf-8")))
    for name, version in wanted.items():
        empty_wheel(wheels, name, version)
    offline = os.environ | {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_CONFIG_FILE": os.devnull}
    built = make(python_copy, "function-env", env=offline)
    assert built.returncode == 0, built.stdout + built.stderr
    python = python_copy / ".venv-function" / "bin" / "python"
    versions = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, sys; print(*(m.version(n) for n in sys.argv[1:]))",
            *pins,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert dict(zip(pins, versions, strict=True)) == conflicting, (
        "the function's environment has its own pins"
    )
    checks = make(python_copy, "function-events", env=offline)  # the function's own check: every event
    assert checks.returncode == 0, checks.stdout + checks.stderr


def test_make_resolves_every_target_with_another_function_and_name(python_copy):
    result = make(python_copy, "--dry-run", "--always-make", "install", "check", "invoke", "serve")
    assert result.returncode == 0, f"make refuses to start:\n{result.stderr}"


def test_every_platform_test_passes_with_another_function_under_another_name(python_copy):
    status, summary = pytest_in(python_copy, "--ignore=tests/contract")
    assert status == 0, f"platform tests that need the example or its name:\n{summary}"


# --- the Node.js function of the how-to ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_copy(tmp_path_factory) -> Path:
    return adopt(tmp_path_factory.mktemp("node") / "repository", "function-node")


def test_make_resolves_every_target_with_a_function_in_another_language(node_copy):
    result = make(
        node_copy, "--dry-run", "--always-make", "install", "check", "local-run", "PLATFORM=linux/amd64"
    )
    assert result.returncode == 0, f"make refuses to start:\n{result.stderr}"


@pytest.mark.parametrize("target", ["invoke", "serve"])
def test_the_in_process_tools_say_in_one_line_what_to_run_instead(node_copy, target):
    result = make(node_copy, target)
    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("local.py:")]
    assert "make local-run" in line and "make local-invoke" in line


def test_the_platform_tests_that_read_the_function_pass_with_a_nodejs_function(node_copy):
    status, summary = pytest_in(node_copy, *READ_FUNCTION)
    assert status == 0, f"platform tests that need a Python function:\n{summary}"
