"""The function contract: the events of function/ and what each must answer (standard library only).

`function/events/*.json` are API Gateway HTTP API payload format 2.0 events; `events/expected-status.json`
maps each event's file name to what the function must answer:

    {"ok.json": 200, "bad.json": {"status": 400, "contains": "text the body must contain"},
     "delete.json": {"status": 204, "smoke": false}}

`"smoke": false` keeps an event (one that changes data, say) away from deployed stacks, production included
(the post-deploy smoke test, the pre-traffic check of a new version, the warm-up); the container test and
the local tools still run it. `"auth": false` says the event's route must reach the function without a token
when the stack requires one (config jwtIssuer): the HTTP API gets a route `<METHOD> <path>` without
authorization for it (public_routes), every other route requires a valid JWT.
Every event file needs an entry and every entry an event file, and at least one event must be an HTTP API
request not marked "smoke": false (the post-deploy smoke test sends it). The platform's tools (the container test,
the post-deploy smoke test, the local tools) read the contract only through this module, so they name no
route, label or field of the function.

    load_cases(events_dir) -> list[Case]      (ContractError lists every problem at once)
    Case.request() -> Request | None          an HTTP request to send to a deployed API, None for events that
                                              are not HTTP API requests
    deployable_cases(cases) -> list[Case]     the cases a deployed stack may get: not "smoke": false
    public_routes(cases) -> list[str]         the route keys ("GET /health") of the "auth": false events
    smoke_cases(cases) -> list[Case]          the cases the smoke test sends: those that are HTTP requests
    check(case, status, body) -> list[str]    what is wrong with an answer (empty: it passes)
    check_answer(case, answer) -> list[str]   the same for API Gateway's answer to an invocation
                                              (infra/lambda_response.py), naming a function error
    load_declarations(function_dir) -> Declarations   function.json (optional): how the local tools may run
                                              the handler ("inProcess": "python") (ContractError)

    dockerfiles(function_dir) -> list[str]    the function's Dockerfiles, `Dockerfile` first (ContractError
                                              when function/Dockerfile, the default image, is missing)

CLI: `python3 -m infra.function_contract [EVENTS_DIR]` checks the contract and lists the cases;
`python3 -m infra.function_contract --in-process [FUNCTION_DIR]` prints the declared in-process runtime
(nothing when there is none); `python3 -m infra.function_contract --dockerfiles [FUNCTION_DIR]` prints the
Dockerfiles as a JSON array of names (the test workflow's image matrix, the `dockerfile` key's choices).
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.lambda_response import Answer

EXPECTED_FILE = "expected-status.json"
# The image every stack builds unless its `dockerfile` key names a variant (infra/config.py).
DOCKERFILE = "Dockerfile"
FUNCTION_DIR = Path(__file__).resolve().parents[1] / "function"
DEFAULT_EVENTS = FUNCTION_DIR / "events"
# The function's optional declarations to the platform's local tools. `inProcess` names the one language
# they can run in-process; any other function runs in its image (make local-run, make local-invoke).
DECLARATIONS_FILE = "function.json"
IN_PROCESS_RUNTIMES = ("python",)
# Payload format 2.0 (API Gateway Developer Guide, "Create AWS Lambda proxy integrations for HTTP APIs"):
# `version` is "2.0", the request line is requestContext.http.method, rawPath and rawQueryString.
PAYLOAD_VERSION = "2.0"
# Headers an HTTP client computes itself for the real request; an event's copy describes the recorded one.
HOP_HEADERS = {
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "x-forwarded-for",
    "x-forwarded-port",
    "x-forwarded-proto",
    "x-amzn-trace-id",
}


class ContractError(Exception):
    """The events directory does not keep the contract (the message lists every problem)."""


@dataclass(frozen=True)
class Expected:
    status: int  # HTTP status code the answer must have
    contains: str | None = None  # text the (decoded) body must contain
    smoke: bool = True  # False: never sent to a deployed stack by the smoke test
    auth: bool = True  # False: the route reaches the function without a token (a stack with jwtIssuer)


@dataclass(frozen=True)
class Request:
    method: str  # e.g. "GET"
    target: str  # path and query, e.g. "/items?page=2"
    headers: dict[str, str]  # the event's headers minus hop-by-hop and proxy ones; cookies joined
    body: bytes | None  # decoded (isBase64Encoded honoured); None when the event has no body


@dataclass(frozen=True)
class Case:
    name: str  # the event's file name, e.g. "ok.json"
    path: Path
    event: dict[str, Any]  # the event as JSON
    expected: Expected

    def raw(self) -> bytes:
        """The event file's bytes: what an invocation (Lambda Invoke, the emulator) sends as payload."""
        return self.path.read_bytes()

    def request(self) -> Request | None:
        """The HTTP request this event records, or None when it is not an HTTP API payload 2.0 event."""
        http = (self.event.get("requestContext") or {}).get("http")
        raw_path = self.event.get("rawPath")
        if (
            self.event.get("version") != PAYLOAD_VERSION
            or not isinstance(http, dict)
            or not isinstance(raw_path, str)
        ):
            return None
        method = str(http.get("method", "")).upper()
        if not method:
            return None
        query = self.event.get("rawQueryString") or ""
        headers = {
            str(key).lower(): str(value)
            for key, value in (self.event.get("headers") or {}).items()
            if str(key).lower() not in HOP_HEADERS
        }
        cookies = self.event.get("cookies") or []
        if cookies:
            headers["cookie"] = "; ".join(str(cookie) for cookie in cookies)
        return Request(method, raw_path + (f"?{query}" if query else ""), headers, _body(self))


def _body(case: Case) -> bytes | None:
    body = case.event.get("body")
    if body is None:
        return None
    if case.event.get("isBase64Encoded"):
        try:
            return base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ContractError(
                f"{case.name}: isBase64Encoded is true but body is not base64 ({exc})"
            ) from exc
    return str(body).encode("utf-8")


def _expected(name: str, value: object) -> Expected | str:
    """The parsed expectation, or a problem description."""
    if isinstance(value, bool) or not isinstance(value, (int, dict)):
        return (
            f'{name}: expected an HTTP status or {{"status": ..., "contains": ..., "smoke": ...}}, '
            f"got {value!r}"
        )
    smoke = auth = True
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"status", "contains", "smoke", "auth"})
        status, contains = value.get("status"), value.get("contains")
        smoke, auth = value.get("smoke", True), value.get("auth", True)
        if unknown:
            return f"{name}: unknown keys {', '.join(unknown)} (allowed: status, contains, smoke, auth)"
        if contains is not None and (not isinstance(contains, str) or not contains):
            return f"{name}: contains must be a non-empty string, got {contains!r}"
        for key, flag in (("smoke", smoke), ("auth", auth)):
            if not isinstance(flag, bool):
                return f"{name}: {key} must be true or false, got {flag!r}"
    else:
        status, contains = value, None
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return f"{name}: status must be an HTTP status code 100-599, got {status!r}"
    return Expected(status, contains, smoke, auth)


def load_cases(events_dir: Path = DEFAULT_EVENTS) -> list[Case]:
    """Every event of `events_dir` with its expectation, sorted by file name. Raises ContractError."""
    expected_path = events_dir / EXPECTED_FILE
    try:
        table = json.loads(expected_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"{expected_path}: cannot read the expected statuses ({exc})") from exc
    if not isinstance(table, dict):
        raise ContractError(f"{expected_path}: expected a JSON object of event file name to status")
    problems: list[str] = []
    cases = []
    files = sorted(path for path in events_dir.glob("*.json") if path.name != EXPECTED_FILE)
    for path in files:
        if path.name not in table:
            problems.append(f"{path.name}: no entry in {EXPECTED_FILE}")
            continue
        expected = _expected(path.name, table[path.name])
        try:
            event = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{path.name}: not JSON ({exc})")
            continue
        if not isinstance(event, dict):
            problems.append(f"{path.name}: an event must be a JSON object")
        elif isinstance(expected, str):
            problems.append(expected)
        else:
            cases.append(Case(path.name, path, event, expected))
    names = {path.name for path in files}
    problems += [
        f"{name}: listed in {EXPECTED_FILE} but there is no such event"
        + (
            f" ({EXPECTED_FILE} names files of {events_dir.name}/ itself, not of its subfolders)"
            if "/" in name
            else ""
        )
        for name in sorted(table)
        if name not in names
    ]
    problems += [  # an event file the `*.json` match misses would be silently left untested: said, not skipped
        f"{path.name}: events are read from files named *.json (a lowercase .json); rename it"
        for path in sorted(events_dir.iterdir())
        if path.suffix.lower() == ".json" and path.suffix != ".json"
    ]
    problems += [  # events of a subfolder would be silently left untested: said, not skipped
        f"{path.relative_to(events_dir).as_posix()}: events are read from {events_dir.name}/ itself, not from "
        "its subfolders; move it up (or out of the events folder)"
        for path in sorted(events_dir.glob("*/**/*.json"))
    ]
    if not files:
        problems.append(f"no events (*.json) in {events_dir}")
    if not problems:
        for case in cases:  # every recorded body decodes
            try:
                case.request()
            except ContractError as exc:
                problems.append(str(exc))
    if not problems and not smoke_cases(cases):
        problems.append(
            'no event is an HTTP API request a deployed stack may get (each is marked "smoke": false or is no '
            "HTTP request): the smoke test after every deploy sends those; add one, e.g. a GET of a route "
            "that changes nothing"
        )
    if problems:
        raise ContractError(f"{events_dir} does not keep the function contract:\n  " + "\n  ".join(problems))
    return cases


def deployable_cases(cases: list[Case]) -> list[Case]:
    """The cases a deployed stack may receive: every case not marked "smoke": false (the pre-traffic check
    of a new version and the warm-up invoke them directly)."""
    return [case for case in cases if case.expected.smoke]


def public_routes(cases: list[Case]) -> list[str]:
    """The route keys of the HTTP requests marked "auth": false, sorted and unique: an HTTP API route is "an
    HTTP method and a resource path—for example, GET /pets" (API Gateway Developer Guide, "Create routes for
    HTTP APIs"), and a route more specific than `$default` takes its requests. Raises ContractError for such an
    event that is not an HTTP API request."""
    routes, problems = set(), []
    for case in cases:
        if case.expected.auth:
            continue
        request = case.request()
        if request is None:
            problems.append(f'{case.name}: "auth": false, but the event is not an HTTP API request')
        else:
            routes.add(f"{request.method} {request.target.split('?', 1)[0]}")
    if problems:
        raise ContractError("the public routes of the function contract:\n  " + "\n  ".join(problems))
    return sorted(routes)


def smoke_cases(cases: list[Case]) -> list[Case]:
    """The cases the post-deploy smoke test sends: HTTP API requests not marked "smoke": false."""
    return [case for case in deployable_cases(cases) if case.request() is not None]


def check(case: Case, status: object, body: bytes | str | None) -> list[str]:
    """The ways an answer (status, body) misses the case's expectation; empty when it passes."""
    failures = []
    if status != case.expected.status:
        failures.append(f"{case.name}: status {status}, expected {case.expected.status}")
    if case.expected.contains is not None:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        if case.expected.contains not in text:
            failures.append(f"{case.name}: body does not contain {case.expected.contains!r}: {text[:200]!r}")
    return failures


def check_answer(case: Case, answer: Answer) -> list[str]:
    """The ways API Gateway's answer to the case's invocation misses its expectation; when API Gateway
    answered 500 in the function's place (a function error, a response it cannot read), that is said too."""
    failures = check(case, answer.status, answer.body)
    if failures and answer.problem:
        failures.append(f"{case.name}: {answer.problem}")
    return failures


@dataclass(frozen=True)
class Declarations:
    """What function.json declares (every key optional)."""

    in_process: str | None = None  # "python": make invoke / make serve import the handler in the function's
    # own environment (.venv-function, from its requirements.txt and requirements-dev.txt)


def is_dockerfile_name(name: str) -> bool:
    """True for the names of a function's Dockerfiles: `Dockerfile`, `Dockerfile.<variant>` or
    `<variant>.Dockerfile`, but not BuildKit's per-Dockerfile ignore file `<Dockerfile>.dockerignore`
    (infra/build_context.py ignore_file)."""
    dockerfile = name == DOCKERFILE or name.startswith(f"{DOCKERFILE}.") or name.endswith(f".{DOCKERFILE}")
    return dockerfile and not name.endswith(".dockerignore")


def dockerfiles(function_dir: Path = FUNCTION_DIR) -> list[str]:
    """The names of the function's Dockerfiles, files directly in `function_dir` (the build context), with
    `Dockerfile` first and the variants sorted. Raises ContractError when `Dockerfile` is missing: it is the
    image of every stack that names no other."""
    if not (function_dir / DOCKERFILE).is_file():
        found = sorted(
            path.name for path in function_dir.glob("*") if path.name.lower() == DOCKERFILE.lower()
        )
        raise ContractError(
            f"{function_dir}: no {DOCKERFILE} (the image every stack builds unless its `dockerfile` key names a "
            f"variant, {DOCKERFILE}.<variant> or <variant>.{DOCKERFILE})"
            + (f"; {', '.join(found)} is not spelt {DOCKERFILE}" if found else "")
        )
    variants = sorted(
        path.name
        for path in function_dir.iterdir()
        if path.is_file() and path.name != DOCKERFILE and is_dockerfile_name(path.name)
    )
    return [DOCKERFILE, *variants]


def load_declarations(function_dir: Path = FUNCTION_DIR) -> Declarations:
    """The declarations of `function_dir`/function.json, empty when the file does not exist. Raises
    ContractError naming every problem."""
    path = function_dir / DECLARATIONS_FILE
    if not path.exists():
        return Declarations()
    try:
        declared = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"{path}: not a JSON object ({exc})") from exc
    if not isinstance(declared, dict):
        raise ContractError(f"{path}: not a JSON object")
    problems = [f"unknown key {key!r} (allowed: inProcess)" for key in sorted(declared) if key != "inProcess"]
    in_process = declared.get("inProcess")
    if in_process is not None and in_process not in IN_PROCESS_RUNTIMES:
        problems.append(
            f"inProcess must be one of {', '.join(IN_PROCESS_RUNTIMES)} (the local tools run other "
            f"languages in their image), got {in_process!r}"
        )
    if problems:
        raise ContractError(f"{path}: " + "; ".join(problems))
    return Declarations(in_process)


def main(argv: list[str]) -> int:
    # the options that read the function's folder: what each prints of it
    of_folder: dict[str, Any] = {
        "--dockerfiles": lambda folder: json.dumps(dockerfiles(folder), separators=(",", ":")),
        "--in-process": lambda folder: load_declarations(folder).in_process,
    }
    if argv[:1] and argv[0] in of_folder:
        try:
            printed = of_folder[argv[0]](Path(argv[1]) if len(argv) > 1 else FUNCTION_DIR)
        except ContractError as exc:
            print(f"function_contract: {exc}", file=sys.stderr)
            return 1
        if printed:
            print(printed)
        return 0
    events_dir = Path(argv[0]) if argv else DEFAULT_EVENTS
    try:
        cases = load_cases(events_dir)
    except ContractError as exc:
        print(f"function_contract: {exc}", file=sys.stderr)
        return 1
    for case in cases:
        request = case.request()
        line = f"{request.method} {request.target}" if request else "(not an HTTP request)"
        contains = f", body contains {case.expected.contains!r}" if case.expected.contains else ""
        smoke = "" if case.expected.smoke else " (not smoke-tested)"
        public = "" if case.expected.auth else " (public: no token)"
        print(f"{case.name}: {line} -> {case.expected.status}{contains}{smoke}{public}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
