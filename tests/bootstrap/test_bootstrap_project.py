"""The bootstrap's Pulumi project file, its dependencies and its README section."""

import json
import re
from pathlib import Path

import jsonschema
import yaml

from bootstrap.program import OUTPUT_NAMES
from bootstrap.settings import NAMESPACE

ROOT = Path(__file__).resolve().parents[2]
PROJECT = yaml.safe_load((ROOT / "bootstrap" / "Pulumi.yaml").read_text())
# Pulumi's project file schema (sdk/go/common/workspace/project.json of pulumi/pulumi, see its $id).
SCHEMA = json.loads(Path(__file__).with_name("pulumi-project.schema.json").read_text())


def pins(path: Path) -> dict[str, str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    matches = (re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line) for line in lines)
    return {m[1].lower(): m[2] for m in matches if m}


def readme_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Bootstrap")
    end = readme.find("\n## ", start + 1)
    return readme[start:end if end != -1 else None]


def test_project_file_is_valid():
    jsonschema.validate(PROJECT, SCHEMA)


def test_project_name_is_the_config_namespace():
    assert PROJECT["name"] == NAMESPACE


def test_runtime_is_python_with_its_own_virtualenv():
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_config_declares_exactly_the_documented_keys():
    assert set(PROJECT["config"]) == {"githubRepository", "deployEnvironments", "existingOidcProviderArn"}
    assert "default" not in PROJECT["config"]["githubRepository"]  # required: no repository is assumed


def test_runtime_dependencies_match_the_main_program():
    bootstrap_pins = pins(ROOT / "bootstrap" / "requirements.txt")
    assert set(bootstrap_pins) == {"pulumi", "pulumi-aws"}
    main_pins = pins(ROOT / "requirements.txt")
    for package, version in bootstrap_pins.items():
        assert main_pins[package] == version, package


def test_readme_section_names_every_output_as_a_repository_variable():
    section = readme_section()
    for name in OUTPUT_NAMES:
        assert f"`{name}`" in section, name


def test_readme_section_gives_the_order_bootstrap_variables_push():
    section = readme_section()
    assert section.index("pulumi up") < section.index("gh variable set") < section.index("git push")
