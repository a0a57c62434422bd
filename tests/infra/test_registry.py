"""Image registry: the ECR repository, its lifecycle policy and the image (platform, tag, push, cache)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
import pytest

from infra import registry_names
from infra.config import ConfigError
from infra.project import PROJECT
from infra.rollback import record_tag, resolve
from tests.infra.support import FUNCTION, IMAGE, LIFECYCLE, REPOSITORY, ROOT, run_stack
from tests.support.pulumi_harness import HarnessMocks, run_program
from tests.support.second_dockerfile import second_dockerfile

KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_repository_scans_on_push_with_immutable_tags_and_aes256(default_run):
    repo = default_run.one(REPOSITORY).inputs
    assert repo["name"] == f"{PROJECT}-dev"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repo["forceDelete"] is False


def test_a_configured_kms_key_encrypts_the_repository():
    repo = run_stack({"kmsKeyArn": KMS_KEY}).one(REPOSITORY).inputs
    assert repo["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KMS_KEY}]


def test_force_delete_only_when_configured():
    assert run_stack({"forceDelete": True}).one(REPOSITORY).inputs["forceDelete"] is True


def expired_by(policy: dict, images: list[dict], now_days: int) -> set[str]:
    """The images (by id) ECR's lifecycle evaluation expires, per the Amazon ECR User Guide ("Lifecycle policy
    evaluation rules" and "Lifecycle policy properties"): rules in rulePriority order; an image that matches
    the tagging requirements of a rule cannot be expired by a rule of lower priority; `imageCountMoreThan`
    keeps the newest countNumber selected images by push time; `sinceImagePushed` expires those older than
    countNumber days; a `tagPrefixList` / `tagPatternList` selects images having a tag for every entry.
    `images`: {"id", "tags", "pushed" (day number)}."""
    claimed: set[str] = set()
    expired: set[str] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]

        def selected(image: dict, selection=selection) -> bool:
            tags = image["tags"]
            if selection["tagStatus"] == "untagged":
                return not tags
            if selection["tagStatus"] == "any":
                return True
            prefixes = selection.get("tagPrefixList", [])
            patterns = selection.get("tagPatternList", [])
            return (
                bool(tags)
                and all(any(t.startswith(p) for t in tags) for p in prefixes)
                and all(any(fnmatchcase(t, p) for t in tags) for p in patterns)
            )

        matching = [i for i in images if i["id"] not in claimed and selected(i)]
        claimed |= {i["id"] for i in matching}
        if selection["countType"] == "imageCountMoreThan":
            newest_first = sorted(matching, key=lambda i: i["pushed"], reverse=True)
            expired |= {i["id"] for i in newest_first[selection["countNumber"] :]}
        else:
            expired |= {i["id"] for i in matching if now_days - i["pushed"] > selection["countNumber"]}
    return expired


@pytest.mark.parametrize("keep", [10, 3])
def test_the_lifecycle_never_expires_an_image_a_published_version_runs(keep):
    run = run_stack({"keepImages": keep})
    lifecycle = run.one(LIFECYCLE)
    assert lifecycle.inputs["repository"] == f"{PROJECT}-dev"
    policy = json.loads(lifecycle.inputs["policy"])
    # 40 builds over 40 days; the deployment tagged the images of five versions, among them the oldest build
    # (a rollback to old sources reuses its image) and the build of day 5; two untagged leftovers
    protected = {
        0: "lambda-version-7",
        5: "lambda-version-3",
        37: "lambda-version-9",
        38: "lambda-version-10",
        39: "lambda-version-11",
    }
    images = [
        {
            "id": f"build-{day}",
            "pushed": day,
            "tags": [f"{day:016x}"] + ([protected[day]] if day in protected else []),
        }
        for day in range(40)
    ]
    images += [
        {"id": "untagged-old", "pushed": 30, "tags": []},
        {"id": "untagged-new", "pushed": 40, "tags": []},
    ]
    expired = expired_by(policy, images, now_days=40)
    assert not expired & {f"build-{day}" for day in protected}, "an image a version runs would expire"
    others = [f"build-{day}" for day in range(40) if day not in protected]
    assert expired == set(others[:-keep]) | {"untagged-old"}, f"keepImages={keep}: the newest others stay"


@pytest.mark.parametrize(("architecture", "platform"), [("arm64", "linux/arm64"), ("x86_64", "linux/amd64")])
def test_the_image_is_built_for_the_function_architecture(architecture, platform):
    run = run_stack({"architecture": architecture})
    assert run.one(IMAGE).inputs["build"]["platform"] == platform
    assert run.one(FUNCTION).inputs["architectures"] == [architecture]


def test_the_build_makes_a_single_manifest_lambda_accepts_no_attestations(default_run):
    build = default_run.one(IMAGE).inputs["build"]
    assert (build["provenance"], build["sbom"]) == ("false", "false")
    assert "," not in build["platform"], "one platform: a multi-platform build pushes an index"


def test_the_image_builds_function_with_the_configured_dockerfile_and_inline_cache(tmp_path):
    with second_dockerfile(tmp_path) as dockerfile:
        build = run_stack({"dockerfile": dockerfile}).one(IMAGE).inputs["build"]
    assert (build["context"], build["dockerfile"]) == ("function", Path(dockerfile).name)
    assert build["buildArgs"] == {"BUILDKIT_INLINE_CACHE": "1"}
    assert "cacheFroms" not in build  # no cache unless BUILD_CACHE_FROM names one


def test_the_image_is_pushed_to_the_repository_with_a_content_tag_never_latest(default_run):
    image = default_run.one(IMAGE)
    repository_url = default_run.one(REPOSITORY).state["repositoryUrl"]
    name, tag = image.inputs["name"].rsplit(":", 1)
    assert name == repository_url
    assert len(tag) == 32 and int(tag, 16) >= 0 and tag != "latest"
    assert image.inputs["keepRemotely"] is True, "a replaced image stays for rollbacks (lifecycle expires it)"


def test_the_build_cache_never_changes_the_tag_nor_replaces_the_image(default_run):
    deployed = f"{REGISTRY_HOST}/{PROJECT}-dev@{DEPLOYED}"
    cached = run_stack(cache_from=deployed).one(IMAGE)
    assert cached.inputs["build"]["cacheFroms"] == [deployed]
    assert cached.inputs["name"] == default_run.one(IMAGE).inputs["name"]
    assert "build.cacheFroms" in cached.ignore_changes


def every_input(run) -> list[tuple[str, object]]:
    """(path, value) of every input of every resource and provider, secrets included."""
    found = []

    def walk(path, value):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{path}.{key}", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{path}[{index}]", item)
        elif isinstance(value, str) and value.startswith(("[", "{")):
            try:
                walk(path, json.loads(value))
            except ValueError:
                found.append((path, value))
        else:
            found.append((path, value))

    for record in run.records:
        walk(f"{record.typ}::{record.name}", record.inputs)
    return found


def test_no_resource_input_holds_a_registry_credential(default_run):
    credentials = [
        (path, value)
        for path, value in every_input(default_run)
        if any(word in path.lower() for word in ("password", "token", "auth.", "username"))
        or value == "mock-password"
    ]
    assert credentials == [], f"registry credentials in resource inputs: {credentials}"
    assert not [token for token, _ in default_run.calls if token.endswith("getAuthorizationToken")], (
        "the program asks ECR for no authorization token: Docker logs in outside it"
    )


def test_the_docker_provider_knows_the_registry_address_only(default_run):
    (provider,) = default_run.of_type("pulumi:providers:docker")
    assert json.loads(provider.inputs["registryAuth"]) == [{"address": REGISTRY_HOST}]
    assert default_run.one(IMAGE).inputs.get("authConfig") is None


def test_the_function_runs_the_pushed_digest_never_a_tag(default_run):
    image = default_run.one(IMAGE)
    image_uri = default_run.one(FUNCTION).inputs["imageUri"]
    assert image_uri == f"{REGISTRY_HOST}/{PROJECT}-dev@{image.state['sha256Digest']}"
    assert default_run.outputs["imageUri"] == image_uri


def test_the_registry_children_belong_to_the_component(default_run):
    (component,) = default_run.of_type(f"{PROJECT}:infra:ImageRegistry")
    children = {r.typ for r in default_run.children_of(component)}
    assert children == {REPOSITORY, LIFECYCLE, IMAGE, "pulumi:providers:docker"}


# --- an image already pushed for these sources is reused, never rebuilt or re-pushed -----------------------

REGISTRY_HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
DEPLOYED = "sha256:" + "cd" * 32


def content_tag() -> str:
    return run_stack().one(IMAGE).inputs["name"].rsplit(":", 1)[1]


def registrations(run) -> list[tuple[str, str, object]]:
    """What a run registers: (URN, inputs) of every resource and provider, by URN."""
    return sorted((record.urn, json.dumps(record.inputs, sort_keys=True)) for record in run.records)


def test_a_first_deployment_asks_ecr_for_the_tag_then_builds(default_run):
    assert ("aws:ecr/getImages:getImages", {"repositoryName": f"{PROJECT}-dev"}) in default_run.calls
    assert default_run.one(IMAGE).ignore_changes == ["build.cacheFroms"]


def test_a_second_run_with_the_first_runs_image_in_ecr_registers_exactly_the_same():
    first = run_stack()
    pushed = first.one(IMAGE)
    tag = pushed.inputs["name"].rsplit(":", 1)[1]
    second = run_stack(ecr_images={f"{PROJECT}-dev": {tag: pushed.state["sha256Digest"]}})
    assert registrations(second) == registrations(first), "a second `pulumi up` would plan a change"
    assert second.outputs == first.outputs


def test_an_image_already_in_ecr_under_the_content_tag_runs_and_nothing_is_rebuilt():
    older = {"0" * 32: "sha256:" + "0" * 64}
    run = run_stack(ecr_images={f"{PROJECT}-dev": {content_tag(): DEPLOYED} | older})
    image_uri = f"{REGISTRY_HOST}/{PROJECT}-dev@{DEPLOYED}"
    assert run.one(FUNCTION).inputs["imageUri"] == image_uri
    assert run.outputs["imageUri"] == image_uri
    # whatever image resource the state holds (another tag after a rollback) stays as it is: no build
    assert set(run.one(IMAGE).ignore_changes) >= {"name", "build"}


def test_an_image_under_other_tags_only_does_not_stop_the_build():
    run = run_stack(ecr_images={f"{PROJECT}-dev": {"0" * 32: DEPLOYED}})
    image = run.one(IMAGE)
    assert run.one(FUNCTION).inputs["imageUri"].endswith(image.state["sha256Digest"])
    assert image.ignore_changes == ["build.cacheFroms"]


def run_with_ecr_failure(reason: str):
    """The program when ECR's image listing fails with `reason`."""

    def failing(mocks, args):
        return {}, [("repositoryName", reason)]

    return run_program(
        ROOT,
        {"aws:region": "eu-west-1"},
        project=f"{PROJECT}",
        mocks=HarnessMocks(extra_calls={"aws:ecr/getImages:getImages": failing}),
        env={"BUILD_CACHE_FROM": None, "PINNED_IMAGE_URI": None},
    )


@pytest.mark.parametrize(
    "reason",
    [
        # the provider's own text: its data source hides the AWS error code behind retry.NotFoundError
        "reading ECR Images: couldn't find resource",
        # the AWS error code, should a provider version pass it through
        f"RepositoryNotFoundException: The repository with name '{PROJECT}-dev' does not exist",
    ],
)
def test_a_missing_repository_is_a_first_deployment_that_builds(reason):
    run = run_with_ecr_failure(reason)
    assert run.one(FUNCTION).inputs["imageUri"].endswith(run.one(IMAGE).state["sha256Digest"])


def test_an_ecr_error_other_than_a_missing_repository_stops_the_program():
    with pytest.raises(Exception, match="AccessDeniedException"):
        run_with_ecr_failure("AccessDeniedException: not authorized to perform: ecr:ListImages")


def test_a_pinned_image_runs_without_a_build():
    pinned = f"{REGISTRY_HOST}/{PROJECT}-dev@{DEPLOYED}"
    run = run_stack(pinned_image=pinned)
    assert run.of_type(IMAGE) == [] and run.of_type("pulumi:providers:docker") == []
    assert run.one(FUNCTION).inputs["imageUri"] == pinned
    assert run.outputs["imageUri"] == pinned


# --- rollback records (infra/rollback.py) ------------------------------------------------------------------

ROLLED_BACK = "sha256:" + "a1" * 32  # the image a rollback left
GONE_BACK_TO = "sha256:" + "b2" * 32  # the image it went back to
OLDER = "sha256:" + "c3" * 32


def registry_outputs(run) -> dict:
    (outputs,) = [o for urn, o in run.registered_outputs.items() if urn.endswith("ImageRegistry::registry")]
    return outputs


def test_sources_that_were_rolled_back_run_the_image_the_rollback_went_back_to(caplog):
    tag = content_tag()
    images = {tag: ROLLED_BACK, "0" * 32: GONE_BACK_TO, record_tag(ROLLED_BACK): GONE_BACK_TO}
    with caplog.at_level(logging.WARNING):
        run = run_stack(ecr_images={f"{PROJECT}-dev": images})
    assert run.one(FUNCTION).inputs["imageUri"].endswith(f"@{GONE_BACK_TO}")
    outputs = registry_outputs(run)
    # the provenance of the image that runs is verified against its own content tag; nothing is built
    assert outputs["tag"] == "0" * 32
    assert "was rolled back" in caplog.text and GONE_BACK_TO in caplog.text


def test_records_are_followed_to_the_last_rollback_and_a_cycle_stops():
    images = {
        content_tag(): ROLLED_BACK,
        record_tag(ROLLED_BACK): GONE_BACK_TO,
        record_tag(GONE_BACK_TO): OLDER,
    }
    run = run_stack(ecr_images={f"{PROJECT}-dev": images})
    assert run.one(FUNCTION).inputs["imageUri"].endswith(f"@{OLDER}")
    assert resolve(ROLLED_BACK, images | {record_tag(OLDER): ROLLED_BACK}) == (
        OLDER,
        [ROLLED_BACK, GONE_BACK_TO, OLDER],
    )


def test_a_pinned_image_that_was_rolled_back_runs_the_image_gone_back_to():
    pinned = f"{REGISTRY_HOST}/{PROJECT}-dev@{ROLLED_BACK}"
    run = run_stack(
        pinned_image=pinned, ecr_images={f"{PROJECT}-dev": {record_tag(ROLLED_BACK): GONE_BACK_TO}}
    )
    assert run.one(FUNCTION).inputs["imageUri"] == f"{REGISTRY_HOST}/{PROJECT}-dev@{GONE_BACK_TO}"


def test_another_images_record_changes_nothing():
    images = {content_tag(): DEPLOYED, record_tag(ROLLED_BACK): GONE_BACK_TO}
    run = run_stack(ecr_images={f"{PROJECT}-dev": images})
    assert run.one(FUNCTION).inputs["imageUri"].endswith(f"@{DEPLOYED}")


@pytest.mark.parametrize(
    "image",
    [
        f"{REGISTRY_HOST}/{PROJECT}-dev:latest",
        f"{REGISTRY_HOST}/{PROJECT}-prod@{DEPLOYED}",
    ],
)
def test_a_pinned_image_must_be_this_repository_by_digest(image):
    with pytest.raises(ConfigError) as caught:
        run_stack(pinned_image=image)
    (problem,) = caught.value.problems
    assert problem.key == "PINNED_IMAGE_URI (environment variable)"
    assert image in str(caught.value)
    assert caught.value.registered == []


# --- the registry's names, which the pipeline targets (infra/registry_names.py) ------------------------------


def registered_subtree(run, stack: str) -> list[str]:
    """The URNs the engine gives the registry component and every resource under it in `run` (the mocks' URNs
    name the root stack's type, which the engine leaves out of a URN)."""
    (component,) = run.of_type(registry_names.TYPE)
    found, frontier = [component], [component]
    while frontier:
        children = [child for record in frontier for child in run.children_of(record)]
        found += children
        frontier = children
    return [record.urn.replace("pulumi:pulumi:Stack$", "") for record in found]


@pytest.mark.parametrize("stack", ["dev", "prod-eu"])
def test_the_image_targets_are_every_resource_the_registry_registers_when_it_builds(stack):
    run = run_stack(stack=stack)
    assert sorted(registry_names.targets(stack, with_image=True)) == sorted(registered_subtree(run, stack))


def test_the_targets_are_every_resource_the_registry_registers_for_a_pinned_image():
    run = run_stack(pinned_image=f"{REGISTRY_HOST}/{PROJECT}-dev@{DEPLOYED}")
    assert sorted(registry_names.targets("dev")) == sorted(registered_subtree(run, "dev"))


def test_the_repository_the_pipeline_names_is_the_one_the_program_creates(default_run):
    assert registry_names.describe("dev")["repository"] == default_run.one(REPOSITORY).inputs["name"]


@pytest.mark.parametrize(
    ("child", "sdk_class"),
    [
        (registry_names.REPOSITORY, aws.ecr.Repository),
        (registry_names.LIFECYCLE_POLICY, aws.ecr.LifecyclePolicy),
        (registry_names.DOCKER_PROVIDER, docker.Provider),
        (registry_names.IMAGE, docker.RegistryImage),
    ],
    ids=lambda value: getattr(value, "suffix", ""),
)
def test_each_child_type_is_the_type_token_of_the_sdk_class(child, sdk_class):
    assert child.type == pulumi.get_type_token(sdk_class)


def test_the_command_line_prints_the_names_as_json_and_refuses_a_bad_stack_name():
    command = [sys.executable, "-m", "infra.registry_names"]
    printed = subprocess.run([*command, "dev"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(printed.stdout) == registry_names.describe("dev")
    refused = subprocess.run([*command, "Dev"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "'Dev'" in refused.stderr
