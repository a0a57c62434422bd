"""Invoke a running function image (Runtime Interface Emulator) with every event of the function contract.

Each event of function/events/ is posted as the invocation payload; the function's answer (an HTTP API
payload 2.0 response object) must carry the status, and the body text, that events/expected-status.json
gives (infra/function_contract.py). A handler exception, an answer that is not a response object or a
mismatch fails the run; every failure is listed.

usage: python3 -m scripts.invoke_events [--url URL] [--events DIR] [--wait SECONDS]
Exit status: 0 every event passed, 1 a failure, 2 the contract or the emulator is unusable.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra.function_contract import DEFAULT_EVENTS, Case, ContractError, check, load_cases

# The emulator's invoke endpoint (aws-lambda-runtime-interface-emulator README, "Test an image locally").
DEFAULT_URL = "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"


def invoke(url: str, payload: bytes, timeout: float) -> object:
    request = urllib.request.Request(  # noqa: S310 - the URL is the local emulator, http by design
        url, data=payload, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


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
                raise ContractError(f"the function at {url} did not answer in time ({exc})") from exc
            time.sleep(0.5)


def answer_failures(case: Case, answer: object) -> list[str]:
    """What is wrong with the function's answer to `case`."""
    if not isinstance(answer, dict):
        return [f"{case.name}: the function returned {type(answer).__name__}, not an HTTP response object"]
    if "errorType" in answer or "errorMessage" in answer:
        return [f"{case.name}: the handler raised {answer.get('errorType')}: {answer.get('errorMessage')}"]
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        try:
            body = base64.b64decode(str(body), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return [f"{case.name}: isBase64Encoded is true but the body is not base64"]
    return check(case, answer.get("statusCode"), str(body))


def run(url: str, events_dir: Path, wait: float) -> list[str]:
    cases = load_cases(events_dir)
    wait_until_ready(url, time.monotonic() + wait)
    failures = []
    for case in cases:
        try:
            answer = invoke(url, case.raw(), timeout=60)
        except (OSError, ValueError) as exc:
            failures.append(f"{case.name}: invocation failed ({exc})")
            print(f"{case.name}: ERROR {exc}")
            continue
        problems = answer_failures(case, answer)
        failures += problems
        status = answer.get("statusCode") if isinstance(answer, dict) else None
        print(f"{case.name}: {status} (expected {case.expected.status}){' FAIL' if problems else ''}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--events", type=Path, default=DEFAULT_EVENTS)
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for the emulator to answer")
    args = parser.parse_args(argv)
    try:
        failures = run(args.url, args.events, args.wait)
    except ContractError as exc:
        print(f"invoke_events: {exc}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if failures:
        return 1
    print("OK: every event got its expected answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
