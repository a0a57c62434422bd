"""The bootstrap's outputs and trust subjects against what the workflows actually use."""

import re
from pathlib import Path

import yaml

from bootstrap.program import OUTPUT_NAMES

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def aws_jobs():
    """(workflow file, job id, job, role variable) of every job that assumes an AWS role."""
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        for job_id, job in workflow.get("jobs", {}).items():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
                    role = re.fullmatch(r"\$\{\{ vars\.(\w+) \}\}", step["with"]["role-to-assume"])
                    yield path.name, job_id, job, role and role[1]


def test_workflows_read_exactly_the_bootstrap_outputs_as_variables():
    used = {name for path in WORKFLOWS for name in re.findall(r"\bvars\.(\w+)", path.read_text())}
    assert used == set(OUTPUT_NAMES)


def test_every_aws_job_assumes_one_of_the_two_roles():
    jobs = list(aws_jobs())
    assert jobs
    for workflow, job_id, _, role in jobs:
        assert role in {"AWS_DEPLOY_ROLE_ARN", "AWS_PREVIEW_ROLE_ARN"}, (workflow, job_id)


def test_deploy_jobs_run_in_an_environment():
    # Their `sub` is then repo:<owner>/<repo>:environment:<stack>, which the deploy role trusts for the
    # environments listed in deployEnvironments (default: dev).
    deploy_jobs = [(w, j, job) for w, j, job, role in aws_jobs() if role == "AWS_DEPLOY_ROLE_ARN"]
    assert deploy_jobs
    for workflow, job_id, job in deploy_jobs:
        assert job.get("environment"), (workflow, job_id)


def test_preview_jobs_run_outside_environments():
    # Their `sub` is repo:<owner>/<repo>:pull_request or, for scheduled runs, ...:ref:refs/heads/main.
    preview_jobs = [(w, j, job) for w, j, job, role in aws_jobs() if role == "AWS_PREVIEW_ROLE_ARN"]
    assert preview_jobs
    for workflow, job_id, job in preview_jobs:
        assert "environment" not in job, (workflow, job_id)
