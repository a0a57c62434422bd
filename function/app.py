"""Iris inference API: AWS Lambda handler `app.handler` for API Gateway HTTP API (payload format 2.0).

    GET  /health   -> {"status": "ok", "modelVersion": ...}
    GET  /model    -> model metadata (feature names, classes, accuracy, version)
    POST /predict  -> {"features": [4 numbers]} or {"instances": [[4 numbers], ...]} (1-100 rows)

HEAD on a GET route answers like GET without a body (RFC 9110 section 9.3.2). Every error answers
`{"error": {"code", "message"}, "requestId"}` with its HTTP status. The forest is code: model.py, generated
from model.json by compile_model.py (`make model`) and imported from its bytecode at init, so neither
NumPy nor scikit-learn is imported and no model file is read. Only the Powertools modules the handler uses
are imported: the package's `event_handler` and `logging` subpackages. No log line per request: API
Gateway's access log has one; the function logs rejected requests and failures, with the request ids.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
from typing import Any

import model
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import Logger

MAX_BODY_BYTES = 1024 * 1024
MAX_ROWS = 100
# the largest finite float32: the forest compares float32 inputs, like scikit-learn
MAX_FEATURE_MAGNITUDE = 3.4028234663852886e38
JSON = "application/json"
GET = ["GET", "HEAD"]
ROUTES = {"/health": "GET, HEAD", "/model": "GET, HEAD", "/predict": "POST"}
JSON_TYPES = {dict: "an object", list: "an array", str: "a string", type(None): "null", bool: "a boolean"}
# rounds a row to float32 as scikit-learn does; OverflowError beyond float32's range
FLOAT32 = struct.Struct(f"<{model.N_FEATURES}f")

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "iris-classifier")
app = APIGatewayHttpResolver()
MODEL_INFO = {"modelVersion": model.VERSION, **{k: v for k, v in model.METADATA.items() if k != "version"}}


class ApiError(Exception):
    """A client error: answered with its status and a message naming what to fix."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def request_id(context: Any = None) -> str | None:
    """The Lambda request id, the key of every log line of the invocation (`function_request_id`)."""
    return getattr(
        context if context is not None else getattr(app, "lambda_context", None), "aws_request_id", None
    )


def error_body(code: str, message: str, context: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}, "requestId": request_id(context)}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=error_body(code, message), headers=headers)


@app.exception_handler(ApiError)
def client_error(error: ApiError) -> Response:
    logger.info("request rejected", extra={"status": error.status, "error_code": error.code})
    return error_response(error.status, error.code, error.message, error.headers)


@app.exception_handler(Exception)
def unexpected_error(_error: Exception) -> Response:
    logger.exception("unexpected error while handling the request")
    return error_response(500, "internal_error", "internal error; quote the requestId when reporting it")


@app.not_found
def no_route(_error: Exception) -> Response:
    allowed = ROUTES.get(app.current_event.path)
    if allowed is not None:
        raise ApiError(405, "method_not_allowed", f"use {allowed} for this path", {"Allow": allowed})
    raise ApiError(404, "not_found", "no such path; the API serves GET /health, GET /model and POST /predict")


@app.route("/health", method=GET)
def health() -> dict[str, Any]:
    return {"status": "ok", "modelVersion": model.VERSION}


@app.route("/model", method=GET)
def model_info() -> dict[str, Any]:
    return MODEL_INFO


@app.post("/predict")
def predict() -> dict[str, Any]:
    event = app.current_event
    headers = event.headers
    encoding = headers.get("content-encoding")
    if encoding is not None and encoding.strip().lower() not in ("", "identity"):
        # API Gateway passes request bodies through as sent: it decompresses nothing
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Encoding {json.dumps(encoding[:40])} is not supported; send the body uncompressed",
            {"Accept-Encoding": "identity"},
        )
    content_type = headers.get("content-type")
    if content_type is not None and not is_json_media_type(content_type):
        raise ApiError(415, "unsupported_media_type", f"send the body as {JSON}")
    rows = read_rows(read_json_body(event.body, bool(event.is_base64_encoded)))
    classes = model.CLASSES
    predict_proba = model.predict_proba
    pack, unpack = FLOAT32.pack, FLOAT32.unpack
    predictions = []
    for row in rows:
        proba = predict_proba(*unpack(pack(*row)))
        index = proba.index(max(proba))  # the first highest, like NumPy's argmax
        predictions.append(
            {
                "classIndex": index,
                "label": classes[index],
                "probabilities": dict(zip(classes, proba, strict=True)),
            }
        )
    return {"modelVersion": model.VERSION, "predictions": predictions}


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == JSON or (media_type.startswith("application/") and media_type.endswith("+json"))


def read_json_body(body: Any, is_base64: bool) -> Any:
    if not body:
        raise ApiError(400, "invalid_json", 'the request body is empty; send a JSON object with "features"')
    if is_base64:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(
                400, "invalid_json", "the body is flagged base64-encoded but is not valid base64"
            ) from exc
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"the request body is over {MAX_BODY_BYTES} bytes (1 MiB)")
    try:
        # integers are read as floats (the forest sees float32 anyway): one over Python's 4,300-digit
        # limit for int() is then an out-of-range number, reported with its field, not a parse error
        return json.loads(raw, parse_int=float)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", "the request body is not valid UTF-8 JSON") from exc


def read_rows(payload: Any) -> list[list[float]]:
    if not isinstance(payload, dict):
        raise ApiError(
            400, "invalid_request", 'the body must be a JSON object with "features" or "instances"'
        )
    unknown = sorted(key for key in payload if key not in ("features", "instances"))
    if unknown:
        raise ApiError(400, "invalid_request", f"unknown field {json.dumps(unknown[0][:40])}")
    if "features" in payload and "instances" in payload:
        raise ApiError(
            400, "invalid_request", 'send either "features" (one row) or "instances" (rows), not both'
        )
    if "features" in payload:
        return [read_row(payload["features"], "features")]
    if "instances" not in payload:
        raise ApiError(
            400, "invalid_request", 'missing field "features" (one row) or "instances" (a list of rows)'
        )
    instances = payload["instances"]
    if not isinstance(instances, list):
        raise ApiError(
            400, "invalid_request", f'"instances" must be an array of rows, not {json_type(instances)}'
        )
    if not instances:
        raise ApiError(400, "invalid_request", '"instances" must hold at least one row')
    if len(instances) > MAX_ROWS:
        raise ApiError(
            413, "too_many_rows", f'"instances" holds {len(instances)} rows; the limit is {MAX_ROWS}'
        )
    return [read_row(row, f"instances[{i}]") for i, row in enumerate(instances)]


def read_row(row: Any, field: str) -> list[float]:
    n = model.N_FEATURES
    if not isinstance(row, list):
        raise ApiError(
            400, "invalid_request", f'"{field}" must be an array of {n} numbers, not {json_type(row)}'
        )
    if len(row) != n:
        raise ApiError(400, "invalid_request", f'"{field}" must hold {n} numbers, not {len(row)}')
    for j, item in enumerate(row):
        # JSON numbers arrive as floats (parse_int=float); NaN fails both comparisons
        if type(item) is not float or not -MAX_FEATURE_MAGNITUDE <= item <= MAX_FEATURE_MAGNITUDE:
            if type(item) is not float:
                raise ApiError(
                    400, "invalid_request", f'"{field}[{j}]" must be a number, not {json_type(item)}'
                )
            raise ApiError(
                400, "invalid_request", f'"{field}[{j}]" must be a finite number of magnitude at most 3.4e38'
            )
    return row


def json_type(value: Any) -> str:
    return JSON_TYPES.get(type(value), "a number")


def event_problem(event: Any) -> str | None:
    """Why `event` is not an HTTP API payload v2 event the resolver can route, or None."""
    if not isinstance(event, dict):
        return "the event is not a JSON object"
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    if not isinstance(http, dict) or not isinstance(http.get("method"), str):
        return "requestContext.http.method is missing"
    if not isinstance(context.get("stage"), str) or not isinstance(event.get("rawPath"), str):
        return "rawPath or requestContext.stage is missing"
    headers = event.get("headers")
    if headers is not None and not (
        isinstance(headers, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        return "headers must map names to strings"
    if not isinstance(event.get("body", ""), str | None):
        return "body must be a string"
    if not isinstance(event.get("isBase64Encoded", False), bool | None):
        return "isBase64Encoded must be a boolean"
    return None


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    problem = event_problem(event)
    if problem is not None:
        logger.warning("not an API Gateway HTTP API payload v2 event", extra={"problem": problem})
        return raw_response(400, error_body("invalid_event", problem, context))
    api_request_id = event["requestContext"].get("requestId")
    if isinstance(api_request_id, str):
        logger.set_correlation_id(api_request_id)
    try:
        response = app.resolve(event, context)
    except Exception:
        logger.exception("unexpected error outside the routes")
        return raw_response(500, error_body("internal_error", "internal error", context))
    if event["requestContext"]["http"]["method"].upper() == "HEAD":
        response["body"] = ""  # the GET answer's status and headers, without its content
    return response


def raw_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }
