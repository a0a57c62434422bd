"""The scan gate and the rescan (scripts/image_scan.py, `pipeline.sh scan|rescan`) through the real AWS CLI:
against moto's server for basic scanning (moto scans like ECR's basic scan: a start per image a day, a
COMPLETE result), and against the validated stand-in for what moto cannot answer (enhanced scanning's ACTIVE
status and Inspector findings, the failed scan statuses)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from infra.project import prefix_for
from scripts import image_scan
from tests.pipeline.helpers import FIXTURES, ROOT, run_script
from tests.support.aws import REGION, StandIn, cli_env, model, reset_moto, stand_in

SCRIPT = ROOT / "scripts" / "image_scan.py"
REPOSITORY = prefix_for("dev")
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


@pytest.fixture
def moto(tmp_path: Path) -> dict:
    """A repository with one image in moto; the CLI environment; the job summary file."""
    endpoint = reset_moto()
    ecr = boto3.client(
        "ecr", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t"
    )
    ecr.create_repository(repositoryName=REPOSITORY, imageScanningConfiguration={"scanOnPush": True})
    digest = ecr.put_image(repositoryName=REPOSITORY, imageManifest=MANIFEST, imageTag="build")["image"][
        "imageId"
    ]["imageDigest"]
    summary = tmp_path / "summary.md"
    env = cli_env({"PATH": _path(), "GITHUB_STEP_SUMMARY": str(summary)}, endpoint)
    return {"ecr": ecr, "digest": digest, "env": env, "summary": summary}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[dict]:
    """ECR answered by the stand-in (everything else by moto)."""
    with stand_in() as ecr:
        summary = tmp_path / "summary.md"
        env = cli_env({"PATH": _path(), "GITHUB_STEP_SUMMARY": str(summary)}, reset_moto(), ECR=ecr.url)
        yield {"ecr": ecr, "env": env, "summary": summary}
        ecr.assert_done()


def _path() -> str:
    import os
    import sys

    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def scan(world: dict, action: str, digest: str, severity: str, *extra: str):
    return run_script(SCRIPT, action, REPOSITORY, digest, severity, "--poll", "0", *extra, env=world["env"])


def findings(name: str, **changes) -> dict:
    data = json.loads((FIXTURES / f"scan-findings-{name}.json").read_text())
    data.update(repositoryName=REPOSITORY, imageId={"imageDigest": DIGEST})
    data.update(changes)
    return data


# --- basic scanning (moto) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("severity", "code"), [("CRITICAL", 0), ("HIGH", 1), ("NONE", 0)])
def test_a_finished_basic_scan_gates_at_the_severity(moto, severity, code):
    moto["ecr"].start_image_scan(
        repositoryName=REPOSITORY, imageId={"imageDigest": moto["digest"]}
    )  # on push
    result = scan(moto, "gate", moto["digest"], severity)
    assert result.returncode == code, result.stdout + result.stderr
    report = moto["summary"].read_text()
    assert "basic scan, status COMPLETE" in report and "| HIGH | 1 |" in report
    assert (
        "::notice title=Scan coverage::basic scanning covers the operating system's packages only"
        in result.stdout
    )


def test_a_scan_that_never_starts_fails_at_the_end_of_the_wait(moto):
    result = scan(moto, "gate", moto["digest"], "CRITICAL", "--wait", "0")
    assert result.returncode == 1
    assert "still not found" in result.stdout and "nothing proves the image clean" in result.stdout


def test_the_basic_rescan_starts_a_scan_then_gates_on_it(moto):
    result = scan(moto, "rescan", moto["digest"], "HIGH")
    assert result.returncode == 1, result.stderr
    assert "has 1 HIGH finding(s)" in result.stdout


def test_a_second_basic_rescan_the_same_day_reports_todays_scan(moto):
    moto["ecr"].start_image_scan(repositoryName=REPOSITORY, imageId={"imageDigest": moto["digest"]})
    result = scan(moto, "rescan", moto["digest"], "CRITICAL")
    assert result.returncode == 0, result.stderr
    assert "::notice title=Already scanned today::" in result.stdout


def test_pipeline_sh_scan_runs_the_gate(moto, tmp_path):
    moto["ecr"].start_image_scan(repositoryName=REPOSITORY, imageId={"imageDigest": moto["digest"]})
    result = run_script(
        ROOT / "scripts" / "pipeline.sh", "scan", REPOSITORY, moto["digest"], "HIGH", env=moto["env"]
    )
    assert result.returncode == 1 and "has 1 HIGH finding(s)" in result.stdout


# --- enhanced scanning and the other statuses (stand-in) ---------------------------------------------------


def test_an_enhanced_scan_is_done_when_active_and_gates_on_inspector_findings(fake):
    ecr: StandIn = fake["ecr"]
    ecr.answer(
        "ecr",
        "DescribeImageScanFindings",
        findings("enhanced", imageScanStatus={"status": "PENDING"}, imageScanFindings={}),
    )
    ecr.answer("ecr", "DescribeImageScanFindings", findings("enhanced"))
    result = scan(fake, "gate", DIGEST, "CRITICAL")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "has 1 CRITICAL finding(s)" in result.stdout
    report = fake["summary"].read_text()
    assert (
        "enhanced scan, status ACTIVE" in report
        and "| CRITICAL | TEST-CRITICAL-2 | python 3.13.0 |" in report
    )
    assert "Scan coverage" not in result.stdout


def test_every_scan_status_of_ecrs_model_is_done_awaited_or_refused():
    statuses = model("ecr").shape_for("ScanStatus").enum
    verdicts = {status: image_scan.verdict(status) for status in statuses}
    assert {s for s, v in verdicts.items() if v == "done"} == {"COMPLETE", "ACTIVE"}
    assert {s for s, v in verdicts.items() if v == "wait"} == {"PENDING", "IN_PROGRESS"}
    refused = {s for s, v in verdicts.items() if v == "refuse"}
    assert {"FAILED", "UNSUPPORTED_IMAGE", "SCAN_ELIGIBILITY_EXPIRED", "FINDINGS_UNAVAILABLE"} <= refused
    assert image_scan.verdict("A_STATUS_ECR_ADDS_LATER") == "refuse"


@pytest.mark.parametrize("status", ["FAILED", "SCAN_ELIGIBILITY_EXPIRED"])
def test_a_scan_that_ended_without_findings_is_refused_with_its_reason(fake, status):
    ecr: StandIn = fake["ecr"]
    reason = f"the reason ECR gives for {status}"
    ecr.answer(
        "ecr",
        "DescribeImageScanFindings",
        findings("failed", imageScanStatus={"status": status, "description": reason}),
    )
    result = scan(fake, "gate", DIGEST, "NONE")
    assert result.returncode == 1
    assert f"ended {status}: {reason}" in result.stdout
    assert "nothing proves the image clean" in fake["summary"].read_text()


def test_untriaged_findings_are_counted_and_fail_only_a_gate_at_untriaged(fake):
    ecr: StandIn = fake["ecr"]
    untriaged = findings("enhanced")
    untriaged["imageScanFindings"] = {"findingSeverityCounts": {"UNTRIAGED": 2}, "enhancedFindings": []}
    for severity, code in (("CRITICAL", 0), ("UNTRIAGED", 1)):
        ecr.answer("ecr", "DescribeImageScanFindings", untriaged)
        result = scan(fake, "gate", DIGEST, severity)
        assert result.returncode == code, result.stdout
        assert "| UNTRIAGED | 2 |" in fake["summary"].read_text()
        assert ("::warning title=Untriaged findings::" in result.stdout) is (severity == "CRITICAL")


def test_the_enhanced_rescan_starts_no_basic_scan(fake):
    ecr: StandIn = fake["ecr"]
    ecr.answer("ecr", "DescribeImageScanFindings", findings("enhanced"))
    result = scan(fake, "rescan", DIGEST, "HIGH")
    assert result.returncode == 1  # the CRITICAL finding
    assert "StartImageScan" not in ecr.operations("ecr")


def test_a_basic_rescan_that_cannot_start_fails_with_the_reason(fake):
    ecr: StandIn = fake["ecr"]
    ecr.answer("ecr", "DescribeImageScanFindings", findings("high"))  # last week's basic scan
    ecr.fail("ecr", "StartImageScan", "AccessDeniedException", "not authorized to perform ecr:StartImageScan")
    result = scan(fake, "rescan", DIGEST, "CRITICAL")
    assert result.returncode == 1
    assert "AccessDeniedException" in result.stdout
    assert ecr.operations("ecr") == ["DescribeImageScanFindings", "StartImageScan"]
