"""Try the function on a laptop, with or without Docker.

    python function/local.py invoke EVENT.json        call app.handler in-process with an event file
    python function/local.py serve [--port 3000]      HTTP server: each request becomes a payload v2 event
    python function/local.py emulator [--url URL]     post every function/events/*.json to a running image
                                                      (Runtime Interface Emulator) and print the answers

`invoke` and `serve` need the function's requirements (the project venv has them); `emulator` needs only
the standard library.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FUNCTION_DIR = Path(__file__).resolve().parent
EVENTS_DIR = FUNCTION_DIR / "events"
EXPECTED_STATUS_FILE = "expected-status.json"
EMULATOR_URL = "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"
FUNCTION_NAME = "container-lambda-local"


class LocalContext:
    """The attributes of the Lambda context object that the handler and Powertools read."""

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


def load_handler():
    sys.path.insert(0, str(FUNCTION_DIR))
    from app import handler

    return handler


def http_event(method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """An API Gateway HTTP API payload v2 event for one request, as API Gateway builds it."""
    path, _, query = target.partition("?")
    now = time.time()
    is_text = True
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        is_text = False
        text = base64.b64encode(body).decode()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {name.lower(): value for name, value in headers.items()},
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
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if body:
        event["body"] = text
    return event


def make_request_handler(handler):
    class Handler(BaseHTTPRequestHandler):
        server_version = "container-lambda-local"

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            event = http_event(self.command, self.path, dict(self.headers.items()), body)
            response = handler(event, LocalContext())
            payload = response.get("body") or ""
            data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
            self.send_response(response["statusCode"])
            for name, value in (response.get("headers") or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def cmd_invoke(args: argparse.Namespace) -> int:
    try:
        event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"local.py: cannot read the event {args.event}: {exc}", file=sys.stderr)
        return 2
    response = load_handler()(event, LocalContext())
    print(json.dumps(response, indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    server = ThreadingHTTPServer((args.host, args.port), make_request_handler(load_handler()))
    print(f"serving the function on http://{args.host}:{args.port} (Ctrl-C stops), e.g.", file=sys.stderr)
    print(
        f"  curl -s -H 'Content-Type: application/json' -d '{{\"features\": [5.1, 3.5, 1.4, 0.2]}}' "
        f"http://{args.host}:{args.port}/predict",
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
    events = sorted(p for p in Path(args.events).glob("*.json") if p.name != EXPECTED_STATUS_FILE)
    if not events:
        print(f"local.py: no events in {args.events}", file=sys.stderr)
        return 2
    failures = 0
    for path in events:
        request = urllib.request.Request(  # noqa: S310 - a local emulator URL, http by design
            args.url, data=path.read_bytes(), method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=args.timeout) as answer:  # noqa: S310
                text = answer.read().decode("utf-8", "replace")
        except (OSError, urllib.error.URLError) as exc:
            failures += 1
            print(f"== {path.name}: invocation failed: {exc}")
            continue
        print(f"== {path.name}")
        try:
            print(json.dumps(json.loads(text), indent=2))
        except ValueError:
            print(text)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="call the handler in-process with an event file")
    invoke.add_argument("event", help="an API Gateway HTTP API payload v2 event (JSON file)")
    invoke.set_defaults(run=cmd_invoke)
    serve = commands.add_parser("serve", help="serve the API over HTTP, in-process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(run=cmd_serve)
    emulator = commands.add_parser("emulator", help="send every sample event to a running image")
    emulator.add_argument("--url", default=EMULATOR_URL)
    emulator.add_argument("--events", default=str(EVENTS_DIR))
    emulator.add_argument("--timeout", type=float, default=30)
    emulator.set_defaults(run=cmd_emulator)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
