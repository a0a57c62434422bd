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


# --- JWT authorizer and custom domain -----------------------------------------------------------------------

AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
DOMAIN = "aws:apigatewayv2/domainName:DomainName"
MAPPING = "aws:apigatewayv2/apiMapping:ApiMapping"
RECORD = "aws:route53/record:Record"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"
JWT = {"jwtIssuer": "https://issuer.example.com/pool", "jwtAudiences": ["client-a", "client-b"]}


def public_event(tmp_path, monkeypatch, routes: dict[str, tuple[str, str]]) -> None:
    """function/ with one event per route key ({file: (method, path)}), each marked "auth": false."""
    import infra.config

    events = tmp_path / "function" / "events"
    events.mkdir(parents=True)
    expected = {}
    for file, (method, path) in routes.items():
        event = {
            "version": "2.0",
            "rawPath": path,
            "rawQueryString": "a=1",
            "requestContext": {"http": {"method": method, "path": path}},
        }
        (events / file).write_text(json.dumps(event), encoding="utf-8")
        expected[file] = {"status": 200, "auth": False}
    (events / "private.json").write_text(
        json.dumps({"version": "2.0", "rawPath": "/orders", "requestContext": {"http": {"method": "POST"}}}),
        encoding="utf-8",
    )
    expected["private.json"] = 201
    (events / "expected-status.json").write_text(json.dumps(expected), encoding="utf-8")
    for name in ("Dockerfile", ".dockerignore"):
        source = infra.config.ROOT / "function" / name
        if source.exists():
            (tmp_path / "function" / name).write_bytes(source.read_bytes())
    monkeypatch.setattr(infra.config, "ROOT", tmp_path)


def test_without_an_issuer_there_is_no_authorizer_and_the_route_is_open(default_run):
    assert default_run.of_type(AUTHORIZER) == []
    assert default_run.one(ROUTE).inputs["authorizationType"] == "NONE"
    assert default_run.outputs["jwtIssuer"] == ""


def test_an_issuer_puts_a_jwt_authorizer_on_the_default_route():
    run = run_stack(JWT)
    authorizer = run.one(AUTHORIZER)
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {
        "issuer": "https://issuer.example.com/pool",
        "audiences": ["client-a", "client-b"],
    }
    assert authorizer.inputs["apiId"] == run.outputs["apiId"]
    (route,) = [r for r in run.of_type(ROUTE) if r.inputs["routeKey"] == "$default"]
    assert route.inputs["authorizationType"] == "JWT" and route.inputs["authorizerId"] == authorizer.id
    assert run.outputs["jwtIssuer"] == "https://issuer.example.com/pool"


def test_events_marked_public_get_their_own_routes_without_authorization(tmp_path, monkeypatch):
    public_event(tmp_path, monkeypatch, {"health.json": ("GET", "/health"), "head.json": ("HEAD", "/health")})
    run = run_stack(JWT)
    routes = {r.inputs["routeKey"]: r.inputs for r in run.of_type(ROUTE)}
    assert set(routes) == {"$default", "GET /health", "HEAD /health"}  # the query is not part of a route key
    for key in ("GET /health", "HEAD /health"):
        assert routes[key]["authorizationType"] == "NONE" and "authorizerId" not in routes[key]
        assert routes[key]["target"] == routes["$default"]["target"]
    stage = run.one(STAGE)
    assert {r.urn for r in run.of_type(ROUTE)} <= set(stage.depends_on)


def test_without_an_issuer_public_events_add_no_routes(tmp_path, monkeypatch):
    public_event(tmp_path, monkeypatch, {"health.json": ("GET", "/health")})
    assert [r.inputs["routeKey"] for r in run_stack().of_type(ROUTE)] == ["$default"]


def test_without_a_custom_domain_the_url_is_the_apis(default_run):
    assert default_run.of_type(DOMAIN) == [] and default_run.of_type(MAPPING) == []
    assert default_run.outputs["url"] == default_run.outputs["apiUrl"]
    assert default_run.outputs["domainTarget"] == default_run.outputs["domainHostedZoneId"] == ""


def test_a_custom_domain_is_regional_tls_1_2_and_mapped_to_the_stage():
    run = run_stack({"customDomain": "api.example.com", "certificateArn": CERT})
    domain = run.one(DOMAIN)
    assert domain.inputs["domainName"] == "api.example.com"
    assert domain.inputs["domainNameConfiguration"] == {
        "certificateArn": CERT,
        "endpointType": "REGIONAL",
        "securityPolicy": "TLS_1_2",
    }
    mapping = run.one(MAPPING).inputs
    assert mapping["apiId"] == run.outputs["apiId"] and mapping["domainName"] == domain.id
    assert mapping["stage"] == run.one(STAGE).id
    configuration = domain.state["domainNameConfiguration"]
    assert run.outputs["domainTarget"] == configuration["targetDomainName"]
    assert run.outputs["domainHostedZoneId"] == configuration["hostedZoneId"]
    assert run.outputs["url"] == "https://api.example.com"
    assert run.of_type(RECORD) == []  # no hosted zone: the outputs say what record to create


def test_a_hosted_zone_gets_the_alias_record_to_the_regional_domain():
    run = run_stack({"customDomain": "api.example.com", "certificateArn": CERT, "hostedZoneId": "Z0123ABC"})
    record = run.one(RECORD).inputs
    assert (record["zoneId"], record["name"], record["type"]) == ("Z0123ABC", "api.example.com", "A")
    assert record["aliases"] == [
        {
            "name": run.outputs["domainTarget"],
            "zoneId": run.outputs["domainHostedZoneId"],
            "evaluateTargetHealth": False,
        }
    ]
