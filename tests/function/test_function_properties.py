"""Property-based: arbitrary events and bodies always get a well-formed HTTP response, never an exception."""

from __future__ import annotations

import base64
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.function.support import LocalContext, app, assert_well_formed, captured_logs, is_head, make_event

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=30,
)
numbers = st.integers(min_value=-(10**6), max_value=10**6) | st.floats(
    width=32, allow_nan=False, allow_infinity=False
)
rows = st.lists(numbers, min_size=4, max_size=4)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "TRACE"])
paths = st.sampled_from(["/health", "/model", "/predict", "/", "/predict/", "/x"]) | st.text(max_size=30)
headers = st.none() | st.dictionaries(
    st.sampled_from(["content-type", "Content-Type", "accept", "x-any"]) | st.text(max_size=10),
    st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8", ""])
    | st.text(max_size=20),
    max_size=4,
)
bodies = (
    st.none()
    | st.text(max_size=200)
    | json_values.map(lambda v: json.dumps(v, allow_nan=True))
    | st.builds(lambda r: json.dumps({"features": r}), rows)
    | st.builds(lambda rs: json.dumps({"instances": rs}), st.lists(rows, max_size=120))
    # around the 100-row limit, which random list lengths seldom reach
    | st.builds(lambda r, n: json.dumps({"instances": [r] * n}), rows, st.integers(98, 103))
)


predict_content_types = st.none() | st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "application/vnd.api+json", "text/plain", ""]
)


def http_event(method, path, header_map, body, base64_flag, stage, drop):
    event = make_event(method=method, path=path, body=None, content_type=None)
    event["headers"] = header_map
    event["requestContext"]["stage"] = stage
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = base64_flag
    for key in drop:
        parent, _, child = key.rpartition(".")
        (event[parent] if parent else event).pop(child, None)
    return event


http_events = st.builds(
    http_event,
    method=methods,
    path=paths,
    header_map=headers,
    body=bodies,
    base64_flag=st.none() | st.booleans(),
    stage=st.sampled_from(["$default", "dev", ""]),
    drop=st.sets(st.sampled_from(["headers", "body", "isBase64Encoded", "requestContext.stage", "rawPath"])),
)
# POST /predict with any body, sent plain or base64-encoded as API Gateway does for binary media types
predict_events = st.builds(
    lambda body, content_type, base64_flag: make_event(
        body=body, content_type=content_type, base64_encoded=base64_flag
    ),
    body=bodies,
    content_type=predict_content_types,
    base64_flag=st.booleans(),
)


def respond(event):
    """The handler's answer, well formed; never a 500: no event or body is an internal error."""
    with captured_logs():
        response = app.handler(event, LocalContext())
    assert_well_formed(response, head=is_head(event))
    assert response["statusCode"] != 500, response["body"]
    return response


@SETTINGS
@given(event=json_values)
def test_any_json_value_as_event(event):
    respond(event)


@SETTINGS
@given(event=http_events)
def test_any_http_event(event):
    respond(event)


@SETTINGS
@given(event=predict_events)
def test_any_body_on_predict(event):
    response = respond(event)
    assert response["statusCode"] in {200, 400, 413, 415}
    if response["statusCode"] == 200:
        payload = json.loads(base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"])
        rows = payload.get("instances") or [payload["features"]]
        assert len(json.loads(response["body"])["predictions"]) == len(rows)


@SETTINGS
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_base64_body_on_predict(body):
    event = make_event(body=base64.b64encode(body).decode(), content_type="application/json")
    event["isBase64Encoded"] = True
    respond(event)


def test_the_generated_events_reach_every_answer():
    """The strategies are not stuck on one branch: every status and error code of the API comes up."""
    seen = set()

    @settings(SETTINGS, max_examples=600, derandomize=True, database=None)
    @given(event=json_values | http_events | predict_events)
    def collect(event):
        response = respond(event)
        if not is_head(event):
            body = json.loads(response["body"])
            seen.add(body["error"]["code"] if "error" in body else "ok")

    collect()
    assert seen >= {
        "ok",
        "invalid_event",
        "invalid_json",
        "invalid_request",
        "too_many_rows",
        "unsupported_media_type",
        "not_found",
        "method_not_allowed",
    }


@SETTINGS
@given(instances=st.lists(rows, min_size=1, max_size=100))
def test_valid_rows_always_predict_with_probabilities_summing_to_one(instances):
    response = respond(make_event(body=json.dumps({"instances": instances})))
    assert response["statusCode"] == 200
    predictions = json.loads(response["body"])["predictions"]
    assert len(predictions) == len(instances)
    for prediction in predictions:
        proba = list(prediction["probabilities"].values())
        assert math.isclose(sum(proba), 1.0, abs_tol=1e-9)
        assert prediction["label"] == app.model.CLASSES[prediction["classIndex"]]
        assert proba[prediction["classIndex"]] == max(proba)
