"""SECURITY.md's map names only real things: policies of the pack, files of the repository, checkov checks and
zizmor audits; and every policy of the pack appears in it."""

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from policy.guardrails import POLICIES

ROOT = Path(__file__).resolve().parents[2]
MAP = (ROOT / "SECURITY.md").read_text()
CHECKOV_CHECKS = ROOT / ".venv-checkov" / "lib"
POLICY_NAMES = {policy.name for policy in POLICIES}


def table_rows(text: str) -> list[list[str]]:
    """Cells of every Markdown table row except header and separator rows."""
    rows = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if following.startswith("|") and set(following) <= set("|- "):
            continue  # a header row
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


ROWS = table_rows(MAP)
CITED_POLICIES = set(re.findall(r"policy:([a-z0-9-]+)", MAP))
CITED_PATHS = {
    path
    for path in re.findall(r"`([^`\s]+)`", MAP)
    if re.match(r"^(tests|scripts|policy|function|bootstrap|\.github)/", path)
}
CITED_CHECKS = set(re.findall(r"\bCKV2?_[A-Z]+_\d+\b", MAP))
CITED_AUDITS = {
    name for cells in ROWS for name in re.findall(r"zizmor ([a-z]+(?:-[a-z]+)*)", " ".join(cells))
}


def test_the_map_has_its_tables():
    assert len(ROWS) > 60
    assert all(len(cells) >= 2 and all(cells) for cells in ROWS)


@pytest.mark.parametrize("name", sorted(CITED_POLICIES))
def test_each_policy_the_map_names_exists_in_the_pack(name):
    assert name in POLICY_NAMES


def test_every_policy_of_the_pack_is_in_the_map():
    assert not POLICY_NAMES - CITED_POLICIES


def test_every_rule_row_says_how_it_is_enforced_or_why_not():
    for cells in ROWS:
        answer = cells[-1]
        enforced = re.search(r"policy:|`tests/|`\.github/|zizmor|checkov|parliament|Ignored inline", answer)
        # "GitHub: " marks a control that lives in GitHub's settings or behaviour, outside every file here
        answered = ("Not applicable: ", "Not run: ", "Lambda ", "Ignored", "GitHub: ")
        assert enforced or answer.startswith(answered), cells


@pytest.mark.parametrize("path", sorted(CITED_PATHS))
def test_each_file_the_map_names_exists(path):
    assert (ROOT / path).exists()


@cache
def checkov_sources() -> str:
    files = list(CHECKOV_CHECKS.glob("python3*/site-packages/checkov/*/checks/**/*"))
    if not files:
        pytest.skip("checkov is not installed in .venv-checkov (make install)")
    sources = [path for path in files if path.suffix in (".py", ".yaml", ".json")]
    return "\n".join(path.read_text(errors="replace") for path in sources)


@pytest.mark.parametrize("check", sorted(CITED_CHECKS))
def test_each_checkov_check_the_map_names_exists(check):
    assert re.search(rf"[\"']{check}[\"']|id: {check}\b", checkov_sources())


# The Terraform resource types of each AWS section's table: a check listed there must guard one of them.
SECTION_RESOURCES = {
    "Lambda": "aws_lambda_",
    "ECR": "aws_ecr_",
    "API Gateway v2 (HTTP API)": "aws_apigatewayv2_",
    "CloudWatch Logs": "aws_cloudwatch_log_group",
    "IAM": "aws_iam_",
}
SECTIONS = dict(re.findall(r"^### (.+)\n((?:(?!### ).*\n)*)", MAP, flags=re.MULTILINE))
SECTION_CHECKS = sorted(
    (section, check)
    for section in SECTION_RESOURCES
    for line in SECTIONS[section].splitlines()
    if line.startswith("| ")
    for check in re.findall(r"\bCKV2?_AWS_\d+\b", line.split("|")[1])
)
# checkov's Python checks with their resource types, from its registries (run in checkov's own venv)
CHECKOV_RESOURCE_TYPES = """
import json
from checkov.terraform.checks.data.registry import data_registry
from checkov.terraform.checks.resource.registry import resource_registry
found = {}
for registry in (resource_registry, data_registry):
    for resource_type, checks in registry.checks.items():
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
        [python, "-c", CHECKOV_RESOURCE_TYPES],
        capture_output=True,
        text=True,  # noqa: S603
        check=True,
        cwd=ROOT,
    )
    return json.loads(run.stdout)


@cache
def checkov_graph_checks() -> dict[str, str]:
    """The text of each of checkov's graph (YAML/JSON) check definitions for Terraform, by check id."""
    found = {}
    for path in CHECKOV_CHECKS.glob("python3*/site-packages/checkov/terraform/checks/graph_checks/aws/*"):
        text = path.read_text(errors="replace")
        for check in re.findall(r"\bCKV2_AWS_\d+\b", text):
            found[check] = found.get(check, "") + text
    return found


def test_every_aws_section_lists_checks():
    assert {section for section, _ in SECTION_CHECKS} == set(SECTION_RESOURCES)


@pytest.mark.parametrize(("section", "check"), SECTION_CHECKS, ids=[f"{s}:{c}" for s, c in SECTION_CHECKS])
def test_each_checkov_check_guards_a_resource_of_its_section(section, check):
    prefix = SECTION_RESOURCES[section]
    types = checkov_resource_types().get(check, [])
    definition = checkov_graph_checks().get(check, "")
    assert types or definition, f"{check} is not a Terraform check of checkov"
    in_definition = f'"{prefix}' in definition or f" {prefix}" in definition
    assert any(t.startswith(prefix) for t in types) or in_definition


@cache
def zizmor_binary() -> bytes:
    zizmor = shutil.which("zizmor", path=str(ROOT / "venv" / "bin"))
    assert zizmor, "zizmor is in requirements-dev.txt"
    return Path(zizmor).read_bytes()


@pytest.mark.parametrize("audit", sorted(CITED_AUDITS))
def test_each_zizmor_audit_the_map_names_exists(audit):
    # the binary runs each audit's documentation link into the next string, so a link alone would also
    # accept a prefix of a name; the audit's source file (src/audit/<name>.rs) ends exactly
    assert f"audits/#{audit}".encode() in zizmor_binary()
    assert f"/src/audit/{audit.replace('-', '_')}.rs".encode() in zizmor_binary()


def test_every_check_the_lint_or_a_dockerfile_skips_is_a_row_of_the_map():
    """Whatever Dockerfiles function/ holds: each checkov check skipped, by scripts/lint.sh for every
    Dockerfile or inline in one, has a row saying why."""
    lint = (ROOT / "scripts" / "lint.sh").read_text()
    skipped = {check for flag in re.findall(r"--skip-check (\S+)", lint) for check in flag.split(",")}
    assert skipped, "scripts/lint.sh skips the checks that do not hold for Lambda images"
    skipped |= {
        check
        for path in (ROOT / "function").glob("Dockerfile*")
        for check in re.findall(r"checkov:skip=(CKV2?_\w+?):", path.read_text())
    }
    listed = {match.group(1) for cells in ROWS if (match := re.match(r"(CKV2?_DOCKER_\d+)", cells[0]))}
    assert skipped <= listed, f"skipped without a row in SECURITY.md: {sorted(skipped - listed)}"


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


def test_vulnerabilities_are_reported_privately():
    assert "## Reporting a vulnerability" in MAP
    assert "private vulnerability reporting" in MAP
