"""What each workflow does: triggers, the Pulumi steps, concurrency, fork handling, caches, dependabot."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.pipeline.helpers import ROOT, WORKFLOWS, load_workflow, uses_action

PULUMI_ACTION = "pulumi/actions"
STACK_UP = "./.github/workflows/stack-up.yml"
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"
FORK = "github.event.pull_request.head.repo.full_name != github.repository"


def workflow(name: str) -> dict:
    return load_workflow(WORKFLOWS / name)


def pulumi_command_steps(name: str) -> list[dict]:
    return [
        step
        for job in workflow(name)["jobs"].values()
        for step in job.get("steps", [])
        if uses_action(step, PULUMI_ACTION) and "command" in (step.get("with") or {})
    ]


def readme_test_command() -> str:
    """The README's test command: the `make check` line of the quick-start block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^(make \w+)\s+# .*test", text, flags=re.MULTILINE)
    assert len(commands) == 1, f"README must name exactly one test command, found {commands}"
    return commands[0]


# --- tests -------------------------------------------------------------------------------------------------


def test_tests_workflow_runs_the_readme_test_command_like_ci_run():
    tests = workflow("tests.yml")
    assert set(tests["on"]) == {"pull_request", "push"}
    assert tests["on"]["push"] == {"branches": ["main"]}
    runs = [step["run"].strip() for step in tests["jobs"]["check"]["steps"] if "run" in step]
    ci_run = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert runs == [readme_test_command()] == ci_run


# --- container check ---------------------------------------------------------------------------------------


def test_container_check_runs_on_pull_requests_touching_the_function():
    check = workflow("container-check.yml")
    assert set(check["on"]) == {"pull_request"}
    paths = check["on"]["pull_request"]["paths"]
    assert "function/**" in paths
    for script in ("container_check.sh", "check_image_manifest.py", "invoke_events.py", "stack_matrix.py"):
        assert f"scripts/{script}" in paths


def test_container_check_builds_on_the_runner_of_each_stack_architecture():
    jobs = workflow("container-check.yml")["jobs"]
    assert jobs["image"]["runs-on"] == "${{ matrix.runner }}"
    assert jobs["image"]["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.builds) }}"
    (run,) = [step for step in jobs["image"]["steps"] if "run" in step]
    assert run["run"].startswith("scripts/container_check.sh ")
    assert run["env"] == {
        "ARCHITECTURE": "${{ matrix.architecture }}",
        "DOCKERFILE": "${{ matrix.dockerfile }}",
    }
    assert "id-token" not in jobs["image"]["permissions"]


# --- preview -----------------------------------------------------------------------------------------------


def test_preview_runs_on_pull_requests_only():
    assert set(workflow("preview.yml")["on"]) == {"pull_request"}


def test_preview_of_dev_with_policy_pack_and_pr_comment():
    (step,) = pulumi_command_steps("preview.yml")
    inputs = step["with"]
    assert inputs["command"] == "preview"
    assert inputs["stack-name"] == "dev"
    assert inputs["comment-on-pr"] is True
    assert inputs["policyPacks"] == "policy"
    assert "upsert" not in inputs, "a read-only preview must not create the stack"


def test_fork_pull_requests_skip_the_preview_with_a_message():
    jobs = workflow("preview.yml")["jobs"]
    for job_id, job in jobs.items():
        if job_id == "fork":
            assert job["if"] == FORK
            assert job["permissions"] == {}
            message = job["steps"][0]["run"]
            assert "::notice" in message and "fork" in message.lower() and "GITHUB_STEP_SUMMARY" in message
        else:
            assert job["if"] == SAME_REPOSITORY, f"preview.yml:{job_id} must not run for forks"


# --- deploy ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["deploy.yml", "patch-rebuild.yml"])
def test_dev_first_then_further_stacks_one_at_a_time(name):
    jobs = workflow(name)["jobs"]
    assert jobs["dev"]["uses"] == STACK_UP
    assert jobs["dev"]["with"]["stack"] == "dev"
    assert jobs["promote"]["uses"] == STACK_UP
    assert "dev" in jobs["promote"]["needs"]
    assert jobs["promote"]["strategy"]["max-parallel"] == 1
    assert jobs["promote"]["with"]["stack"] == "${{ matrix.stack }}"
    assert jobs["promote"]["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.further) }}"
    for job in (jobs["dev"], jobs["promote"]):
        assert job["secrets"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}


def test_deploy_runs_on_push_to_main_only_and_is_never_cancelled():
    deploy = workflow("deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    assert "concurrency" not in deploy, "a workflow-level group with cancel-in-progress would cancel deploys"


def deploying_jobs(name: str) -> list[str]:
    """The jobs of a workflow that run `pulumi up`: stack-up.yml's own, or the jobs that call it."""
    jobs = workflow(name)["jobs"]
    return list(jobs) if name == "stack-up.yml" else [job_id for job_id, job in jobs.items()
                                                       if job.get("uses") == STACK_UP]


DEPLOYING = sorted(path.name for path in WORKFLOWS.glob("*.yml") if deploying_jobs(path.name))


def test_the_deploying_workflows_are_known():
    assert DEPLOYING == ["deploy.yml", "patch-rebuild.yml", "stack-up.yml"]


@pytest.mark.parametrize("name", DEPLOYING)
def test_no_concurrency_group_on_the_way_to_a_deploy_cancels_it(name):
    data = workflow(name)
    groups = [data.get("concurrency")]
    groups += [data["jobs"][job_id].get("concurrency") for job_id in deploying_jobs(name)]
    for group in groups:
        if group is not None:
            assert isinstance(group, dict) and group.get("cancel-in-progress") is False, (name, group)


def test_stack_up_is_serialized_per_stack_in_its_environment():
    stack_up = workflow("stack-up.yml")
    assert set(stack_up["on"]) == {"workflow_call"}
    job = stack_up["jobs"]["up"]
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {"group": "pulumi-stack-${{ inputs.stack }}", "cancel-in-progress": False}


def test_stack_up_runs_pulumi_up_with_policy_pack_and_previous_image_as_cache():
    (step,) = pulumi_command_steps("stack-up.yml")
    inputs = step["with"]
    assert inputs["command"] == "up"
    assert inputs["stack-name"] == "${{ inputs.stack }}"
    assert inputs["policyPacks"] == "policy"
    cache_from = step["env"]["CONTAINER_LAMBDA_CACHE_FROM"]
    assert cache_from == "${{ steps.prepare.outputs.image-uri }}"
    prepare = [s for s in workflow("stack-up.yml")["jobs"]["up"]["steps"] if s.get("id") == "prepare"]
    assert prepare and prepare[0]["run"].startswith("scripts/ci_stack.sh prepare ")


def test_stack_up_smoke_tests_after_up():
    steps = workflow("stack-up.yml")["jobs"]["up"]["steps"]
    up_index = next(i for i, step in enumerate(steps) if step.get("id") == "up")
    verify = [
        s for s in steps[up_index + 1 :] if str(s.get("run", "")).startswith("scripts/ci_stack.sh verify ")
    ]
    assert verify, "the stack's checks (wait for Active, smoke test) must run after pulumi up"


def test_no_cache_is_restored_in_deploy_jobs():
    for name, job in workflow("stack-up.yml")["jobs"].items():
        for step in job["steps"]:
            uses = str(step.get("uses", ""))
            assert not uses.startswith(("actions/cache", "actions/cache/restore")), name
            assert "cache" not in (step.get("with") or {}), f"{uses} restores a cache in the deploy job"
            assert "type=gha" not in str(step), "no GitHub Actions build cache in the deploy job"


def test_every_pulumi_command_uses_the_state_and_secrets_variables_and_the_sdk_cli_version():
    sdk = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(encoding="utf-8"), re.MULTILINE)
    assert sdk, "requirements.txt pins the pulumi SDK"
    for name in ("preview.yml", "stack-up.yml", "drift.yml"):
        for step in pulumi_command_steps(name):
            assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
            assert step["with"]["secrets-provider"] == "${{ vars.PULUMI_SECRETS_PROVIDER }}"
        job = next(
            iter(workflow(name)["jobs"][j] for j in workflow(name)["jobs"] if j in {"preview", "up", "drift"})
        )
        assert job["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"
        assert job["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    for path in WORKFLOWS.glob("*.yml"):
        for job in load_workflow(path)["jobs"].values():
            for step in job.get("steps", []):
                if uses_action(step, PULUMI_ACTION):
                    assert str(step["with"]["pulumi-version"]) == sdk[1], f"{path.name}: CLI != SDK version"


# --- drift and patch rebuild -------------------------------------------------------------------------------


def test_drift_runs_nightly_for_every_stack_expecting_no_changes():
    drift = workflow("drift.yml")
    (cron,) = [entry["cron"] for entry in drift["on"]["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert (day, month, weekday) == ("*", "*", "*") and hour.isdigit(), "drift runs every night"
    job = drift["jobs"]["drift"]
    assert job["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.stacks) }}"
    assert job["strategy"]["fail-fast"] is False
    (step,) = [step for step in job["steps"] if "drift" in str(step.get("run", ""))]
    assert step["run"] == 'scripts/ci_stack.sh drift "$STACK"'
    assert step["env"] == {"STACK": "${{ matrix.stack }}"}
    assert not pulumi_command_steps("drift.yml"), "drift runs the CLI itself (the action cannot --exclude)"


def test_preview_builds_on_the_base_the_deploy_would_use():
    steps = workflow("preview.yml")["jobs"]["preview"]["steps"]
    refresh = [i for i, step in enumerate(steps) if "refresh_base_image.py" in str(step.get("run", ""))]
    prepare = [i for i, step in enumerate(steps) if step.get("id") == "prepare"]
    command = [i for i, step in enumerate(steps) if "command" in (step.get("with") or {})]
    assert refresh and prepare and command and refresh[0] < prepare[0] < command[0]


def test_patch_rebuild_runs_weekly_and_fails_on_critical_findings():
    patch = workflow("patch-rebuild.yml")
    (cron,) = [entry["cron"] for entry in patch["on"]["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert (day, month) == ("*", "*") and weekday.isdigit(), "weekly schedule"
    for job_id in ("dev", "promote"):
        inputs = patch["jobs"][job_id]["with"]
        assert set(inputs) == {"stack", "runner", "fail-on-severity"}
        assert inputs["fail-on-severity"] == "CRITICAL"


def test_every_update_builds_on_the_current_digest_of_the_base_tag():
    steps = workflow("stack-up.yml")["jobs"]["up"]["steps"]
    ids = [step.get("id") for step in steps]
    (base,) = [step for step in steps if step.get("id") == "base"]
    assert "if" not in base
    assert base["run"] == 'python3 scripts/refresh_base_image.py function/Dockerfile* >> "$GITHUB_OUTPUT"'
    assert ids.index("base") < ids.index("prepare") < ids.index("up"), "the image tag depends on the base"


def test_the_deploy_workflow_only_reports_the_scan():
    for job in workflow("deploy.yml")["jobs"].values():
        assert "fail-on-severity" not in (job.get("with") or {})


# --- agreement with the bootstrap project and the README ---------------------------------------------------


def test_repository_variables_are_the_bootstrap_outputs():
    from bootstrap.program import VARIABLES  # the variables the bootstrap's outputs set (docs/bootstrap.md)

    text = "\n".join(path.read_text(encoding="utf-8") for path in WORKFLOWS.glob("*.yml"))
    assert set(re.findall(r"\bvars\.(\w+)", text)) == set(VARIABLES)


def test_readme_pipeline_section_documents_every_workflow_and_variable():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Deploying from GitHub")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    for path in WORKFLOWS.glob("*.yml"):
        assert f"`{path.name}`" in section, f"README's pipeline section does not describe {path.name}"


# --- dependabot --------------------------------------------------------------------------------------------


MANIFESTS = {
    "pip": re.compile(r"^requirements.*\.txt$"),
    "docker": re.compile(r"^(docker|container)file", re.IGNORECASE),
}
# tests/fixtures: manifests of test fixtures, never built or shipped
NOT_SOURCES = {".git", "venv", ".venv-checkov", ".venv-bench", ".tools", "node_modules", ".pytest_cache",
               ".ruff_cache", ".hypothesis", ".pulumi-state", "fixtures"}


def manifest_directories() -> set[tuple[str, str]]:
    """(ecosystem, "/dir") of every pip requirements file and Dockerfile of the repository."""
    found = {("github-actions", "/")} if any(WORKFLOWS.glob("*.yml")) else set()
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if path.is_dir() or any(part in NOT_SOURCES or part.endswith("venv") for part in parts):
            continue
        for ecosystem, pattern in MANIFESTS.items():
            if pattern.match(path.name):
                found.add((ecosystem, "/" + "/".join(parts[:-1])))
    return found


def test_dependabot_covers_every_manifest_directory_and_each_entry_has_a_cooldown():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    covered = set()
    for update in config["updates"]:
        cooldown = update.get("cooldown") or {}
        assert isinstance(cooldown.get("default-days"), int) and cooldown["default-days"] >= 1, update
        for directory in update.get("directories") or [update["directory"]]:
            covered.add((update["package-ecosystem"], directory))
    expected = manifest_directories()
    assert {("github-actions", "/"), ("pip", "/"), ("pip", "/function"), ("docker", "/function"),
            ("pip", "/policy"), ("pip", "/bootstrap")} <= expected, expected
    assert expected <= covered, f"manifests without dependabot updates: {sorted(expected - covered)}"


def test_pulumi_jobs_fall_back_to_the_secrets_provider_in_the_state():
    for name, job_id in (("preview.yml", "preview"), ("drift.yml", "drift"), ("stack-up.yml", "up")):
        env = workflow(name)["jobs"][job_id]["env"]
        assert env["PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"] == "true", name


PLANNED = ["container-check.yml", "preview.yml", "deploy.yml", "drift.yml", "patch-rebuild.yml"]


@pytest.mark.parametrize("name", PLANNED)
def test_the_stack_list_comes_from_the_stack_files(name):
    plan = workflow(name)["jobs"]["plan"]
    runs = [step["run"] for step in plan["steps"] if "run" in step]
    assert runs
    for run in runs:
        assert run.startswith("scripts/ci_plan.sh") and run.endswith('>> "$GITHUB_OUTPUT"'), run
    assert plan["permissions"] == {"contents": "read"}
