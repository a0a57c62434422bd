"""The deploy job's AWS session outlasts the deploy job, which outlasts the slowest traffic shift: the
workflows ask for that session, the bootstrap's deploy roles allow it (infra/deployment_preferences.py)."""

from __future__ import annotations

from bootstrap.components import drift_role_name
from infra.deployment_preferences import (
    DEPLOY_AROUND_THE_SHIFT_S,
    DEPLOY_SESSION_SECONDS,
    DEPLOYMENT_PREFERENCES,
    wait_seconds,
)
from infra.project import PROJECT
from tests.pipeline.helpers import WORKFLOWS, load_workflow, uses_action

CONFIGURE = "aws-actions/configure-aws-credentials"
DEPLOY_JOBS = ("deploy", "promote")  # the jobs of deploy.yml that run `pulumi up`


def test_the_session_holds_the_slowest_shift_and_the_deploy_around_it():
    slowest = max(wait_seconds(preference) for preference in DEPLOYMENT_PREFERENCES)
    assert slowest + DEPLOY_AROUND_THE_SHIFT_S <= DEPLOY_SESSION_SECONDS
    # what configure-aws-credentials and IAM accept (its README: 900 to 43200 s; IAM: up to 12 hours)
    assert 900 <= DEPLOY_SESSION_SECONDS <= 43200


def test_the_deploy_jobs_ask_for_the_session_and_end_before_it_does():
    workflow = load_workflow(WORKFLOWS / "deploy.yml")
    for job_id in DEPLOY_JOBS:
        job = workflow["jobs"][job_id]
        (step,) = [step for step in job["steps"] if uses_action(step, CONFIGURE)]
        assert int(step["with"]["role-duration-seconds"]) == DEPLOY_SESSION_SECONDS, job_id
        assert int(job["timeout-minutes"]) * 60 <= DEPLOY_SESSION_SECONDS, job_id


def test_the_deploy_roles_allow_the_session_and_the_read_only_roles_keep_an_hour(default_run):
    for environment in ("dev", "production"):
        assert (
            default_run.role(f"{PROJECT}.deploy.{environment}")["maxSessionDuration"]
            == DEPLOY_SESSION_SECONDS
        )
    for name in (f"{PROJECT}.preview", *(drift_role_name(env) for env in ("dev", "production"))):
        assert default_run.role(name)["maxSessionDuration"] == 3600
