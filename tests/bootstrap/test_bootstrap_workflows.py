"""The bootstrap's roles against the jobs that assume them: each job picks the role whose trust matches the
`sub` its token will carry, from a variable the bootstrap sets."""

import re
from pathlib import Path

import yaml

from bootstrap.program import VARIABLES
from bootstrap.settings import drift_environment

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ROLE_VARIABLES = {name for name in VARIABLES if name.endswith("_ROLE_ARN")}


def triggers(workflow: dict) -> set[str]:
    on = workflow.get(True, workflow.get("on"))  # PyYAML reads the key `on` as True
    return {on} if isinstance(on, str) else set(on)


def aws_jobs():
    """(workflow file, triggers, job id, job, role variable) of every job that assumes an AWS role."""
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        for job_id, job in workflow.get("jobs", {}).items():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
                    role = re.fullmatch(r"\$\{\{ vars\.(\w+) \}\}", step["with"]["role-to-assume"])
                    yield path.name, triggers(workflow), job_id, job, role and role[1]


def test_every_aws_job_assumes_a_role_the_bootstrap_creates():
    jobs = list(aws_jobs())
    assert jobs
    for workflow, _, job_id, _, role in jobs:
        assert role in ROLE_VARIABLES, (workflow, job_id, role)


def test_workflows_read_only_aws_and_pulumi_variables_the_bootstrap_sets():
    pattern = r"\bvars\.((?:AWS|PULUMI)_\w+)"
    used = {name for path in WORKFLOWS for name in re.findall(pattern, path.read_text())}
    assert used <= set(VARIABLES), used - set(VARIABLES)


def test_deploy_jobs_run_in_an_environment():
    # their `sub` is repo:<repository>:environment:<stack>, which only that stack's deploy role trusts, and
    # AWS_DEPLOY_ROLE_ARN is that environment's variable
    for workflow, _, job_id, job, role in aws_jobs():
        if role == "AWS_DEPLOY_ROLE_ARN":
            assert job.get("environment"), (workflow, job_id)


def test_drift_jobs_run_in_their_stacks_drift_environment():
    # each matrix job runs in drift-<stack>, whose AWS_DRIFT_ROLE_ARN is that stack's read-only role
    jobs = [(w, j, job) for w, _, j, job, role in aws_jobs() if role == "AWS_DRIFT_ROLE_ARN"]
    assert jobs
    for workflow, job_id, job in jobs:
        environment = job.get("environment")
        name = environment.get("name") if isinstance(environment, dict) else environment
        assert name == drift_environment("${{ matrix.stack }}"), (workflow, job_id)
        assert job["env"]["STACK"] == "${{ matrix.stack }}", (workflow, job_id)


def test_preview_jobs_run_for_pull_requests_only_and_outside_environments():
    # the preview role trusts repo:<repository>:pull_request only
    jobs = [(w, t, j, job) for w, t, j, job, role in aws_jobs() if role == "AWS_PREVIEW_ROLE_ARN"]
    assert jobs
    for workflow, on, job_id, job in jobs:
        assert on == {"pull_request"}, (workflow, job_id, on)
        assert "environment" not in job, (workflow, job_id)
