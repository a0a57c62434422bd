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


def test_an_index_with_an_attestation_fails():
    result = check("--manifest", fixture("manifest-oci-index-attestation.json"), "--architecture", "arm64")
    assert result.returncode == 1
    assert "is an index" in result.stderr and "2 entries, 1 of them attestations" in result.stderr


def test_a_multi_platform_manifest_list_fails():
    result = check("--manifest", fixture("manifest-list-multiplatform.json"), "--architecture", "arm64")
    assert result.returncode == 1
    assert "manifest.list.v2+json" in result.stderr and "0 of them attestations" in result.stderr


def test_an_attestation_manifest_is_not_an_image():
    result = check("--manifest", fixture("manifest-attestation.json"), "--architecture", "arm64")
    assert result.returncode == 1
    assert "attestation or artifact manifest" in result.stderr


def test_a_platform_other_than_the_function_architecture_fails():
    result = check(
        "--manifest",
        fixture("manifest-docker-v2-arm64.json"),
        "--config",
        fixture("config-amd64.json"),
        "--architecture",
        "arm64",
    )
    assert result.returncode == 1
    assert "platform linux/amd64 (image config) differs from the function architecture arm64" in result.stderr


def test_x86_64_functions_need_amd64_images():
    result = check(
        "--manifest",
        fixture("manifest-docker-v2-arm64.json"),
        "--config",
        fixture("config-arm64.json"),
        "--architecture",
        "x86_64",
    )
    assert result.returncode == 1
    assert "needs linux/amd64" in result.stderr


def test_an_image_over_10_gb_fails():
    result = check(
        "--manifest",
        fixture("manifest-docker-v2-arm64.json"),
        "--image-inspect",
        fixture("image-inspect-arm64-11gb.json"),
        "--architecture",
        "arm64",
    )
    assert result.returncode == 1
    assert "exceeds Lambda's 10 GB limit" in result.stderr
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
