#!/usr/bin/env python3
"""Summarise the ECR scan findings of an image and fail when findings at a given severity exist.

Reads the JSON of `aws ecr describe-image-scan-findings` (basic scanning: `imageScanFindings.findings`;
enhanced scanning: `imageScanFindings.enhancedFindings`) and prints a Markdown report: scan status, the
count per severity and the most severe findings. With --fail-on SEVERITY, any finding at that severity or
above fails the run; so does a scan that did not complete (nothing proves the image clean).

usage: ecr_scan_report.py FINDINGS_JSON [--fail-on CRITICAL] [--image NAME] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]
RANK = {name: len(SEVERITIES) - index for index, name in enumerate(SEVERITIES)}


class ReportError(Exception):
    """The findings document is unusable."""


def findings_of(document: dict) -> list[dict]:
    """Basic and enhanced findings, normalised to {name, severity, package, uri}."""
    section = document.get("imageScanFindings") or {}
    rows = []
    for finding in section.get("findings") or []:
        attributes = {item.get("key"): item.get("value") for item in finding.get("attributes") or []}
        rows.append(
            {
                "name": finding.get("name", "?"),
                "severity": str(finding.get("severity", "UNDEFINED")).upper(),
                "package": " ".join(
                    filter(None, [attributes.get("package_name"), attributes.get("package_version")])
                ),
                "uri": finding.get("uri", ""),
            }
        )
    for finding in section.get("enhancedFindings") or []:
        details = finding.get("packageVulnerabilityDetails") or {}
        packages = details.get("vulnerablePackages") or [{}]
        rows.append(
            {
                "name": details.get("vulnerabilityId") or finding.get("title", "?"),
                "severity": str(finding.get("severity", "UNDEFINED")).upper(),
                "package": " ".join(filter(None, [packages[0].get("name"), packages[0].get("version")])),
                "uri": details.get("sourceUrl", ""),
            }
        )
    return rows


def severity_counts(document: dict, rows: list[dict]) -> Counter:
    """ECR's own counts when present (they cover every page), else counted from the findings."""
    declared = (document.get("imageScanFindings") or {}).get("findingSeverityCounts")
    if isinstance(declared, dict) and declared:
        return Counter({str(key).upper(): int(value) for key, value in declared.items()})
    return Counter(row["severity"] for row in rows)


def report(document: dict, image: str, fail_on: str | None, limit: int) -> tuple[str, list[str]]:
    if not isinstance(document, dict):
        raise ReportError("the findings document is not a JSON object")
    status = (document.get("imageScanStatus") or {}).get("status", "MISSING")
    description = (document.get("imageScanStatus") or {}).get("description", "")
    rows = sorted(findings_of(document), key=lambda row: (-RANK.get(row["severity"], 0), row["name"]))
    counts = severity_counts(document, rows)
    lines = [f"### ECR scan of {image}", "", f"Scan status: **{status}** {description}".rstrip(), ""]
    lines += ["| severity | findings |", "|---|---|"]
    lines += [f"| {name} | {counts.get(name, 0)} |" for name in SEVERITIES]
    if rows:
        lines += [
            "",
            f"Most severe findings (up to {limit}):",
            "",
            "| severity | finding | package |",
            "|---|---|---|",
        ]
        for row in rows[:limit]:
            name = f"[{row['name']}]({row['uri']})" if row["uri"].startswith("https://") else row["name"]
            lines.append(f"| {row['severity']} | {name} | {row['package'] or '-'} |")
    failures = []
    if fail_on:
        if status not in {"COMPLETE", "ACTIVE"}:
            failures.append(
                f"the scan status is {status} {description}".rstrip() + ", so the image is not proven clean"
            )
        at_or_above = {name for name in SEVERITIES if RANK[name] >= RANK[fail_on] and name != "UNDEFINED"}
        blocking = sum(count for name, count in counts.items() if name in at_or_above)
        if blocking:
            failures.append(f"{blocking} finding(s) at severity {fail_on} or above")
    return "\n".join(lines) + "\n", failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("findings", type=Path)
    parser.add_argument("--fail-on", choices=SEVERITIES[:-1], type=str.upper)
    parser.add_argument("--image", default="the image")
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.findings.read_text(encoding="utf-8"))
        text, failures = report(document, args.image, args.fail_on, args.limit)
    except (OSError, ValueError, ReportError) as exc:
        print(f"ecr_scan_report: {args.findings}: {exc}", file=sys.stderr)
        return 2
    print(text)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
