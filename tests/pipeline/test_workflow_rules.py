"""Rules every workflow follows: permissions, pinned actions, credentials, no expression injection."""

from __future__ import annotations

import re

import pytest

from tests.pipeline.helpers import (
    WORKFLOWS,
    all_jobs,
    all_steps,
    load_workflow,
    uses_action,
    verified_pins,
    workflow_files,
)

EXPECTED_WORKFLOWS = {
    "tests.yml",
    "container-check.yml",
    "preview.yml",
    "deploy.yml",
    "stack-up.yml",
    "drift.yml",
    "patch-rebuild.yml",
}
AWS_ACTION = "aws-actions/configure-aws-credentials"
STACK_UP = "./.github/workflows/stack-up.yml"
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)\s*(?:#\s*(?P<comment>.*))?$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)(?:/[\w./-]+)?@(?P<sha>[0-9a-f]{40})$")
# What a job may be granted, and why: anything else is a finding.
ALLOWED_GRANTS = {
    ("contents", "read"),
    ("id-token", "write"),
    ("pull-requests", "write"),
}

ids = [path.name for path in workflow_files()]


def test_the_pipeline_has_every_workflow():
    assert {path.name for path in workflow_files()} == EXPECTED_WORKFLOWS


@pytest.mark.parametrize("path", workflow_files(), ids=ids)
def test_top_level_permissions_are_empty(path):
    assert load_workflow(path).get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"


@pytest.mark.parametrize("path", workflow_files(), ids=ids)
def test_every_job_declares_its_own_permissions(path):
    for job_id, job in load_workflow(path)["jobs"].items():
        assert "permissions" in job, f"{path.name}:{job_id} has no permissions block"
        grants = set((job["permissions"] or {}).items())
        assert grants <= ALLOWED_GRANTS, f"{path.name}:{job_id} grants {grants - ALLOWED_GRANTS}"


def _assumes_aws(job: dict) -> bool:
    return job.get("uses") == STACK_UP or any(uses_action(step, AWS_ACTION) for step in job.get("steps", []))


@pytest.mark.parametrize("path", workflow_files(), ids=ids)
def test_id_token_write_exactly_where_aws_is_assumed(path):
    for job_id, job in load_workflow(path)["jobs"].items():
        has_token = (job.get("permissions") or {}).get("id-token") == "write"
        assert has_token == _assumes_aws(job), (
            f"{path.name}:{job_id}: id-token: write iff the job assumes an AWS role"
        )


def test_pull_request_write_only_for_the_preview_comment():
    writers = {
        (wf, job_id) for wf, job_id, job in all_jobs() if (job.get("permissions") or {}).get("pull-requests")
    }
    assert writers == {("preview.yml", "preview")}


@pytest.mark.parametrize("path", workflow_files(), ids=ids)
def test_every_uses_is_a_verified_full_sha_with_its_version_comment(path):
    pins = verified_pins()
    found = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = USES_LINE.match(line)
        if not match:
            continue
        found += 1
        ref = match["ref"]
        if ref.startswith("./"):
            assert (WORKFLOWS.parent.parent / ref).is_file(), f"{path.name}:{number}: {ref} does not exist"
            continue
        pinned = PINNED.match(ref)
        assert pinned, f"{path.name}:{number}: {ref} is not pinned to a full commit SHA"
        assert pinned["action"] in pins, f"{path.name}:{number}: {pinned['action']} is not in action-pins.md"
        tag, sha = pins[pinned["action"]]
        assert pinned["sha"] == sha, f"{path.name}:{number}: {ref} is not the verified commit {sha}"
        assert (match["comment"] or "").split()[:1] == [tag], f"{path.name}:{number}: comment must name {tag}"
    assert found, f"{path.name} uses no action at all"


@pytest.mark.parametrize("path", workflow_files(), ids=ids)
def test_checkout_never_persists_credentials(path):
    for job_id, job in load_workflow(path)["jobs"].items():
        for step in job.get("steps", []):
            if uses_action(step, "actions/checkout"):
                value = (step.get("with") or {}).get("persist-credentials")
                assert value in (False, "false"), (
                    f"{path.name}:{job_id}: checkout without persist-credentials: false"
                )


@pytest.mark.parametrize("path", workflow_files(), ids=ids)
def test_no_expression_inside_run(path):
    for job_id, job in load_workflow(path)["jobs"].items():
        for step in job.get("steps", []):
            assert "${{" not in str(step.get("run", "")), (
                f"{path.name}:{job_id}: pass expressions through env:"
            )


@pytest.mark.parametrize("path", workflow_files(), ids=ids)
def test_no_static_cloud_keys_and_no_dangerous_triggers(path):
    text = path.read_text(encoding="utf-8")
    for forbidden in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "aws-access-key-id",
        "aws-secret-access-key",
    ):
        assert forbidden not in text, f"{path.name} mentions {forbidden}"
    triggers = load_workflow(path)["on"]
    assert "pull_request_target" not in triggers and "workflow_run" not in triggers
    assert "secrets: inherit" not in text


def test_aws_is_reached_only_by_role_to_assume_with_the_repository_variables():
    roles = {}
    for workflow, job_id, step in all_steps():
        if uses_action(step, AWS_ACTION):
            inputs = step["with"]
            assert set(inputs) == {"role-to-assume", "aws-region", "role-session-name"}, (workflow, job_id)
            assert inputs["aws-region"] == "${{ vars.AWS_REGION }}"
            roles[(workflow, job_id)] = inputs["role-to-assume"]
    assert roles == {
        ("preview.yml", "preview"): "${{ vars.AWS_PREVIEW_ROLE_ARN }}",
        ("drift.yml", "drift"): "${{ vars.AWS_DRIFT_ROLE_ARN }}",
        ("stack-up.yml", "up"): "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
    }


def test_every_job_that_runs_steps_has_a_timeout():
    for workflow, job_id, job in all_jobs():
        if "steps" in job:
            assert isinstance(job.get("timeout-minutes"), int), f"{workflow}:{job_id} has no timeout-minutes"


def test_repository_variables_and_secrets_are_exactly_the_documented_ones():
    text = "\n".join(path.read_text(encoding="utf-8") for path in workflow_files())
    variables = set(re.findall(r"\bvars\.([A-Za-z_][A-Za-z0-9_]*)", text))
    secrets = set(re.findall(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)", text))
    assert variables == {
        "AWS_REGION",
        "AWS_DEPLOY_ROLE_ARN",
        "AWS_DRIFT_ROLE_ARN",
        "AWS_PREVIEW_ROLE_ARN",
        "PULUMI_BACKEND_URL",
        "PULUMI_SECRETS_PROVIDER",
    }
    assert secrets == {"PULUMI_ACCESS_TOKEN"}


def test_every_script_a_workflow_runs_exists_and_is_executable():
    referenced = set()
    for _, _, step in all_steps():
        for match in re.finditer(r"(?:^|\s)(?:python3\s+)?(scripts/[\w./-]+)", str(step.get("run", ""))):
            referenced.add(match[1])
    assert referenced, "the workflows run scripts from scripts/"
    root = WORKFLOWS.parent.parent
    for script in sorted(referenced):
        path = root / script
        assert path.is_file(), f"{script} does not exist"
        assert path.stat().st_mode & 0o111, f"{script} is not executable"
        assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env "), f"{script} has no shebang"
