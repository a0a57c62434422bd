"""scripts/check_image_manifest.py against saved manifests, configs and OCI layouts."""

from __future__ import annotations

import hashlib
import json
import tarfile

import pytest

from tests.pipeline.helpers import FIXTURES, ROOT, oci_layout, run_script

SCRIPT = ROOT / "scripts" / "check_image_manifest.py"


def check(*args: str):
    return run_script(SCRIPT, *args)


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- registry manifests ------------------------------------------------------------------------------------


def test_single_platform_docker_manifest_passes_and_prints_sizes():
    result = check(
        "--manifest",
        fixture("manifest-docker-v2-arm64.json"),
        "--config",
        fixture("config-arm64.json"),
        "--image-inspect",
        fixture("image-inspect-arm64.json"),
        "--architecture",
        "arm64",
    )
    assert result.returncode == 0, result.stderr
    assert "image size (compressed layers): " in result.stdout
    assert "image size (uncompressed): 318767104 bytes (304.0 MiB)" in result.stdout
    assert "OK: single-platform image for arm64" in result.stdout


@pytest.mark.parametrize(
    ("inputs", "architecture", "messages"),
    [
        (
            {"--manifest": "manifest-oci-index-attestation.json"},
            "arm64",
            ["is an index", "2 entries, 1 of them attestations"],
        ),
        (
            {"--manifest": "manifest-list-multiplatform.json"},
            "arm64",
            ["manifest.list.v2+json", "0 of them attestations"],
        ),
        ({"--manifest": "manifest-attestation.json"}, "arm64", ["attestation or artifact manifest"]),
        (
            {"--manifest": "manifest-docker-v2-arm64.json", "--config": "config-amd64.json"},
            "arm64",
            ["platform linux/amd64 (image config) differs from the function architecture arm64"],
        ),
        (
            {"--manifest": "manifest-docker-v2-arm64.json", "--config": "config-arm64.json"},
            "x86_64",
            ["needs linux/amd64"],
        ),
        (
            {
                "--manifest": "manifest-docker-v2-arm64.json",
                "--image-inspect": "image-inspect-arm64-11gb.json",
            },
            "arm64",
            ["exceeds Lambda's 10 GB limit"],
        ),
    ],
    ids=[
        "index-with-attestation",
        "multi-platform-list",
        "attestation-manifest",
        "amd64-for-arm64",
        "arm64-for-x86_64",
        "over-10-gb",
    ],
)
def test_an_image_lambda_would_refuse_fails(inputs, architecture, messages):
    args = [item for option, name in inputs.items() for item in (option, fixture(name))]
    result = check(*args, "--architecture", architecture)
    assert result.returncode == 1
    for message in messages:
        assert message in result.stderr
    assert result.stderr.count("FAIL:") == 1


def test_the_size_is_printed_in_bytes_and_binary_units():
    result = check(
        "--manifest",
        fixture("manifest-docker-v2-arm64.json"),
        "--image-inspect",
        fixture("image-inspect-arm64-11gb.json"),
        "--architecture",
        "arm64",
    )
    assert "11000000000 bytes (10.2 GiB)" in result.stdout


def test_every_failure_is_listed_not_only_the_first(tmp_path):
    result = check(
        "--manifest",
        fixture("manifest-docker-v2-arm64.json"),
        "--config",
        fixture("config-amd64.json"),
        "--image-inspect",
        fixture("image-inspect-arm64-11gb.json"),
        "--architecture",
        "arm64",
    )
    assert result.returncode == 1
    assert result.stderr.count("FAIL:") == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [("not json", "cannot read JSON"), ("[1, 2]", "not a JSON object")],
)
def test_unusable_input_exits_2(tmp_path, content, message):
    bad = tmp_path / "manifest.json"
    bad.write_text(content, encoding="utf-8")
    result = check("--manifest", str(bad), "--architecture", "arm64")
    assert result.returncode == 2
    assert message in result.stderr


def test_an_input_is_required():
    result = check("--architecture", "arm64")
    assert result.returncode == 2
    assert "give --manifest or --oci-layout" in result.stderr


# --- OCI layouts (what the container check exports) --------------------------------------------------------


def test_an_oci_layout_with_one_image_passes(tmp_path):
    layout = oci_layout(
        tmp_path / "image.tar", [read("manifest-oci-arm64.json")], [read("config-arm64.json")]
    )
    result = check(
        "--oci-layout",
        layout,
        "--image-inspect",
        fixture("image-inspect-arm64.json"),
        "--architecture",
        "arm64",
    )
    assert result.returncode == 0, result.stderr
    assert "platform (image config): linux/arm64" in result.stdout


def test_an_oci_layout_directory_is_read_too(tmp_path):
    layout = oci_layout(
        tmp_path / "image.tar", [read("manifest-oci-arm64.json")], [read("config-arm64.json")]
    )
    with tarfile.open(layout) as archive:
        archive.extractall(tmp_path / "layout", filter="data")
    result = check("--oci-layout", str(tmp_path / "layout"), "--architecture", "arm64")
    assert result.returncode == 0, result.stderr


def test_an_oci_layout_built_with_attestations_fails(tmp_path):
    index = read("manifest-oci-index-attestation.json")
    layout = oci_layout(
        tmp_path / "image.tar", [index], [read("manifest-oci-arm64.json"), read("config-arm64.json")]
    )
    result = check("--oci-layout", layout, "--architecture", "arm64")
    assert result.returncode == 1
    assert "is an index" in result.stderr


def test_an_oci_layout_with_two_images_fails(tmp_path):
    layout = oci_layout(
        tmp_path / "image.tar",
        [read("manifest-oci-arm64.json"), read("manifest-docker-v2-arm64.json")],
        [read("config-arm64.json")],
    )
    result = check("--oci-layout", layout, "--architecture", "arm64")
    assert result.returncode == 1
    assert "holds 2 manifests" in result.stderr


def test_an_oci_layout_of_the_wrong_platform_fails(tmp_path):
    config = read("config-amd64.json")
    manifest = json.loads(read("manifest-oci-arm64.json"))
    manifest["config"].update(digest=f"sha256:{hashlib.sha256(config).hexdigest()}", size=len(config))
    layout = oci_layout(tmp_path / "image.tar", [json.dumps(manifest).encode()], [config])
    result = check("--oci-layout", layout, "--architecture", "arm64")
    assert result.returncode == 1
    assert "platform linux/amd64" in result.stderr


def test_an_oci_layout_missing_its_config_blob_exits_2(tmp_path):
    layout = oci_layout(tmp_path / "image.tar", [read("manifest-oci-arm64.json")], [])
    result = check("--oci-layout", layout, "--architecture", "arm64")
    assert result.returncode == 2
    assert "missing blobs/sha256/" in result.stderr


def test_a_file_that_is_not_a_tar_exits_2(tmp_path):
    bogus = tmp_path / "image.tar"
    bogus.write_text("plain text", encoding="utf-8")
    result = check("--oci-layout", str(bogus), "--architecture", "arm64")
    assert result.returncode == 2
    assert "not a tar archive" in result.stderr
