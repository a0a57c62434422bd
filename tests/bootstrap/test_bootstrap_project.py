"""The bootstrap's Pulumi project file and its dependencies."""

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from bootstrap.settings import NAMESPACE
from tests.support.library_venv import library_python
from tests.support.project_schema import validate_project

ROOT = Path(__file__).resolve().parents[2]
PROJECT = yaml.safe_load((ROOT / "bootstrap" / "Pulumi.yaml").read_text())


def pins(path: Path) -> dict[str, str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    matches = (re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line) for line in lines)
    return {m[1].lower(): m[2] for m in matches if m}


def test_project_file_is_valid():
    validate_project(PROJECT)


def test_project_name_is_the_config_namespace():
    assert PROJECT["name"] == NAMESPACE


def test_runtime_is_python_with_its_own_virtualenv():
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_config_declares_exactly_the_documented_keys():
    assert set(PROJECT["config"]) == {
        "githubRepository",
        "deployEnvironments",
        "existingOidcProviderArn",
        "repositoryKmsKeyArns",
        "customDomains",
        "functionNetworks",
    }
    assert "default" not in PROJECT["config"]["githubRepository"]  # required: no repository is assumed


def test_runtime_dependencies_match_the_main_program():
    bootstrap_pins = pins(ROOT / "bootstrap" / "requirements.txt")
    assert set(bootstrap_pins) == {"pulumi", "pulumi-aws"}
    main_pins = pins(ROOT / "requirements.txt")
    for package, version in bootstrap_pins.items():
        assert main_pins[package] == version, package


IMPORTED_DISTRIBUTIONS = """
import importlib.metadata, json, sys
before = set(sys.modules)  # the interpreter's own start-up imports (site hooks) don't count
import bootstrap.program  # noqa: F401
owners = importlib.metadata.packages_distributions()
new = set(sys.modules) - before
print(json.dumps(sorted({d for m in new for d in owners.get(m.split(".")[0], [])})))
"""


def requirement_closure(roots: set[str]) -> set[str]:
    """The distributions `roots` install, transitively (their unconditional requirements)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [re.match(r"[A-Za-z0-9_.-]+", r)[0] for r in requires if "extra ==" not in r]
    return seen


def test_program_imports_nothing_beyond_its_own_requirements():
    # bootstrap/venv holds only bootstrap/requirements.txt; infra/ modules it reuses must not pull in more.
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED_DISTRIBUTIONS], cwd=ROOT, check=True, capture_output=True, text=True
    )
    imported = {re.sub(r"[-_.]+", "-", d).lower() for d in json.loads(result.stdout)}
    library = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]  # `-e ..`
    assert imported <= requirement_closure(set(pins(ROOT / "bootstrap" / "requirements.txt")) | {library})


def test_the_program_imports_the_platforms_library_from_its_own_directory():
    # The CLI runs __main__.py from bootstrap/ with bootstrap/venv, whose requirements.txt installs the
    # repository root editable (`-e ..`): `bootstrap` and `infra` resolve to the working tree, nothing else.
    assert [
        line
        for line in (ROOT / "bootstrap" / "requirements.txt").read_text().splitlines()
        if "==" not in line and line[:1] not in ("", "#")
    ] == ["-e .."]
    probe = "import json, bootstrap.program, infra.iam_rules; print(json.dumps([bootstrap.program.__file__, infra.iam_rules.__file__]))"
    result = subprocess.run(
        [library_python("bootstrap"), "-c", probe],
        cwd=ROOT / "bootstrap",
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        str(ROOT / "bootstrap" / "program.py"),
        str(ROOT / "infra" / "iam_rules.py"),
    ]
