"""infra/lambda_response.py: what API Gateway's HTTP API answers for a function's output (payload format 2.0),
the one judgment invoke, serve, the container test, the pre-traffic check and the smoke test share."""

from __future__ import annotations

import base64
import json

import pytest

from infra.function_contract import Case, Expected, check_answer
from infra.lambda_response import http_answer, is_error_payload

INTERNAL = (500, b'{"message":"Internal Server Error"}')


@pytest.mark.parametrize(
    ("output", "status", "body"),
    [
        # the Developer Guide's two examples of inference
        ("Hello from Lambda!", 200, b"Hello from Lambda!"),
        ({"message": "Hello from Lambda!"}, 200, b'{"message": "Hello from Lambda!"}'),
        # any other valid JSON is the body as JSON text
        ([1, 2], 200, b"[1, 2]"),
        (42, 200, b"42"),
        ({"statusCode": 201, "body": "made"}, 201, b"made"),
        ({"statusCode": 204}, 204, b""),
        (
            {"statusCode": 200, "body": base64.b64encode(b"\xff\x00").decode(), "isBase64Encoded": True},
            200,
            b"\xff\x00",
        ),
    ],
)
def test_an_answer_is_what_api_gateway_sends(output, status, body):
    answer = http_answer(json.dumps(output).encode())
    assert (answer.status, answer.body, answer.problem) == (status, body, None)


def test_inferred_answers_are_json():
    assert http_answer(b'{"a": 1}').headers == {"content-type": "application/json"}


def test_a_response_object_keeps_its_headers_and_cookies():
    answer = http_answer(json.dumps({"statusCode": 200, "headers": {"X-A": "1"}, "cookies": ["c=1"]}))
    assert (answer.headers, answer.cookies) == ({"X-A": "1"}, ("c=1",))


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ({"statusCode": "200", "body": "x"}, "statusCode must be an HTTP status code"),
        ({"statusCode": True}, "statusCode must be an HTTP status code"),
        ({"statusCode": 99}, "statusCode must be an HTTP status code"),
        ({"statusCode": 200, "body": {"a": 1}}, "body must be a string"),
        ({"statusCode": 200, "headers": {"X-A": 1}}, "headers must be an object"),
        ({"statusCode": 200, "cookies": "c=1"}, "cookies must be a list"),
        ({"statusCode": 200, "isBase64Encoded": "yes"}, "isBase64Encoded must be true or false"),
        ({"statusCode": 200, "body": "%%", "isBase64Encoded": True}, "the body is not base64"),
    ],
)
def test_a_response_object_api_gateway_cannot_read_is_a_500_saying_why(output, problem):
    answer = http_answer(json.dumps(output))
    assert (answer.status, answer.body) == INTERNAL
    assert problem in answer.problem


def test_a_function_error_is_a_500_naming_the_error():
    answer = http_answer(b'{"errorType": "KeyError", "errorMessage": "boom"}', "Unhandled")
    assert (answer.status, answer.body) == INTERNAL
    assert answer.problem == "function error KeyError: boom"


def test_output_that_is_not_json_is_a_500():
    answer = http_answer(b"Task timed out after 3.00 seconds")
    assert (answer.status, answer.body) == INTERNAL and "not JSON" in answer.problem


def test_lambdas_error_document_is_told_from_an_answer():
    assert is_error_payload(b'{"errorType": "E", "errorMessage": "m", "stackTrace": []}')
    assert not is_error_payload(b'{"statusCode": 500, "errorType": "E", "errorMessage": "m"}')
    assert not is_error_payload(b'{"errorMessage": "m"}')
    assert not is_error_payload(b"not json")


def test_a_failed_check_names_the_function_error_behind_a_500():
    case = Case("ok.json", None, {}, Expected(200))  # type: ignore[arg-type]
    answer = http_answer(b'{"errorType": "KeyError", "errorMessage": "boom"}', "Unhandled")
    assert check_answer(case, answer) == [
        "ok.json: status 500, expected 200",
        "ok.json: function error KeyError: boom",
    ]
    assert check_answer(Case("e.json", None, {}, Expected(500)), answer) == []  # type: ignore[arg-type]
