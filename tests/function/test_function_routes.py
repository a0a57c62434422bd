"""The routes and the sample events: status codes, response shapes, logging."""

from __future__ import annotations

import json
import math

import pytest

from infra.function_contract import check, load_cases
from tests.function.support import (
    EVENTS_DIR,
    LocalContext,
    app,
    captured_logs,
    invoke,
    load_event,
    log_records,
    make_event,
)

CASES = {case.name: case for case in load_cases(EVENTS_DIR)}
# API Gateway's documented payload format 2.0 example (the sample the events were derived from)
V2_EVENT_KEYS = {
    "version",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "headers",
    "requestContext",
    "isBase64Encoded",
}
V2_REQUEST_CONTEXT_KEYS = {
    "accountId",
    "apiId",
    "authentication",
    "authorizer",
    "domainName",
    "domainPrefix",
    "http",
    "requestId",
    "routeKey",
    "stage",
    "time",
    "timeEpoch",
}
EVENT_FILES = sorted(p.name for p in EVENTS_DIR.glob("*.json") if p.name != "expected-status.json")


def test_every_sample_event_has_an_expected_status_and_vice_versa():
    assert sorted(CASES) == EVENT_FILES


@pytest.mark.parametrize("name", EVENT_FILES)
def test_sample_event_gets_its_expected_answer(name):
    with captured_logs():
        response = app.handler(load_event(name), LocalContext())
    assert check(CASES[name], response["statusCode"], response["body"]) == []


def with_method(name: str, method: str) -> dict:
    event = load_event(name)
    event["requestContext"]["http"]["method"] = method
    return event


@pytest.mark.parametrize("name", ["health.json", "model-metadata.json"])
def test_head_on_a_get_route_answers_like_get_without_a_body(name):
    get = app.handler(with_method(name, "GET"), LocalContext())
    head = app.handler(with_method(name, "HEAD"), LocalContext())
    assert (
        (head["statusCode"], head["headers"]) == (get["statusCode"], get["headers"]) == (200, get["headers"])
    )
    assert (head["body"], get["body"] != "") == ("", True)


@pytest.mark.parametrize(("name", "status"), [("predict-one.json", 405), ("unknown-path.json", 404)])
def test_head_elsewhere_answers_the_error_status_without_a_body(name, status):
    with captured_logs():
        response = app.handler(with_method(name, "HEAD"), LocalContext())
    assert (response["statusCode"], response["body"]) == (status, "")


@pytest.mark.parametrize("name", EVENT_FILES)
def test_sample_events_keep_the_payload_v2_shape(name):
    event = load_event(name)
    assert event["version"] == "2.0"
    assert set(event) >= V2_EVENT_KEYS
    assert set(event["requestContext"]) == V2_REQUEST_CONTEXT_KEYS
    assert set(event["requestContext"]["http"]) == {"method", "path", "protocol", "sourceIp", "userAgent"}
    assert event["requestContext"]["http"]["path"] == event["rawPath"]
    assert all(name == name.lower() for name in event["headers"])


def test_health():
    status, _, body = invoke(load_event("health.json"))
    assert status == 200
    assert body == {"status": "ok", "modelVersion": app.model.VERSION}


def test_model_metadata():
    status, _, body = invoke(load_event("model-metadata.json"))
    assert status == 200
    assert body["modelVersion"] == app.model.VERSION
    assert body["featureNames"] == [
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    ]
    assert body["classes"] == ["setosa", "versicolor", "virginica"]
    assert 0.9 <= body["trainingAccuracy"] <= 1.0
    assert 0.8 <= body["testAccuracy"] <= 1.0
    artifact = json.loads((EVENTS_DIR.parent / "model.json").read_bytes())
    assert body["nEstimators"] == len(artifact["trees"])


def test_predict_one_row_answers_class_label_and_probabilities():
    status, _, body = invoke(load_event("predict-one.json"))
    assert status == 200
    assert body["modelVersion"] == app.model.VERSION
    [row] = body["predictions"]
    assert row["label"] == "setosa"
    assert row["classIndex"] == 0
    assert list(row["probabilities"]) == ["setosa", "versicolor", "virginica"]
    assert math.isclose(sum(row["probabilities"].values()), 1.0, abs_tol=1e-9)
    assert row["probabilities"]["setosa"] == max(row["probabilities"].values())


def test_predict_instances_answers_one_prediction_per_row_in_order():
    status, _, body = invoke(load_event("predict-batch.json"))
    assert status == 200
    assert [row["label"] for row in body["predictions"]] == ["setosa", "versicolor", "virginica"]


def test_predict_base64_body_is_decoded():
    event = load_event("predict-base64.json")
    assert event["isBase64Encoded"] is True
    status, _, body = invoke(event)
    assert status == 200
    assert body["predictions"][0]["label"] == "virginica"


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
    ],
)
def test_predict_accepts_json_content_types_and_a_missing_one(content_type):
    event = make_event(body='{"features": [5.1, 3.5, 1.4, 0.2]}', content_type=content_type)
    status, _, _ = invoke(event)
    assert status == 200


def test_exactly_100_rows_are_accepted():
    event = make_event(body=json.dumps({"instances": [[6.0, 2.9, 4.5, 1.5]] * 100}))
    status, _, body = invoke(event)
    assert status == 200
    assert len(body["predictions"]) == 100


def test_integers_are_accepted_as_features():
    status, _, body = invoke(make_event(body='{"features": [5, 3, 1, 0]}'))
    assert status == 200
    assert body["predictions"][0]["label"] == "setosa"


def test_no_file_is_read_while_handling_a_request(monkeypatch):
    def no_reload(*_args):
        raise AssertionError("a file was read while handling a request")

    monkeypatch.setattr("builtins.open", no_reload)
    for name in ("predict-one.json", "model-metadata.json", "health.json"):
        event = load_event(name)
        with captured_logs():
            status, _, _ = invoke(event)
        assert status == 200


def test_a_stage_prefix_in_the_raw_path_is_stripped():
    event = load_event("health.json")
    event["requestContext"]["stage"] = "dev"
    event["rawPath"] = "/dev/health"
    status, _, _ = invoke(event)
    assert status == 200


def test_a_served_request_writes_no_log_line():
    """API Gateway's access log has a line per request; the function adds none when all is well."""
    with captured_logs() as buffer:
        assert invoke(load_event("predict-one.json"))[0] == 200
    assert log_records(buffer) == []


def test_rejected_requests_are_logged_as_json_with_request_ids_and_the_cold_start_flag():
    event = load_event("predict-nan.json")
    context = LocalContext(request_id="11111111-2222-3333-4444-555555555555")
    with captured_logs() as buffer:
        invoke(event, context)
        invoke(event, LocalContext())
    first, second = (r for r in log_records(buffer) if r["message"] == "request rejected")
    assert first["function_request_id"] == context.aws_request_id
    assert first["correlation_id"] == event["requestContext"]["requestId"]
    assert first["service"] == "iris-classifier"
    assert (first["status"], first["error_code"]) == (400, "invalid_request")
    assert isinstance(first["cold_start"], bool)
    assert second["cold_start"] is False
