"""ECR's vulnerability scan of one image, as a gate: wait for the scan, report its findings, fail on severe ones.

    python3 -m scripts.image_scan gate REPOSITORY DIGEST SEVERITY [--wait SECONDS] [--poll SECONDS]
    python3 -m scripts.image_scan rescan REPOSITORY DIGEST SEVERITY [--wait SECONDS] [--poll SECONDS]

Both scan types of an ECR registry are understood (the registry's scanning configuration is account-wide and
set by an administrator, docs/pipeline.md; an image's scan status tells which one scans it):

- BASIC: ECR scans the operating system's packages on push; a scan is done when its status is `COMPLETE`.
  `rescan` starts a new one (StartImageScan, a basic-scan API, once per image per 24 hours: a
  LimitExceededException means today's scan is reported).
- ENHANCED (Amazon Inspector): the operating system's and the language packages (the function's pip
  packages) are scanned on push and, with continuous scanning, again whenever a new vulnerability is
  published; a scanned image's status is `ACTIVE`. `rescan` starts nothing (Inspector rescans by itself) and
  gates on the current findings.

Every other status ends the gate with its reason (ECR's ScanStatus enum, botocore's ECR service model:
FAILED, UNSUPPORTED_IMAGE, SCAN_ELIGIBILITY_EXPIRED, FINDINGS_UNAVAILABLE, LIMIT_EXCEEDED, IMAGE_ARCHIVED,
IMAGE_SIZE_EXCEEDED): nothing proves the image clean. `PENDING`, `IN_PROGRESS` and a scan not found yet are
waited for, at most --wait seconds.

SEVERITY: findings at this severity or above fail the gate, in the order of SEVERITIES; NONE reports only.
Inspector's UNTRIAGED (a finding without a severity yet) is counted and reported, and fails only a gate at
UNTRIAGED. The findings go to $GITHUB_STEP_SUMMARY. Exit 0 (clean for the gate), 1 (findings, or no
finished scan), 2 (bad arguments).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from scripts.aws_cli import AwsError, aws

# Most severe first: ECR's FindingSeverity (CRITICAL … UNDEFINED, basic scanning) and Amazon Inspector's
# UNTRIAGED (inspector2 Severity; enhanced findings carry Inspector's severities).
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED", "UNTRIAGED")
DONE = {"COMPLETE", "ACTIVE"}  # a basic scan that finished; an image enhanced scanning watches
WAITING = {"PENDING", "IN_PROGRESS"}
WAIT_SECONDS = 600.0
POLL_SECONDS = 10.0
LISTED_FINDINGS = 25


class ScanProblem(Exception):
    """No finished scan proves the image clean."""


def _write_summary(text: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(text)


def describe(repository: str, digest: str) -> dict[str, Any] | None:
    """DescribeImageScanFindings, every page (the CLI follows its pagination); None before any scan."""
    try:
        return aws(
            "ecr", "describe-image-scan-findings", "--repository-name", repository,
            "--image-id", f"imageDigest={digest}",
        )  # fmt: skip
    except AwsError as error:
        if error.code == "ScanNotFoundException":
            return None
        raise


def verdict(status: str) -> str:
    """ "done" (a finished basic scan, an image enhanced scanning watches), "wait" (not finished yet) or
    "refuse" (every other ScanStatus: the scan ended without findings to trust)."""
    return "done" if status in DONE else "wait" if status in WAITING else "refuse"


def wait_for_scan(repository: str, digest: str, wait_seconds: float, poll_seconds: float) -> dict[str, Any]:
    """The finished scan's findings; ScanProblem when it ended otherwise or is still running at the end of
    the wait."""
    deadline = time.monotonic() + wait_seconds
    while True:
        scan = describe(repository, digest)
        state = (scan or {}).get("imageScanStatus") or {}
        status = state.get("status", "not found") if scan else "not found"
        description = state.get("description", "") if scan else "ECR has not started a scan of this image"
        if verdict(status) == "done":
            return scan or {}
        if scan and verdict(status) == "refuse":
            raise ScanProblem(f"the scan ended {status}: {description or 'no reason given'}")
        if time.monotonic() >= deadline:
            raise ScanProblem(f"the scan is still {status} after {wait_seconds:.0f} s ({description})")
        time.sleep(poll_seconds)


def rescan(repository: str, digest: str, wait_seconds: float, poll_seconds: float) -> dict[str, Any]:
    """Enhanced scanning watches an image continuously (its status is ACTIVE): its current findings are the
    rescan. Any other image is under basic scanning: a new basic scan, then its findings."""
    current = describe(repository, digest)
    status = ((current or {}).get("imageScanStatus") or {}).get("status", "")
    if status == "ACTIVE":
        return current or {}
    if current and verdict(status) == "refuse":
        description = (current.get("imageScanStatus") or {}).get("description") or "no reason given"
        raise ScanProblem(f"the scan ended {status}: {description}")
    start_basic_scan(repository, digest)
    return wait_for_scan(repository, digest, wait_seconds, poll_seconds)


def severity_counts(findings: Mapping[str, Any]) -> Counter[str]:
    """ECR's own counts (they cover every page), else the findings counted."""
    result = findings.get("imageScanFindings") or {}
    if result.get("findingSeverityCounts"):
        return Counter({str(k): int(v) for k, v in result["findingSeverityCounts"].items()})
    every = [*(result.get("findings") or []), *(result.get("enhancedFindings") or [])]
    return Counter(str(finding.get("severity", "UNDEFINED")) for finding in every)


def _rows(findings: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    result = findings.get("imageScanFindings") or {}
    rows = []
    for finding in result.get("findings") or []:
        attributes = {a.get("key"): a.get("value") for a in finding.get("attributes") or []}
        package = " ".join(
            v for v in (attributes.get("package_name"), attributes.get("package_version")) if v
        )
        rows.append((finding.get("severity", "UNDEFINED"), finding.get("name", ""), package))
    for finding in result.get("enhancedFindings") or []:
        details = finding.get("packageVulnerabilityDetails") or {}
        packages = details.get("vulnerablePackages") or [{}]
        package = " ".join(v for v in (packages[0].get("name"), packages[0].get("version")) if v)
        rows.append(
            (
                finding.get("severity", "UNTRIAGED"),
                details.get("vulnerabilityId") or finding.get("title", ""),
                package,
            )
        )
    order = {name: index for index, name in enumerate(SEVERITIES)}
    return sorted(rows, key=lambda row: order.get(row[0], len(SEVERITIES)))


def gated(severity: str) -> tuple[str, ...]:
    """The severities that fail a gate at `severity` (none for NONE)."""
    return () if severity == "NONE" else SEVERITIES[: SEVERITIES.index(severity) + 1]


def report(image: str, findings: Mapping[str, Any], severity: str) -> tuple[str, list[str]]:
    """(Markdown for the job summary, GitHub annotations); an ::error annotation per failing severity."""
    counts = severity_counts(findings)
    status = (findings.get("imageScanStatus") or {}).get("status", "")
    kind = "enhanced" if status == "ACTIVE" else "basic"
    lines = [f"### ECR scan of {image}", "", f"{kind} scan, status {status}", ""]
    lines += ["| severity | findings |", "|---|---|"]
    lines += [f"| {name} | {counts.get(name, 0)} |" for name in SEVERITIES]
    rows = _rows(findings)
    if rows:
        lines += ["", "| severity | finding | package |", "|---|---|---|"]
        lines += [f"| {s} | {name} | {package} |" for s, name, package in rows[:LISTED_FINDINGS]]
    annotations = []
    if kind == "basic":
        message = (
            "basic scanning covers the operating system's packages only, not the function's language "
            "packages; enhanced scanning (Amazon Inspector) covers both (docs/pipeline.md)"
        )
        lines += ["", f"Note: {message}."]
        annotations.append(f"::notice title=Scan coverage::{message}")
    for name in gated(severity):
        if counts.get(name, 0) > 0:
            annotations.append(
                f"::error title=Scan findings::{image} has {counts[name]} {name} finding(s) "
                f"(gate: {severity} and above); see the job summary"
            )
    if counts.get("UNTRIAGED", 0) and "UNTRIAGED" not in gated(severity):
        annotations.append(
            f"::warning title=Untriaged findings::{image} has {counts['UNTRIAGED']} finding(s) Inspector has "
            "not given a severity yet; they fail only a gate at UNTRIAGED"
        )
    return "\n".join(lines) + "\n", annotations


def start_basic_scan(repository: str, digest: str) -> None:
    """StartImageScan; ECR allows one basic scan per image per 24 hours (ECR API Reference, StartImageScan),
    so a LimitExceededException means today's scan is the one to report."""
    try:
        aws("ecr", "start-image-scan", "--repository-name", repository, "--image-id", f"imageDigest={digest}")
    except AwsError as error:
        if error.code != "LimitExceededException":
            raise
        print(
            f"::notice title=Already scanned today::{repository}@{digest} was scanned in the last 24 hours "
            "(ECR starts one basic scan per image a day); reporting that scan"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("gate", "rescan"))
    parser.add_argument("repository")
    parser.add_argument("digest")
    parser.add_argument("severity", choices=(*SEVERITIES, "NONE"))
    parser.add_argument("--wait", type=float, default=WAIT_SECONDS, help="seconds to wait for the scan")
    parser.add_argument("--poll", type=float, default=POLL_SECONDS, help="seconds between two looks")
    args = parser.parse_args(argv)
    image = f"{args.repository}@{args.digest}"
    try:
        if args.action == "rescan":
            findings = rescan(args.repository, args.digest, args.wait, args.poll)
        else:
            findings = wait_for_scan(args.repository, args.digest, args.wait, args.poll)
    except (ScanProblem, AwsError) as problem:
        message = f"{image}: {problem}; nothing proves the image clean"
        _write_summary(f"### ECR scan of {image}\n\n{message}\n")
        print(f"::error title=No finished scan::{message}")
        print(f"image_scan: {message}", file=sys.stderr)
        return 1
    text, annotations = report(image, findings, args.severity)
    _write_summary(text)
    for annotation in annotations:
        print(annotation)
    return 1 if any(a.startswith("::error") for a in annotations) else 0


if __name__ == "__main__":
    sys.exit(main())
