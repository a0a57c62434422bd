"""Try the function in function/ on a laptop, with or without Docker: any function that keeps the contract.

    local.py invoke [EVENT.json ...]      run the handler with the given events, or every event of
                                          function/events checked against expected-status.json
    local.py serve [--port 3000]          HTTP server on 127.0.0.1: each request becomes a payload 2.0 event
                                          and gets the answer API Gateway would send
    local.py emulator [--url URL]         post every function/events/*.json to a running image (the Runtime
                                          Interface Emulator that `make local-run` starts) and check them
    local.py platform [STACK]             the Docker platform of STACK's architecture (default stack: dev)

`invoke` and `serve` run the handler in-process only for a function that declares it in function/function.json
(`"inProcess": "python"`): in its own interpreter (`--python`, by default .venv-function/bin/python, which
`make invoke` and `make serve` build from the function's requirements), through infra/python_host.py, so
nothing of the function is imported here and nothing of the platform reaches the function. Any other function
runs in its image: `make local-run`, then `make local-invoke`. The handler is the `CMD ["module.function"]` of
function/Dockerfile (`--handler` overrides it). Every answer is judged as API Gateway's HTTP API would answer
(infra/lambda_response.py). This module needs only the standard library. Exit status: 0 when every answer has
its expected status, 1 otherwise, 2 for unusable input.
"""

from __future__ import annotations

import argparse
import base64
import errno
import io
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from infra.function_contract import (
    DECLARATIONS_FILE,
    Case,
    ContractError,
    check_answer,
    load_cases,
    load_declarations,
)
from infra.lambda_response import Answer, http_answer
from infra.project import PROJECT
from infra.python_host import LocalContext  # noqa: F401 - the context the function's own tests use
from scripts import invoke_events

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "function"
EVENTS_DIR = FUNCTION_DIR / "events"
FUNCTION_PYTHON = ROOT / ".venv-function" / "bin" / "python"
HOST = ROOT / "infra" / "python_host.py"
EMULATOR_PORT = 9000
EMULATOR_URL = f"http://127.0.0.1:{EMULATOR_PORT}/2015-03-31/functions/function/invocations"
# Lambda's synchronous Invoke API takes at most 6 MB of payload (API reference, Invoke): a larger request
# could never reach the function in AWS either.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
IDLE_TIMEOUT_SECONDS = 15
# How long one invocation (or the handler's import) may take before the process is stopped, as Lambda stops
# a function at its timeout (the config key `timeout` defaults to 29 s).
DEFAULT_TIMEOUT_SECONDS = 30.0
CMD = re.compile(r"^\s*CMD\s+(\[.*\])\s*$", re.MULTILINE)

FUNCTION_NAME = f"{PROJECT}-local"
IN_IMAGE = "run it in its image instead: `make local-run`, then `make local-invoke` in another terminal"


class LocalError(Exception):
    """Input the tool cannot use: a missing handler, an unreadable event, a busy port."""


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


class FunctionProcess:
    """The function's handler in its own interpreter (infra/python_host.py), one invocation at a time, as
    one Lambda execution environment serves them. A process that dies or overruns the timeout is replaced
    at the next invocation, and that invocation answers as API Gateway does for a function error."""

    def __init__(
        self, python: Path, handler: str, function_dir: Path, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.python, self.handler, self.function_dir, self.timeout = python, handler, function_dir, timeout
        self._process: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()

    def __enter__(self) -> FunctionProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _read(self, stream: IO[str], replies: queue.Queue[str | None]) -> None:
        for line in stream:
            replies.put(line)
        replies.put(None)  # end of output: the process exited

    def start(self) -> None:
        """Start the process and import the handler. Raises LocalError when it cannot be loaded."""
        if not self.python.exists():
            raise LocalError(
                f"the function's environment {self.python} does not exist: `make invoke` and `make serve` "
                "build it from function/requirements.txt and function/requirements-dev.txt"
            )
        self._replies = queue.Queue()
        self._process = subprocess.Popen(  # noqa: S603 - the function's own interpreter, a fixed host
            [str(self.python), "-I", str(HOST), self.handler, FUNCTION_NAME],
            cwd=self.function_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        assert self._process.stdout is not None
        threading.Thread(target=self._read, args=(self._process.stdout, self._replies), daemon=True).start()
        ready = self._reply()
        if ready is None or "ready" not in ready:
            self.close()
            error = (ready or {}).get("initError") or {}
            reason = (
                f"{error.get('errorType')}: {error.get('errorMessage')}"
                if error
                else "the process gave no answer in time"
            )
            raise LocalError(f"cannot load the handler {self.handler} from {self.function_dir}: {reason}")

    def _reply(self) -> dict[str, Any] | None:
        try:
            line = self._replies.get(timeout=self.timeout)
        except queue.Empty:
            return None
        return json.loads(line) if line is not None else None

    def output(self, event: object) -> tuple[bytes, str | None]:
        """What Lambda's Invoke would return for one invocation with `event`: the payload, and the
        FunctionError (`Unhandled`, with Lambda's error document as payload) when the handler raised, timed
        out, or its process exited or could not start."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                try:
                    self.start()
                except LocalError as error:  # e.g. the handler's module no longer imports
                    return _error_payload("Runtime.ImportModuleError", str(error)), "Unhandled"
            process = self._process
            assert process is not None and process.stdin is not None
            request = {"event": event, "requestId": str(uuid.uuid4()), "timeoutMs": int(self.timeout * 1000)}
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
            except OSError:
                pass  # the process died: its missing reply says so below
            started = time.monotonic()
            reply = self._reply()
            if reply is None:
                self.close()
                if time.monotonic() - started >= self.timeout:
                    return _error_payload(
                        "Sandbox.Timedout", f"Task timed out after {self.timeout:.2f} seconds"
                    ), "Unhandled"
                return _error_payload(
                    "Runtime.ExitError", f"Runtime exited with status {process.returncode}"
                ), "Unhandled"
            if "error" in reply:
                return json.dumps(reply["error"]).encode(), "Unhandled"
            return str(reply["payload"]).encode(), None

    def invoke(self, event: object) -> Answer:
        """What API Gateway would answer for one invocation of the handler with `event`."""
        return http_answer(*self.output(event))

    def close(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
            self._process = None


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


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


class Refused(Exception):
    """A request the server answers itself, before the function sees it (status, code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def read_chunked(stream: io.BufferedIOBase, max_bytes: int) -> bytes:
    """A `Transfer-Encoding: chunked` body (RFC 9112 section 7.1): chunk extensions and trailers are read
    and dropped. Raises Refused for a body over `max_bytes` or a malformed chunk."""
    body = bytearray()
    while True:
        size_line = stream.readline(1026)
        size_text = size_line.split(b";", 1)[0].strip()
        if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text) or len(size_text) > 16:
            raise Refused(400, "invalid_request", f"bad chunk size line {size_line[:40]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > max_bytes:
            raise Refused(413, "body_too_large", f"the request body is over {max_bytes} bytes")
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(3) not in (b"\r\n", b"\n"):
            raise Refused(400, "invalid_request", "a chunk is shorter than its size line says")
        body += chunk
    while stream.readline(8192) not in (b"\r\n", b"\n", b""):  # trailer fields, then the empty line
        pass
    return bytes(body)


def make_request_handler(
    function: FunctionProcess, max_bytes: int = MAX_REQUEST_BYTES, idle_timeout: float = IDLE_TIMEOUT_SECONDS
) -> type[BaseHTTPRequestHandler]:
    """A request handler class that turns each HTTP request into one invocation of `function` and sends
    what API Gateway would answer (a handler error or an unreadable response: 500 JSON)."""

    class RequestHandler(BaseHTTPRequestHandler):
        server_version = FUNCTION_NAME
        protocol_version = "HTTP/1.1"  # keep-alive, and chunked request bodies
        timeout = idle_timeout  # seconds a connection may stay silent before it is closed

        def _answer(
            self, status: int, headers: Mapping[str, str], data: bytes, cookies: Iterable[str] = ()
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            for cookie in cookies:  # each cookie of a payload 2.0 response becomes a set-cookie header
                self.send_header("Set-Cookie", cookie)
            # RFC 9110: a HEAD answer has no content (section 9.3.2) and may carry Content-Length only if it
            # equals GET's, which the handler's empty HEAD body does not tell (section 8.6)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _body(self) -> bytes:
            coding = [
                c.strip().lower() for c in self.headers.get("Transfer-Encoding", "").split(",") if c.strip()
            ]
            if coding:
                if coding[-1] != "chunked":  # RFC 9112 section 6.3: the length cannot be known
                    raise Refused(400, "invalid_request", f"unsupported Transfer-Encoding {coding!r}")
                return read_chunked(self.rfile, max_bytes)
            declared = self.headers.get("Content-Length")
            if declared is None:
                return b""
            if not declared.strip().isdigit():
                raise Refused(400, "invalid_request", f"bad Content-Length {declared[:40]!r}")
            length = int(declared)
            if length > max_bytes:
                raise Refused(413, "body_too_large", f"the request body is over {max_bytes} bytes")
            return self.rfile.read(length) if length else b""

        def _dispatch(self) -> None:
            try:
                body = self._body()
            except Refused as refused:
                self.close_connection = True  # the unread body must not be taken for the next request
                message = json.dumps({"error": {"code": refused.code, "message": str(refused)}}).encode()
                self._answer(refused.status, {"Content-Type": "application/json"}, message)
                return
            answer = function.invoke(http_event(self.command, self.path, self.headers.items(), body))
            if answer.problem:
                sys.stderr.write(f"{self.command} {self.path}: {answer.problem}\n")
            self._answer(answer.status, answer.headers, answer.body, answer.cookies)

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


def report(name: str, answer: Answer, case: Case | None, quiet: bool = False) -> bool:
    """Print one answer, with what misses the case's expectation (`quiet`: only a failed one); True when it
    passes."""
    problems = check_answer(case, answer) if case is not None else []
    if quiet and not problems:
        return True
    print(f"== {name}: {answer.status}" + (f" FAILED, {'; '.join(problems)}" if problems else ""))
    if answer.problem and not problems:
        print(f"   ({answer.problem})")
    for key, value in answer.headers.items():
        print(f"   {key}: {value}")
    for cookie in answer.cookies:
        print(f"   set-cookie: {cookie}")
    print(answer.text)
    return not problems


def open_function(args: argparse.Namespace) -> FunctionProcess:
    """The function's handler in its own interpreter, when function.json declares it may run in-process."""
    function_dir = Path(args.function_dir)
    try:
        declared = load_declarations(function_dir).in_process
    except ContractError as exc:
        raise LocalError(str(exc)) from exc
    if declared != "python":
        raise LocalError(
            f'{function_dir} declares no in-process runtime ("inProcess": "python" in {DECLARATIONS_FILE}, '
            f"for a Python handler): {IN_IMAGE}"
        )
    handler = args.handler or handler_name(function_dir / "Dockerfile")
    python = (
        shutil.which(args.python) if os.sep not in args.python else args.python
    )  # a name on PATH, or a path
    return FunctionProcess(Path(python or args.python), handler, function_dir, args.timeout)


def cmd_invoke(args: argparse.Namespace) -> int:
    if args.event:
        cases: list[tuple[str, Any, Case | None]] = [
            (Path(p).name, read_event(Path(p)), None) for p in args.event
        ]
    else:
        cases = [(case.name, case.event, case) for case in contract_cases(Path(args.events))]
    with open_function(args) as function:
        passed = [report(name, function.invoke(event), case, args.quiet) for name, event, case in cases]
    if args.quiet:
        print(f"{sum(passed)} of {len(passed)} events answered as expected")
    return 0 if all(passed) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    with open_function(args) as function:
        try:
            server = ThreadingHTTPServer((args.host, args.port), make_request_handler(function))
        except OSError as exc:
            reason = "port in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise LocalError(
                f"cannot listen on {args.host}:{args.port}: {reason}; choose another port with PORT=... "
                "(make serve) or --port"
            ) from exc
        print(f"serving {function.handler} on http://{args.host}:{args.port} (Ctrl-C stops)", file=sys.stderr)
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
        try:
            answer = invoke_events.invoke(args.url, case.raw(), args.timeout)
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
        failures += not report(case.name, answer, case)
    return 1 if failures else 0


def cmd_platform(args: argparse.Namespace) -> int:
    from scripts.stack_matrix import StackError, describe

    try:
        print(describe(ROOT, args.stack).platform)
    except StackError as exc:
        raise LocalError(str(exc)) from exc
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="run the handler in-process with event files")
    invoke.add_argument("event", nargs="*", help="API Gateway HTTP API payload v2 events (JSON files)")
    invoke.set_defaults(run=cmd_invoke)
    serve = commands.add_parser("serve", help="serve the function over HTTP, in-process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(run=cmd_serve)
    for command in (invoke, serve):
        command.add_argument("--handler", help="module.function (default: the CMD of function/Dockerfile)")
        command.add_argument("--function-dir", default=str(FUNCTION_DIR))
        command.add_argument("--python", default=str(FUNCTION_PYTHON), help="the function's interpreter")
        command.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    invoke.add_argument("--events", default=str(EVENTS_DIR))
    invoke.add_argument("--quiet", action="store_true", help="print only the answers that miss expectations")
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
        return int(args.run(args))
    except LocalError as exc:
        print(f"local.py: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
