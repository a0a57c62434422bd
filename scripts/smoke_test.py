"""Smoke-test a deployed API with the function contract: the events that are HTTP requests are sent.

For each event of function/events/ that records an HTTP API request (payload format 2.0) and whose entry in
events/expected-status.json does not say `"smoke": false`, the same method, path, query, headers and body go
to the deployed API's base URL, and the answer must have the status (and contain the text) the entry gives
(infra/function_contract.py, smoke_cases).

Connection errors, 429 and 5xx answers that the contract does not expect are retried until --timeout (a
function that was just updated, or an API that was just created, can need a few seconds); any other wrong
answer fails at once. The base URL must be https (plain http only for localhost, for tests).

A stack with a JWT authorizer (--authorizer: its output jwtIssuer is set): with a token in the environment
variable SMOKE_BEARER_TOKEN (the pipeline's secret of that name), every request carries `Authorization: Bearer
<token>` and must answer as the contract says; without one, the events marked `"auth": false` must, and every
other one must be refused with 401, API Gateway's answer to a request without a valid token (API Gateway
Developer Guide, "Control access to HTTP APIs with JWT authorizers"), which proves the authorizer guards them.

usage: python3 -m scripts.smoke_test (--base-url URL [--authorizer] | --outputs FILE) [--events DIR]
       [--timeout SECONDS] [--retry-delay SECONDS]
--outputs reads the stack's outputs as JSON (`make smoke`: `pulumi stack output --json`, `-` for standard
input): the URL is `url` (the custom domain's when set), --authorizer when `jwtIssuer` is set.
Exit status: 0 every request passed, 1 a failure, 2 unusable arguments or contract.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from infra.function_contract import (
    DEFAULT_EVENTS,
    Case,
    ContractError,
    Expected,
    check,
    load_cases,
    smoke_cases,
)

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
RETRY_STATUSES = {429, 500, 502, 503, 504}
TOKEN_ENV = "SMOKE_BEARER_TOKEN"  # noqa: S105 - the variable's name, not a token
UNAUTHORIZED = 401


class SmokeFailure(Exception):
    """The API did not give the expected answer."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def base_url(value: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in LOCAL_HOSTS):
        if not parsed.hostname:
            raise argparse.ArgumentTypeError(f"{value!r} has no host")
        return value.rstrip("/")
    raise argparse.ArgumentTypeError(f"{value!r} must be an https URL (http only for localhost)")


def send(
    base: str, case: Case, deadline: float, retry_delay: float = 1.0, token: str | None = None
) -> Answer:
    """The API's answer to the case's request (with `Authorization: Bearer <token>` when a token is given),
    retrying transient failures until `deadline` (monotonic seconds); the first retry waits `retry_delay`
    seconds, each next one twice as long (at most 10 s)."""
    request = case.request()
    if request is None:
        raise ContractError(f"{case.name}: not an HTTP API request")
    headers = dict(request.headers) | ({"authorization": f"Bearer {token}"} if token else {})
    delay = retry_delay
    while True:
        req = urllib.request.Request(  # noqa: S310 - scheme checked in base_url
            base + request.target, data=request.body, headers=headers, method=request.method
        )
        answer, reason = None, ""
        try:
            with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
                answer = Answer(response.status, response.read())
        except urllib.error.HTTPError as exc:
            answer = Answer(exc.code, exc.read())
        except OSError as exc:  # refused, reset, DNS not there yet, timeout
            reason = str(exc)
        expected = answer is not None and answer.status == case.expected.status
        if answer is not None and (expected or answer.status not in RETRY_STATUSES):
            return answer
        if answer is not None:
            reason = f"HTTP {answer.status} {answer.body[:200]!r}"
        if time.monotonic() + delay > deadline:
            raise SmokeFailure(
                f"{case.name}: {request.method} {request.target}: no answer but transient errors before the "
                f"deadline (last: {reason})"
            )
        print(f"  {request.method} {request.target}: {reason}; retrying in {delay:.1f}s", file=sys.stderr)
        time.sleep(delay)
        delay = min(delay * 2, 10.0)


def expectation(case: Case, authorizer: bool, token: str | None) -> Case:
    """The case as this run must see it: without a token, a route the authorizer guards answers 401."""
    if authorizer and token is None and case.expected.auth:
        return dataclasses.replace(case, expected=Expected(UNAUTHORIZED, None, case.expected.smoke, True))
    return case


def run(
    base: str,
    events_dir: Path,
    timeout: float,
    retry_delay: float = 1.0,
    authorizer: bool = False,
    token: str | None = None,
) -> list[str]:
    """Failures of every smoke case (see the module's docstring for `authorizer` and `token`); raises
    ContractError when there is none to send."""
    cases = [expectation(case, authorizer, token) for case in smoke_cases(load_cases(events_dir))]
    deadline = time.monotonic() + timeout
    failures = []
    for case in cases:
        request = case.request()
        try:
            answer = send(base, case, deadline, retry_delay, token)
        except SmokeFailure as exc:
            failures.append(str(exc))
            continue
        problems = check(case, answer.status, answer.body)
        failures += problems
        verdict = "FAIL" if problems else "ok"
        sent = f"{request.method} {request.target}" if request is not None else case.name  # send() checked it
        print(f"{sent} -> {answer.status} ({case.name}: {verdict})")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", type=base_url)
    where.add_argument(
        "--outputs", type=argparse.FileType("r"), help="the stack's outputs as JSON, - for stdin"
    )
    parser.add_argument("--events", type=Path, default=DEFAULT_EVENTS)
    parser.add_argument(
        "--authorizer", action="store_true", help=f"the API requires a JWT (token: ${TOKEN_ENV}, optional)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds to keep retrying transient errors"
    )
    parser.add_argument(
        "--retry-delay", type=float, default=1.0, help="seconds before the first retry (doubling, at most 10)"
    )
    args = parser.parse_args(argv)
    if args.outputs is not None:
        try:
            stack = json.load(args.outputs)
            args.base_url = base_url(str(stack.get("url") or stack.get("apiUrl") or ""))
        except (ValueError, AttributeError, argparse.ArgumentTypeError) as exc:
            parser.error(f"--outputs: not the stack's outputs with an https url ({exc})")
        args.authorizer = args.authorizer or bool(stack.get("jwtIssuer"))
    try:
        token = os.environ.get(TOKEN_ENV) or None
        failures = run(args.base_url, args.events, args.timeout, args.retry_delay, args.authorizer, token)
    except ContractError as exc:
        print(f"smoke_test: {exc}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if failures:
        return 1
    print(f"OK: {args.base_url} answered every request of the function contract as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
