"""What the workflows promise that no linter checks (actionlint, zizmor with the hash-pin policy of
.github/zizmor.yml, check-jsonschema and checkov run in scripts/lint.sh): the order of the deploy, who gets
which credential, and the data flow between steps and the scripts that print their outputs."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from infra.project import PROJECT
from tests.pipeline.helpers import ROOT, all_jobs, all_steps, load_workflow, uses_action, workflow_files
from tests.pipeline.test_pipeline_script import PRODUCES, make_world, outputs, run

DEPLOY = load_workflow(ROOT / ".github" / "workflows" / "deploy.yml")
TESTS = load_workflow(ROOT / ".github" / "workflows" / "tests.yml")
PREVIEW = load_workflow(ROOT / ".github" / "workflows" / "preview.yml")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*))?$")
PIPELINE = "scripts/pipeline.sh"
ALLOWED_GRANTS = {
    ("contents", "read"),
    ("id-token", "write"),
    ("pull-requests", "write"),
    ("attestations", "read"),
    ("attestations", "write"),
}


def step_index(job: dict, fragment: str) -> int:
    """Index of the one step whose run or uses contains `fragment`."""
    found = [i for i, step in enumerate(job["steps"]) if fragment in json.dumps(step)]
    assert len(found) == 1, f"expected one step with {fragment!r}, found {len(found)}"
    return found[0]


def test_every_job_has_its_own_minimal_permissions_and_a_timeout():
    for path in workflow_files():
        assert load_workflow(path).get("permissions") == {}, f"{path.name}: top-level permissions not {{}}"
    for workflow, job_id, job in all_jobs():
        grants = set((job.get("permissions") or {}).items())
        assert "permissions" in job and grants <= ALLOWED_GRANTS, f"{workflow}:{job_id} grants {grants}"
        if "steps" in job:
            assert job.get("timeout-minutes"), f"{workflow}:{job_id} has no timeout"


def test_the_function_is_built_in_a_job_without_any_credential():
    """The function's build steps (its Dockerfile) run only where nothing can be signed or reached."""
    builders = [
        (workflow, job_id)
        for workflow, job_id, step in all_steps()
        if uses_action(step, "docker/build-push-action") or "docker buildx build" in step.get("run", "")
    ]
    assert builders == [("deploy.yml", "build")]
    build = DEPLOY["jobs"]["build"]
    assert build["permissions"] == {"contents": "read"}
    assert "environment" not in build and "secrets." not in json.dumps(build)


def test_only_the_attest_job_signs_and_it_runs_none_of_the_functions_code():
    writers = {
        (workflow, job_id)
        for workflow, job_id, job in all_jobs()
        if (job.get("permissions") or {}).get("attestations") == "write"
    }
    assert writers == {("deploy.yml", "attest")}
    signers = [
        (workflow, job_id)
        for workflow, job_id, step in all_steps()
        if uses_action(step, "actions/attest-build-provenance")
    ]
    assert signers == [("deploy.yml", "attest")]
    attest = DEPLOY["jobs"]["attest"]
    # no environment: no deploy role trusts its token (tests/bootstrap/test_bootstrap_escalation.py)
    assert "environment" not in attest and "secrets." not in json.dumps(attest)
    actions = {step["uses"].split("@")[0] for step in attest["steps"] if "uses" in step}
    assert actions == {"actions/checkout", "actions/download-artifact", "actions/attest-build-provenance"}
    assert [step["run"] for step in attest["steps"] if "run" in step] == [
        f'{PIPELINE} archive-digest "$RUNNER_TEMP/image/image.tar"'
    ]


def test_the_attested_archive_is_the_one_the_deploy_job_pushes():
    jobs = DEPLOY["jobs"]
    (upload,) = [step for step in jobs["build"]["steps"] if uses_action(step, "actions/upload-artifact")]
    (build,) = [step for step in jobs["build"]["steps"] if uses_action(step, "docker/build-push-action")]
    assert build["with"]["outputs"] == "type=oci,dest=${{ runner.temp }}/image.tar"
    assert upload["with"]["path"] == "${{ runner.temp }}/image.tar" and upload["with"]["name"] == "image"
    for job_id in ("attest", "deploy"):
        (download,) = [
            step for step in jobs[job_id]["steps"] if uses_action(step, "actions/download-artifact")
        ]
        assert download["with"] == {"name": "image", "path": "${{ runner.temp }}/image"}, job_id
    attest = jobs["attest"]["steps"][step_index(jobs["attest"], "actions/attest-build-provenance")]
    assert attest["with"] == {
        "subject-name": "${{ needs.setup.outputs.subject }}",
        "subject-digest": "${{ steps.digest.outputs.digest }}",
    }
    push = jobs["deploy"]["steps"][step_index(jobs["deploy"], f"{PIPELINE} push-archive")]
    assert push["run"] == f'{PIPELINE} push-archive "$RUNNER_TEMP/image/image.tar" "$TAG" "$STACK"'
    assert push["env"] == {"TAG": "${{ needs.setup.outputs.tag }}"}
    # what is built is what the program builds for the building stack (infra/build_context.py image)
    assert {key: build["with"][key] for key in ("context", "file", "platforms")} == {
        "context": "${{ needs.setup.outputs.context }}",
        "file": "${{ needs.setup.outputs.dockerfile }}",
        "platforms": "${{ needs.setup.outputs.platform }}",
    }
    assert build["with"]["provenance"] is False and build["with"]["sbom"] is False
    # any job on main may write main's Actions cache: no cached layer enters an attested build
    assert build["with"]["no-cache"] is True and not {"cache-from", "cache-to"} & set(build["with"])


def test_the_jobs_that_hold_a_deploy_role_may_only_read_attestations():
    for workflow, job_id, job in all_jobs():
        if job.get("environment"):
            assert (job.get("permissions") or {}).get("attestations") in (None, "read"), (workflow, job_id)


def test_every_action_is_a_full_sha_with_its_version_comment():
    """zizmor's hash-pin policy requires the SHA; the comment is what Dependabot updates with it."""
    for path in workflow_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            match = USES_LINE.match(line)
            if not match or match["ref"].startswith("./"):
                continue
            pinned = re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", match["ref"])
            assert pinned, f"{path.name}: {line.strip()}"
            assert re.fullmatch(r"v\d+(\.\d+)*", match["comment"] or ""), f"{path.name}: no version: {line}"


def test_checkout_never_persists_credentials_and_no_expression_runs_in_a_shell():
    for workflow, job_id, step in all_steps():
        if uses_action(step, "actions/checkout"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{workflow}:{job_id}"
        assert "${{" not in str(step.get("run", "")), f"{workflow}:{job_id}: use env: for expressions"


def test_deploy_starts_on_main_or_by_hand_and_is_never_cancelled():
    assert set(DEPLOY["on"]) == {"push", "workflow_dispatch"}
    assert DEPLOY["on"]["push"] == {"branches": ["main"]}
    assert DEPLOY["concurrency"]["cancel-in-progress"] is False


def test_the_first_deploy_job_refuses_other_refs_then_names_missing_variables_before_anything_else():
    setup = DEPLOY["jobs"]["setup"]
    runs = [step["run"] for step in setup["steps"] if "run" in step]
    assert runs[0] == f"{PIPELINE} main-only"
    assert runs[1].startswith(f"{PIPELINE} require ")
    assert "needs" not in setup
    for job_id in ("deploy", "promote"):
        job = DEPLOY["jobs"][job_id]
        first_run = next(step for step in job["steps"] if "run" in step)
        assert first_run["run"] == f"{PIPELINE} require env:AWS_DEPLOY_ROLE_ARN", job_id
        assert step_index(job, "require env:") < step_index(job, "configure-aws-credentials")


def needs_of(jobs: dict, job_id: str) -> set[str]:
    """Every job `job_id` waits for, directly or not."""
    needs = jobs[job_id].get("needs", [])
    direct = {needs} if isinstance(needs, str) else set(needs)
    return direct.union(*(needs_of(jobs, need) for need in direct))


@pytest.mark.parametrize("path", workflow_files(), ids=lambda path: path.name)
def test_a_workflow_started_by_hand_gives_credentials_only_after_refusing_other_refs(path):
    workflow = load_workflow(path)
    if "workflow_dispatch" not in workflow["on"]:
        return
    jobs = workflow["jobs"]
    gates = {
        job_id
        for job_id, job in jobs.items()
        if job.get("steps") and job["steps"][1].get("run") == f"{PIPELINE} main-only"
    }
    assert gates, f"{path.name}: no job starts with {PIPELINE} main-only"
    for job_id, job in jobs.items():
        if (job.get("permissions") or {}).get("id-token") == "write" or "secrets." in json.dumps(job):
            assert needs_of(jobs, job_id) & gates, f"{path.name}:{job_id} gets credentials from any ref"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda path: path.name)
def test_the_stacks_come_from_the_bootstraps_list_only(path):
    """DEPLOY_STACKS (the bootstrap's deployEnvironments) is the one source: no stack name in a workflow."""
    text = path.read_text(encoding="utf-8")
    assert "BUILDING_STACK: dev" not in text and not re.search(r"stack-name: [\w-]+$", text, re.M), path.name
    for workflow, job_id, step in all_steps():
        if step.get("run", "").startswith(f"{PIPELINE} stacks"):
            assert step["env"] == {"DEPLOY_STACKS": "${{ vars.DEPLOY_STACKS }}"}, (workflow, job_id)


def test_deploys_wait_for_the_tests_of_the_same_commit():
    assert DEPLOY["jobs"]["tests"]["uses"] == "./.github/workflows/tests.yml"
    assert "workflow_call" in TESTS["on"]
    assert set(DEPLOY["jobs"]["build"]["needs"]) >= {"tests", "setup"}
    assert "build" in DEPLOY["jobs"]["attest"]["needs"] and "attest" in DEPLOY["jobs"]["deploy"]["needs"]
    assert "deploy" in DEPLOY["jobs"]["promote"]["needs"]


def test_the_building_stack_tests_the_pushed_digest_before_the_function_runs_it():
    build = DEPLOY["jobs"]["deploy"]
    order = [
        step_index(build, fragment)
        for fragment in (
            "push-archive",
            f"{PIPELINE} provenance",
            "check-image",
            "container-test",
            f"{PIPELINE} scan",
            '"command": "up"',
            f"{PIPELINE} verify",
        )
    ]
    assert order == sorted(order), (
        "push, provenance, check, container test, scan gate, then pulumi up, then verify"
    )
    discard = build["steps"][step_index(build, "pipeline.sh discard")]
    assert discard["if"] == "failure() && steps.check.outcome == 'failure'"
    assert step_index(build, "pipeline.sh discard") == step_index(build, "check-image") + 1
    image = "${{ steps.image.outputs.image-uri }}"
    for fragment in ("check-image", "container-test", f"{PIPELINE} provenance"):
        assert build["steps"][step_index(build, fragment)]["env"]["IMAGE_URI"] == image
    # the full `pulumi up` runs exactly the verified digest, by digest: nothing is built or looked up by tag
    assert build["steps"][step_index(build, '"command": "up"')]["env"] == {"PINNED_IMAGE_URI": image}


@pytest.mark.parametrize(
    ("workflow", "job_id", "job"), list(all_jobs()), ids=[f"{w}:{j}" for w, j, _ in all_jobs()]
)
def test_every_engine_run_that_can_delete_is_right_after_the_state_guard(workflow, job_id, job):
    # `pulumi up` and `destroy` delete what the state holds and the program does not, running a planted
    # command's `delete` (scripts/state_guard.py); the guard is the step right before, so no step runs between
    for index, step in enumerate(job.get("steps", [])):
        if uses_action(step, "pulumi/actions") and step.get("with", {}).get("command") in ("up", "destroy"):
            before = job["steps"][index - 1].get("run", "")
            assert f"{PIPELINE} state-guard" in before, (
                f"{workflow}:{job_id} step {index} runs the engine unguarded"
            )


def test_further_stacks_never_build_and_run_the_promoted_digest_one_at_a_time():
    promote = DEPLOY["jobs"]["promote"]
    assert promote["strategy"]["max-parallel"] == 1 and promote["strategy"]["fail-fast"] is True
    assert promote["environment"] == "${{ matrix.stack }}"
    assert promote["env"]["SOURCE_IMAGE_URI"] == "${{ needs.deploy.outputs.image-uri }}"
    up = promote["steps"][step_index(promote, '"command": "up"')]
    assert up["env"] == {"PINNED_IMAGE_URI": "${{ steps.own.outputs.image-uri }}"}
    assert step_index(promote, f"{PIPELINE} promote") < step_index(promote, '"command": "up"')


def test_the_scan_gate_is_configurable_and_critical_by_default():
    assert DEPLOY["env"]["SCAN_FAIL_SEVERITY"] == "${{ vars.SCAN_FAIL_SEVERITY || 'CRITICAL' }}"


def test_every_dockerfile_present_and_both_architectures_are_built_and_tested(tmp_path):
    image = TESTS["jobs"]["image"]
    assert image["needs"] == "dockerfiles"
    listing = TESTS["jobs"]["dockerfiles"]["steps"][-1]["run"]
    assert listing == f"{PIPELINE} dockerfiles"
    assert image["strategy"]["matrix"] == {"include": "${{ fromJSON(needs.dockerfiles.outputs.images) }}"}
    assert image["runs-on"] == "${{ matrix.runner }}"
    world = make_world(tmp_path)
    for name in ("Dockerfile", "Dockerfile.alpine"):
        (world["repo"] / "function" / name).write_text("FROM scratch\n")
    assert run(world, "dockerfiles").returncode == 0
    rows = json.loads(outputs(world)["images"])
    assert {(row["dockerfile"], row["architecture"]) for row in rows} == {
        (dockerfile, architecture)
        for dockerfile in ("Dockerfile", "Dockerfile.alpine")
        for architecture in ("arm64", "x86_64")
    }
    runners = {row["architecture"]: row["runner"] for row in rows}
    assert runners == {"arm64": "ubuntu-24.04-arm", "x86_64": "ubuntu-24.04"}


def test_the_test_matrix_runners_are_those_the_deploy_picks(tmp_path):
    """pipeline.sh stacks maps an architecture to the runner the test matrix uses for it."""
    world = make_world(tmp_path)
    (world["repo"] / "function" / "Dockerfile").write_text("FROM scratch\n")
    assert run(world, "dockerfiles").returncode == 0
    rows = json.loads(outputs(world)["images"])
    stack_file = world["repo"] / "Pulumi.dev.yaml"
    for row in rows:
        stack_file.write_text(f"config:\n  {PROJECT}:architecture: {row['architecture']}\n")
        assert run(world, "stacks").returncode == 0
        assert outputs(world)["runner"] == row["runner"], row


def test_the_pulumi_token_reaches_environment_jobs_only():
    for workflow, job_id, job in all_jobs():
        if "PULUMI_ACCESS_TOKEN" in json.dumps(job):
            assert job.get("environment"), f"{workflow}:{job_id} reads the token outside an environment"
    assert "PULUMI_ACCESS_TOKEN" not in json.dumps(PREVIEW)


def test_jobs_that_use_the_docker_provider_log_docker_in_to_ecr():
    for workflow, job_id, job in all_jobs():
        text = json.dumps(job.get("steps", []))
        if "pulumi up" in text or '"command": "' in text or f"{PIPELINE} drift" in text:
            assert "aws-actions/amazon-ecr-login" in text, f"{workflow}:{job_id}"


STEP_OUTPUT = re.compile(r"steps\.([\w-]+)\.outputs\.([\w-]+)")
NEEDS_OUTPUT = re.compile(r"needs\.([\w-]+)\.outputs\.([\w-]+)")


JOBS = list(all_jobs())


@pytest.mark.parametrize(("workflow", "job_id", "job"), JOBS, ids=[f"{w}:{j}" for w, j, _ in JOBS])
def test_every_output_a_job_reads_is_printed_by_the_step_or_job_it_names(workflow, job_id, job):
    data = load_workflow(ROOT / ".github" / "workflows" / workflow)
    steps = job.get("steps", [])
    ids = {step.get("id"): step for step in steps if step.get("id")}
    for step_id, name in STEP_OUTPUT.findall(json.dumps(job)):
        assert step_id in ids, f"{workflow}:{job_id} reads steps.{step_id}, which does not exist"
        run = ids[step_id]["run"]
        assert run.startswith(PIPELINE), f"{workflow}:{job_id}: steps.{step_id} is not a pipeline.sh step"
        command = run.split()[1]
        assert name in PRODUCES[command], f"{workflow}:{job_id}: `pipeline.sh {command}` prints no {name}"
    for needed, name in NEEDS_OUTPUT.findall(json.dumps(job)):
        needs = job.get("needs") or []
        assert needed in needs, f"{workflow}:{job_id} reads needs.{needed} without needing it"
        assert name in data["jobs"][needed].get("outputs", {}), f"{workflow}: {needed} has no output {name}"


MANIFESTS = {
    "pip": re.compile(r"^requirements.*\.txt$"),
    "docker": re.compile(r"^(docker|container)file", re.IGNORECASE),
}
# tests/fixtures: manifests of test fixtures, never built or shipped
NOT_SOURCES = {
    ".git",
    "venv",
    ".venv-checkov",
    ".venv-bench",
    ".tools",
    "node_modules",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".pulumi-state",
    "fixtures",
}


def manifest_directories() -> set[tuple[str, str]]:
    """(ecosystem, "/dir") of every pip requirements file and Dockerfile of the repository."""
    found = {("github-actions", "/")}
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if path.is_dir() or any(part in NOT_SOURCES or part.endswith("venv") for part in parts):
            continue
        for ecosystem, pattern in MANIFESTS.items():
            if pattern.match(path.name):
                found.add((ecosystem, "/" + "/".join(parts[:-1])))
    return found


def test_dependabot_covers_every_manifest_directory_and_each_entry_has_a_cooldown():
    """Base images and dependencies arrive as pull requests, pass the same checks, deploy when merged."""
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    covered = set()
    for update in config["updates"]:
        cooldown = update.get("cooldown") or {}
        assert isinstance(cooldown.get("default-days"), int) and cooldown["default-days"] >= 1, update
        for directory in update.get("directories") or [update["directory"]]:
            covered.add((update["package-ecosystem"], directory))
    expected = manifest_directories()
    assert ("docker", "/function") in expected and ("github-actions", "/") in expected, expected
    assert expected <= covered, f"manifests without dependabot updates: {sorted(expected - covered)}"


def test_id_token_write_exactly_where_an_aws_role_is_assumed_or_an_image_signed():
    for workflow, job_id, job in all_jobs():
        if "steps" not in job:
            continue
        assumes = any(uses_action(step, "aws-actions/configure-aws-credentials") for step in job["steps"])
        signs = any(uses_action(step, "actions/attest-build-provenance") for step in job["steps"])
        granted = (job.get("permissions") or {}).get("id-token") == "write"
        assert not (assumes and signs), f"{workflow}:{job_id} both signs and holds a cloud role"
        assert (assumes or signs) == granted, (
            f"{workflow}:{job_id}: id-token {granted}, needs it {assumes or signs}"
        )
        for step in job["steps"]:
            if uses_action(step, "aws-actions/configure-aws-credentials"):
                # role-duration-seconds: the deploy jobs' sessions (tests/bootstrap/test_sessions.py)
                assert set(step["with"]) - {"role-duration-seconds"} == {
                    "role-to-assume",
                    "aws-region",
                    "role-session-name",
                }, f"{workflow}:{job_id}: AWS only by OIDC role assumption, never static keys"


def test_no_static_cloud_keys_and_no_dangerous_triggers():
    for path in workflow_files():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"aws-(secret-)?access-key|AWS_SECRET_ACCESS_KEY", text), path.name
        assert not {"pull_request_target", "workflow_run"} & set(load_workflow(path)["on"]), path.name


def test_a_rollback_builds_nothing_and_runs_only_what_main_attested():
    jobs = DEPLOY["jobs"]
    assert set(DEPLOY["on"]["workflow_dispatch"]["inputs"]) == {"rollback-stack", "rollback-version"}
    rollback = jobs["rollback"]
    assert rollback["needs"] == ["setup"] and rollback["if"] == "needs.setup.outputs.rollback-version != ''"
    assert rollback["environment"] == "${{ needs.setup.outputs.rollback-stack }}"
    # a rollback neither tests nor builds; promote waits for deploy
    for job_id in ("tests", "build", "deploy"):
        assert jobs[job_id]["if"] == "needs.setup.outputs.rollback-version == ''", job_id
    # the verification reads the image's manifest from ECR
    assert step_index(rollback, "amazon-ecr-login") < step_index(rollback, f"{PIPELINE} rollback")
    text = json.dumps(rollback)
    assert (
        "docker" not in text
        and "pulumi" not in text
        and "attestations" in json.dumps(rollback["permissions"])
    )
    runs = [step.get("run", "") for step in rollback["steps"]]
    assert runs[-1] == f'{PIPELINE} rollback "$STACK" "$VERSION" "$BUILDING"'
    # the inputs reach the shell only through the validating step's outputs, never as expressions
    setup = jobs["setup"]["steps"][step_index(jobs["setup"], "rollback-request")]
    assert setup["env"]["ROLLBACK_VERSION"] == "${{ inputs.rollback-version }}"
    assert "inputs." not in json.dumps({k: v for k, v in jobs.items() if k != "setup"})


def test_the_smoke_token_reaches_the_post_deploy_checks_only():
    holders = [
        (job_id, step.get("name"))
        for job_id, job in DEPLOY["jobs"].items()
        for step in job.get("steps", [])
        if "SMOKE_BEARER_TOKEN" in json.dumps(step)
    ]
    assert holders == [
        (job, "post-deploy check (function updated, smoke test of the API)") for job in ("deploy", "promote")
    ]
