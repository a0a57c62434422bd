"""The data flow between steps and jobs, which no linter can follow: the step outputs a job reads are the
names its scripts print, the matrix keys a job reads are in the rows `scripts/stack_matrix.py` prints, and the
CRITICAL gate of the patch rebuild reaches `ci_stack.sh verify`."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pipeline.helpers import (
    ROOT,
    WORKFLOWS,
    load_workflow,
    run_script,
    tool_env,
    workflow_files,
    write_tool,
)

STEP_OUTPUT = re.compile(r"steps\.([\w-]+)\.outputs\.([\w-]+)")
NEEDS_OUTPUT = re.compile(r"needs\.([\w-]+)\.outputs\.([\w-]+)")
MATRIX_KEY = re.compile(r"\bmatrix\.([\w-]+)")
CI_PLAN = "scripts/ci_plan.sh"
# Steps whose outputs are not stack_matrix.py's: the names they print (tests/pipeline/test_ci_stack.py
# checks that `ci_stack.sh prepare` prints exactly `image-uri=<value>`).
OTHER_PRODUCERS = {"scripts/ci_stack.sh prepare": {"image-uri"}}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The repository's project and stack files plus a further x86_64 stack, so every list is non-empty."""
    root = tmp_path_factory.mktemp("stacks")
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, root / path.name)
    (root / "Pulumi.production.yaml").write_text(
        "config:\n  container-lambda:architecture: x86_64\n", encoding="utf-8"
    )
    return root


def plan_outputs(project: Path, run: str) -> dict[str, str]:
    """What `scripts/ci_plan.sh ARGS >> "$GITHUB_OUTPUT"` appends: stack_matrix.py's name=value lines."""
    words = shlex.split(run)
    assert words[0] == CI_PLAN and words[-2:] == [">>", "$GITHUB_OUTPUT"], run
    result = run_script(ROOT / "scripts" / "stack_matrix.py", "--root", str(project), *words[1:-2])
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def printed_names(project: Path, step: dict) -> set[str]:
    run = str(step.get("run", "")).strip()
    if run.startswith(CI_PLAN):
        return set(plan_outputs(project, run))
    for prefix, names in OTHER_PRODUCERS.items():
        if run.startswith(prefix):
            return names
    raise AssertionError(f"step {step.get('id')!r} is read for outputs but prints none known: {run!r}")


def jobs() -> list[tuple[str, str, dict]]:
    return [(path.name, job_id, job) for path in workflow_files()
            for job_id, job in load_workflow(path)["jobs"].items()]


@pytest.mark.parametrize(("workflow", "job_id", "job"), jobs(), ids=[f"{w}:{j}" for w, j, _ in jobs()])
def test_every_step_output_a_job_reads_is_printed_by_an_earlier_step(project, workflow, job_id, job):
    steps = job.get("steps", [])
    ids = [step.get("id") for step in steps]
    for where, text in [("outputs", json.dumps(job.get("outputs", {}))),
                        *((f"step {i}", json.dumps(step)) for i, step in enumerate(steps))]:
        for step_id, name in STEP_OUTPUT.findall(text):
            assert step_id in ids, f"{workflow}:{job_id} {where} reads steps.{step_id}, which does not exist"
            producer = ids.index(step_id)
            if where != "outputs":
                assert producer < int(where.split()[1]), f"{workflow}:{job_id}: steps.{step_id} runs later"
            assert name in printed_names(project, steps[producer]), (
                f"{workflow}:{job_id} {where} reads steps.{step_id}.outputs.{name}, never printed by the step"
            )


def matrix_rows(project: Path, workflow: dict, job: dict) -> list[dict]:
    """The rows a `matrix: include: ${{ fromJSON(needs.<job>.outputs.<name>) }}` expands to."""
    (needed, name) = NEEDS_OUTPUT.search(job["strategy"]["matrix"]["include"]).groups()
    (step_id, output) = STEP_OUTPUT.search(workflow["jobs"][needed]["outputs"][name]).groups()
    (step,) = [s for s in workflow["jobs"][needed]["steps"] if s.get("id") == step_id]
    return json.loads(plan_outputs(project, step["run"])[output])


MATRIX_JOBS = [
    (path.name, job_id)
    for path in workflow_files()
    for job_id, job in load_workflow(path)["jobs"].items()
    if "matrix" in (job.get("strategy") or {})
]


@pytest.mark.parametrize(("workflow", "job_id"), MATRIX_JOBS, ids=[f"{w}:{j}" for w, j in MATRIX_JOBS])
def test_every_matrix_key_a_job_reads_is_in_every_row(project, workflow, job_id):
    data = load_workflow(WORKFLOWS / workflow)
    job = data["jobs"][job_id]
    rows = matrix_rows(project, data, job)
    assert rows, f"{workflow}:{job_id}: the scratch project gives no rows"
    used = set(MATRIX_KEY.findall(json.dumps({k: v for k, v in job.items() if k != "strategy"})))
    assert used, f"{workflow}:{job_id} reads no matrix key"
    for row in rows:
        assert used <= set(row), f"{workflow}:{job_id} reads {used - set(row)}, not in the row {row}"


def test_the_runner_of_a_stack_job_indexed_from_a_plan_output_exists(project):
    # preview.yml / deploy.yml / patch-rebuild.yml pick `fromJSON(needs.plan.outputs.X)[0].runner`
    for path in workflow_files():
        data = load_workflow(path)
        for job_id, job in data["jobs"].items():
            for needed, name in re.findall(r"fromJSON\(needs\.(\w+)\.outputs\.([\w-]+)\)\[0\]\.runner",
                                           json.dumps(job)):
                (step_id, output) = STEP_OUTPUT.search(data["jobs"][needed]["outputs"][name]).groups()
                (step,) = [s for s in data["jobs"][needed]["steps"] if s.get("id") == step_id]
                rows = json.loads(plan_outputs(project, step["run"])[output])
                assert rows and rows[0]["stack"] == "dev", f"{path.name}:{job_id}"
                assert rows[0]["runner"].startswith("ubuntu-"), f"{path.name}:{job_id}"


# --- the severity gate of the patch rebuild ----------------------------------------------------------------


def verify_step() -> dict:
    steps = load_workflow(WORKFLOWS / "stack-up.yml")["jobs"]["up"]["steps"]
    (step,) = [s for s in steps if str(s.get("run", "")).startswith("scripts/ci_stack.sh verify ")]
    return step


def test_stack_up_declares_the_severity_input_empty_by_default():
    inputs = load_workflow(WORKFLOWS / "stack-up.yml")["on"]["workflow_call"]["inputs"]
    assert inputs["fail-on-severity"]["type"] == "string"
    assert inputs["fail-on-severity"].get("default", "") == ""
    assert not inputs["fail-on-severity"].get("required", False)


@pytest.mark.parametrize(("severity", "expected"), [("CRITICAL", ["--fail-on", "CRITICAL"]), ("", [])])
def test_the_severity_input_reaches_the_verify_command(tmp_path, severity, expected):
    """Run the step's `run:` as the runner would (bash, its env), with a ci_stack.sh that records its args."""
    step = verify_step()
    assert step["env"]["FAIL_ON"] == "${{ inputs.fail-on-severity }}"
    assert step["env"]["STACK"] == "${{ inputs.stack }}"
    record = tmp_path / "args.json"
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    recorder = "import json, sys; print(json.dumps(sys.argv[1:]))"
    write_tool(scripts, "ci_stack.sh", f"python3 -c '{recorder}' \"$@\" > {record}\n")
    env = tool_env(tmp_path / "bin", STACK="production", FAIL_ON=severity)
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(record.read_text(encoding="utf-8")) == ["verify", "production", *expected]
