"""The HTTP API component: API Gateway v2 HTTP API in front of the function (Lambda proxy, payload 2.0)."""

from __future__ import annotations

import hashlib
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


# A JWT authorizer reads the token from the Authorization header ("Bearer <token>" or the bare token) and checks
# its signature against the issuer's keys, its `iss`, its `aud` (or `client_id`) against the audiences, and
# its expiry (API Gateway Developer Guide, "Control access to HTTP APIs with JWT authorizers"; identity source
# `$request.header.Authorization`, as the pulumi-aws Authorizer example and the AWS CDK's HttpJwtAuthorizer
# default).
JWT_IDENTITY_SOURCE = "$request.header.Authorization"
# A Regional custom domain with the TLS 1.2 security policy (API Gateway v2 DomainNameConfiguration:
# EndpointType REGIONAL, SecurityPolicy TLS_1_2; the only values pulumi-aws 7.x documents for HTTP APIs).
DOMAIN_ENDPOINT_TYPE = "REGIONAL"
DOMAIN_SECURITY_POLICY = "TLS_1_2"


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
    # a Regional custom domain (with its certificate, and the Route 53 zone of its alias record when given)
    custom_domain: str | None = None
    certificate_arn: str | None = None
    hosted_zone_id: str | None = None
    # a JWT authorizer required by every route but `public_routes` ("GET /health": infra/function_contract.py)
    jwt_issuer: str | None = None
    jwt_audiences: tuple[str, ...] = ()
    public_routes: Sequence[str] = ()


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
    """HTTP API, `$default` route to the function, `$default` stage with access logs and throttling; with a
    JWT issuer, an authorizer every route requires but the public ones; with a custom domain, the Regional
    domain name mapped to the stage (and its Route 53 alias record when a hosted zone is given)."""

    api_id: pulumi.Output[str]
    api_url: pulumi.Output[str]
    url: pulumi.Output[str]  # the custom domain's https URL when there is one, else api_url
    domain_target: pulumi.Output[str]  # the Regional domain name DNS must point customDomain to ("" without)
    domain_hosted_zone_id: pulumi.Output[
        str
    ]  # the hosted zone of that target, for an alias record ("" without)

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
        target = self.integration.id.apply(lambda integration_id: f"integrations/{integration_id}")
        self._authorizer(name, args)
        self._routes(name, args, target)
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
        self.domain: aws.apigatewayv2.DomainName | None = None
        self.mapping: aws.apigatewayv2.ApiMapping | None = None
        self.record: aws.route53.Record | None = None
        self.api_id = self.api.id
        self.api_url = self.api.api_endpoint
        self.url = self.api_url
        self.domain_target = pulumi.Output.from_input("")
        self.domain_hosted_zone_id = pulumi.Output.from_input("")
        if args.custom_domain and args.certificate_arn:
            self._custom_domain(name, args, args.custom_domain, args.certificate_arn, dict(args.tags))
        self.register_outputs({"apiId": self.api_id, "apiUrl": self.api_url, "url": self.url})

    def _custom_domain(
        self, name: str, args: HttpApiArgs, domain_name: str, certificate_arn: str, tags: dict[str, str]
    ) -> None:
        """The Regional custom domain (API Gateway Developer Guide, "Set up a Regional custom domain name in API
        Gateway": a certificate of the API's Region, then "a DNS record to point the custom domain name to the
        Regional domain", an A alias record with Route 53), mapped to the `$default` stage."""
        child = pulumi.ResourceOptions(parent=self)
        domain = self.domain = aws.apigatewayv2.DomainName(
            f"{name}-domain",
            domain_name=domain_name,
            domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                certificate_arn=certificate_arn,
                endpoint_type=DOMAIN_ENDPOINT_TYPE,
                security_policy=DOMAIN_SECURITY_POLICY,
            ),
            tags=tags,
            opts=child,
        )
        mapping = self.mapping = aws.apigatewayv2.ApiMapping(
            f"{name}-domain-mapping",
            api_id=self.api.id,
            domain_name=domain.id,
            stage=self.stage.id,
            opts=child,
        )
        configuration = domain.domain_name_configuration
        self.domain_target = configuration.apply(lambda c: c.target_domain_name or "")
        self.domain_hosted_zone_id = configuration.apply(lambda c: c.hosted_zone_id or "")
        if args.hosted_zone_id:
            self.record = aws.route53.Record(
                f"{name}-domain-record",
                zone_id=args.hosted_zone_id,
                name=domain_name,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=self.domain_target,
                        zone_id=self.domain_hosted_zone_id,
                        evaluate_target_health=False,
                    )
                ],
                opts=child,
            )
        # the URL once the mapping exists (a request before it answers 404)
        self.url = mapping.id.apply(lambda _: f"https://{domain_name}")

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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.route, *self.public_routes]),
        )

    def _authorizer(self, name: str, args: HttpApiArgs) -> None:
        """The JWT authorizer of `jwt_issuer` (none without one)."""
        child = pulumi.ResourceOptions(parent=self)
        self.authorizer = None
        if args.jwt_issuer:
            self.authorizer = aws.apigatewayv2.Authorizer(
                f"{name}-jwt-authorizer",
                api_id=self.api.id,
                name=f"{args.name}-jwt",
                authorizer_type="JWT",
                identity_sources=[JWT_IDENTITY_SOURCE],
                jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                    issuer=args.jwt_issuer, audiences=list(args.jwt_audiences)
                ),
                opts=child,
            )

    def _routes(self, name: str, args: HttpApiArgs, target: pulumi.Input[str]) -> None:
        """The `$default` route to the function (behind the authorizer when there is one), and the public
        routes that take their requests without a token."""
        child = pulumi.ResourceOptions(parent=self)
        self.route = aws.apigatewayv2.Route(
            f"{name}-default-route",
            api_id=self.api.id,
            route_key="$default",
            target=target,
            authorization_type="JWT" if self.authorizer else "NONE",
            authorizer_id=self.authorizer.id if self.authorizer else None,
            opts=child,
        )
        # The routes the function contract marks public ("auth": false) reach the function without a token;
        # a route more specific than `$default` takes their requests. Logical names from the route key, so
        # reordering the events replaces nothing.
        self.public_routes = [
            aws.apigatewayv2.Route(
                f"{name}-public-route-{hashlib.sha256(key.encode()).hexdigest()[:8]}",
                api_id=self.api.id,
                route_key=key,
                target=target,
                authorization_type="NONE",
                opts=child,
            )
            for key in (args.public_routes if self.authorizer else ())
        ]
