"""The HTTP API component: API Gateway v2 HTTP API in front of the function (Lambda proxy, payload 2.0)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.logs import retained_log_group
from infra.project import PROJECT

HTTP_API_MAX_TIMEOUT_MS = 30_000  # an HTTP API integration waits at most 30 s
CORS_METHODS = ["GET", "OPTIONS", "POST"]
CORS_HEADERS = ["content-type"]
CORS_MAX_AGE = 300

# One JSON object per request in the access log group ($context variables of HTTP APIs).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "httpMethod": "$context.httpMethod",
        "path": "$context.path",
        "routeKey": "$context.routeKey",
        "protocol": "$context.protocol",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "userAgent": "$context.identity.userAgent",
    },
    sort_keys=True,
)


def integration_timeout_ms(function_timeout_s: int) -> int:
    return min(function_timeout_s * 1000, HTTP_API_MAX_TIMEOUT_MS)


@dataclass(frozen=True)
class HttpApiArgs:
    name: str
    function_name: pulumi.Input[str]
    invoke_arn: pulumi.Input[str]  # of the alias when there is one
    qualifier: pulumi.Input[str] | None  # the alias the permission is for
    function_timeout: int
    log_retention_days: int
    throttle_rate_limit: int
    throttle_burst_limit: int
    tags: Mapping[str, str]
    cors_allow_origins: tuple[str, ...] = ()


def cors_configuration(origins: Sequence[str]) -> aws.apigatewayv2.ApiCorsConfigurationArgs | None:
    """The API's CORS configuration for `origins` (none without origins)."""
    if not origins:
        return None
    return aws.apigatewayv2.ApiCorsConfigurationArgs(
        allow_origins=list(origins),
        allow_methods=CORS_METHODS,
        allow_headers=CORS_HEADERS,
        max_age=CORS_MAX_AGE,
    )


class HttpApi(pulumi.ComponentResource):
    """HTTP API, `$default` route to the function, `$default` stage with access logs and throttling."""

    api_id: pulumi.Output[str]
    api_url: pulumi.Output[str]

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PROJECT}:infra:HttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.api = aws.apigatewayv2.Api(
            f"{name}-api",
            name=args.name,
            protocol_type="HTTP",
            description=f"HTTP API of the Lambda function {args.name}",
            cors_configuration=cors_configuration(args.cors_allow_origins),
            tags=tags,
            opts=child,
        )
        self.log_group = retained_log_group(
            f"{name}-access-logs", f"/aws/apigateway/{args.name}", args.log_retention_days, tags, self
        )
        self.integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=args.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=integration_timeout_ms(args.function_timeout),
            opts=child,
        )
        self.route = aws.apigatewayv2.Route(
            f"{name}-default-route",
            api_id=self.api.id,
            route_key="$default",
            target=self.integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
            opts=child,
        )
        self._stage(name, args)
        # Only this API (any stage, method and route of it) may invoke the function.
        self.permission = aws.lambda_.Permission(
            f"{name}-invoke-permission",
            action="lambda:InvokeFunction",
            function=args.function_name,
            qualifier=args.qualifier,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=child,
        )
        self.api_id = self.api.id
        self.api_url = self.api.api_endpoint
        self.register_outputs({"apiId": self.api_id, "apiUrl": self.api_url})

    def _stage(self, name: str, args: HttpApiArgs) -> None:
        """The `$default` stage: deployed on every change, access logs to the API's log group, throttled."""
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-default-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.log_group.arn,
                format=ACCESS_LOG_FORMAT,
            ),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=args.throttle_rate_limit,
                throttling_burst_limit=args.throttle_burst_limit,
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.route]),
        )
