"""scripts/invoke_events.py against a local stand-in for the Runtime Interface Emulator."""

from __future__ import annotations

import base64
import json

import pytest

from tests.pipeline.helpers import ROOT, http_server, run_script
from tests.pipeline.test_function_contract import http_event, write_contract

SCRIPT = ROOT / "scripts" / "invoke_events.py"
INVOCATIONS = "/2015-03-31/functions/function/invocations"


def emulator(routes: dict[tuple[str, str], object]):
    """Answers an invocation with the response configured for the event's method and path."""
    received = []

    def handle(method, path, body):
        assert (method, path) == ("POST", INVOCATIONS), f"unexpected request {method} {path}"
        payload = json.loads(body)
        http = payload.get("requestContext", {}).get("http", {})
        received.append(payload)
        if not http:  # the readiness probe
            return 200, {"statusCode": 404}
        answer = routes[(http["method"], http["path"])]
        return answer if isinstance(answer, tuple) else (200, answer)

    handle.received = received
    return handle


def invoke(base, events_dir, *extra):
    return run_script(SCRIPT, "--url", base + INVOCATIONS, "--events", str(events_dir), "--wait", "2", *extra)


@pytest.fixture
def events(tmp_path):
    return write_contract(
        tmp_path / "events",
        {"read.json": http_event("GET", "/things"), "write-bad.json": http_event("POST", "/things")},
        {"read.json": {"status": 200, "contains": "things"}, "write-bad.json": 400},
    )


GOOD = {
    ("GET", "/things"): {"statusCode": 200, "body": '{"things": []}'},
    ("POST", "/things"): {"statusCode": 400},
}


def test_every_event_is_invoked_and_gets_its_expected_answer(events):
    handler = emulator(GOOD)
    with http_server(handler) as base:
        result = invoke(base, events)
    assert result.returncode == 0, result.stderr
    assert "read.json: 200 (expected 200)" in result.stdout
    assert "write-bad.json: 400 (expected 400)" in result.stdout
    assert [e["rawPath"] for e in handler.received if "rawPath" in e] == ["/things", "/things"]


def test_an_event_kept_out_of_the_smoke_test_is_still_invoked(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {"read.json": http_event("GET", "/things"), "write-bad.json": http_event("POST", "/things")},
        {"read.json": 200, "write-bad.json": {"status": 400, "smoke": False}},
    )
    handler = emulator(GOOD)
    with http_server(handler) as base:
        result = invoke(base, events)
    assert result.returncode == 0, result.stderr
    sent = [e["requestContext"]["http"]["method"] for e in handler.received if "rawPath" in e]
    assert sent == ["GET", "POST"]


def test_a_base64_body_is_decoded_before_the_text_check(events):
    body = base64.b64encode(b'{"things": [1]}').decode()
    answers = {**GOOD, ("GET", "/things"): {"statusCode": 200, "body": body, "isBase64Encoded": True}}
    with http_server(emulator(answers)) as base:
        result = invoke(base, events)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"statusCode": 500}, "read.json: status 500, expected 200"),
        ({"statusCode": 200, "body": "{}"}, "read.json: body does not contain 'things'"),
        ({"errorType": "KeyError", "errorMessage": "'x'"}, "read.json: function error KeyError: 'x'"),
        ((502, {"errorType": "KeyError", "errorMessage": "'x'"}), "read.json: function error KeyError"),
        (["not", "a", "response"], "read.json: body does not contain 'things'"),
        ({"statusCode": "200", "body": "things"}, "read.json: status 500, expected 200"),
        ({"statusCode": 200, "body": "%%", "isBase64Encoded": True}, "read.json: API Gateway cannot read"),
    ],
)
def test_a_wrong_answer_fails_and_names_the_event(events, answer, message):
    with http_server(emulator({**GOOD, ("GET", "/things"): answer})) as base:
        result = invoke(base, events)
    assert result.returncode == 1
    assert f"FAIL: {message}" in result.stderr
    assert "write-bad.json" not in result.stderr


@pytest.mark.parametrize("answer", [{"things": []}, "things", ["things"]])
def test_plain_json_without_a_status_code_is_a_200_as_api_gateway_infers_it(events, answer):
    with http_server(emulator({**GOOD, ("GET", "/things"): answer})) as base:
        result = invoke(base, events)
    assert result.returncode == 0, result.stderr
    assert "read.json: 200 (expected 200)" in result.stdout


def test_a_broken_contract_is_refused_before_any_invocation(tmp_path):
    events = write_contract(tmp_path / "events", {"a.json": http_event("GET", "/a")}, {"b.json": 200})
    result = invoke("http://127.0.0.1:9", events)
    assert result.returncode == 2
    assert "a.json: no entry" in result.stderr and "b.json: listed in" in result.stderr


def test_an_emulator_that_never_answers_fails_after_the_wait(events):
    with http_server(emulator({})) as base:
        pass  # stopped: nothing listens on its port any more
    result = invoke(base, events, "--wait", "0.3")
    assert result.returncode == 2
    assert "did not answer in time" in result.stderr
    assert "AWS_LAMBDA_RUNTIME_API is unset" in result.stderr, "says what a custom base image must do"
