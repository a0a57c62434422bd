"""The image-substitution attack on the reuse of a content tag, replayed step by step; nothing of it reaches a
function.

1. main deploys: the build job (no credential) builds function/ into an OCI archive, the attest job signs the
   digest of its one manifest for `<building repository>:<content tag T>`, and the deploy job pushes the archive
   under T (`pipeline.sh push-archive`, the real AWS CLI against moto) and verifies it (`built`).
2. With dev's deploy role (leaked credentials, or code in a dev job) someone deletes the image under T and
   pushes another one under T: the rendered bootstrap allows both (IAM evaluation), since pushing and
   pruning images is the deploy job's work.
3. main is pushed again without touching function/: the deploy job finds T in ECR and takes the image under
   it (`origin=reused`), and `pipeline.sh provenance` refuses it, whether it is an image nobody attested or one
   main built for other sources.
4. In deploy.yml that refusal comes before every step that runs the image or changes a function, and a failed
   step ends the job (those steps run only while every earlier step succeeded). The job that holds dev's role
   cannot write an attestation, and the one that can runs none of the function's code (test_workflows.py).
"""

from __future__ import annotations

import hashlib
import json
import subprocess

import boto3
import pytest

from infra.project import PROJECT
from tests.bootstrap.harness import ACCOUNT, REGION, run_bootstrap
from tests.pipeline import provenance_support as gh
from tests.pipeline.helpers import WORKFLOWS, load_workflow, oci_layout, write_tool
from tests.pipeline.test_pipeline_aws import MANIFEST, SKOPEO
from tests.pipeline.test_pipeline_script import make_world, outputs, run
from tests.support.aws import cli_env, reset_moto
from tests.support.iam import ALLOWED, Request, evaluate

REPOSITORY = f"{PROJECT}-dev"
TAG = "7" * 32  # the content tag of function/ at both commits


def git(repo, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def pipeline(tmp_path):
    """A scratch checkout of main with two commits, the fake tools, the stand-in gh, the real AWS CLI against a
    fresh moto holding dev's repository (what the targeted `pulumi up` creates)."""
    world = make_world(tmp_path)
    repo = world["repo"]
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.email", "ci@example.org")
    git(repo, "config", "user.name", "ci")
    commits = []
    for message in ("first deploy", "second deploy, function/ untouched"):
        git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
        commits.append(git(repo, "rev-parse", "HEAD"))
    gh.install_fake_gh(world["tmp"] / "bin")
    (world["tmp"] / "bin" / "aws").unlink()
    write_tool(world["tmp"] / "bin", "skopeo", SKOPEO)
    endpoint = reset_moto()
    store = world["tmp"] / "attestations.json"
    world["env"] = cli_env(world["env"], endpoint) | gh.gh_env(store, commit=commits[1])
    world["ecr"] = boto3.client(
        "ecr", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t"
    )
    world["ecr"].create_repository(repositoryName=REPOSITORY, imageTagMutability="IMMUTABLE")
    world["store"], world["commits"] = store, commits
    return world


def build_and_attest(world, build: int, attestations: dict) -> str:
    """The build job's archive of run `build` (builds are not byte-reproducible: each run's manifest differs)
    and the attest job's attestation of its digest, from that run's commit; returns the archive's path."""
    manifest = json.dumps(json.loads(MANIFEST) | {"annotations": {"build": str(build)}}).encode()
    path = oci_layout(world["tmp"] / f"image-{build}.tar", [manifest], [])
    digest = hashlib.sha256(manifest).hexdigest()
    subject = f"{REPOSITORY}:{TAG}"
    attestations[f"sha256:{digest}"] = [
        gh.attestation(digest_hex=digest, subject=subject, commit=world["commits"][build])
    ]
    gh.write_store(world["store"], attestations)
    return str(path)


def push_archive(world, archive: str) -> dict[str, str]:
    world["output"].write_text("")
    result = run(world, "push-archive", archive, TAG, "dev")
    assert result.returncode == 0, result.stderr
    return outputs(world)


def test_dev_role_may_delete_and_push_under_a_tag():
    # step 2 is possible: provenance, not IAM, is what stops it
    rendered = run_bootstrap({"deployEnvironments": json.dumps(["dev", "production"])})
    dev = rendered.identity_policies(f"{PROJECT}.deploy.dev")
    repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{REPOSITORY}"
    for action in ("ecr:BatchDeleteImage", "ecr:PutImage", "ecr:InitiateLayerUpload"):
        assert evaluate(Request(action, repository), dev) == ALLOWED, action


@pytest.mark.parametrize("substitute", ["unattested", "main's image of other sources"])
def test_an_image_substituted_under_the_content_tag_is_refused_before_any_function_runs_it(
    pipeline, substitute
):
    ecr = pipeline["ecr"]
    attestations: dict = {}
    # 1. main's first deploy: built and attested in the jobs without a deploy role, pushed and verified here
    pipeline["env"]["GITHUB_SHA"] = pipeline["commits"][0]
    built = push_archive(pipeline, build_and_attest(pipeline, 0, attestations))
    assert (built["origin"], built["tag"]) == ("built", "t")  # "t": the world's no-rollback stand-in
    subject = f"{REPOSITORY}:{TAG}"
    assert run(pipeline, "provenance", built["image-uri"], subject, "built").returncode == 0

    # 2. dev's role deletes the image under T and pushes another one under T
    ecr.batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageTag": TAG}])
    planted_manifest = json.dumps(json.loads(MANIFEST) | {"annotations": {"planted": "yes"}})
    planted = "sha256:" + hashlib.sha256(planted_manifest.encode()).hexdigest()
    ecr.put_image(
        repositoryName=REPOSITORY, imageManifest=planted_manifest, imageTag=TAG, imageDigest=planted
    )
    if substitute != "unattested":  # a genuine image main built earlier for other sources (another tag)
        attestations[planted] = [
            gh.attestation(
                digest_hex=planted[7:], subject=f"{REPOSITORY}:{'0' * 32}", commit=pipeline["commits"][0]
            )
        ]
        gh.write_store(pipeline["store"], attestations)

    # 3. main again, function/ untouched: this run's build is attested, but the tag holds the planted image,
    # which the deploy job takes (reused) and refuses before anything runs it
    pipeline["env"]["GITHUB_SHA"] = pipeline["commits"][1]
    reused = push_archive(pipeline, build_and_attest(pipeline, 1, attestations))
    assert (reused["origin"], reused["image-uri"].rsplit("@", 1)[1]) == ("reused", planted)
    result = run(pipeline, "provenance", reused["image-uri"], subject, reused["origin"])
    assert result.returncode == 1
    assert f"image {planted} is refused" in result.stdout
    assert "Provenance of" in pipeline["summary"].read_text()


def build_steps() -> list[dict]:
    return load_workflow(WORKFLOWS / "deploy.yml")["jobs"]["deploy"]["steps"]


def test_the_refusal_comes_before_anything_runs_the_image_or_changes_a_function():
    steps = build_steps()
    names = [step.get("name", step.get("id", step.get("uses", ""))) for step in steps]
    (verify,) = [i for i, step in enumerate(steps) if "pipeline.sh provenance" in step.get("run", "")]
    (push,) = [i for i, step in enumerate(steps) if "pipeline.sh push-archive" in step.get("run", "")]
    runs_image = [
        i
        for i, step in enumerate(steps)
        if any(
            word in step.get("run", "")
            for word in ("check-image", "container-test", "scan", "verify", "delivery_report")
        )
        or step.get("with", {}).get("command") == "up"
    ]
    assert push < verify < min(runs_image), names
    # every later step runs only after success, except the two that report (never deploy) a failure
    for step in steps[verify + 1 :]:
        condition = str(step.get("if", ""))
        assert not any(word in condition for word in ("always()", "failure()", "!cancelled()")) or (
            "discard" in step.get("run", "") or "delivery_report" in step.get("run", "")
        ), step
    # the discard step deletes only an image the manifest check refused (after it verified)
    (discard,) = [step for step in steps if "pipeline.sh discard" in step.get("run", "")]
    assert "steps.check.outcome == 'failure'" in discard["if"]


def test_promotion_verifies_the_digest_itself_before_and_after_the_copy():
    steps = load_workflow(WORKFLOWS / "deploy.yml")["jobs"]["promote"]["steps"]
    runs = [step.get("run", "") for step in steps]
    verifies = [i for i, text in enumerate(runs) if "pipeline.sh provenance" in text]
    (copy,) = [i for i, text in enumerate(runs) if "pipeline.sh promote" in text]
    (up,) = [i for i, step in enumerate(steps) if step.get("with", {}).get("command") == "up"]
    assert len(verifies) == 2 and verifies[0] < copy < verifies[1] < up
    assert "$SOURCE_IMAGE_URI" in runs[verifies[0]] and "IMAGE_URI" in steps[verifies[1]]["env"]


def test_promotion_takes_only_this_commits_image_and_scans_its_copy_before_any_function_runs_it():
    """The deploy job's outputs could name another image main once attested (an older one, one that failed
    its gates): promotion checks them against this checkout's content tag first, and gates on its own scan."""
    steps = load_workflow(WORKFLOWS / "deploy.yml")["jobs"]["promote"]["steps"]
    runs = [step.get("run", "") for step in steps]
    (checked,) = [i for i, text in enumerate(runs) if "pipeline.sh check-promoted" in text]
    first_verify = min(i for i, text in enumerate(runs) if "pipeline.sh provenance" in text)
    (copy,) = [i for i, text in enumerate(runs) if "pipeline.sh promote" in text]
    (scan,) = [i for i, text in enumerate(runs) if "pipeline.sh scan" in text]
    (up,) = [i for i, step in enumerate(steps) if step.get("with", {}).get("command") == "up"]
    assert checked < first_verify < copy < scan < up
    assert '"$SOURCE_IMAGE_URI" "$TAG"' in runs[checked]
    assert steps[checked]["env"]["BUILDING"] == "${{ needs.setup.outputs.building }}"
    assert "steps.own.outputs" in steps[scan]["env"]["IMAGE_URI"]
