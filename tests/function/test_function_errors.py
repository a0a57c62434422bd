"""Bad input: every case answers the error JSON with the right status and names what is wrong."""

from __future__ import annotations

import base64
import json

import pytest

from tests.function.support import (
    LocalContext,
    app,
    captured_logs,
    invoke,
    load_event,
    log_records,
    make_event,
)

GOOD_ROW = [5.1, 3.5, 1.4, 0.2]


def error_of(event) -> tuple[int, str, str]:
    status, _, body = invoke(event)
    return status, body["error"]["code"], body["error"]["message"]


@pytest.mark.parametrize(
    "body",
    ['{"features": [5.1, 3.5,', "features=5.1", "[1, 2", "{'features': [1, 2, 3, 4]}", "\ufeff{}x"],
)
def test_body_that_is_not_json_is_400(body):
    assert error_of(make_event(body=body))[:2] == (400, "invalid_json")


@pytest.mark.parametrize("body", [None, ""])
def test_empty_body_is_400(body):
    status, code, message = error_of(make_event(body=body))
    assert (status, code) == (400, "invalid_json")
    assert "empty" in message


def test_deeply_nested_json_is_400_not_a_crash():
    assert error_of(make_event(body="[" * 100_000 + "]" * 100_000))[:2] == (400, "invalid_json")


def test_base64_flag_with_invalid_base64_is_400():
    event = make_event(body='{"features": [5.1, 3.5, 1.4, 0.2]}')
    event["isBase64Encoded"] = True  # the body is plain text, not base64
    status, code, message = error_of(event)
    assert (status, code) == (400, "invalid_json")
    assert "base64" in message


def test_base64_body_that_is_not_utf8_is_400():
    event = make_event(body=b"\xff\xfe\x00{", base64_encoded=True)
    assert error_of(event)[:2] == (400, "invalid_json")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([GOOD_ROW], "object"),
        ("text", "object"),
        ({"rows": [GOOD_ROW]}, '"rows"'),
        ({}, '"features"'),
        ({"features": GOOD_ROW, "instances": [GOOD_ROW]}, "not both"),
        ({"features": GOOD_ROW, "extra": 1}, '"extra"'),
        ({"features": {"a": 1}}, '"features"'),
        ({"features": None}, '"features"'),
        ({"features": [5.1, 3.5, 1.4]}, '"features" must hold 4'),
        ({"features": [5.1, 3.5, 1.4, 0.2, 0.0]}, '"features" must hold 4'),
        ({"features": []}, '"features" must hold 4'),
        ({"features": [5.1, "3.5", 1.4, 0.2]}, '"features[1]" must be a number, not a string'),
        ({"features": [5.1, None, 1.4, 0.2]}, '"features[1]" must be a number, not null'),
        ({"features": [5.1, [3.5], 1.4, 0.2]}, '"features[1]" must be a number, not an array'),
        ({"features": [True, 3.5, 1.4, 0.2]}, '"features[0]" must be a number, not a boolean'),
        ({"features": [5.1, 3.5, False, 0.2]}, '"features[2]" must be a number, not a boolean'),
        ({"instances": GOOD_ROW}, '"instances[0]" must be an array'),
        ({"instances": "rows"}, '"instances" must be an array'),
        ({"instances": []}, '"instances" must hold at least one row'),
        ({"instances": [GOOD_ROW, [1, 2, 3]]}, '"instances[1]" must hold 4'),
        ({"instances": [GOOD_ROW, [1, 2, "x", 4]]}, '"instances[1][2]" must be a number'),
        ({"instances": [GOOD_ROW, [1, 2, 3, True]]}, '"instances[1][3]" must be a number, not a boolean'),
    ],
)
def test_wrong_shape_is_400_naming_the_field(payload, field):
    status, code, message = error_of(make_event(body=json.dumps(payload)))
    assert (status, code) == (400, "invalid_request")
    assert field in message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"features": [NaN, 3.5, 1.4, 0.2]}', '"features[0]"'),
        ('{"features": [5.1, Infinity, 1.4, 0.2]}', '"features[1]"'),
        ('{"features": [5.1, 3.5, -Infinity, 0.2]}', '"features[2]"'),
        ('{"features": [5.1, 3.5, 1.4, 1e999]}', '"features[3]"'),
        ('{"features": [5.1, 3.5, 1.4, 1e39]}', '"features[3]"'),
        ('{"features": [5.1, 3.5, 1.4, -4e38]}', '"features[3]"'),
        ('{"features": [5.1, 3.5, 1.4, ' + "9" * 400 + "]}", '"features[3]"'),
        # over the 4,300 digits Python's int() accepts: still a number out of range, not a parse error
        ('{"features": [5.1, 3.5, 1.4, ' + "9" * 5000 + "]}", '"features[3]"'),
        ('{"instances": [[5.1, 3.5, 1.4, 0.2], [-' + "1" * 4301 + ", 3.5, 1.4, 0.2]]}", '"instances[1][0]"'),
        ('{"instances": [[5.1, 3.5, 1.4, 0.2], [5.1, NaN, 1.4, 0.2]]}', '"instances[1][1]"'),
    ],
)
def test_nan_infinity_and_out_of_range_numbers_are_400_naming_the_field(body, field):
    status, code, message = error_of(make_event(body=body))
    assert (status, code) == (400, "invalid_request")
    assert field in message and "finite" in message


def test_largest_float32_is_accepted():
    status, _, _ = invoke(make_event(body=json.dumps({"features": [3.4028234663852886e38, 0, -3.4e38, 1]})))
    assert status == 200


def test_more_than_100_rows_is_413():
    status, code, message = error_of(make_event(body=json.dumps({"instances": [GOOD_ROW] * 101})))
    assert (status, code) == (413, "too_many_rows")
    assert "101" in message


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_body_over_1_mib_is_413(base64_encoded):
    body = json.dumps({"features": GOOD_ROW, "padding": "x" * (1024 * 1024)})
    assert error_of(make_event(body=body, base64_encoded=base64_encoded))[:2] == (413, "body_too_large")


def test_body_of_exactly_1_mib_is_not_rejected_for_its_size():
    prefix = '{"features": [5.1, 3.5, 1.4, 0.2]}'
    body = prefix + " " * (1024 * 1024 - len(prefix))
    status, _, _ = invoke(make_event(body=body))
    assert status == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_non_json_content_type_on_post_is_415(content_type):
    event = make_event(body='{"features": [5.1, 3.5, 1.4, 0.2]}', content_type=content_type)
    assert error_of(event)[:2] == (415, "unsupported_media_type")


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate", "GZIP", "gzip, identity", "x-custom"])
def test_compressed_body_is_415_naming_the_encoding(encoding):
    """API Gateway passes request bodies through as sent; the function reads only uncompressed ones."""
    event = make_event(body='{"features": [5.1, 3.5, 1.4, 0.2]}')
    event["headers"]["content-encoding"] = encoding
    status, headers, body = invoke(event)
    assert (status, body["error"]["code"]) == (415, "unsupported_media_type")
    assert encoding in body["error"]["message"]
    assert headers["Accept-Encoding"] == "identity"


@pytest.mark.parametrize("encoding", ["identity", "Identity", ""])
def test_identity_content_encoding_is_accepted(encoding):
    event = make_event(body='{"features": [5.1, 3.5, 1.4, 0.2]}')
    event["headers"]["content-encoding"] = encoding
    assert invoke(event)[0] == 200


def test_integer_over_the_int_digit_limit_in_an_unknown_field_is_invalid_request():
    status, code, message = error_of(make_event(body='{"features": [1, 2, 3, 4], "n": ' + "7" * 5000 + "}"))
    assert (status, code) == (400, "invalid_request")
    assert '"n"' in message


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nope"), ("POST", "/"), ("GET", "/health/"), ("DELETE", "/x")]
)
def test_unknown_path_is_404(method, path):
    assert error_of(make_event(method=method, path=path, body=None))[:2] == (404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/predict", "POST"),
        ("PUT", "/predict", "POST"),
        ("POST", "/health", "GET, HEAD"),
        ("DELETE", "/model", "GET, HEAD"),
    ],
)
def test_wrong_method_on_a_known_path_is_405_with_allow(method, path, allowed):
    status, headers, body = invoke(make_event(method=method, path=path, body=None))
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    assert headers["Allow"] == allowed


def test_error_carries_the_lambda_request_id():
    context = LocalContext(request_id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    _, _, body = invoke(load_event("unknown-path.json"), context)
    assert body["requestId"] == context.aws_request_id


def test_unexpected_exception_is_500_logged_with_traceback_and_not_leaked(monkeypatch):
    def explode(*row):
        raise RuntimeError("secret internal detail /var/task/model.py")

    monkeypatch.setattr(app.model, "predict_proba", explode)
    context = LocalContext()
    with captured_logs() as buffer:
        response = app.handler(load_event("predict-one.json"), context)
    assert response["statusCode"] == 500
    assert "secret" not in response["body"] and "Traceback" not in response["body"]
    body = json.loads(response["body"])
    assert body["error"]["code"] == "internal_error"
    assert body["requestId"] == context.aws_request_id
    [record] = [r for r in log_records(buffer) if r["level"] == "ERROR"]
    assert "Traceback" in record["exception"] and "secret internal detail" in record["exception"]
    assert record["function_request_id"] == context.aws_request_id


def test_failure_outside_the_routes_is_500_too(monkeypatch):
    def broken(event, context):
        raise KeyError("requestContext")

    monkeypatch.setattr(app.app, "resolve", broken)
    with captured_logs() as buffer:
        status, _, body = invoke(load_event("health.json"))
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert any("Traceback" in r.get("exception", "") for r in log_records(buffer))


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "GET /health",
        {},
        {"requestContext": {}},
        {"requestContext": {"http": {"method": 1}}, "rawPath": "/health"},
        {"requestContext": {"http": {"method": "GET"}, "stage": 5}, "rawPath": "/health"},
        {"requestContext": {"http": {"method": "GET"}}, "rawPath": "/health"},
        {"requestContext": {"http": {"method": "GET"}}, "rawPath": None},
    ],
)
def test_event_that_is_not_payload_v2_is_400_invalid_event(event):
    assert error_of(event)[:2] == (400, "invalid_event")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("headers", ["content-type"]),
        ("headers", {"content-type": 1}),
        ("body", {"features": [1, 2, 3, 4]}),
        ("isBase64Encoded", "yes"),
    ],
)
def test_event_with_mistyped_fields_is_400_invalid_event(field, value):
    event = load_event("predict-one.json")
    event[field] = value
    assert error_of(event)[:2] == (400, "invalid_event")


def test_base64_padding_edge_is_decoded():
    raw = b'{"features":[5.1,3.5,1.4,0.2]} '
    event = make_event(body=raw, base64_encoded=True)
    assert event["body"] == base64.b64encode(raw).decode()
    assert invoke(event)[0] == 200
