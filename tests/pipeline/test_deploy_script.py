"""scripts/deploy.sh (`make deploy`) with stand-ins for pulumi, docker and python3 on PATH."""

from __future__ import annotations

import stat
import subprocess

import pytest

from tests.pipeline.helpers import copy_scripts, tool_env, write_tool

IMAGE_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/container-lambda-dev@sha256:" + "ab" * 32

PULUMI = """echo "pulumi $* | backend=${PULUMI_BACKEND_URL:-} passfile=${PULUMI_CONFIG_PASSPHRASE_FILE:-} \
cache=${CONTAINER_LAMBDA_CACHE_FROM:-}" >> "$FAKE_LOG"
case "$1 ${2:-}" in
  "stack select") [[ -n "${FAKE_STACK_EXISTS:-}" ]] ;;
  "stack output") [[ -n "${FAKE_IMAGE_URI:-}" ]] && printf '%s\\n' "$FAKE_IMAGE_URI" ;;
  *) ;;
esac
"""
DOCKER = """echo "docker $*" >> "$FAKE_LOG"
[[ -z "${FAKE_DOCKER_DOWN:-}" ]]
"""
# `python3 -m venv DIR` makes DIR/bin/python a logging stand-in, so no package is installed by the tests.
PYTHON3 = """echo "python3 $*" >> "$FAKE_LOG"
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
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"pulumi": PULUMI, "docker": DOCKER, "python3": PYTHON3}.items():
        write_tool(bin_dir, name, body)
    log = tmp_path / "calls.log"
    log.touch()

    def run(*args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        result = subprocess.run(
            ["bash", str(repo / "scripts" / "deploy.sh"), *args],
            env=tool_env(bin_dir, FAKE_LOG=str(log), **env),
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


@pytest.mark.parametrize("stack", ["Dev", "dev_stack", "-dev", "a" * 32])
def test_rejects_a_stack_name_the_resource_names_cannot_carry(world, stack):
    _, _, run = world
    result, calls = run("up", stack)
    assert result.returncode == 1
    assert f"stack name '{stack}'" in result.stderr
    assert calls == []


def test_stops_before_pulumi_when_the_docker_engine_is_down(world):
    _, _, run = world
    result, calls = run("up", "dev", FAKE_DOCKER_DOWN="1")
    assert result.returncode == 1
    assert "Docker engine is not reachable" in result.stderr
    assert pulumi_calls(calls) == []


def test_names_the_missing_pulumi_cli(world):
    _, bin_dir, run = world
    (bin_dir / "pulumi").unlink()
    result, _ = run("up", "dev")
    assert result.returncode == 1
    assert "Pulumi CLI is required" in result.stderr


def test_first_local_deploy_creates_file_state_a_private_passphrase_and_the_stack(world):
    repo, _, run = world
    result, calls = run("up")
    assert result.returncode == 0, result.stderr
    passphrase = repo / ".pulumi-state" / "passphrase"
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert len(passphrase.read_text()) == 64 and int(passphrase.read_text(), 16) >= 0
    state_url = f"file://{repo}/.pulumi-state"
    env_seen = f"backend={state_url} passfile={passphrase}"
    assert all(env_seen in line for line in calls if line.startswith("pulumi"))
    assert pulumi_calls(calls) == [
        "pulumi login --non-interactive",
        "pulumi install",
        "pulumi stack select dev --non-interactive",
        "pulumi stack init dev --non-interactive",
        "pulumi stack output imageUri --stack dev",
        "pulumi up --yes --stack dev --non-interactive --policy-pack policy",
    ]


def test_the_passphrase_is_generated_once(world):
    repo, _, run = world
    run("up")
    first = (repo / ".pulumi-state" / "passphrase").read_text()
    result, _ = run("up", FAKE_STACK_EXISTS="1")
    assert result.returncode == 0, result.stderr
    assert (repo / ".pulumi-state" / "passphrase").read_text() == first


def test_the_policy_pack_gets_its_own_venv(world):
    _, _, run = world
    _, calls = run("preview", FAKE_STACK_EXISTS="1")
    assert "python3 -m venv policy/venv" in calls
    assert "venv-python -m pip install --quiet --requirement policy/requirements.txt" in calls
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
        PULUMI_SECRETS_PROVIDER="awskms://alias/container-lambda-state?region=eu-west-1",
    )
    assert result.returncode == 0, result.stderr
    assert not (repo / ".pulumi-state").exists()
    assert (
        "pulumi stack init prod --non-interactive "
        "--secrets-provider awskms://alias/container-lambda-state?region=eu-west-1"
    ) in pulumi_calls(calls)


def test_destroy_needs_no_docker(world):
    _, _, run = world
    result, calls = run("destroy", FAKE_STACK_EXISTS="1", FAKE_DOCKER_DOWN="1")
    assert result.returncode == 0, result.stderr
    assert not any(line.startswith("docker") for line in calls)
    assert pulumi_calls(calls)[-1] == "pulumi destroy --yes --stack dev --non-interactive"
