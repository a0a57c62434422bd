"""scripts/smoke_test.py against a local HTTP server standing in for the deployed API."""

from __future__ import annotations

import json

import pytest

from scripts import smoke_test
from tests.pipeline.helpers import ROOT, http_server, run_script

SCRIPT = ROOT / "scripts" / "smoke_test.py"
HEALTHY = {"status": "ok", "modelVersion": "iris-rf-1"}


def api(
    health=(200, HEALTHY), predict=(200, {"predictions": [{"label": "setosa"}], "modelVersion": "iris-rf-1"})
):
    """A handler for http_server: fixed answers per route; records the requests it got."""
    seen = []

    def handle(method, path, body):
        seen.append((method, path, json.loads(body) if body else None))
        if (method, path) == ("GET", "/health"):
            return health
        if (method, path) == ("POST", "/predict"):
            return predict
        return 404, {"error": {"code": "not_found"}}

    handle.seen = seen
    return handle


def smoke(base, *extra):
    return run_script(SCRIPT, "--base-url", base, "--timeout", "2", *extra)


def test_a_healthy_api_passes_and_is_asked_the_right_questions():
    handler = api()
    with http_server(handler) as base:
        result = smoke(base + "/")
    assert result.returncode == 0, result.stderr
    assert "OK:" in result.stdout
    assert handler.seen == [
        ("GET", "/health", None),
        ("POST", "/predict", {"features": [5.1, 3.5, 1.4, 0.2]}),
    ]


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (
            api(predict=(200, {"predictions": [{"label": "virginica"}]})),
            "labels ['virginica'], expected ['setosa']",
        ),
        (
            api(predict=(200, {"predictions": [{"label": "setosa"}, {"label": "setosa"}]})),
            "expected ['setosa']",
        ),
        (api(predict=(200, {"result": "setosa"})), "labels [], expected ['setosa']"),
        (api(predict=(200, {"label": "setosa"})), "labels [], expected ['setosa']"),
        (api(predict=(200, {"predictions": {"label": "setosa"}})), "labels [], expected ['setosa']"),
        (api(predict=(400, {"error": {"code": "bad_request"}})), "POST /predict: status 400, expected 200"),
        (api(health=(200, {"status": "degraded", "modelVersion": "1"})), "status field 'degraded'"),
        (api(health=(200, {"status": "ok"})), "no modelVersion"),
        (api(health=(404, {"message": "Not Found"})), "GET /health: status 404, expected 200"),
        (api(health=(200, b"<html>ok</html>")), "body is not JSON"),
    ],
)
def test_a_wrong_answer_fails_at_once(handler, message):
    with http_server(handler) as base:
        result = smoke(base)
    assert result.returncode == 1
    assert message in result.stderr
    assert "retrying" not in result.stderr


def test_transient_errors_are_retried_until_the_api_answers():
    calls = {"health": 0}
    good = api()

    def flaky(method, path, body):
        if path == "/health":
            calls["health"] += 1
            if calls["health"] == 1:
                return 503, {"message": "Service Unavailable"}
        return good(method, path, body)

    with http_server(flaky) as base:
        result = smoke(base)
    assert result.returncode == 0, result.stderr
    assert calls["health"] == 2
    assert "HTTP 503" in result.stderr and "retrying" in result.stderr


def test_an_api_that_keeps_failing_fails_at_the_deadline():
    with http_server(api(health=(502, {"message": "Internal server error"}))) as base:
        result = smoke(base)
    assert result.returncode == 1
    assert "no good answer before the deadline (last: HTTP 502" in result.stderr


def test_an_unreachable_api_fails_at_the_deadline():
    with http_server(api()) as base:
        pass  # the server is gone: its port refuses connections
    result = smoke(base)
    assert result.returncode == 1
    assert "no good answer before the deadline" in result.stderr


@pytest.mark.parametrize("url", ["http://example.com", "ftp://127.0.0.1/", "https://", "file:///etc/passwd"])
def test_only_https_or_local_http_urls_are_accepted(url):
    result = smoke(url)
    assert result.returncode == 2
    assert "must be an https URL" in result.stderr or "has no host" in result.stderr


def test_the_answer_parser_ignores_malformed_rows():
    assert smoke_test.predicted_labels({"predictions": ["setosa"]}) == [None]
    assert smoke_test.predicted_labels({}) == []
