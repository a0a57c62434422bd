"""AWS for tests, derived from the real thing: the AWS CLI (PyPI `awscli`, in the test venv) against moto's
server on 127.0.0.1, and, for the answers moto cannot give (enhanced scan findings, CodeDeploy outcomes,
Lambda version states, expired credentials), a stand-in whose every answer is checked against botocore's
output shape of that operation before it is served.

- `moto_endpoint()`: one `moto.server.ThreadedMotoServer` per test process on a free loopback port; a test
  resets it through moto's own API (`reset_moto`).
- `cli_env(...)`: the environment that points the real `aws` at those endpoints (AWS_ENDPOINT_URL, and
  AWS_ENDPOINT_URL_<SERVICE> for the services a stand-in answers: botocore's service-specific endpoint
  variables), with fake credentials and no user configuration.
- `StandIn`: answers queued per operation, validated as botocore's Stubber validates its responses
  (`botocore.validate.ParamValidator` over the operation's output shape); an error code must be one the
  operation models or one of the errors every AWS API may return. A call nothing was queued for fails the
  CLI and the test (`assert_done`).
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import threading
import urllib.request
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

from tests.support.http import serving

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account

# Errors any AWS API may answer besides the ones an operation models (AWS API reference, "Common Errors";
# the expired-credential codes are aws-sdk-go's credsExpiredCodes, aws/request/retryer.go).
COMMON_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InternalFailure",
        "InvalidClientTokenId",
        "RequestExpired",
        "ServiceUnavailable",
        "ThrottlingException",
        "UnrecognizedClientException",
    }
)

_SESSION = botocore.session.get_session()
_server_lock = threading.Lock()
_server_url: str | None = None


def moto_endpoint() -> str:
    """The URL of this test process's moto server (started on first use, on 127.0.0.1 only)."""
    global _server_url
    with _server_lock:
        if _server_url is None:
            from moto.server import ThreadedMotoServer

            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            _server_url = f"http://{host}:{port}"
    return _server_url


def reset_moto() -> str:
    """Forget every resource of the moto server (moto's own API: POST /moto-api/reset); returns its URL."""
    url = moto_endpoint()
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()  # noqa: S310 - loopback
    return url


def cli_env(base: Mapping[str, str], endpoint: str, **service_endpoints: str) -> dict[str, str]:
    """`base` plus what points the AWS CLI at `endpoint` (and a service, by its endpoint variable name such as
    ECR or CODEDEPLOY, at another): fake credentials, no shared config or credentials file, no pager, no
    instance metadata."""
    env = {key: value for key, value in base.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's documented fake credentials
        AWS_SESSION_TOKEN="testing",  # noqa: S106
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_PAGER="",
        AWS_ENDPOINT_URL=endpoint,
    )
    for service, url in service_endpoints.items():
        env[f"AWS_ENDPOINT_URL_{service.upper()}"] = url
    return env


def model(service: str) -> ServiceModel:
    return _SESSION.get_service_model(service)


def check_output(service: str, operation: str, output: Mapping[str, Any]) -> None:
    """Raise AssertionError unless `output` fits the operation's output shape (botocore's ParamValidator,
    which botocore's Stubber applies to its responses: unknown members, wrong types, missing required
    members)."""
    shape = model(service).operation_model(operation).output_shape
    report = ParamValidator().validate(dict(output), shape) if shape is not None else None
    if shape is None and output:
        raise AssertionError(f"{service} {operation} has no output, got {output!r}")
    if report is not None and report.has_errors():
        raise AssertionError(f"not a {service} {operation} answer: {report.generate_report()}")


def check_error(service: str, operation: str, code: str) -> None:
    modeled = {error.name for error in model(service).operation_model(operation).error_shapes}
    modeled |= {error.error_code for error in model(service).operation_model(operation).error_shapes}
    if code not in modeled | COMMON_ERRORS:
        raise AssertionError(
            f"{service} {operation} never answers {code} (modeled: {sorted(modeled)}; common: "
            f"{sorted(COMMON_ERRORS)})"
        )


def _plain(value: Any, shape: Shape | None) -> Any:
    """An output value as the wire carries it in the JSON protocols: timestamps as epoch seconds, blobs in
    base64."""
    if shape is None:
        return value
    if shape.type_name == "structure":
        return {name: _plain(item, shape.members.get(name)) for name, item in value.items()}
    if shape.type_name == "list":
        return [_plain(item, shape.member) for item in value]
    if shape.type_name == "map":
        return {key: _plain(item, shape.value) for key, item in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, datetime.datetime):
        return value.timestamp()
    if shape.type_name == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


@dataclass
class Answer:
    operation: str
    output: Mapping[str, Any] | None = None
    error: tuple[str, str, int] | None = None  # code, message, HTTP status


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class StandIn:
    """A loopback endpoint answering AWS JSON and REST-JSON requests from queued, validated answers."""

    url: str = ""
    queues: dict[str, deque[Answer]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def answer(self, service: str, operation: str, output: Mapping[str, Any], times: int = 1) -> None:
        """Queue `output` as the answer to the next `times` calls of `operation` (checked against botocore's
        output shape now)."""
        check_output(service, operation, output)
        for _ in range(times):
            self.queues.setdefault(service, deque()).append(Answer(operation, output=output))

    def fail(self, service: str, operation: str, code: str, message: str, status: int = 400) -> None:
        """Queue an error answer (a code the operation models, or a common AWS error)."""
        check_error(service, operation, code)
        self.queues.setdefault(service, deque()).append(Answer(operation, error=(code, message, status)))

    def assert_done(self) -> None:
        pending = {service: [a.operation for a in queue] for service, queue in self.queues.items() if queue}
        assert not self.unexpected, f"calls nothing was queued for: {self.unexpected}"
        assert not pending, f"queued answers never asked for: {pending}"

    def operations(self, service: str | None = None) -> list[str]:
        return [call.operation for call in self.calls if service in (None, call.service)]

    # --- serving ---------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict, bytes]:
        signing_name = _signing_name(headers.get("authorization", ""))
        service = _service_by_signing_name(signing_name)
        queue = self.queues.get(service or "", deque())
        if service is None or not queue:
            self.unexpected.append(f"{signing_name}: {method} {path} {headers.get('x-amz-target', '')}")
            return _error_response("json", "StandInUnexpectedCall", "nothing queued for this call", 400)
        answer = queue.popleft()
        service_model = model(service)
        operation = service_model.operation_model(answer.operation)
        # the protocol the client spoke: the AWS JSON protocol names its operation in X-Amz-Target (a service
        # may offer several protocols: botocore's `protocols`)
        protocol = "json" if "x-amz-target" in headers else service_model.metadata["protocol"]
        if protocol not in ("json", "rest-json"):
            self.unexpected.append(f"{service}: protocol {protocol} is not served")
            return _error_response("json", "StandInUnexpectedCall", f"{protocol} not served", 400)
        if not _matches(operation, protocol, method, path, headers):
            self.unexpected.append(f"{service}: {method} {path}, expected {answer.operation}")
            return _error_response(protocol, "StandInUnexpectedCall", f"expected {answer.operation}", 400)
        self.calls.append(Call(service, answer.operation, _params(protocol, path, body)))
        if answer.error:
            code, message, status = answer.error
            return _error_response(protocol, code, message, status)
        return _output_response(operation, protocol, answer.output or {})


def _signing_name(authorization: str) -> str:
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", authorization)
    return match.group(1) if match else ""


def _service_by_signing_name(signing_name: str) -> str | None:
    for service in ("ecr", "lambda", "codedeploy", "sts"):
        metadata = model(service).metadata
        if metadata.get("signingName", metadata["endpointPrefix"]) == signing_name:
            return service
    return None


def _matches(
    operation: OperationModel, protocol: str, method: str, path: str, headers: Mapping[str, str]
) -> bool:
    if protocol == "json":
        prefix = operation.service_model.metadata["targetPrefix"]
        return headers.get("x-amz-target") == f"{prefix}.{operation.name}"
    uri = operation.http["requestUri"].split("?", 1)[0]
    pattern = re.sub(r"\{[^}]+\+\}", ".+", uri)
    pattern = re.sub(r"\{[^}]+\}", "[^/]+", pattern)
    return method == operation.http["method"] and re.fullmatch(pattern, urlsplit(path).path) is not None


def _params(protocol: str, path: str, body: bytes) -> dict[str, Any]:
    if protocol == "json":
        return json.loads(body or b"{}")
    parts = urlsplit(path)
    return {"path": parts.path, "query": parse_qs(parts.query), "body": json.loads(body) if body else None}


def _error_response(protocol: str, code: str, message: str, status: int) -> tuple[int, dict, bytes]:
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"__type": code, "message": message, "Message": message}).encode()


def _output_response(
    operation: OperationModel, protocol: str, output: Mapping[str, Any]
) -> tuple[int, dict, bytes]:
    shape = operation.output_shape
    plain = _plain(dict(output), shape)
    headers = {"Content-Type": "application/x-amz-json-1.1" if protocol == "json" else "application/json"}
    status = 200
    if protocol == "rest-json" and shape is not None:
        body = {}
        for name, value in plain.items():
            member = shape.members[name]
            location = member.serialization.get("location")
            if location == "header":
                headers[member.serialization.get("name", name)] = str(value)
            elif location == "statusCode":
                status = int(value)
            else:
                body[member.serialization.get("name", name)] = value
        plain = body
    return status, headers, json.dumps(plain).encode()


@contextmanager
def stand_in() -> Iterator[StandIn]:
    """A StandIn serving on 127.0.0.1 for the duration of the block."""
    fake = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, answer_headers, payload = fake.handle(self.command, self.path, headers, body)
            self.send_response(status)
            for key, value in answer_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's signature
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        fake.url = url
        yield fake
