"""scripts/smoke_test.py against a local HTTP server standing in for the deployed API."""

from __future__ import annotations

import json

import pytest

from infra.function_contract import load_cases, smoke_cases
from tests.pipeline.helpers import ROOT, http_server, run_script
from tests.pipeline.test_function_contract import http_event, write_contract

SCRIPT = ROOT / "scripts" / "smoke_test.py"


@pytest.fixture
def events(tmp_path):
    return write_contract(
        tmp_path / "events",
        {
            "list.json": http_event("GET", "/items", rawQueryString="page=2"),
            "create.json": http_event(
                "POST",
                "/items",
                body='{"name": "x"}',
                headers={"content-type": "application/json", "host": "recorded.example"},
            ),
            "missing.json": http_event("DELETE", "/items/9"),
            "scheduled.json": {"source": "aws.events"},
        },
        {
            "list.json": {"status": 200, "contains": "items"},
            "create.json": 201,
            "missing.json": 404,
            "scheduled.json": 200,
        },
    )


def api(answers: dict[tuple[str, str], tuple[int, object]]):
    """A handler for http_server: fixed answers per (method, path); records what it got."""
    seen = []

    def handle(method, path, body):
        seen.append((method, path, body))
        return answers.get((method, path), (404, {"message": "Not Found"}))

    handle.seen = seen
    handle.headers_seen = []
    return handle


GOOD = {("GET", "/items?page=2"): (200, {"items": []}), ("POST", "/items"): (201, {"id": 1})}


def smoke(base, events, *extra):
    # a short deadline and first retry: the retry logic is the same, the suite does not wait seconds
    return run_script(
        SCRIPT,
        "--base-url",
        base,
        "--events",
        str(events),
        "--timeout",
        "0.5",
        "--retry-delay",
        "0.05",
        *extra,
    )


def test_every_http_event_is_sent_as_recorded_and_passes(events):
    handler = api(GOOD)
    with http_server(handler) as base:
        result = smoke(base + "/", events)
    assert result.returncode == 0, result.stderr
    assert handler.seen == [
        ("POST", "/items", b'{"name": "x"}'),
        ("GET", "/items?page=2", b""),
        ("DELETE", "/items/9", b""),
    ]
    create_headers = handler.headers_seen[0]
    assert create_headers["content-type"] == "application/json"
    assert create_headers["host"] != "recorded.example", "the recorded Host header must not be replayed"


def test_an_event_marked_smoke_false_is_never_sent(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {"list.json": http_event("GET", "/items"), "purge.json": http_event("DELETE", "/items")},
        {"list.json": 200, "purge.json": {"status": 204, "smoke": False}},
    )
    handler = api({("GET", "/items"): (200, {})})
    with http_server(handler) as base:
        result = smoke(base, events)
    assert result.returncode == 0, result.stderr
    assert [(method, path) for method, path, _ in handler.seen] == [("GET", "/items")]


def test_a_contract_whose_every_request_is_kept_out_is_refused(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {"purge.json": http_event("DELETE", "/items")},
        {"purge.json": {"status": 204, "smoke": False}},
    )
    result = smoke("http://127.0.0.1:9", events)
    assert result.returncode == 2
    assert "no event is an HTTP API request a deployed stack may get" in result.stderr


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({**GOOD, ("POST", "/items"): (400, {"error": "bad"})}, "create.json: status 400, expected 201"),
        ({**GOOD, ("GET", "/items?page=2"): (200, {"other": []})}, "list.json: body does not contain"),
        ({**GOOD, ("DELETE", "/items/9"): (204, b"")}, "missing.json: status 204, expected 404"),
    ],
)
def test_a_wrong_answer_fails_at_once_and_names_the_event(events, answers, message):
    with http_server(api(answers)) as base:
        result = smoke(base, events)
    assert result.returncode == 1
    assert message in result.stderr
    assert "retrying" not in result.stderr


def test_transient_errors_are_retried_until_the_api_answers(events):
    good = api(GOOD)
    calls = []

    def flaky(method, path, body):
        calls.append(path)
        if len(calls) == 1:
            return 503, {"message": "Service Unavailable"}
        return good(method, path, body)

    with http_server(flaky) as base:
        result = smoke(base, events)
    assert result.returncode == 0, result.stderr
    assert calls[:2] == ["/items", "/items"]
    assert "HTTP 503" in result.stderr and "retrying" in result.stderr


def test_an_expected_server_error_is_not_retried(tmp_path):
    events = write_contract(
        tmp_path / "events", {"down.json": http_event("GET", "/down")}, {"down.json": 503}
    )
    handler = api({("GET", "/down"): (503, {"message": "maintenance"})})
    with http_server(handler) as base:
        result = smoke(base, events)
    assert result.returncode == 0, result.stderr
    assert len(handler.seen) == 1


def test_an_api_that_keeps_failing_fails_at_the_deadline(events):
    with http_server(api({("POST", "/items"): (502, {"message": "Internal server error"})})) as base:
        result = smoke(base, events)
    assert result.returncode == 1
    assert "create.json: POST /items: no answer but transient errors before the deadline" in result.stderr
    assert "HTTP 502" in result.stderr


def test_an_unreachable_api_fails_at_the_deadline(events):
    with http_server(api(GOOD)) as base:
        pass  # the server is gone: its port refuses connections
    result = smoke(base, events)
    assert result.returncode == 1
    assert "before the deadline" in result.stderr


def test_a_contract_without_http_events_is_refused(tmp_path):
    events = write_contract(tmp_path / "events", {"tick.json": {"source": "aws.events"}}, {"tick.json": 200})
    result = smoke("http://127.0.0.1:9", events)
    assert result.returncode == 2
    assert "no event is an HTTP API request" in result.stderr


@pytest.mark.parametrize("url", ["http://example.com", "ftp://127.0.0.1/", "https://", "file:///etc/passwd"])
def test_only_https_or_local_http_urls_are_accepted(events, url):
    result = smoke(url, events)
    assert result.returncode == 2
    assert "must be an https URL" in result.stderr or "has no host" in result.stderr


def test_the_contract_in_the_repository_is_the_default():
    result = run_script(SCRIPT, "--base-url", "http://127.0.0.1:9", "--timeout", "0")
    assert result.returncode == 1, result.stderr
    # the first event the smoke test sends (an HTTP request not marked "smoke": false), whatever the function
    first = min(case.name for case in smoke_cases(load_cases(ROOT / "function" / "events")))
    assert first in result.stderr


# --- a stack with a JWT authorizer --------------------------------------------------------------------------


@pytest.fixture
def guarded(tmp_path):
    return write_contract(
        tmp_path / "events",
        {"health.json": http_event("GET", "/health"), "list.json": http_event("GET", "/items")},
        {"health.json": {"status": 200, "auth": False}, "list.json": 200},
    )


def authorizing_api(token: str):
    """An API that answers as API Gateway with a JWT authorizer: 401 without the token, but on /health."""
    seen = []

    def handle(method, path, body):
        headers = handle.headers_seen[-1]
        seen.append((path, headers.get("authorization")))
        if path != "/health" and headers.get("authorization") != f"Bearer {token}":
            return 401, {"message": "Unauthorized"}
        return 200, {"items": []}

    handle.seen = seen
    handle.headers_seen = []
    return handle


def environment(**values):
    import os

    return {key: value for key, value in os.environ.items() if key != "SMOKE_BEARER_TOKEN"} | values


def test_with_the_pipelines_token_every_request_carries_it_and_passes(guarded):
    handler = authorizing_api("t0ken")
    with http_server(handler) as base:
        result = run_script(
            SCRIPT,
            "--base-url",
            base,
            "--events",
            str(guarded),
            "--authorizer",
            env=environment(SMOKE_BEARER_TOKEN="t0ken"),
        )
    assert result.returncode == 0, result.stderr
    assert handler.seen == [("/health", "Bearer t0ken"), ("/items", "Bearer t0ken")]


def test_without_a_token_the_guarded_routes_must_be_refused_and_the_public_ones_answer(guarded):
    handler = authorizing_api("t0ken")
    with http_server(handler) as base:
        result = run_script(
            SCRIPT, "--base-url", base, "--events", str(guarded), "--authorizer", env=environment()
        )
    assert result.returncode == 0, result.stderr
    assert handler.seen == [("/health", None), ("/items", None)]
    assert "/items -> 401" in result.stdout


def test_without_a_token_a_route_the_authorizer_lets_through_fails(guarded):
    handler = api({("GET", "/health"): (200, {}), ("GET", "/items"): (200, {"items": []})})  # no authorizer
    with http_server(handler) as base:
        result = run_script(
            SCRIPT, "--base-url", base, "--events", str(guarded), "--authorizer", env=environment()
        )
    assert result.returncode == 1
    assert "list.json: status 200, expected 401" in result.stderr


def test_the_stacks_outputs_give_the_url_and_whether_an_authorizer_guards_it(guarded, tmp_path):
    handler = authorizing_api("t0ken")
    with http_server(handler) as base:
        outputs = tmp_path / "outputs.json"
        outputs.write_text(
            json.dumps({"apiUrl": "https://unused.example", "url": base, "jwtIssuer": "https://i.example"})
        )
        result = run_script(SCRIPT, "--outputs", str(outputs), "--events", str(guarded), env=environment())
    assert result.returncode == 0, result.stderr
    assert "/items -> 401" in result.stdout
