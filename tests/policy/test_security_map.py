"""SECURITY.md's map names only real things: policies of the pack, files of the repository, checkov checks and
zizmor audits; and every policy of the pack appears in it."""

import re
import shutil
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
CITED_PATHS = {path for path in re.findall(r"`([^`\s]+)`", MAP)
               if re.match(r"^(tests|scripts|policy|function|bootstrap|\.github)/", path)}
CITED_CHECKS = set(re.findall(r"\bCKV2?_[A-Z]+_\d+\b", MAP))
CITED_AUDITS = {name for cells in ROWS
                for name in re.findall(r"zizmor ([a-z]+(?:-[a-z]+)*)", " ".join(cells))}


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
        assert enforced or answer.startswith(("Not applicable: ", "Not run: ", "Lambda ", "Ignored")), cells


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


@cache
def zizmor_binary() -> bytes:
    zizmor = shutil.which("zizmor", path=str(ROOT / "venv" / "bin"))
    assert zizmor, "zizmor is in requirements-dev.txt"
    return Path(zizmor).read_bytes()


@pytest.mark.parametrize("audit", sorted(CITED_AUDITS))
def test_each_zizmor_audit_the_map_names_exists(audit):
    assert f"audits/#{audit}".encode() in zizmor_binary()


def test_the_inline_skips_the_map_lists_are_the_ones_in_the_dockerfiles():
    skips = {(path.relative_to(ROOT).as_posix(), check)
             for path in (ROOT / "function").glob("Dockerfile*")
             for check in re.findall(r"checkov:skip=(CKV2?_\w+?):", path.read_text())}
    listed = set()
    for cells in ROWS:
        check = re.match(r"(CKV2?_DOCKER_\d+)", cells[0])
        if check:
            paths = re.findall(r"`(function/Dockerfile[^`]*)`", cells[1])
            listed |= {(path, check.group(1)) for path in paths}
    assert skips == listed


def test_vulnerabilities_are_reported_privately():
    assert "## Reporting a vulnerability" in MAP
    assert "private vulnerability reporting" in MAP
