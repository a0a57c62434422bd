"""Property-based: arbitrary events and bodies always get a well-formed HTTP response, never an exception."""

from __future__ import annotations

import base64
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.function.support import LocalContext, app, assert_well_formed, captured_logs, make_event

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
)


def respond(event):
    with captured_logs():
        response = app.handler(event, LocalContext())
    assert_well_formed(response)
    return response


@SETTINGS
@given(event=json_values)
def test_any_json_value_as_event(event):
    respond(event)


@SETTINGS
@given(
    method=methods,
    path=paths,
    header_map=headers,
    body=bodies,
    base64_flag=st.none() | st.booleans(),
    stage=st.sampled_from(["$default", "dev", ""]),
    drop=st.sets(st.sampled_from(["headers", "body", "isBase64Encoded", "requestContext.stage", "rawPath"])),
)
def test_any_http_event(method, path, header_map, body, base64_flag, stage, drop):
    event = make_event(method=method, path=path, body=None, content_type=None)
    event["headers"] = header_map
    event["requestContext"]["stage"] = stage
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = base64_flag
    for key in drop:
        parent, _, child = key.rpartition(".")
        (event[parent] if parent else event).pop(child, None)
    respond(event)


@SETTINGS
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_base64_body_on_predict(body):
    event = make_event(body=base64.b64encode(body).decode(), content_type="application/json")
    event["isBase64Encoded"] = True
    respond(event)


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
        assert prediction["label"] == app.MODEL.classes[prediction["classIndex"]]
        assert proba[prediction["classIndex"]] == max(proba)
