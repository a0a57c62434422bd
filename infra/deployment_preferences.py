"""The deployment preferences a stack may choose (config key deploymentPreference), as SAM names them."""

from __future__ import annotations

from collections.abc import Mapping

# SAM's DeploymentPreference Type names (samtranslator's CODEDEPLOY_PREDEFINED_CONFIGURATIONS_LIST), each
# mapped as SAM does to the CodeDeploy predefined configuration "CodeDeployDefault.Lambda<name>" (CodeDeploy
# User Guide, "Deployment configurations on an AWS Lambda compute platform"), with its longest shifting time
# in minutes (which bounds how long the runner waits).
DEPLOYMENT_PREFERENCES: Mapping[str, int] = {
    "AllAtOnce": 0,
    "Canary10Percent5Minutes": 5,
    "Canary10Percent10Minutes": 10,
    "Canary10Percent15Minutes": 15,
    "Canary10Percent30Minutes": 30,
    "Linear10PercentEvery1Minute": 10,
    "Linear10PercentEvery2Minutes": 20,
    "Linear10PercentEvery3Minutes": 30,
    "Linear10PercentEvery10Minutes": 100,
}
ALL_AT_ONCE = "AllAtOnce"
WAIT_MARGIN_S = 900  # beyond the shifting time: CodeDeploy's own start-up and alarm checks


def codedeploy_config_name(preference: str) -> str:
    """`CodeDeployDefault.Lambda<preference>`; KeyError for a name SAM does not know."""
    DEPLOYMENT_PREFERENCES[preference]  # noqa: B018 - refuses unknown names
    return f"CodeDeployDefault.Lambda{preference}"


def wait_seconds(preference: str) -> int:
    return DEPLOYMENT_PREFERENCES[preference] * 60 + WAIT_MARGIN_S


# How long a deploy job's AWS session lasts (seconds): the deploy job's whole run, which holds the slowest
# traffic shift inside `pulumi up` (the runner waits wait_seconds of the slowest preference) plus the build,
# the image checks, the rest of the update and the post-deploy checks around it. The deploy workflows ask
# for it (aws-actions/configure-aws-credentials `role-duration-seconds`: 900 to 43200 s, default 3600 s) and
# stop the job at this time (`timeout-minutes`), and the bootstrap's deploy roles allow it
# (MaxSessionDuration: 3600 to 43200 s, IAM API Reference, CreateRole). tests/bootstrap/test_sessions.py
# checks all four agree.
DEPLOY_SESSION_SECONDS = 150 * 60
DEPLOY_AROUND_THE_SHIFT_S = 30 * 60  # build, push, container test, scan gate, the rest of the update, checks
