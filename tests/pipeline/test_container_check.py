"""scripts/container_check.sh with a stand-in docker CLI and a local stand-in for the emulator."""

from __future__ import annotations

import json

import pytest

from tests.pipeline.helpers import (
    FIXTURES,
    copy_scripts,
    http_server,
    oci_layout,
    run_script,
    tool_env,
    write_tool,
)

DOCKER = """echo "docker $*" >> "$FAKE_LOG"
case "$1" in
  buildx)
    for arg in "$@"; do
      case "$arg" in type=oci,dest=*) cp "$FAKE_OCI_TAR" "${arg#type=oci,dest=}" ;; esac
    done ;;
  image) cat "$FAKE_INSPECT" ;;
  run) echo 4f1c2d3e ;;
  logs) echo "START RequestId: fake" ;;
  rm) ;;
  *) echo "unexpected: docker $*" >&2; exit 3 ;;
esac
"""
EVENTS = {"health.json": ("GET", "/health", 200), "predict-bad-json.json": ("POST", "/predict", 400)}


def emulator(statuses: dict[str, int]):
    def handle(method, path, body):
        http = json.loads(body).get("requestContext", {}).get("http")
        return 200, {"statusCode": statuses[http["path"]] if http else 404}

    return handle


@pytest.fixture
def world(tmp_path):
    repo = tmp_path / "repo"
    scripts = copy_scripts(repo)
    (repo / "function" / "events").mkdir(parents=True)
    (repo / "function" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    for name, (method, path, _) in EVENTS.items():
        event = {
            "version": "2.0",
            "rawPath": path,
            "requestContext": {"http": {"method": method, "path": path}},
        }
        (repo / "function" / "events" / name).write_text(json.dumps(event), encoding="utf-8")
    expected = {name: status for name, (_, _, status) in EVENTS.items()}
    (repo / "function" / "events" / "expected-status.json").write_text(json.dumps(expected), encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_tool(bin_dir, "docker", DOCKER)
    log = tmp_path / "calls.log"
    log.touch()
    image = oci_layout(
        tmp_path / "good.tar",
        [(FIXTURES / "manifest-oci-arm64.json").read_bytes()],
        [(FIXTURES / "config-arm64.json").read_bytes()],
    )
    env = tool_env(
        bin_dir,
        FAKE_LOG=str(log),
        FAKE_OCI_TAR=image,
        FAKE_INSPECT=str(FIXTURES / "image-inspect-arm64.json"),
    )
    return {"script": scripts / "container_check.sh", "env": env, "log": log, "repo": repo, "tmp": tmp_path}


def run(world, statuses, *args):
    with http_server(emulator(statuses)) as base:
        world["env"]["CONTAINER_CHECK_PORT"] = base.rsplit(":", 1)[1]
        return run_script(world["script"], *args, env=world["env"])


def calls(world) -> list[str]:
    return world["log"].read_text(encoding="utf-8").splitlines()


def test_builds_one_platform_without_attestations_checks_and_runs_every_event(world):
    result = run(world, {"/health": 200, "/predict": 400}, "arm64")
    assert result.returncode == 0, result.stderr
    log = calls(world)
    build = (
        "docker buildx build --platform linux/arm64 --provenance=false --sbom=false"
        " --file function/Dockerfile function"
    )
    assert log[0] == f"{build} --tag container-lambda:check-arm64 --load"
    assert log[1].startswith(f"{build} --output type=oci,dest=")
    assert log[2] == "docker image inspect container-lambda:check-arm64"
    port = world["env"]["CONTAINER_CHECK_PORT"]
    publish = f"--publish 127.0.0.1:{port}:8080"
    assert log[3] == f"docker run --detach --platform linux/arm64 {publish} container-lambda:check-arm64"
    assert log[-1] == "docker rm --force 4f1c2d3e", "the container is removed at the end"
    assert "image size (uncompressed): 318767104 bytes" in result.stdout
    assert "OK: every event got its expected answer" in result.stdout


def test_a_wrong_status_fails_and_shows_the_container_log(world):
    result = run(world, {"/health": 200, "/predict": 500}, "arm64")
    assert result.returncode == 1
    assert "predict-bad-json.json: status 500, expected 400" in result.stderr
    assert "START RequestId: fake" in result.stdout
    assert calls(world)[-1] == "docker rm --force 4f1c2d3e"


def test_an_image_with_attestations_fails_before_running(world):
    world["env"]["FAKE_OCI_TAR"] = oci_layout(
        world["tmp"] / "index.tar",
        [(FIXTURES / "manifest-oci-index-attestation.json").read_bytes()],
        [(FIXTURES / "manifest-oci-arm64.json").read_bytes(), (FIXTURES / "config-arm64.json").read_bytes()],
    )
    result = run(world, {"/health": 200, "/predict": 400}, "arm64")
    assert result.returncode == 1
    assert "is an index" in result.stderr
    assert not any(line.startswith("docker run") for line in calls(world))


def test_the_platform_must_match_the_architecture_asked(world):
    result = run(world, {"/health": 200, "/predict": 400}, "x86_64")
    assert result.returncode == 1
    assert calls(world)[0].startswith("docker buildx build --platform linux/amd64 ")
    assert "differs from the function architecture x86_64" in result.stderr


def test_another_dockerfile_of_the_stack_is_built(world):
    (world["repo"] / "function" / "Dockerfile.debian").write_text("FROM scratch\n", encoding="utf-8")
    result = run(world, {"/health": 200, "/predict": 400}, "arm64", "function/Dockerfile.debian")
    assert result.returncode == 0, result.stderr
    assert "--file function/Dockerfile.debian function" in calls(world)[0]


@pytest.mark.parametrize(
    ("args", "remove", "code", "message"),
    [
        (["arm"], None, 2, "usage:"),
        (["arm64", "function/Dockerfile.missing"], None, 1, "no Dockerfile at function/Dockerfile.missing"),
        (["arm64"], "function/events/expected-status.json", 1, "expected-status.json is missing"),
    ],
)
def test_bad_input_stops_before_any_build(world, args, remove, code, message):
    if remove:
        (world["repo"] / remove).unlink()
    result = run(world, {}, *args)
    assert result.returncode == code
    assert message in result.stderr
    assert calls(world) == []
