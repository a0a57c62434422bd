"""Runs a Python handler for the local tools, in the function's own interpreter: one process per function,
one invocation per line (standard library only; it imports nothing of the platform).

The platform never imports the function. `make invoke` and `make serve` start this file with the
interpreter of the function's own environment (`.venv-function/`, built from the function's requirements,
for a function whose function.json declares `"inProcess": "python"`), as Lambda's Python runtime would:
the function's directory is the task root (the working directory and the first entry of `sys.path`), the
handler is `module.function` (a `/` in the module path is a package separator, as in the runtime interface
client), its module is imported once and serves every invocation.

    python -I infra/python_host.py HANDLER FUNCTION_NAME      (working directory: the function's)

Protocol, one JSON document per line: the host writes {"ready": true} (or {"initError": ERROR}) once; then
for each line {"event": ..., "requestId": "...", "timeoutMs": N} it reads on stdin, it writes
{"payload": "<the handler's result as JSON text>"} or {"error": ERROR}, where ERROR is Lambda's error
document {"errorType", "errorMessage", "stackTrace"}. The protocol has the process's original standard
output to itself: whatever the handler prints goes to standard error, as a log line would.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from typing import IO, Any

Handler = Callable[[Any, Any], Any]
DEFAULT_FUNCTION_NAME = "function"
ACCOUNT = "123456789012"  # the documentation account of AWS examples: the local context names no real one
REGION = "us-east-1"


class LocalContext:
    """The attributes of the Lambda context object that handlers (and Powertools) read (Lambda Developer
    Guide, "Using the Lambda context object to retrieve Python function information")."""

    def __init__(
        self,
        request_id: str | None = None,
        timeout_ms: int = 10_000,
        function_name: str = DEFAULT_FUNCTION_NAME,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_document(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """Lambda's error document for `error`, as the Python runtime reports an unhandled exception."""
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error)[1:],
    }


def load(handler: str) -> Handler:
    """`module.function` from the task root (the first entry of sys.path)."""
    module, _, attribute = handler.rpartition(".")
    if not module or not attribute:
        raise ValueError(f"the handler {handler!r} is not module.function")
    function = getattr(importlib.import_module(module.replace("/", ".")), attribute)
    if not callable(function):
        raise TypeError(f"{handler} is not callable")
    loaded: Handler = function
    return loaded


def serve(handler: Handler, requests: IO[str], replies: IO[str], function_name: str) -> None:
    """Answer every request line of `requests` on `replies` until end of input."""
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        context = LocalContext(request.get("requestId"), int(request.get("timeoutMs", 10_000)), function_name)
        try:
            result = handler(request.get("event"), context)
        except Exception as error:  # the handler's own failure is the answer, as in Lambda
            reply: dict[str, Any] = {"error": error_document(error)}
        else:
            try:
                reply = {"payload": json.dumps(result)}
            except (TypeError, ValueError) as error:
                reply = {"error": error_document(error, "Runtime.MarshalError")}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print("usage: python -I python_host.py HANDLER [FUNCTION_NAME]", file=sys.stderr)
        return 2
    function_name = argv[1] if len(argv) == 2 else DEFAULT_FUNCTION_NAME
    # The protocol keeps the original standard output; file descriptor 1 (print, logging, C extensions)
    # goes to standard error from here on.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    task_root = os.getcwd()
    sys.path.insert(0, task_root)  # Lambda's runtime imports the handler from the task root
    os.environ.setdefault("LAMBDA_TASK_ROOT", task_root)
    os.environ.setdefault("_HANDLER", argv[0])
    os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", function_name)
    os.environ.setdefault("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    try:
        handler = load(argv[0])
    except Exception as error:  # an import error is the function's, reported as Lambda's init error
        replies.write(json.dumps({"initError": error_document(error, "Runtime.ImportModuleError")}) + "\n")
        replies.flush()
        return 1
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    serve(handler, sys.stdin, replies, function_name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
