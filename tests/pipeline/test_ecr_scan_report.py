"""scripts/ecr_scan_report.py on saved `aws ecr describe-image-scan-findings` answers."""

from __future__ import annotations

import pytest

from tests.pipeline.helpers import FIXTURES, ROOT, run_script

SCRIPT = ROOT / "scripts" / "ecr_scan_report.py"


def report(fixture: str, *extra: str):
    return run_script(SCRIPT, str(FIXTURES / fixture), "--image", "repo@sha256:abc", *extra)


def test_the_report_counts_every_severity_and_lists_the_worst_first():
    result = report("scan-findings-critical.json")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "### ECR scan of repo@sha256:abc" in out
    assert "Scan status: **COMPLETE** The scan was completed successfully." in out
    assert (
        "| CRITICAL | 1 |" in out
        and "| HIGH | 1 |" in out
        and "| LOW | 2 |" in out
        and "| MEDIUM | 0 |" in out
    )
    rows = [
        line
        for line in out.splitlines()
        if line.startswith("| CRITICAL | [") or line.startswith("| HIGH | [")
    ]
    assert rows[0].startswith(
        "| CRITICAL | [TEST-CRITICAL-1](https://example.com/advisories/TEST-CRITICAL-1)"
    )
    assert "openssl-libs 3.0.8" in rows[0]


def test_critical_findings_fail_when_asked():
    result = report("scan-findings-critical.json", "--fail-on", "CRITICAL")
    assert result.returncode == 1
    assert "FAIL: 1 finding(s) at severity CRITICAL or above" in result.stderr
    assert "| CRITICAL | 1 |" in result.stdout, "the report is printed before failing"


@pytest.mark.parametrize(
    ("threshold", "code"), [("CRITICAL", 0), ("critical", 0), ("HIGH", 1), ("MEDIUM", 1)]
)
def test_the_threshold_counts_findings_at_or_above_it(threshold, code):
    assert report("scan-findings-high.json", "--fail-on", threshold).returncode == code


def test_a_failed_scan_fails_a_gated_run_but_not_a_report():
    assert report("scan-findings-failed.json").returncode == 0
    result = report("scan-findings-failed.json", "--fail-on", "CRITICAL")
    assert result.returncode == 1
    assert "the scan status is FAILED UnsupportedImageError" in result.stderr


def test_enhanced_scanning_findings_are_read_too():
    result = report("scan-findings-enhanced.json", "--fail-on", "CRITICAL")
    assert result.returncode == 1
    assert (
        "| CRITICAL | [TEST-CRITICAL-2](https://example.com/advisories/TEST-CRITICAL-2) | python 3.13.0 |"
        in result.stdout
    )


def test_the_list_is_limited():
    result = report("scan-findings-critical.json", "--limit", "1")
    assert "TEST-CRITICAL-1" in result.stdout and "TEST-HIGH-1" not in result.stdout


def test_an_unreadable_document_exits_2(tmp_path):
    bad = tmp_path / "findings.json"
    bad.write_text("{", encoding="utf-8")
    result = run_script(SCRIPT, str(bad))
    assert result.returncode == 2
    assert "ecr_scan_report:" in result.stderr
    bad.write_text("[]", encoding="utf-8")
    assert run_script(SCRIPT, str(bad)).returncode == 2
