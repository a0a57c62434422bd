"""scripts/ci_stack.sh with stand-ins for pulumi, aws and curl, and a local HTTP server as the API."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.pipeline.helpers import FIXTURES, ROOT, copy_scripts, http_server, run_script, tool_env, write_tool
from tests.pipeline.test_function_contract import http_event, write_contract

DIGEST = "sha256:" + "ab" * 32
IMAGE_URI = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/container-lambda-dev@{DIGEST}"

PULUMI = """echo "pulumi $*" >> "$FAKE_LOG"
case "$*" in
  install) ;;
  "stack select "*) [[ -n "${FAKE_STACK_EXISTS:-}" ]] ;;
  "stack output imageUri --stack "*) printf '%s\\n' "$FAKE_IMAGE_URI" ;;
  "stack output --json --stack "*) cat "$FAKE_OUTPUTS" ;;
  "stack export --stack "*) cat "$FAKE_EXPORT" ;;
  "preview "*) echo "  with CONTAINER_LAMBDA_IMAGE_URI=${CONTAINER_LAMBDA_IMAGE_URI:-}" >> "$FAKE_LOG"
    exit "${FAKE_PREVIEW_RC:-0}" ;;
  *) echo "unexpected: pulumi $*" >&2; exit 3 ;;
esac
"""
AWS = """echo "aws $*" >> "$FAKE_LOG"
case "$1 $2" in
  "lambda wait") ;;
  "lambda get-function-configuration") printf '%s\\n' "$FAKE_FUNCTION_STATE" ;;
  "ecr batch-get-image") cat "$FAKE_MANIFEST" ;;
  "ecr get-download-url-for-layer") [[ -z "${FAKE_NO_CONFIG:-}" ]] && echo "https://layers.example/config" ;;
  "ecr wait") exit "${FAKE_SCAN_WAIT_RC:-0}" ;;
  "ecr describe-image-scan-findings") cat "$FAKE_FINDINGS" ;;
  *) echo "unexpected: aws $*" >&2; exit 3 ;;
esac
"""
CURL = """echo "curl $*" >> "$FAKE_LOG"
while (($#)); do
  if [[ "$1" == --output ]]; then cp "$FAKE_CONFIG" "$2"; exit 0; fi
  shift
done
exit 3
"""


class Api:
    """The scratch function's API: good answers; remembers the paths it was asked."""

    def __init__(self, status: int = 200):
        self.status = status
        self.paths: list[str] = []

    def __call__(self, method, path, body):
        self.paths.append(path)
        return (self.status, {"items": []}) if path == "/items" else (404, {"message": "Not Found"})


@pytest.fixture
def world(tmp_path):
    """A scratch repository with the scripts, fake tools on PATH and the environment they read."""
    scripts = copy_scripts(tmp_path / "repo")
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / "repo" / name)
    shutil.copytree(ROOT / "infra", tmp_path / "repo" / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "repo" / "function").mkdir()
    write_contract(tmp_path / "repo" / "function" / "events",
                   {"list.json": http_event("GET", "/items"), "nothing.json": http_event("GET", "/nothing")},
                   {"list.json": 200, "nothing.json": 404})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"pulumi": PULUMI, "aws": AWS, "curl": CURL}.items():
        write_tool(bin_dir, name, body)
    log = tmp_path / "calls.log"
    log.touch()
    summary = tmp_path / "summary.md"
    env = tool_env(
        bin_dir,
        FAKE_LOG=str(log),
        FAKE_IMAGE_URI=IMAGE_URI,
        FAKE_FUNCTION_STATE="Active\tSuccessful\tarm64",
        FAKE_MANIFEST=str(FIXTURES / "manifest-docker-v2-arm64.json"),
        FAKE_CONFIG=str(FIXTURES / "config-arm64.json"),
        FAKE_FINDINGS=str(FIXTURES / "scan-findings-high.json"),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    return {"script": scripts / "ci_stack.sh", "env": env, "log": log, "summary": summary, "tmp": tmp_path}


def set_outputs(world, api_url: str, **override):
    outputs = {
        "apiUrl": api_url,
        "functionName": "container-lambda-dev",
        "imageUri": IMAGE_URI,
        "repositoryName": "container-lambda-dev",
        **override,
    }
    path = world["tmp"] / "outputs.json"
    path.write_text(json.dumps({k: v for k, v in outputs.items() if v is not None}), encoding="utf-8")
    world["env"]["FAKE_OUTPUTS"] = str(path)


def verify(world, *extra):
    return run_script(world["script"], "verify", "dev", *extra, env=world["env"])


def calls(world) -> list[str]:
    return world["log"].read_text(encoding="utf-8").splitlines()


# --- verify ------------------------------------------------------------------------------------------------


def test_verify_waits_checks_the_image_smoke_tests_and_reports_the_scan(world):
    api = Api()
    with http_server(api) as base:
        set_outputs(world, base)
        result = verify(world)
    assert result.returncode == 0, result.stderr
    log = calls(world)
    assert "aws lambda wait function-active-v2 --function-name container-lambda-dev" in log
    assert "aws lambda wait function-updated-v2 --function-name container-lambda-dev" in log
    assert any(
        line.startswith(
            f"aws ecr batch-get-image --repository-name container-lambda-dev --image-ids imageDigest={DIGEST}"
        )
        for line in log
    )
    assert any("get-download-url-for-layer" in line and "--layer-digest sha256:" in line for line in log)
    assert api.paths == ["/items", "/nothing"]
    assert "OK: single-platform image for arm64" in result.stdout
    assert "| HIGH | 1 |" in result.stdout
    assert "| HIGH | 1 |" in world["summary"].read_text(encoding="utf-8")


def test_the_waits_come_before_the_smoke_test(world):
    with http_server(Api()) as base:
        set_outputs(world, base)
        verify(world)
    log = calls(world)
    waits = [i for i, line in enumerate(log) if line.startswith("aws lambda wait")]
    scan = next(i for i, line in enumerate(log) if line.startswith("aws ecr wait image-scan-complete"))
    assert waits == [1, 2] and scan > waits[-1]


def test_a_function_whose_update_failed_stops_before_any_request(world):
    world["env"]["FAKE_FUNCTION_STATE"] = "Active\tFailed\tarm64"
    api = Api()
    with http_server(api) as base:
        set_outputs(world, base)
        result = verify(world)
    assert result.returncode == 1
    assert "container-lambda-dev is Active with last update Failed" in result.stderr
    assert api.paths == []


def test_an_index_pushed_to_ecr_fails_the_check(world):
    world["env"]["FAKE_MANIFEST"] = str(FIXTURES / "manifest-oci-index-attestation.json")
    api = Api()
    with http_server(api) as base:
        set_outputs(world, base)
        result = verify(world)
    assert result.returncode == 1
    assert "is an index" in result.stderr
    assert api.paths == [], "no smoke test of a function whose image is wrong"


def test_an_image_of_another_architecture_fails_the_check(world):
    world["env"]["FAKE_FUNCTION_STATE"] = "Active\tSuccessful\tx86_64"
    with http_server(Api()) as base:
        set_outputs(world, base)
        result = verify(world)
    assert result.returncode == 1
    assert "differs from the function architecture x86_64" in result.stderr


def test_a_config_blob_that_cannot_be_fetched_is_flagged_not_fatal(world):
    world["env"]["FAKE_NO_CONFIG"] = "1"
    api = Api()
    with http_server(api) as base:
        set_outputs(world, base)
        result = verify(world)
    assert result.returncode == 0, result.stderr
    assert "::warning title=Image platform not checked::" in result.stdout
    assert "platform (image config)" not in result.stdout
    assert api.paths == ["/items", "/nothing"]


def test_a_wrong_answer_fails(world):
    with http_server(Api(status=400)) as base:
        set_outputs(world, base)
        result = verify(world)
    assert result.returncode == 1
    assert "list.json: status 400, expected 200" in result.stderr


def test_critical_findings_fail_only_when_gated(world):
    world["env"]["FAKE_FINDINGS"] = str(FIXTURES / "scan-findings-critical.json")
    with http_server(Api()) as base:
        set_outputs(world, base)
        assert verify(world).returncode == 0
        gated = verify(world, "--fail-on", "CRITICAL")
    assert gated.returncode == 1
    assert "at severity CRITICAL or above" in gated.stderr


def test_a_scan_that_never_completes_is_reported_and_fails_a_gated_run(world):
    world["env"]["FAKE_SCAN_WAIT_RC"] = "255"
    world["env"]["FAKE_FINDINGS"] = str(FIXTURES / "scan-findings-failed.json")
    with http_server(Api()) as base:
        set_outputs(world, base)
        result = verify(world, "--fail-on", "CRITICAL")
    assert result.returncode == 1
    assert "did not complete" in result.stderr and "scan status is FAILED" in result.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"imageUri": None}, "lacks one of the outputs"),
        ({"imageUri": "repo:latest"}, "is not pinned by digest"),
    ],
)
def test_bad_stack_outputs_fail_clearly(world, override, message):
    with http_server(Api()) as base:
        set_outputs(world, base, **override)
        result = verify(world)
    assert result.returncode == 1
    assert message in result.stderr
    assert not any(line.startswith("aws ") for line in calls(world))


# --- drift -------------------------------------------------------------------------------------------------

IMAGE_URN = (
    "urn:pulumi:dev::container-lambda::container-lambda:index:Registry$docker:index/image:Image::image"
)
FUNCTION_URN = "urn:pulumi:dev::container-lambda::aws:lambda/function:Function::container-lambda-dev"


def set_export(world, resources):
    path = world["tmp"] / "export.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"resources": resources}}), encoding="utf-8")
    world["env"]["FAKE_EXPORT"] = str(path)


def test_drift_previews_the_deployed_image_with_refresh_expecting_no_changes_without_the_build(world):
    set_export(
        world,
        [
            {"urn": FUNCTION_URN, "type": "aws:lambda/function:Function"},
            {"urn": IMAGE_URN, "type": "docker:index/image:Image"},
        ],
    )
    result = run_script(world["script"], "drift", "dev", env=world["env"])
    assert result.returncode == 0, result.stderr
    assert calls(world)[-2:] == [
        "pulumi preview --stack dev --refresh --expect-no-changes --diff --non-interactive --exclude "
        + IMAGE_URN,
        f"  with CONTAINER_LAMBDA_IMAGE_URI={IMAGE_URI}",
    ]
    assert "### Drift of dev: none" in world["summary"].read_text(encoding="utf-8")


def test_drift_of_a_stack_without_image_builds_excludes_nothing(world):
    set_export(world, [{"urn": FUNCTION_URN, "type": "aws:lambda/function:Function"}])
    result = run_script(world["script"], "drift", "dev", env=world["env"])
    assert result.returncode == 0, result.stderr
    assert (
        calls(world)[-2]
        == "pulumi preview --stack dev --refresh --expect-no-changes --diff --non-interactive"
    )


def test_drift_fails_visibly_when_the_preview_finds_changes(world):
    set_export(world, [{"urn": IMAGE_URN, "type": "docker:index/image:Image"}])
    world["env"]["FAKE_PREVIEW_RC"] = "255"
    result = run_script(world["script"], "drift", "dev", env=world["env"])
    assert result.returncode == 1
    assert "stack dev has drifted (pulumi preview exited 255)" in result.stderr
    assert "the resources, the state and main disagree" in world["summary"].read_text(encoding="utf-8")


# --- prepare -----------------------------------------------------------------------------------------------


def test_prepare_gives_the_deployed_image_as_build_cache(world):
    world["env"]["FAKE_STACK_EXISTS"] = "1"
    result = run_script(world["script"], "prepare", "dev", env=world["env"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"image-uri={IMAGE_URI}\n"
    assert calls(world)[0] == "pulumi install"
    assert "pulumi stack output imageUri --stack dev" in calls(world)


def test_prepare_installs_the_policy_pack_into_its_venv(world):
    policy = world["script"].parent.parent / "policy"
    policy.mkdir()
    (policy / "PulumiPolicy.yaml").write_text("runtime:\n  name: python\n", encoding="utf-8")
    (policy / "requirements.txt").write_text("# nothing to install here\n", encoding="utf-8")
    result = run_script(world["script"], "prepare", "dev", env=world["env"])
    assert result.returncode == 0, result.stderr
    assert (policy / "venv" / "bin" / "python").exists()
    assert "policy pack's dependencies" in result.stderr


def test_prepare_of_a_new_stack_builds_without_cache(world):
    result = run_script(world["script"], "prepare", "dev", env=world["env"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "image-uri=\n"
    assert "first deployment" in result.stderr


def test_prepare_ignores_an_image_uri_that_is_not_a_digest(world):
    world["env"].update(FAKE_STACK_EXISTS="1", FAKE_IMAGE_URI="repo:latest")
    result = run_script(world["script"], "prepare", "dev", env=world["env"])
    assert result.stdout == "image-uri=\n"
    assert "ignoring imageUri 'repo:latest'" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["verify", "Prod"], 1, "stack name 'Prod' must match"),
        (["verify", "dev; rm -rf /"], 1, "must match"),
        (["deploy", "dev"], 2, "usage:"),
        (["verify"], 2, "usage:"),
        (["verify", "dev", "--fail-on"], 2, "usage:"),
    ],
)
def test_bad_arguments_are_refused(world, args, code, message):
    result = run_script(world["script"], *args, env=world["env"])
    assert result.returncode == code
    assert message in result.stderr
    assert calls(world) == []
