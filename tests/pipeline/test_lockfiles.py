"""The hash-pinned requirements that every job holding cloud credentials installs (`pip install
--require-hashes`, scripts/pipeline.sh prepare) match the requirements files they are generated from
(`make lock`): checked offline, so `make check` fails on a stale hashes file without asking an index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.pipeline.helpers import ROOT

LOCKED = {
    ROOT / "requirements.txt": ROOT / "requirements.hashes.txt",
    ROOT / "policy" / "requirements.txt": ROOT / "policy" / "requirements.hashes.txt",
}
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a requirements file, continuation lines joined, comments dropped."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def pins(path: Path) -> dict[str, str]:
    """name -> exact version of every `name==version` line."""
    found = {}
    for line in requirement_lines(path):
        requirement = Requirement(line.split(" --hash", 1)[0])
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{path.name}: {line!r} is not pinned with =="
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


def direct_requirements(hashes: Path, source: Path) -> set[str]:
    """The packages the hashes file says come from `source` itself (uv's `# via -r <file>` annotation)."""
    direct, current = set(), None
    for line in hashes.read_text(encoding="utf-8").splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            current = canonicalize_name(line.split("==", 1)[0])
        elif current and re.search(
            rf"(?:via|#)\s+-r {re.escape(str(source.relative_to(ROOT)))}$", line.strip()
        ):
            direct.add(current)
    return direct


@pytest.mark.parametrize("source", sorted(LOCKED), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_direct_requirement_is_locked_at_its_pinned_version(source):
    hashes = LOCKED[source]
    wanted, locked = pins(source), pins(hashes)
    stale = {
        name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version
    }
    assert not stale, f"{hashes.relative_to(ROOT)} is stale (run make lock): wanted vs locked {stale}"
    assert direct_requirements(hashes, source) == set(wanted), (
        f"{hashes.relative_to(ROOT)} lists other direct requirements than {source.relative_to(ROOT)} (run make lock)"
    )


@pytest.mark.parametrize("hashes", sorted(LOCKED.values()), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_locked_package_has_hashes_and_no_index_is_recorded(hashes):
    text = hashes.read_text(encoding="utf-8")
    assert not re.search(r"(?im)^\s*--(?:index-url|extra-index-url|find-links|trusted-host)|://", text), (
        f"{hashes.name} records an index or URL"
    )
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(entries) > 1
    for entry in entries:
        assert HASH.search(entry), f"{hashes.name}: {entry.splitlines()[0]} has no sha256 hash"
