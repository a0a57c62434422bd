"""What an API Gateway HTTP API answers for one invocation of its Lambda integration (payload format 2.0):
the one judgment of a function's answer that every tool shares (standard library only).

`make invoke`, `make serve`, the container test (scripts/invoke_events.py), the pre-traffic check of a new
version (infra/deployment_runner.py) and, through `function_contract.check_answer`, the smoke test compare
what API Gateway would send the client, never the raw invocation result. The rules, from the API Gateway
Developer Guide, "Create AWS Lambda proxy integrations for HTTP APIs", section "Lambda function response for
format 2.0" (and the same inference in AWS SAM CLI's local HTTP API, samcli/local/apigw/local_apigw_service.py,
`_parse_v2_payload_format_lambda_output`):

- a JSON object with `statusCode` is the response: `statusCode`, `headers` (name to string), `cookies`
  (each becomes a `set-cookie` header), `body` (a string) and `isBase64Encoded` (the body is base64);
- any other valid JSON, an object without `statusCode` included, is inferred as status 200,
  `content-type: application/json`, `isBase64Encoded` false and the function's output as the body: a JSON
  string is the body as it is (`"Hello"` answers `Hello`), anything else its JSON text;
- a function error (the handler raised, timed out or could not start), output that is not JSON, or a response
  object API Gateway cannot read, answers 500 `{"message":"Internal Server Error"}` (Developer Guide,
  "Troubleshooting issues with HTTP API Lambda integrations").

    http_answer(payload, function_error=None) -> Answer
    is_error_payload(payload) -> bool      Lambda's error document ({"errorType", "errorMessage", ...}), as the
                                           Runtime Interface Emulator returns it for a handler that raised
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

INFERRED_CONTENT_TYPE = "application/json"
INTERNAL_SERVER_ERROR_STATUS = 500
INTERNAL_SERVER_ERROR_BODY = b'{"message":"Internal Server Error"}'


@dataclass(frozen=True)
class Answer:
    """The HTTP answer API Gateway sends the client."""

    status: int  # HTTP status code
    headers: dict[str, str] = field(default_factory=dict)  # as the function gave them (not lower-cased)
    body: bytes = b""  # decoded: base64 undone when isBase64Encoded
    cookies: tuple[str, ...] = ()  # each one a `set-cookie` header
    problem: str | None = None  # why API Gateway answered 500 instead of the function: a function error
    # (type and message) or what is wrong with the response object; None when the function answered

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")


def internal_server_error(problem: str) -> Answer:
    """API Gateway's answer when it cannot use the function's output; `problem` says why."""
    return Answer(
        INTERNAL_SERVER_ERROR_STATUS,
        {"content-type": INFERRED_CONTENT_TYPE},
        INTERNAL_SERVER_ERROR_BODY,
        problem=problem,
    )


def function_error_problem(payload: bytes | str, function_error: str = "Unhandled") -> str:
    """`function error <errorType>: <errorMessage>` from a Lambda error payload (Lambda's
    {"errorType", "errorMessage", "stackTrace"}), or the raw text when it is not one."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    try:
        error = json.loads(text)
    except ValueError:
        error = None
    if isinstance(error, dict) and ("errorType" in error or "errorMessage" in error):
        return f"function error {error.get('errorType', function_error)}: {error.get('errorMessage', '')}"
    return f"function error {function_error}: {text[:300]}"


def is_error_payload(payload: bytes | str) -> bool:
    """Whether `payload` is Lambda's error document (a JSON object with errorType and errorMessage and no
    statusCode): what Invoke returns with a FunctionError, and the emulator for a handler that raised."""
    try:
        output = json.loads(payload)
    except ValueError:
        return False
    return (
        isinstance(output, dict)
        and {"errorType", "errorMessage"} <= set(output)
        and "statusCode" not in output
    )


def _response_problem(response: dict[str, object]) -> str | None:
    status = response.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return f"statusCode must be an HTTP status code 100-599, got {status!r}"
    headers = response.get("headers")
    if headers is not None and (
        not isinstance(headers, dict) or not all(isinstance(value, str) for value in headers.values())
    ):
        return f"headers must be an object of header names to strings, got {headers!r}"[:300]
    cookies = response.get("cookies")
    if cookies is not None and (
        not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies)
    ):
        return f"cookies must be a list of strings, got {cookies!r}"[:300]
    body = response.get("body")
    if body is not None and not isinstance(body, str):
        return f"body must be a string (JSON text, say), got {type(body).__name__}"
    encoded = response.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        return f"isBase64Encoded must be true or false, got {encoded!r}"
    return None


def http_answer(payload: bytes | str, function_error: str | None = None) -> Answer:
    """What API Gateway answers for an invocation whose output is `payload` (the bytes Lambda's Invoke or
    the emulator returned); `function_error` is Lambda's FunctionError (`Unhandled`), when set."""
    if function_error:
        return internal_server_error(function_error_problem(payload, function_error))
    try:
        output = json.loads(payload)
    except ValueError:
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        return internal_server_error(f"the function's output is not JSON: {text[:200]!r}")
    if not (isinstance(output, dict) and "statusCode" in output):
        body = output if isinstance(output, str) else json.dumps(output)
        return Answer(200, {"content-type": INFERRED_CONTENT_TYPE}, body.encode("utf-8"))
    problem = _response_problem(output)
    if problem:
        return internal_server_error(f"API Gateway cannot read the response object: {problem}")
    body = str(output.get("body") or "")
    if output.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return internal_server_error(
                "API Gateway cannot read the response object: isBase64Encoded is true but the body is not base64"
            )
    else:
        data = body.encode("utf-8")
    headers = dict(output.get("headers") or {})
    cookies = tuple(output.get("cookies") or ())
    return Answer(output["statusCode"], headers, data, cookies)
