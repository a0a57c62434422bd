"""The image-substitution attack on the reuse of a content tag, replayed step by step; nothing of it reaches a
function.

1. main deploys: the program builds function/ under its content tag T, the workflow attests the digest.
2. With dev's deploy role (leaked credentials, or code in a dev job) someone deletes the image under T and
   pushes another one under T: the rendered bootstrap allows both (IAM evaluation), since pushing and
   pruning images is the deploy job's work.
3. main is pushed again without touching function/: the program finds T in ECR and takes the image under it
   (the real program, under the mocks), `pipeline.sh push-image` hands it on, and `pipeline.sh provenance`
   refuses it, whether it is an image nobody attested or one main built for other sources.
4. In deploy.yml that refusal comes before every step that runs the image or changes a function, and a failed
   step ends the job (those steps run only while every earlier step succeeded).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from infra.project import PROJECT
from tests.bootstrap.harness import ACCOUNT, REGION, run_bootstrap
from tests.infra.support import IMAGE, run_stack
from tests.pipeline import provenance_support as gh
from tests.pipeline.helpers import WORKFLOWS, load_workflow
from tests.pipeline.test_pipeline_script import make_world, outputs, run
from tests.support.iam import ALLOWED, Request, evaluate

REPOSITORY = f"{PROJECT}-dev"
COMPONENT = f"{PROJECT}:infra:ImageRegistry"
ATTACKER = "sha256:" + "66" * 32
OTHER_SOURCES = "sha256:" + "55" * 32


def git(repo, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def export_of(run_result) -> dict:
    """`pulumi stack export` after the registry update: the component's registered outputs."""
    ((urn, outputs_),) = [
        (urn, out)
        for urn, out in run_result.registered_outputs.items()
        if urn.endswith(f"{COMPONENT}::registry")
    ]
    return {"deployment": {"resources": [{"urn": urn, "type": COMPONENT, "outputs": outputs_}]}}


@pytest.fixture
def pipeline(tmp_path):
    """A scratch checkout of main with two commits, the fake tools and the stand-in gh."""
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
    store = world["tmp"] / "attestations.json"
    world["env"].update(gh.gh_env(store, commit=commits[1]))
    world["store"], world["commits"] = store, commits
    return world


def push_image(world, run_result) -> dict[str, str]:
    path = world["tmp"] / "export.json"
    path.write_text(json.dumps(export_of(run_result)), encoding="utf-8")
    world["env"]["FAKE_EXPORT"] = str(path)
    world["output"].write_text("")
    result = run(world, "push-image", "dev")
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
    # 1. main's first deploy builds, and the workflow attests what it built
    first = run_stack()
    built = push_image(pipeline, first)
    assert built["built"] == "true"
    tag, digest = built["tag"], built["digest"]
    assert digest == first.one(IMAGE).state["sha256Digest"]
    attestations = {
        digest: [
            gh.attestation(digest_hex=digest[7:], subject=built["subject"], commit=pipeline["commits"][0])
        ]
    }
    # the build of the first commit verifies (`built`: this run's commit, as deploy.yml passes it)
    pipeline["env"]["GITHUB_SHA"] = pipeline["commits"][0]
    gh.write_store(pipeline["store"], attestations)
    assert run(pipeline, "provenance", built["image-uri"], built["subject"], "built").returncode == 0

    # 2. dev's role deletes the image under T and pushes another one under T
    if substitute == "unattested":
        planted = ATTACKER
    else:  # a genuine image main built earlier for other sources (another content tag)
        planted = OTHER_SOURCES
        other_subject = f"{built['image-uri'].rsplit('@', 1)[0]}:{'0' * 32}"
        attestations[planted] = [
            gh.attestation(digest_hex=planted[7:], subject=other_subject, commit=pipeline["commits"][0])
        ]
    gh.write_store(pipeline["store"], attestations)

    # 3. main again, function/ untouched: the program takes the image under T, the pipeline refuses it
    pipeline["env"]["GITHUB_SHA"] = pipeline["commits"][1]
    second = run_stack(ecr_images={REPOSITORY: {tag: planted}})
    reused = push_image(pipeline, second)
    assert (reused["built"], reused["digest"], reused["tag"]) == ("false", planted, tag)
    result = run(pipeline, "provenance", reused["image-uri"], reused["subject"], "reused")
    assert result.returncode == 1
    assert f"image {planted} is refused" in result.stdout
    assert "Provenance of" in pipeline["summary"].read_text()


def build_steps() -> list[dict]:
    return load_workflow(WORKFLOWS / "deploy.yml")["jobs"]["build"]["steps"]


def test_the_refusal_comes_before_anything_runs_the_image_or_changes_a_function():
    steps = build_steps()
    names = [step.get("name", step.get("id", step.get("uses", ""))) for step in steps]
    (verify,) = [i for i, step in enumerate(steps) if "pipeline.sh provenance" in step.get("run", "")]
    (push,) = [i for i, step in enumerate(steps) if "pipeline.sh push-image" in step.get("run", "")]
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
    """The build job's outputs could name another image main once attested (an older one, one that failed
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


# --- the build cache: a planted cache source would be attested as main's build ------------------------------


def cache_world(pipeline, image_uri: str, tag: str) -> None:
    """The state dev's role wrote: the stack's image (prepare's cache-from) and the registry's tag."""
    path = pipeline["tmp"] / "export.json"
    outputs_ = {"imageUri": image_uri, "tag": tag}
    urn = f"urn:pulumi:dev::{PROJECT}::{COMPONENT}::registry"
    path.write_text(
        json.dumps({"deployment": {"resources": [{"urn": urn, "type": COMPONENT, "outputs": outputs_}]}})
    )
    pipeline["env"]["FAKE_EXPORT"] = str(path)
    pipeline["output"].write_text("")


@pytest.mark.parametrize("planted", ["unattested", "attested for another tag"])
def test_a_cache_source_planted_in_the_state_is_not_used(pipeline, planted):
    # dev's role may push any image into its repository and write its stack's state (the IAM test above)
    repository = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{REPOSITORY}"
    image = f"{repository}@{ATTACKER}"
    store = {}
    if planted != "unattested":
        subject = f"{repository}:{'1' * 32}"
        store[ATTACKER] = [
            gh.attestation(digest_hex=ATTACKER[7:], subject=subject, commit=pipeline["commits"][0])
        ]
    gh.write_store(pipeline["store"], store)
    cache_world(pipeline, image, "2" * 32)
    result = run(pipeline, "build-cache", "dev", image)
    assert result.returncode == 0, result.stderr
    assert outputs(pipeline) == {"cache-from": ""}
    assert "Build cache not used" in result.stdout


def test_a_cache_source_main_built_is_used(pipeline):
    repository = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{REPOSITORY}"
    image, tag = f"{repository}@{OTHER_SOURCES}", "3" * 32
    subject = f"{repository}:{tag}"
    attested = gh.attestation(digest_hex=OTHER_SOURCES[7:], subject=subject, commit=pipeline["commits"][0])
    gh.write_store(pipeline["store"], {OTHER_SOURCES: [attested]})
    cache_world(pipeline, image, tag)
    result = run(pipeline, "build-cache", "dev", image)
    assert result.returncode == 0, result.stderr
    assert outputs(pipeline) == {"cache-from": image}
    # no cache source (a first deploy): nothing to verify
    pipeline["output"].write_text("")
    assert run(pipeline, "build-cache", "dev", "").returncode == 0
    assert outputs(pipeline) == {"cache-from": ""}


def test_the_build_takes_its_cache_only_from_the_verifying_step():
    steps = build_steps()
    (cache,) = [step for step in steps if "pipeline.sh build-cache" in step.get("run", "")]
    sources = [step["env"]["BUILD_CACHE_FROM"] for step in steps if "BUILD_CACHE_FROM" in step.get("env", {})]
    assert sources, "the build job sets no BUILD_CACHE_FROM"
    assert set(sources) == {f"${{{{ steps.{cache['id']}.outputs.cache-from }}}}"}
