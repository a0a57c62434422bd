"""SECURITY.md's control map (scripts/security_docs.py) names only real checks and audits: each checkov check is
one of checkov's (an AWS section's guards a Terraform resource type of that section), each zizmor audit one of
zizmor's, and the audits it says the offline lint does not run are those zizmor skips offline. Generating the
map refuses a reference to no policy, file or config key, a policy of the pack in no row, and a check skipped
without a reason; `make check` compares the page with what `make docs` writes."""

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from policy.guardrails import POLICIES
from scripts import security_docs
from scripts.security_docs import NOT_RUN_OFFLINE, container_images, references, render_cell, tables

ROOT = Path(__file__).resolve().parents[2]
TABLES = tables()
CITED_CHECKS = sorted({value for table in TABLES for kind, value in references(table) if kind == "check"})
CITED_AUDITS = sorted({value for table in TABLES for kind, value in references(table) if kind == "audit"})
SECTION_CHECKS = sorted(
    (table.name, value)
    for table in TABLES
    if table.terraform
    for row in table.rows
    for kind, value in security_docs.REFERENCE.findall(row[0])
    if kind == "check"
)
# checkov's checks with their resource types, from its registries (run in checkov's own venv): Terraform's
# resource and data checks, Dockerfile and GitHub Actions checks (a check of every instruction: type "*")
CHECKOV_REGISTRIES = """
import json
import checkov.dockerfile.checks
import checkov.github_actions.checks
from checkov.dockerfile.registry import registry as dockerfile
from checkov.github_actions.checks.registry import registry as github_actions
from checkov.terraform.checks.data.registry import data_registry
from checkov.terraform.checks.resource.registry import resource_registry
found = {}
for registry in (resource_registry, data_registry, dockerfile, github_actions):
    for checks_by_type in (registry.checks, getattr(registry, "wildcard_checks", {})):
        for resource_type, checks in checks_by_type.items():
            for check in checks:
                found.setdefault(check.id, []).append(resource_type)
print(json.dumps(found))
"""


@cache
def checkov_resource_types() -> dict[str, list[str]]:
    python = ROOT / ".venv-checkov" / "bin" / "python"
    if not python.exists():
        pytest.skip("checkov is not installed in .venv-checkov (make install)")
    run = subprocess.run(
        [python, "-c", CHECKOV_REGISTRIES], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(run.stdout)


@cache
def checkov_graph_checks() -> dict[str, str]:
    """The text of each of checkov's graph (YAML/JSON) check definitions, by check id."""
    found: dict[str, str] = {}
    site = ROOT / ".venv-checkov" / "lib"
    for path in site.glob("python3*/site-packages/checkov/*/checks/graph_checks/**/*"):
        if path.suffix in (".yaml", ".yml", ".json"):
            text = path.read_text(errors="replace")
            for check in set(re.findall(r"\bCKV2?_[A-Z]+_\d+\b", text)):
                found[check] = found.get(check, "") + text
    return found


@pytest.mark.parametrize("check", CITED_CHECKS)
def test_each_checkov_check_of_the_map_is_one_of_checkovs(check):
    assert check in checkov_resource_types() or check in checkov_graph_checks(), f"checkov has no {check}"


def test_every_aws_section_lists_checks():
    assert {name for name, _ in SECTION_CHECKS} == {table.name for table in TABLES if table.terraform}


@pytest.mark.parametrize(("section", "check"), SECTION_CHECKS, ids=[f"{s}:{c}" for s, c in SECTION_CHECKS])
def test_each_checkov_check_guards_a_resource_of_its_section(section, check):
    (prefix,) = {table.terraform for table in TABLES if table.name == section}
    types = checkov_resource_types().get(check, [])
    definition = checkov_graph_checks().get(check, "")
    assert types or definition, f"{check} is not a Terraform check of checkov"
    in_definition = f'"{prefix}' in definition or f" {prefix}" in definition
    assert any(t.startswith(prefix) for t in types) or in_definition


@cache
def zizmor_audits() -> tuple[set[str], set[str]]:
    """(every audit zizmor runs offline, every audit it skips offline), as zizmor's own log lists them when it
    audits the repository's workflows as the lint does."""
    zizmor = shutil.which("zizmor", path=str(ROOT / "venv" / "bin"))
    assert zizmor, "zizmor is in requirements-dev.txt"
    run = subprocess.run(
        [zizmor, "-vv", "--offline", "--no-progress", "--no-exit-codes", ".github/"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    scheduled = set(re.findall(r"scheduling ([a-z-]+) on ", run.stderr))
    skipped = set(re.findall(r"skipping ([a-z-]+): can't run without a GitHub API token", run.stderr))
    assert scheduled and skipped, f"zizmor's log lists no audit:\n{run.stderr[-2000:]}"
    return scheduled, skipped


@pytest.mark.parametrize("audit", CITED_AUDITS)
def test_each_zizmor_audit_of_the_map_is_one_of_zizmors(audit):
    scheduled, skipped = zizmor_audits()
    assert audit in scheduled | skipped


def test_the_audits_the_map_says_the_lint_does_not_run_are_those_zizmor_skips_offline():
    _, skipped = zizmor_audits()
    assert set(NOT_RUN_OFFLINE) == skipped


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("{policy:lambda-no-such-policy}", "the pack has no such policy"),
        ("{file:tests/no_such_test.py}", "no such file"),
        ("{key:noSuchKey}", "infra/config.py has no such key"),
    ],
)
def test_generating_refuses_a_reference_to_nothing(cell, problem):
    with pytest.raises(ValueError, match=problem):
        render_cell(cell)


def test_a_policy_is_written_with_its_enforcement_level():
    advisory = next(p for p in POLICIES if p.enforcement_level == EnforcementLevel.ADVISORY)
    mandatory = next(p for p in POLICIES if p.enforcement_level == EnforcementLevel.MANDATORY)
    assert render_cell(f"{{policy:{advisory.name}}}") == f"policy:{advisory.name} (advisory)"
    assert render_cell(f"{{policy:{mandatory.name}}}") == f"policy:{mandatory.name}"


def test_generating_refuses_a_policy_of_the_pack_in_no_row(monkeypatch):
    unmapped = ResourceValidationPolicy(
        name="unmapped-policy", description="Not in the map.", validate=lambda args, report_violation: None
    )
    monkeypatch.setattr(security_docs, "POLICIES", [*POLICIES, unmapped])
    with pytest.raises(ValueError, match=r"no row for the policies \['unmapped-policy'\]"):
        tables()


@pytest.mark.parametrize(
    ("skipped", "problem"),
    [
        (
            "skip-check:\n  - CKV_DOCKER_2\n  - CKV_DOCKER_3\n  - CKV_DOCKER_7\n",
            r"skips \['CKV_DOCKER_7'\] without a reason",
        ),
        ("skip-check: CKV_DOCKER_2\n", r"gives reasons for \['CKV_DOCKER_3'\], which .* does not skip"),
    ],
)
def test_generating_refuses_a_skipped_check_without_a_reason_and_a_reason_without_a_skip(
    tmp_path, skipped, problem
):
    config = tmp_path / ".checkov.yaml"
    config.write_text(skipped, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        container_images(config)


def scanned_files() -> list[Path]:
    """The files checkov and zizmor scan: Dockerfiles and workflows."""
    workflows = (ROOT / ".github" / "workflows").glob("*.y*ml")
    return sorted([*(ROOT / "function").glob("Dockerfile*"), *workflows])


def test_every_inline_skip_gives_its_reason():
    found = [
        (path.name, line)
        for path in scanned_files()
        for line in path.read_text().splitlines()
        if "checkov:skip" in line or "zizmor: ignore" in line
    ]
    assert found
    for name, line in found:
        reason = re.search(r"(?:checkov:skip=CKV2?_\w+?:|zizmor: ignore\[[a-z-]+\])(.*)$", line)
        assert reason and len(reason.group(1).split()) >= 3, (name, line)
