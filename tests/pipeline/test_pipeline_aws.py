"""scripts/pipeline.sh's AWS calls through the real AWS CLI: against moto's server where moto keeps the state
(ECR images for discard and promote), against the validated stand-in for Lambda's function states (verify).
pulumi and docker stay stand-ins (tests/pipeline/test_pipeline_script.py's world)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from infra.project import prefix_for
from tests.pipeline.helpers import http_server, oci_layout, run_script, write_tool
from tests.pipeline.test_pipeline_script import make_world
from tests.support.aws import ACCOUNT, REGION, StandIn, cli_env, reset_moto, stand_in

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "c" * 64,
            "size": 2,
        },
        "layers": [],
    }
)
DIGEST = "sha256:" + "ab" * 32
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
BUILDING, FURTHER = prefix_for("dev"), prefix_for("production")
# `docker buildx imagetools create --prefer-index=false --tag <repository>:<tag> <source>`, as a registry
# copy: the source's manifest put into the target repository (same manifest, same digest)
DOCKER_COPY = """echo "docker $*" >> "$FAKE_LOG"
case "$*" in
  "buildx imagetools create "*)
    target=${6%:*} tag=${6##*:}  # create --prefer-index=false --tag <repository>:<tag> <source>
    aws ecr put-image --repository-name "${target#*/}" --image-tag "$tag" --image-manifest "file://$FAKE_MANIFEST_FILE" >/dev/null ;;
  *) echo "unexpected: docker $*" >&2; exit 3 ;;
esac
"""


@pytest.fixture
def world(tmp_path: Path) -> dict:
    """The pipeline world with the real AWS CLI (no stand-in `aws` on PATH) against a fresh moto."""
    world = make_world(tmp_path)
    (tmp_path / "bin" / "aws").unlink()
    endpoint = reset_moto()
    world["env"] = cli_env(world["env"], endpoint)
    world["ecr"] = boto3.client(
        "ecr", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t"
    )
    return world


def run(world: dict, *args: str):
    return run_script(world["repo"] / "scripts" / "pipeline.sh", *args, env=world["env"])


def push(world: dict, repository: str) -> str:
    """The image in `repository` (created when missing); its digest as ECR computes it."""
    try:
        world["ecr"].create_repository(repositoryName=repository, imageTagMutability="IMMUTABLE")
    except world["ecr"].exceptions.RepositoryAlreadyExistsException:
        pass
    return world["ecr"].put_image(repositoryName=repository, imageManifest=MANIFEST, imageTag="build")[
        "image"
    ]["imageId"]["imageDigest"]


def digests(world: dict, repository: str) -> list[str]:
    return [d["imageDigest"] for d in world["ecr"].describe_images(repositoryName=repository)["imageDetails"]]


def test_discard_deletes_the_image_from_ecr(world):
    digest = push(world, BUILDING)
    result = run(world, "discard", BUILDING, digest)
    assert result.returncode == 0, result.stderr
    assert digests(world, BUILDING) == []


def test_discard_of_a_repository_that_does_not_exist_fails(world):
    result = run(world, "discard", BUILDING, DIGEST)
    assert result.returncode != 0 and "RepositoryNotFoundException" in result.stderr


def test_promote_copies_the_digest_into_the_stacks_repository(world, tmp_path):
    digest = push(world, BUILDING)  # moto's digest of the manifest
    world["ecr"].create_repository(repositoryName=FURTHER)  # what the targeted `pulumi up` creates
    manifest = tmp_path / "manifest.json"
    manifest.write_text(MANIFEST)
    write_tool(tmp_path / "bin", "docker", DOCKER_COPY)
    world["env"]["FAKE_MANIFEST_FILE"] = str(manifest)
    result = run(world, "promote", f"{REGISTRY}/{BUILDING}@{digest}", "a" * 32, "production")
    assert result.returncode == 0, result.stderr
    assert digests(world, FURTHER) == [digest]
    # no rollback recorded (the world's stand-in for scripts/rollback.py resolve, tested in test_rollback.py)
    assert (tmp_path / "output").read_text().splitlines() == [
        f"image-uri={REGISTRY}/{FURTHER}@{digest}",
        "tag=t",
        f"repository={FURTHER}",
        "origin=reused",
    ]


def test_promote_skips_the_copy_when_ecr_already_holds_the_digest(world, tmp_path):
    digest = push(world, BUILDING)
    push(world, FURTHER)
    result = run(world, "promote", f"{REGISTRY}/{BUILDING}@{digest}", "a" * 32, "production")
    assert result.returncode == 0, result.stderr
    assert not [line for line in world["log"].read_text().splitlines() if "imagetools create" in line]


# --- push-archive: the building stack takes the build job's OCI archive -----------------------------------

# `skopeo copy --preserve-digests oci-archive:<archive> docker://<repository>:<tag>`, as the registry sees it:
# the archive's manifest PUT unchanged under the tag, so the registry's digest is the hash of those bytes
# (ECR's PutImage takes that digest and checks it). skopeo refuses with --preserve-digests whatever would change
# the manifest; SKOPEO_REWRITES stands for a copy that changed it anyway.
SKOPEO = """echo "skopeo $*" >> "$FAKE_LOG"
[[ "$1 $2" == "copy --preserve-digests" ]] || { echo "unexpected: skopeo $*" >&2; exit 3; }
archive=${3#oci-archive:} destination=${4#docker://}
manifest=$(mktemp)
digest=$(tar -xOf "$archive" index.json | jq -r '.manifests[0].digest')
tar -xOf "$archive" "blobs/sha256/${digest#sha256:}" > "$manifest"
if [[ -n "${SKOPEO_REWRITES:-}" ]]; then jq -c . "$manifest" > "$manifest.new"; mv "$manifest.new" "$manifest"; fi
repository=${destination%:*} repository=${repository#*/}
aws ecr put-image --repository-name "$repository" --image-tag "${destination##*:}" \
  --image-manifest "file://$manifest" --image-digest "sha256:$(sha256sum "$manifest" | cut -d' ' -f1)" >/dev/null
"""
TAG = "a" * 32


def archive(world: dict) -> tuple[str, str]:
    """The build job's archive (one OCI image manifest, indented as no registry would re-serialize it) and
    the digest of that manifest."""
    manifest = json.dumps(json.loads(MANIFEST), indent=3).encode()
    path = oci_layout(world["tmp"] / "image.tar", [manifest], [])
    return path, "sha256:" + hashlib.sha256(manifest).hexdigest()


@pytest.fixture
def building(world: dict) -> dict:
    """The building stack's repository, as the targeted `pulumi up` leaves it, and the skopeo stand-in."""
    world["ecr"].create_repository(repositoryName=BUILDING, imageTagMutability="IMMUTABLE")
    write_tool(world["tmp"] / "bin", "skopeo", SKOPEO)
    return world


def lines(world: dict) -> list[str]:
    return (world["tmp"] / "output").read_text().splitlines()


def test_push_archive_pushes_the_manifest_unchanged_under_the_content_tag(building):
    path, digest = archive(building)
    result = run(building, "push-archive", path, TAG, "dev")
    assert result.returncode == 0, result.stderr
    assert (
        lines(building)
        == [
            f"image-uri={REGISTRY}/{BUILDING}@{digest}",
            "tag=t",  # the world's scripts/rollback.py stand-in: no rollback recorded (tests/pipeline/test_rollback.py)
            f"repository={BUILDING}",
            "origin=built",
        ]
    )
    image = building["ecr"].describe_images(repositoryName=BUILDING)["imageDetails"]
    assert [(i["imageDigest"], i["imageTags"]) for i in image] == [(digest, [TAG])]
    log = building["log"].read_text()
    assert log.index("pulumi up") < log.index("skopeo copy --preserve-digests oci-archive:")


def test_push_archive_reuses_the_image_ecr_holds_under_the_tag_and_pushes_nothing(building):
    earlier = building["ecr"].put_image(repositoryName=BUILDING, imageManifest=MANIFEST, imageTag=TAG)
    held = earlier["image"]["imageId"]["imageDigest"]
    path, digest = archive(building)
    assert held != digest  # another build of the same sources (not reproducible byte for byte)
    result = run(building, "push-archive", path, TAG, "dev")
    assert result.returncode == 0, result.stderr
    # the image under the tag runs, once its provenance verifies (origin reused: a commit of main)
    assert lines(building)[0] == f"image-uri={REGISTRY}/{BUILDING}@{held}"
    assert lines(building)[-1] == "origin=reused"
    assert "skopeo" not in building["log"].read_text()


def test_push_archive_fails_when_the_registry_holds_another_digest_after_the_push(building):
    path, _ = archive(building)
    building["env"]["SKOPEO_REWRITES"] = "1"
    result = run(building, "push-archive", path, TAG, "dev")
    assert result.returncode == 1
    assert "after the push: nothing runs it" in result.stderr
    assert lines(building) == []


def test_push_archive_of_a_bad_archive_changes_nothing(building):
    bad = building["tmp"] / "image.tar"
    bad.write_bytes(b"not a tar")
    result = run(building, "push-archive", str(bad), TAG, "dev")
    assert result.returncode == 1
    assert "not an OCI image layout archive" in result.stderr
    assert "pulumi up" not in building["log"].read_text()


# --- verify: Lambda's states (stand-in) --------------------------------------------------------------------


@pytest.fixture
def lambda_(world: dict) -> Iterator[StandIn]:
    with stand_in() as fake:
        world["env"]["AWS_ENDPOINT_URL_LAMBDA"] = fake.url
        yield fake
        fake.assert_done()


def outputs(world: dict, api_url: str) -> None:
    path = world["tmp"] / "outputs.json"
    path.write_text(json.dumps({"apiUrl": api_url, "functionName": BUILDING}))
    world["env"]["FAKE_OUTPUTS"] = str(path)


def api(method: str, path: str, body: bytes) -> tuple[int, object]:
    return (200, {}) if path == "/items" else (404, {})


def test_verify_waits_for_the_function_then_smoke_tests_the_api(world, lambda_):
    lambda_.answer("lambda", "GetFunction", {"Configuration": {"State": "Pending"}})
    lambda_.answer("lambda", "GetFunction", {"Configuration": {"State": "Active"}})
    lambda_.answer("lambda", "GetFunction", {"Configuration": {"LastUpdateStatus": "Successful"}})
    with http_server(api) as base:
        outputs(world, base)
        result = run(world, "verify", "dev")  # one Pending answer: one waiter delay (1 s, botocore's model)
    assert result.returncode == 0, result.stderr


def test_verify_says_whether_a_smoke_token_is_given_never_the_token(world, lambda_):
    lambda_.answer("lambda", "GetFunction", {"Configuration": {"State": "Active"}})
    lambda_.answer("lambda", "GetFunction", {"Configuration": {"LastUpdateStatus": "Successful"}})
    world["env"]["SMOKE_BEARER_TOKEN"] = "eyJhbGciOi.SECRET.sig"
    with http_server(lambda method, path, body: (200, {})) as base:
        path = world["tmp"] / "outputs.json"
        path.write_text(
            json.dumps({"apiUrl": base, "functionName": BUILDING, "jwtIssuer": "https://id.example"})
        )
        world["env"]["FAKE_OUTPUTS"] = str(path)
        result = run(world, "verify", "dev")
    assert "JWT authorizer; token: given" in result.stdout + result.stderr
    assert "SECRET" not in result.stdout + result.stderr


def test_verify_of_a_failed_function_says_why_in_lambdas_words(world, lambda_):
    reason = "Lambda does not have permission to access the ECR image."
    state = {"State": "Failed", "StateReasonCode": "ImageAccessDenied", "StateReason": reason}
    lambda_.answer("lambda", "GetFunction", {"Configuration": state})  # the waiter's failure acceptor
    lambda_.answer("lambda", "GetFunctionConfiguration", state)
    outputs(world, "http://127.0.0.1:9")
    result = run(world, "verify", "dev")
    assert result.returncode == 1
    assert f"State Failed; StateReasonCode ImageAccessDenied; StateReason {reason}" in result.stderr
