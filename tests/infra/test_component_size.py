"""No component's constructor runs past a screen: each `__init__` of a ComponentResource in infra/ stays within
60 lines (its signature to its last line), the rest in helpers named for what they build. Lines, not
statements: a resource is one statement over a dozen lines, so ruff's too-many-statements (PLR0915) cannot
tell an 83-line constructor (18 statements) from a short one."""

import ast
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"
MAX_LINES = 60


def constructors() -> list[tuple[str, int]]:
    """(`module:Class`, lines) of each ComponentResource constructor in infra/."""
    found = []
    for path in sorted(INFRA.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and any(
                "ComponentResource" in ast.unparse(b) for b in node.bases
            ):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        assert item.end_lineno is not None
                        found.append((f"{path.stem}:{node.name}", item.end_lineno - item.lineno + 1))
    return found


def test_the_components_are_found():
    assert {name for name, _ in constructors()} >= {"function:Function", "monitoring:Monitoring"}


@pytest.mark.parametrize(("component", "lines"), constructors(), ids=[name for name, _ in constructors()])
def test_no_component_constructor_exceeds_a_screen(component, lines):
    assert lines <= MAX_LINES, f"{component}.__init__ has {lines} lines (at most {MAX_LINES}): split it"
