"""scripts/build_cache.py: a cache input that never makes Pulumi push an existing image tag again."""

from __future__ import annotations

import json
import shutil

import pytest

from infra.build_context import image_tag
from scripts import build_cache
from tests.pipeline.helpers import ROOT, run_script

DEPLOYED = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/container-lambda-dev@sha256:" + "ab" * 32
OLDER = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/container-lambda-dev@sha256:" + "cd" * 32
REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/container-lambda-dev"


def export(tag: str | None, cache_from: str | None = None, kind: str = "docker:index/image:Image") -> dict:
    resources = [
        {
            "urn": "urn:pulumi:dev::container-lambda::pulumi:pulumi:Stack::container-lambda-dev",
            "type": "pulumi:pulumi:Stack",
        }
    ]
    if tag is not None:
        build = {"context": "function", "dockerfile": "function/Dockerfile", "platform": "linux/arm64"}
        if cache_from:
            build["cacheFrom"] = {"images": [cache_from]}
        resources.append(
            {
                "urn": "urn:pulumi:dev::container-lambda::x$docker:index/image:Image::registry-image",
                "type": kind,
                "inputs": {"imageName": f"{REPOSITORY}:{tag}", "build": build},
            }
        )
    return {"version": 3, "deployment": {"resources": resources}}


def test_a_new_tag_reuses_the_deployed_image():
    value, reason = build_cache.choose(export("0" * 32, OLDER), "1" * 32, DEPLOYED)
    assert value == DEPLOYED
    assert "reusing the layers of the deployed image" in reason


@pytest.mark.parametrize("stored", [OLDER, None])
def test_an_unchanged_tag_keeps_the_cache_input_of_the_state(stored):
    value, reason = build_cache.choose(export("1" * 32, stored), "1" * 32, DEPLOYED)
    assert value == (stored or "")
    assert "unchanged" in reason


def test_no_image_in_the_state_means_no_cache():
    assert build_cache.choose(export(None), "1" * 32, DEPLOYED)[0] == ""


def test_the_docker_build_provider_image_counts_too():
    assert (
        build_cache.choose(export("1" * 32, OLDER, kind="docker-build:index:Image"), "1" * 32, DEPLOYED)[0]
        == OLDER
    )


def test_two_images_in_the_state_are_an_error():
    state = export("1" * 32)
    state["deployment"]["resources"].append(state["deployment"]["resources"][-1])
    with pytest.raises(build_cache.CacheError, match="holds 2 images"):
        build_cache.choose(state, "1" * 32, DEPLOYED)


def scratch_repository(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "function", tmp_path / "function", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_cli_computes_the_tag_the_program_will_give(tmp_path):
    root = scratch_repository(tmp_path)
    tag = image_tag(root / "function", root / "function" / "Dockerfile", "linux/arm64")
    script = ROOT / "scripts" / "build_cache.py"
    same = json.dumps(export(tag, OLDER))
    result = run_script(script, "--stack", "dev", "--image-uri", DEPLOYED, "--root", str(root), stdin=same)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"image-uri={OLDER}\n"
    (root / "function" / "app.py").write_text("# changed\n", encoding="utf-8")
    result = run_script(script, "--stack", "dev", "--image-uri", DEPLOYED, "--root", str(root), stdin=same)
    assert result.stdout == f"image-uri={DEPLOYED}\n"


@pytest.mark.parametrize(
    ("stdin", "args", "message"),
    [
        ("not json", ["--stack", "dev"], "build_cache:"),
        ("[]", ["--stack", "dev"], "not a JSON object"),
        ("{}", ["--stack", "prod"], "no Pulumi.prod.yaml"),
    ],
)
def test_bad_input_fails_clearly(stdin, args, message):
    result = run_script(ROOT / "scripts" / "build_cache.py", *args, stdin=stdin)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""
