"""scripts/delivery_report.py through the real AWS CLI against the stand-in (moto keeps no CodeDeploy
outcome): every answer is checked against botocore's output shape of its operation."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.project import prefix_for
from tests.pipeline.helpers import ROOT, run_script
from tests.support.aws import StandIn, cli_env, reset_moto, stand_in

SCRIPT = ROOT / "scripts" / "delivery_report.py"
NAME = prefix_for("dev")
CONFIG = "CodeDeployDefault.LambdaCanary10Percent5Minutes"


@pytest.fixture
def fake() -> Iterator[tuple[StandIn, Callable]]:
    with stand_in() as aws:
        env = cli_env(
            {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
            reset_moto(),
            CODEDEPLOY=aws.url,
            LAMBDA=aws.url,
        )

        def run(*args: str):
            return run_script(SCRIPT, "dev", "--poll", "0", *args, env=env)

        yield aws, run
        aws.assert_done()


def group(deployment_id: str) -> dict:
    return {"deploymentGroupInfo": {"lastAttemptedDeployment": {"deploymentId": deployment_id}}}


def deployment(status: str, **extra) -> dict:
    return {
        "deploymentInfo": {"deploymentId": "d-1", "status": status, "deploymentConfigName": CONFIG} | extra
    }


def alias(version: str, weights: dict[str, float] | None = None) -> dict:
    answer: dict = {"Name": "live", "FunctionVersion": version}
    if weights:
        answer["RoutingConfig"] = {"AdditionalVersionWeights": weights}
    return answer


def test_without_a_deployment_group_the_alias_is_reported(fake):
    aws, run = fake
    aws.fail("codedeploy", "GetDeploymentGroup", "ApplicationDoesNotExistException", "no such application")
    aws.answer("lambda", "GetAlias", alias("7"))
    result = run()
    assert result.returncode == 0, result.stderr
    assert "`live` serves version 7 (all traffic)" in result.stdout
    assert "all at once" in result.stdout


def test_a_running_deployment_is_awaited_and_its_success_reported(fake):
    aws, run = fake
    aws.answer("codedeploy", "GetDeploymentGroup", group("d-1"))
    aws.answer("codedeploy", "GetDeployment", deployment("InProgress"), times=2)
    aws.answer("codedeploy", "GetDeployment", deployment("Succeeded"))
    aws.answer("lambda", "GetAlias", alias("7"))
    result = run()
    assert result.returncode == 0, result.stderr
    assert f"`d-1` ({CONFIG}): **Succeeded**" in result.stdout
    assert aws.operations("codedeploy").count("GetDeployment") == 3


def test_a_rolled_back_deployment_fails_with_its_reason(fake):
    aws, run = fake
    aws.answer("codedeploy", "GetDeploymentGroup", group("d-1"))
    aws.answer(
        "codedeploy",
        "GetDeployment",
        deployment(
            "Stopped",
            errorInformation={"code": "ALARM_ACTIVE", "message": "alarm the errors alarm is in ALARM"},
            rollbackInfo={"rollbackMessage": "rolled back by d-2"},
        ),
    )
    aws.answer("lambda", "GetAlias", alias("6"))
    result = run()
    assert result.returncode == 1
    assert "**Stopped**" in result.stdout and "alarm the errors alarm is in ALARM" in result.stdout
    assert "rolled back by d-2" in result.stdout and "`live` serves version 6" in result.stdout


def test_a_deployment_still_running_at_the_end_of_the_wait_fails(fake):
    aws, run = fake
    aws.answer("codedeploy", "GetDeploymentGroup", group("d-1"))
    aws.answer("codedeploy", "GetDeployment", deployment("InProgress"))
    aws.answer("lambda", "GetAlias", alias("6", {"7": 0.1}))
    result = run("--wait", "0")
    assert result.returncode == 1
    assert "still running" in result.stdout and "version 7: 10%" in result.stdout


def test_an_aws_error_fails_with_the_cli_message(fake):
    aws, run = fake
    aws.fail("codedeploy", "GetDeploymentGroup", "AccessDeniedException", "not authorized")
    result = run()
    assert result.returncode == 1 and "AccessDeniedException" in result.stderr


def test_expired_credentials_are_named(fake):
    aws, run = fake
    aws.fail(
        "codedeploy", "GetDeploymentGroup", "ExpiredTokenException", "The security token included expired"
    )
    result = run()
    assert result.returncode == 1 and "the AWS credentials expired" in result.stderr


def test_the_stack_names_the_function_and_the_deployment_group(fake):
    aws, run = fake
    aws.answer("codedeploy", "GetDeploymentGroup", group("d-1"))
    aws.answer("codedeploy", "GetDeployment", deployment("Succeeded"))
    aws.answer("lambda", "GetAlias", alias("7"))
    assert run().returncode == 0
    asked = {call.operation: call.params for call in aws.calls}
    assert asked["GetDeploymentGroup"] == {"applicationName": NAME, "deploymentGroupName": NAME}
    assert asked["GetAlias"]["path"] == f"/2015-03-31/functions/{NAME}/aliases/live"


def test_a_bad_stack_name_is_refused(tmp_path):
    result = run_script(SCRIPT, "Not_A_Stack")
    assert result.returncode == 2 and "Not_A_Stack" in result.stderr
