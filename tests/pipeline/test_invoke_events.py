"""scripts/invoke_events.py against a local stand-in for the Runtime Interface Emulator."""

from __future__ import annotations

import json

import pytest

from tests.pipeline.helpers import ROOT, http_server, run_script

SCRIPT = ROOT / "scripts" / "invoke_events.py"
INVOCATIONS = "/2015-03-31/functions/function/invocations"


def write_events(directory, events: dict[str, dict], expected: dict[str, int]):
    directory.mkdir()
    for name, event in events.items():
        (directory / name).write_text(json.dumps(event), encoding="utf-8")
    (directory / "expected-status.json").write_text(json.dumps(expected), encoding="utf-8")
    return directory


def event(method: str, path: str) -> dict:
    return {"version": "2.0", "rawPath": path, "requestContext": {"http": {"method": method, "path": path}}}


def emulator(routes: dict[tuple[str, str], object]):
    """Answers an invocation with the response configured for the event's method and path."""
    received = []

    def handle(method, path, body):
        assert (method, path) == ("POST", INVOCATIONS)
        payload = json.loads(body)
        http = payload.get("requestContext", {}).get("http", {})
        received.append(payload)
        if not http:  # the readiness probe
            return 200, {"statusCode": 404}
        return 200, routes[(http["method"], http["path"])]

    handle.received = received
    return handle


def invoke(base, events_dir, *extra):
    return run_script(SCRIPT, "--url", base + INVOCATIONS, "--events", str(events_dir), "--wait", "2", *extra)


@pytest.fixture
def events(tmp_path):
    return write_events(
        tmp_path / "events",
        {"health.json": event("GET", "/health"), "predict-bad.json": event("POST", "/predict")},
        {"health.json": 200, "predict-bad.json": 400},
    )


def test_every_event_gets_its_expected_status(events):
    handler = emulator({("GET", "/health"): {"statusCode": 200}, ("POST", "/predict"): {"statusCode": 400}})
    with http_server(handler) as base:
        result = invoke(base, events)
    assert result.returncode == 0, result.stderr
    assert "health.json: 200 (expected 200)" in result.stdout
    assert "predict-bad.json: 400 (expected 400)" in result.stdout
    assert [e["rawPath"] for e in handler.received if "rawPath" in e] == ["/health", "/predict"]


def test_a_wrong_status_fails_and_names_the_event(events):
    handler = emulator({("GET", "/health"): {"statusCode": 500}, ("POST", "/predict"): {"statusCode": 400}})
    with http_server(handler) as base:
        result = invoke(base, events)
    assert result.returncode == 1
    assert "FAIL: health.json: status 500, expected 200" in result.stderr
    assert "predict-bad.json" not in result.stderr


def test_a_handler_exception_fails(events):
    crash = {"errorType": "KeyError", "errorMessage": "'features'", "stackTrace": []}
    handler = emulator({("GET", "/health"): {"statusCode": 200}, ("POST", "/predict"): crash})
    with http_server(handler) as base:
        result = invoke(base, events)
    assert result.returncode == 1
    assert "predict-bad.json: the handler raised KeyError" in result.stderr


def test_a_response_that_is_not_an_object_fails(events):
    handler = emulator(
        {("GET", "/health"): {"statusCode": 200}, ("POST", "/predict"): ["not", "a", "response"]}
    )
    with http_server(handler) as base:
        result = invoke(base, events)
    assert result.returncode == 1
    assert "predict-bad.json: invocation failed" in result.stderr


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        ({"health.json": 200}, "no expected status for predict-bad.json"),
        ({"health.json": 200, "predict-bad.json": 400, "gone.json": 404}, "missing event files gone.json"),
        ({"health.json": 200, "predict-bad.json": "400"}, "must map event file names to HTTP status codes"),
        ({"health.json": 200, "predict-bad.json": True}, "must map event file names to HTTP status codes"),
    ],
)
def test_events_and_expectations_must_match_one_to_one(tmp_path, expected, message):
    events_dir = write_events(
        tmp_path / "events",
        {"health.json": event("GET", "/health"), "predict-bad.json": event("POST", "/p")},
        expected,
    )
    result = invoke("http://127.0.0.1:9", events_dir)
    assert result.returncode == 2
    assert message in result.stderr


def test_an_emulator_that_never_answers_fails_after_the_wait(events):
    with http_server(emulator({})) as base:
        pass  # stopped: nothing listens on its port any more
    result = invoke(base, events)
    assert result.returncode == 2
    assert "did not answer in time" in result.stderr
