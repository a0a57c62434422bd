"""Try the function in function/ on a laptop, with or without Docker: any function that keeps the contract.

    local.py invoke [EVENT.json ...]      call the handler in-process: the given events, or every event of
                                          function/events checked against expected-status.json
    local.py serve [--port 3000]          HTTP server on 127.0.0.1: each request becomes a payload v2 event
    local.py emulator [--url URL]         post every function/events/*.json to a running image (the Runtime
                                          Interface Emulator that `make local-run` starts) and check them
    local.py platform [STACK]             the Docker platform of STACK's architecture (default stack: dev)

The handler is the `CMD ["module.function"]` of function/Dockerfile (`--handler` overrides it); `invoke`
and `serve` import it from function/, so they need the function's requirements (the project venv has
them). `emulator` needs only the standard library. Exit status: 0 when every answer has its expected status,
1 otherwise, 2 for unusable input.
"""

from __future__ import annotations

import argparse
import base64
import errno
import importlib
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.function_contract import Case, ContractError, check, load_cases
from infra.project import PROJECT

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "function"
EVENTS_DIR = FUNCTION_DIR / "events"
EMULATOR_PORT = 9000
EMULATOR_URL = f"http://127.0.0.1:{EMULATOR_PORT}/2015-03-31/functions/function/invocations"
# Lambda's synchronous Invoke API takes at most 6 MB of payload (API reference, Invoke): a larger request
# could never reach the function in AWS either.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
IDLE_TIMEOUT_SECONDS = 15
CMD = re.compile(r"^\s*CMD\s+(\[.*\])\s*$", re.MULTILINE)

FUNCTION_NAME = f"{PROJECT}-local"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LocalError(Exception):
    """Input the tool cannot use: a missing handler, an unreadable event, a busy port."""


class LocalContext:
    """The attributes of the Lambda context object that handlers (and Powertools) read."""

    def __init__(self, request_id: str | None = None, timeout_ms: int = 10_000) -> None:
        self.function_name = FUNCTION_NAME
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{FUNCTION_NAME}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def handler_name(dockerfile: Path = FUNCTION_DIR / "Dockerfile") -> str:
    """`module.function` from the last exec-form CMD of `dockerfile` (what Lambda runs)."""
    try:
        found = CMD.findall(dockerfile.read_text(encoding="utf-8"))
        command = json.loads(found[-1]) if found else None
    except (OSError, ValueError) as exc:
        raise LocalError(f"cannot read the handler from {dockerfile}: {exc}") from exc
    if not (isinstance(command, list) and len(command) == 1 and "." in str(command[0])):
        raise LocalError(f'{dockerfile} has no CMD ["module.function"]; pass --handler')
    return str(command[0])


def load_handler(name: str, function_dir: Path = FUNCTION_DIR) -> Handler:
    """Import `module.function` from `function_dir`, as Lambda does from the task root."""
    module, _, attribute = name.rpartition(".")
    if str(function_dir) not in sys.path:
        sys.path.insert(0, str(function_dir))
    try:
        handler: Handler = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise LocalError(f"cannot load the handler {name} from {function_dir}: {exc}") from exc
    return handler


def http_event(
    method: str, target: str, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes
) -> dict[str, Any]:
    """An API Gateway HTTP API payload v2 event for one request, as API Gateway builds it.

    `target` is the request target (path and query), `headers` a mapping or the (name, value) pairs as
    received, `body` the raw bytes (text if UTF-8, else base64 with `isBase64Encoded`). As API Gateway's
    payload format 2.0 does (API Gateway developer guide, "Create AWS Lambda proxy integrations for HTTP
    APIs", payload format differences): header names are lower-cased and a repeated header's values joined
    with commas; `Cookie` headers leave `headers` and become `cookies`, one "name=value" entry per cookie;
    `queryStringParameters` holds the query's decoded keys and values, a repeated key's values joined with
    commas. `cookies` and `queryStringParameters` are absent when the request has none.
    """
    path, _, query = target.partition("?")
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers.items() if isinstance(headers, Mapping) else headers:
        name = name.lower()
        if name == "cookie":
            cookies += [cookie.strip() for cookie in value.split(";") if cookie.strip()]
        else:
            joined[name] = f"{joined[name]},{value}" if name in joined else value
    parameters: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    now = time.time()
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if parameters:
        event["queryStringParameters"] = parameters
    if body:
        event["body"] = text
    return event


def make_request_handler(
    handler: Handler, max_bytes: int = MAX_REQUEST_BYTES, idle_timeout: float = IDLE_TIMEOUT_SECONDS
) -> type[BaseHTTPRequestHandler]:
    """A request handler class that turns each HTTP request into one invocation of `handler`."""

    class RequestHandler(BaseHTTPRequestHandler):
        server_version = FUNCTION_NAME
        timeout = idle_timeout  # seconds a connection may stay silent before it is closed

        def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            # RFC 9110: a HEAD answer has no content (section 9.3.2) and may carry Content-Length only if it
            # equals GET's, which the handler's empty HEAD body does not tell (section 8.6)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _refuse(self, status: int, code: str, message: str) -> None:
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
            self.close_connection = True  # the unread body must not be taken for the next request
            self._answer(status, {"Content-Type": "application/json"}, body)

        def _dispatch(self) -> None:
            declared = self.headers.get("Content-Length")
            try:
                length = int(declared) if declared is not None else 0
            except ValueError:
                length = -1
            if length < 0 or (declared is not None and not declared.strip().isdigit()):
                return self._refuse(400, "invalid_request", f"bad Content-Length {(declared or '')[:40]!r}")
            if length > max_bytes:
                return self._refuse(413, "body_too_large", f"the request body is over {max_bytes} bytes")
            body = self.rfile.read(length) if length else b""
            event = http_event(self.command, self.path, self.headers.items(), body)
            response = handler(event, LocalContext())
            payload = response.get("body") or ""
            data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
            self._answer(response["statusCode"], response.get("headers") or {}, data)
            return None

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return RequestHandler


def read_event(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LocalError(f"cannot read the event {path}: {exc}") from exc


def contract_cases(events_dir: Path) -> list[Case]:
    try:
        return load_cases(events_dir)
    except ContractError as exc:
        raise LocalError(str(exc)) from exc


def report(name: str, response: Any, case: Case | None) -> bool:
    """Print one answer, with what misses the case's expectation; True when it passes."""
    problems = []
    if case is not None:
        if not isinstance(response, dict) or type(response.get("statusCode")) is not int:
            problems = [f"{name}: the answer is not an HTTP response object"]
        else:
            body = response.get("body") or ""
            if response.get("isBase64Encoded"):
                body = base64.b64decode(body)
            problems = check(case, response["statusCode"], body)
    print(f"== {name}" + (f": FAILED, {'; '.join(problems)}" if problems else ""))
    print(json.dumps(response, indent=2) if isinstance(response, dict) else response)
    return not problems


def cmd_invoke(args: argparse.Namespace) -> int:
    if args.event:
        cases: list[tuple[str, Any, Case | None]] = [
            (Path(p).name, read_event(Path(p)), None) for p in args.event
        ]
    else:
        cases = [(case.name, case.event, case) for case in contract_cases(Path(args.events))]
    handler = load_handler(
        args.handler or handler_name(Path(args.function_dir) / "Dockerfile"), Path(args.function_dir)
    )
    passed = [report(name, handler(event, LocalContext()), case) for name, event, case in cases]
    return 0 if all(passed) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    handler = load_handler(
        args.handler or handler_name(Path(args.function_dir) / "Dockerfile"), Path(args.function_dir)
    )
    try:
        server = ThreadingHTTPServer((args.host, args.port), make_request_handler(handler))
    except OSError as exc:
        reason = "port in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise LocalError(
            f"cannot listen on {args.host}:{args.port}: {reason}; choose another port with PORT=... "
            "(make serve) or --port"
        ) from exc
    print(
        f"serving {args.handler or handler_name()} on http://{args.host}:{args.port} (Ctrl-C stops)",
        file=sys.stderr,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    failures = 0
    for case in contract_cases(Path(args.events)):
        request = urllib.request.Request(  # noqa: S310 - a local emulator URL, http by design
            args.url, data=case.raw(), method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=args.timeout) as answer:  # noqa: S310
                text = answer.read().decode("utf-8", "replace")
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):
                raise LocalError(
                    f"nothing is listening on {args.url}: start the image with `make local-run` "
                    "(in another terminal), then run this again"
                ) from exc
            failures += 1
            print(f"== {case.name}: FAILED, invocation failed: {exc}")
            continue
        except OSError as exc:
            failures += 1
            print(f"== {case.name}: FAILED, invocation failed: {exc}")
            continue
        try:
            response = json.loads(text)
        except ValueError:
            response = text
        failures += not report(case.name, response, case)
    return 1 if failures else 0


def cmd_platform(args: argparse.Namespace) -> int:
    from scripts.stack_matrix import StackError, describe

    try:
        print(describe(ROOT, args.stack).platform)
    except StackError as exc:
        raise LocalError(str(exc)) from exc
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="call the handler in-process with event files")
    invoke.add_argument("event", nargs="*", help="API Gateway HTTP API payload v2 events (JSON files)")
    invoke.set_defaults(run=cmd_invoke)
    serve = commands.add_parser("serve", help="serve the function over HTTP, in-process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(run=cmd_serve)
    for command in (invoke, serve):
        command.add_argument("--handler", help="module.function (default: the CMD of function/Dockerfile)")
        command.add_argument("--function-dir", default=str(FUNCTION_DIR))
    invoke.add_argument("--events", default=str(EVENTS_DIR))
    emulator = commands.add_parser("emulator", help="send every sample event to a running image")
    emulator.add_argument("--url", default=EMULATOR_URL)
    emulator.add_argument("--events", default=str(EVENTS_DIR))
    emulator.add_argument("--timeout", type=float, default=30)
    emulator.set_defaults(run=cmd_emulator)
    platform = commands.add_parser("platform", help="the Docker platform of a stack's architecture")
    platform.add_argument("stack", nargs="?", default="dev")
    platform.set_defaults(run=cmd_platform)
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except LocalError as exc:
        print(f"local.py: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
