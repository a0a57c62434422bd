#!/usr/bin/env python3
"""Post every sample event to a running function (Runtime Interface Emulator) and assert the status codes.

Each `*.json` file in the events directory (except expected-status.json) is an API Gateway HTTP API payload
v2 event. `expected-status.json` maps every event file name to the HTTP status the function must answer. An
event without an expected status, an expected status without an event, an invocation error or a wrong
status fails the run; every mismatch is listed.

usage: invoke_events.py [--url URL] [--events DIR] [--wait SECONDS]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"
EXPECTED_FILE = "expected-status.json"


class EventsError(Exception):
    """The events directory or the expectations file is unusable."""


def load_cases(events_dir: Path) -> list[tuple[Path, int]]:
    expected_path = events_dir / EXPECTED_FILE
    try:
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EventsError(f"{expected_path}: cannot read ({exc})") from exc
    if not isinstance(expected, dict) or not all(
        isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599
        for status in expected.values()
    ):
        raise EventsError(f"{expected_path}: must map event file names to HTTP status codes")
    events = sorted(p for p in events_dir.glob("*.json") if p.name != EXPECTED_FILE)
    names = {path.name for path in events}
    missing = sorted(names - expected.keys())
    unknown = sorted(expected.keys() - names)
    problems = []
    if missing:
        problems.append(f"no expected status for {', '.join(missing)}")
    if unknown:
        problems.append(f"expected status for missing event files {', '.join(unknown)}")
    if not events:
        problems.append(f"no events in {events_dir}")
    if problems:
        raise EventsError(f"{expected_path}: " + "; ".join(problems))
    return [(path, expected[path.name]) for path in events]


def invoke(url: str, body: bytes, timeout: float) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the URL is the local emulator, http by design
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        payload = json.loads(response.read() or b"null")
    if not isinstance(payload, dict):
        raise ValueError(f"the function returned {type(payload).__name__}, not an HTTP response object")
    return payload


def wait_until_ready(url: str, deadline: float) -> None:
    """The emulator accepts connections a moment after `docker run`; any HTTP answer means it is up."""
    while True:
        try:
            invoke(url, b"{}", timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except (OSError, ValueError) as exc:
            if time.monotonic() >= deadline:
                raise EventsError(f"the function at {url} did not answer in time ({exc})") from exc
            time.sleep(0.5)


def run(url: str, events_dir: Path, wait: float) -> list[str]:
    cases = load_cases(events_dir)
    wait_until_ready(url, time.monotonic() + wait)
    failures = []
    for path, want in cases:
        try:
            response = invoke(url, path.read_bytes(), timeout=60)
        except (OSError, ValueError) as exc:
            failures.append(f"{path.name}: invocation failed ({exc})")
            print(f"{path.name}: ERROR {exc}")
            continue
        got = response.get("statusCode")
        if "errorType" in response or "errorMessage" in response:
            failures.append(
                f"{path.name}: the handler raised {response.get('errorType')}: {response.get('errorMessage')}"
            )
        elif got != want:
            failures.append(f"{path.name}: status {got}, expected {want}")
        print(f"{path.name}: {got} (expected {want})")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--events", type=Path, default=Path("function/events"))
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for the emulator to answer")
    args = parser.parse_args(argv)
    try:
        failures = run(args.url, args.events, args.wait)
    except EventsError as exc:
        print(f"invoke_events: {exc}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if failures:
        return 1
    print("OK: every event answered with its expected status")
    return 0


if __name__ == "__main__":
    sys.exit(main())
