"""Shared helpers of the function tests: real payload v2 events, a fake Lambda context, response checks."""

from __future__ import annotations

import base64
import copy
import io
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "function"
EVENTS_DIR = FUNCTION_DIR / "events"

# function/ is on sys.path (conftest.py)
import app  # noqa: E402

from scripts.local import LocalContext  # noqa: E402

STATUSES = {200, 400, 404, 405, 413, 415, 500}


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


def make_event(
    method: str = "POST",
    path: str = "/predict",
    body: str | bytes | None = None,
    content_type: str | None = "application/json",
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """A payload v2 event shaped like the committed samples (which follow API Gateway's documented one)."""
    event = copy.deepcopy(load_event("predict-one.json"))
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    headers = {k: v for k, v in event["headers"].items() if k not in ("content-type", "content-length")}
    if content_type is not None:
        headers["content-type"] = content_type
    event["headers"] = headers
    event.pop("body", None)
    if body is not None:
        raw = body.encode() if isinstance(body, str) else body
        event["body"] = base64.b64encode(raw).decode() if base64_encoded else raw.decode()
    event["isBase64Encoded"] = base64_encoded
    return event


def invoke(event: Any, context: LocalContext | None = None) -> tuple[int, dict[str, str], Any]:
    """Call the handler, check the answer is a well-formed HTTP response: (status, headers, JSON body)."""
    response = app.handler(event, context or LocalContext())
    assert_well_formed(response)
    return response["statusCode"], response["headers"], json.loads(response["body"])


def is_head(event: Any) -> bool:
    """Whether `event` is a well-formed HEAD request (answered without a body)."""
    try:
        return (
            event["requestContext"]["http"]["method"].upper() == "HEAD" and app.event_problem(event) is None
        )
    except (AttributeError, KeyError, TypeError):
        return False


def assert_well_formed(response: Any, head: bool = False) -> None:
    """An HTTP response with a JSON body (none for HEAD); errors have the error shape."""
    assert isinstance(response, dict), response
    assert response["statusCode"] in STATUSES, response
    assert isinstance(response["body"], str)
    if head:
        assert response["body"] == ""
        assert response["headers"]["Content-Type"] == "application/json"
        return
    assert response["isBase64Encoded"] is False
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    if response["statusCode"] >= 400:
        assert set(body) == {"error", "requestId"}
        assert set(body["error"]) == {"code", "message"}
        assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
        assert isinstance(body["requestId"], str)


def predict_body(payload: Any) -> str:
    return json.dumps(payload)


@contextmanager
def captured_logs():
    """Everything the function's Powertools logger writes, one JSON object per line."""
    handler = app.logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def log_records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
