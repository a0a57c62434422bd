"""Invoke a running function image (Runtime Interface Emulator) with every event of the function contract.

Each event of function/events/ is posted as the invocation payload; what API Gateway would answer for the
function's output (infra/lambda_response.py: a payload 2.0 response object, plain JSON inferred as 200, a
function error as 500) must carry the status, and the body text, that events/expected-status.json gives
(infra/function_contract.py). Every failure is listed.

The image must answer invocations on port 8080 when AWS_LAMBDA_RUNTIME_API is unset: the AWS base images
start the Runtime Interface Emulator then, through their own ENTRYPOINT; an image on another base, or one that
sets its own ENTRYPOINT, must start it itself (docs/function.md).

usage: python3 -m scripts.invoke_events [--url URL] [--events DIR] [--wait SECONDS]
Exit status: 0 every event passed, 1 a failure, 2 the contract or the emulator is unusable.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra.function_contract import DEFAULT_EVENTS, ContractError, check_answer, load_cases
from infra.lambda_response import Answer, http_answer, is_error_payload

# The emulator's invoke endpoint (aws-lambda-runtime-interface-emulator README, "Test an image locally").
DEFAULT_URL = "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"
NO_EMULATOR = (
    "an image must answer invocations on port 8080 when AWS_LAMBDA_RUNTIME_API is unset: the AWS base "
    "images start the Runtime Interface Emulator then through their own ENTRYPOINT; an image on another "
    "base, or one that sets its own ENTRYPOINT, must start it itself (docs/function.md, custom base images)"
)


def _post(url: str, payload: bytes, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - the URL is the local emulator, http by design
        url, data=payload, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:  # the emulator answers a function error with 502
        return error.code, error.read()


def invoke(url: str, payload: bytes, timeout: float) -> Answer:
    """What API Gateway would answer for one invocation of the emulator at `url` with `payload`. A status
    other than 200, or Lambda's error document, is a function error (aws-lambda-runtime-interface-emulator,
    cmd/aws-lambda-rie/handlers.go: 502 and the error document when the invocation failed). Raises OSError
    when the emulator cannot be reached."""
    status, data = _post(url, payload, timeout)
    failed = status != 200 or is_error_payload(data)
    return http_answer(data, "Unhandled" if failed else None)


def wait_until_ready(url: str, deadline: float) -> None:
    """The emulator accepts connections a moment after `docker run`; any HTTP answer means it is up."""
    while True:
        try:
            _post(url, b"{}", timeout=5)
            return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise ContractError(
                    f"the function at {url} did not answer in time ({exc}): {NO_EMULATOR}"
                ) from exc
            time.sleep(0.5)


def run(url: str, events_dir: Path, wait: float) -> list[str]:
    cases = load_cases(events_dir)
    wait_until_ready(url, time.monotonic() + wait)
    failures = []
    for case in cases:
        try:
            answer = invoke(url, case.raw(), timeout=60)
        except OSError as exc:
            failures.append(f"{case.name}: invocation failed ({exc})")
            print(f"{case.name}: ERROR {exc}")
            continue
        problems = check_answer(case, answer)
        failures += problems
        print(f"{case.name}: {answer.status} (expected {case.expected.status}){' FAIL' if problems else ''}")
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
