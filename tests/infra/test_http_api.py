"""HTTP API: Lambda proxy integration (payload 2.0), $default route and stage, logs, throttling, CORS,
and the invoke permission scoped to this API."""

from __future__ import annotations

import json

import pytest

from infra.project import PROJECT
from tests.infra.support import API, INTEGRATION, PERMISSION, ROUTE, STAGE, log_group, run_stack


def test_the_api_is_an_http_api_without_cors_by_default(default_run):
    api = default_run.one(API).inputs
    assert api["protocolType"] == "HTTP" and api["name"] == f"{PROJECT}-dev"
    assert "corsConfiguration" not in api


def test_cors_only_when_origins_are_configured():
    origins = ["https://app.example.com", "http://localhost:3000"]
    cors = run_stack({"corsAllowOrigins": origins}).one(API).inputs["corsConfiguration"]
    assert cors["allowOrigins"] == origins
    assert cors["allowMethods"] == ["GET", "OPTIONS", "POST"] and cors["allowHeaders"] == ["content-type"]


def test_the_integration_is_a_lambda_proxy_with_payload_2(default_run):
    integration = default_run.one(INTEGRATION).inputs
    assert integration["integrationType"] == "AWS_PROXY" and integration["integrationMethod"] == "POST"
    assert integration["payloadFormatVersion"] == "2.0"
    assert integration["integrationUri"] == default_run.outputs["invokeArn"]
    assert integration["apiId"] == default_run.outputs["apiId"]


@pytest.mark.parametrize(("timeout", "expected_ms"), [(29, 29000), (1, 1000), (30, 30000), (900, 30000)])
def test_the_integration_timeout_respects_the_30_second_maximum(timeout, expected_ms):
    assert run_stack({"timeout": timeout}).one(INTEGRATION).inputs["timeoutMilliseconds"] == expected_ms


def test_the_default_route_targets_the_integration(default_run):
    route = default_run.one(ROUTE).inputs
    assert route["routeKey"] == "$default"
    assert route["target"] == f"integrations/{default_run.one(INTEGRATION).id}"


def test_the_default_stage_auto_deploys_with_json_access_logs(default_run):
    stage = default_run.one(STAGE).inputs
    assert stage["name"] == "$default" and stage["autoDeploy"] is True
    group = log_group(default_run, f"/aws/apigateway/{PROJECT}-dev")
    assert group.inputs["retentionInDays"] == 14
    settings = stage["accessLogSettings"]
    assert settings["destinationArn"] == group.state["arn"]
    fields = json.loads(settings["format"])
    assert fields["requestId"] == "$context.requestId" and fields["status"] == "$context.status"
    assert all(value.startswith("$context.") for value in fields.values())


# $context variables the access log may use, from "Customize HTTP API access logs" (API Gateway Developer
# Guide, http-api-logging-variables): HTTP APIs support a different set than REST APIs.
HTTP_API_LOG_VARIABLES = {
    "$context.requestId",
    "$context.requestTime",
    "$context.identity.sourceIp",
    "$context.identity.userAgent",
    "$context.httpMethod",
    "$context.path",
    "$context.routeKey",
    "$context.protocol",
    "$context.status",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integrationStatus",
    "$context.integrationLatency",
    "$context.integrationErrorMessage",
}


def test_the_access_log_line_has_the_fields_to_trace_a_request(default_run):
    fields = json.loads(default_run.one(STAGE).inputs["accessLogSettings"]["format"])
    assert set(fields.values()) <= HTTP_API_LOG_VARIABLES
    assert len(set(fields.values())) == len(fields)  # no variable logged twice
    # who asked what, what they got, and what the function did about it
    assert {
        "requestId",
        "ip",
        "httpMethod",
        "routeKey",
        "status",
        "integrationStatus",
        "integrationError",
        "integrationLatency",
        "responseLatency",
    } <= set(fields)


def test_the_stage_throttles_by_default_and_as_configured(default_run):
    assert default_run.one(STAGE).inputs["defaultRouteSettings"] == {
        "throttlingRateLimit": 50,
        "throttlingBurstLimit": 100,
    }
    stage = run_stack({"throttleRateLimit": 5, "throttleBurstLimit": 7}).one(STAGE).inputs
    assert stage["defaultRouteSettings"] == {"throttlingRateLimit": 5, "throttlingBurstLimit": 7}


def test_the_permission_lets_only_this_api_invoke_the_function(default_run):
    (api_component,) = default_run.of_type(f"{PROJECT}:infra:HttpApi")
    (permission,) = [r.inputs for r in default_run.children_of(api_component) if r.typ == PERMISSION]
    execution_arn = default_run.one(API).state["executionArn"]
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["function"] == f"{PROJECT}-dev"
    assert permission["sourceArn"] == f"{execution_arn}/*/*"
    assert execution_arn.startswith("arn:aws:execute-api:eu-west-1:123456789012:")
    assert permission["qualifier"] == "live"  # the API invokes the alias, never $LATEST


def test_the_api_url_is_the_https_endpoint_of_the_default_stage(default_run):
    api = default_run.one(API)
    assert default_run.outputs["apiUrl"] == api.state["apiEndpoint"]
    assert default_run.outputs["apiUrl"] == f"https://{api.id}.execute-api.eu-west-1.amazonaws.com"


def test_the_api_children_belong_to_the_component(default_run):
    (component,) = default_run.of_type(f"{PROJECT}:infra:HttpApi")
    children = {r.typ for r in default_run.children_of(component)}
    assert children == {API, INTEGRATION, ROUTE, STAGE, PERMISSION, "aws:cloudwatch/logGroup:LogGroup"}
