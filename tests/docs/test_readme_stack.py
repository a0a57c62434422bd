"""The README's stack section matches the code: config table (infra/config.py and Pulumi.yaml), outputs
table (infra/outputs.py), and its StackReference example runs against the stack's outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from infra.config import KEYS
from infra.outputs import OUTPUTS
from tests.infra.support import run_stack
from tests.support.pulumi_harness import run_program

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(heading: str) -> str:
    start = README.index(f"\n## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


STACK = section("The stack: config, outputs, consuming, destroy")


def table(header: str) -> list[list[str]]:
    """The rows of the table whose header line is `header`, as lists of stripped cells."""
    lines = STACK[STACK.index(header):].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def code(cell: str) -> str:
    match = re.fullmatch(r"`([^`]*)`(?: \(unset\))?", cell)
    assert match, f"not a code cell: {cell!r}"
    return match.group(1)


CONFIG_ROWS = table("| Key | Type | Default | Allowed |")
OUTPUT_ROWS = table("| Output | What it is |")


def test_the_config_table_lists_exactly_the_keys_in_order():
    assert [code(row[0]) for row in CONFIG_ROWS] == [key.name for key in KEYS]


@pytest.mark.parametrize("key", KEYS, ids=lambda key: key.name)
def test_each_config_row_matches_the_code_and_pulumi_yaml(key):
    (row,) = [row for row in CONFIG_ROWS if code(row[0]) == key.name]
    _, type_, default, allowed = row
    assert type_ == key.type
    shown = key.default if isinstance(key.default, str) and key.default else json.dumps(key.default)
    assert code(default) == shown
    assert allowed == key.allowed
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"][key.name]
    assert declared["default"] == key.default


def test_the_outputs_table_is_the_contract():
    assert [(code(name), text) for name, text in OUTPUT_ROWS] == list(OUTPUTS.items())


def test_the_stack_reference_example_reads_the_stack_outputs(tmp_path: Path):
    (example,) = re.findall(r"```python\n(.*?)```", STACK, flags=re.S)
    (tmp_path / "__main__.py").write_text(example)
    outputs = run_stack().outputs
    consumer = run_program(tmp_path, project="consumer", stack="dev",
                           stack_references={"organization/container-lambda/dev": outputs})
    assert consumer.outputs == {"healthUrl": f"{outputs['apiUrl']}/health",
                                "functionArn": outputs["functionArn"]}


def test_the_destroy_command_is_a_make_target():
    assert "make destroy" in STACK
    assert re.search(r"^destroy:.*\n\tscripts/deploy\.sh destroy", (ROOT / "Makefile").read_text(), re.M)


def test_the_overview_diagram_goes_image_ecr_lambda_http_api():
    overview = section("How it fits together")
    (diagram,) = re.findall(r"```mermaid\n(.*?)```", overview, flags=re.S)
    positions = [diagram.index(word) for word in ("container image", "Amazon ECR", "AWS Lambda")]
    assert positions == sorted(positions)
    assert re.search(r'api\[.*HTTP API.*\] -->.* fn', diagram)
