"""scripts/delivery_report.py with a stand-in `aws` CLI: the alias and the stack's CodeDeploy deployment."""

from __future__ import annotations

import json

import pytest

from infra.project import prefix_for
from tests.pipeline.helpers import ROOT, run_script, tool_env, write_tool

SCRIPT = ROOT / "scripts" / "delivery_report.py"
# Answers the CLI calls from files: $FAKE_DIR/<service>-<operation>[.N] (N-th call of a repeated one).
AWS = """echo "aws $*" >> "$FAKE_DIR/log"
key="$1-$2"
n=$(( $(grep -c "^aws $1 $2 " "$FAKE_DIR/log") ))
if [[ -f "$FAKE_DIR/$key.$n" ]]; then cat "$FAKE_DIR/$key.$n"
elif [[ -f "$FAKE_DIR/$key" ]]; then cat "$FAKE_DIR/$key"
elif [[ -f "$FAKE_DIR/$key.error" ]]; then cat "$FAKE_DIR/$key.error" >&2; exit 254
else echo "unexpected: aws $*" >&2; exit 3; fi
"""


@pytest.fixture
def fake(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_tool(bin_dir, "aws", AWS)

    def answer(name: str, value) -> None:
        (tmp_path / name).write_text(value if isinstance(value, str) else json.dumps(value))

    def run(*args: str):
        env = tool_env(bin_dir, FAKE_DIR=str(tmp_path))
        return run_script(SCRIPT, "dev", "--poll", "0", *args, env=env)

    answer("lambda-get-alias", {"Name": "live", "FunctionVersion": "7"})
    return answer, run, tmp_path


def group(deployment_id: str) -> dict:
    return {"deploymentGroupInfo": {"lastAttemptedDeployment": {"deploymentId": deployment_id}}}


def deployment(status: str, **extra) -> dict:
    config = "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    info = {"deploymentId": "d-1", "status": status, "deploymentConfigName": config}
    return {"deploymentInfo": info | extra}


def test_without_a_deployment_group_the_alias_is_reported(fake):
    answer, run, _ = fake
    answer(
        "deploy-get-deployment-group.error",
        "An error occurred (ApplicationDoesNotExistException) when calling GetDeploymentGroup",
    )
    result = run()
    assert result.returncode == 0, result.stderr
    assert "`live` serves version 7 (all traffic)" in result.stdout
    assert "all at once" in result.stdout


def test_a_running_deployment_is_awaited_and_its_success_reported(fake):
    answer, run, tmp_path = fake
    answer("deploy-get-deployment-group", group("d-1"))
    answer("deploy-get-deployment.1", deployment("InProgress"))
    answer("deploy-get-deployment.2", deployment("InProgress"))
    answer("deploy-get-deployment.3", deployment("Succeeded"))
    result = run()
    assert result.returncode == 0, result.stderr
    assert "`d-1` (CodeDeployDefault.LambdaCanary10Percent5Minutes): **Succeeded**" in result.stdout
    assert (tmp_path / "log").read_text().count("deploy get-deployment --deployment-id d-1") == 3


def test_a_rolled_back_deployment_fails_with_its_reason(fake):
    answer, run, _ = fake
    answer("deploy-get-deployment-group", group("d-1"))
    answer(
        "deploy-get-deployment",
        deployment(
            "Stopped",
            errorInformation={"code": "ALARM_ACTIVE", "message": "alarm the errors alarm is in ALARM"},
            rollbackInfo={"rollbackMessage": "rolled back by d-2"},
        ),
    )
    answer("lambda-get-alias", {"Name": "live", "FunctionVersion": "6"})
    result = run()
    assert result.returncode == 1
    assert "**Stopped**" in result.stdout and "alarm the errors alarm is in ALARM" in result.stdout
    assert "rolled back by d-2" in result.stdout and "`live` serves version 6" in result.stdout


def test_a_deployment_still_running_at_the_end_of_the_wait_fails(fake):
    answer, run, _ = fake
    answer("deploy-get-deployment-group", group("d-1"))
    answer("deploy-get-deployment", deployment("InProgress"))
    answer(
        "lambda-get-alias",
        {"Name": "live", "FunctionVersion": "6", "RoutingConfig": {"AdditionalVersionWeights": {"7": 0.1}}},
    )
    result = run("--wait", "0")
    assert result.returncode == 1
    assert "still running" in result.stdout and "version 7: 10%" in result.stdout


def test_an_aws_error_fails_with_the_cli_message(fake):
    answer, run, _ = fake
    answer("deploy-get-deployment-group.error", "An error occurred (AccessDeniedException)")
    result = run()
    assert result.returncode == 1 and "AccessDeniedException" in result.stderr


def test_the_stack_names_the_function_and_the_deployment_group(fake):
    answer, run, tmp_path = fake
    answer("deploy-get-deployment-group", group("d-1"))
    answer("deploy-get-deployment", deployment("Succeeded"))
    assert run().returncode == 0
    name = prefix_for("dev")
    log = (tmp_path / "log").read_text()
    assert f"--application-name {name} --deployment-group-name {name}" in log
    assert f"lambda get-alias --function-name {name} --name live" in log


def test_a_bad_stack_name_is_refused(tmp_path):
    result = run_script(SCRIPT, "Not_A_Stack")
    assert result.returncode == 2 and "Not_A_Stack" in result.stderr
