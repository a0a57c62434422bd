"""API Gateway v2 (HTTP APIs): stages log access and throttle by default; no `*` CORS origin in production;
custom domains negotiate TLS 1.2 at least."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .common import (
    ENVIRONMENT_CLASS_SCHEMA,
    PROJECT,
    UNKNOWN,
    as_list,
    is_production,
    lookup,
    message,
    number,
    stack_of,
)

STAGE = "aws:apigatewayv2/stage:Stage"
API = "aws:apigatewayv2/api:Api"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
DOMAIN_NAME = "aws:apigatewayv2/domainName:DomainName"
# A custom domain's TLS floor: "TLS_1_2" (API Gateway v2 DomainNameConfiguration.SecurityPolicy, "Valid
# Values: TLS_1_0 | TLS_1_2"; pulumi-aws 7.x documents TLS_1_2 for HTTP APIs). TLS 1.0 is refused.
DOMAIN_SECURITY_POLICIES = ("TLS_1_2",)


def _access_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != STAGE:
        return
    destination = lookup(args.props, "accessLogSettings", "destinationArn")
    log_format = lookup(args.props, "accessLogSettings", "format")
    missing = [
        name
        for name, value in (("destination_arn", destination), ("format", log_format))
        if value is not UNKNOWN and not value
    ]
    if missing:
        report(
            message(
                f"HTTP API stage {args.name!r} has no access logging ({', '.join(missing)} missing)",
                "pass access_log_settings={'destination_arn': <log group ARN>, 'format': <JSON format>} to "
                "aws.apigatewayv2.Stage",
            ),
            None,
        )


def _default_throttling(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != STAGE:
        return
    limits = (("throttlingRateLimit", "throttleRateLimit"), ("throttlingBurstLimit", "throttleBurstLimit"))
    bad = {}
    for key, config_key in limits:
        value = lookup(args.props, "defaultRouteSettings", key)
        positive = (number(value) or 0) > 0
        if value is not UNKNOWN and not positive:
            bad[key] = (value, config_key)
    if bad:
        found = ", ".join(f"{key} {value!r}" for key, (value, _) in bad.items())
        keys = ", ".join(f"{PROJECT}:{config_key}" for _, config_key in bad.values())
        report(
            message(
                f"HTTP API stage {args.name!r} has default route {found}, so one client can exhaust the "
                "function's concurrency",
                f"set positive limits in default_route_settings (config keys {keys})",
            ),
            None,
        )


def _cors_origins(args: ResourceValidationArgs) -> Any:
    if args.resource_type == API:
        return lookup(args.props, "corsConfiguration", "allowOrigins")
    if args.resource_type == FUNCTION_URL:
        return lookup(args.props, "cors", "allowOrigins")
    return None


def _cors_not_wildcard(args: ResourceValidationArgs, report: ReportViolation) -> None:
    origins = _cors_origins(args)
    if origins is None or origins is UNKNOWN or not is_production(args.props, args.urn, args.get_config()):
        return
    if any(isinstance(origin, str) and origin.strip() == "*" for origin in as_list(origins)):
        report(
            message(
                f'{args.resource_type.split(":")[-1]} {args.name!r} allows CORS from any origin ("*") on the '
                f"production stack {stack_of(args.props, args.urn)!r}",
                f"list the exact origins in the stack's config key {PROJECT}:corsAllowOrigins",
            ),
            None,
        )


def _domain_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DOMAIN_NAME:
        return
    policy = lookup(args.props, "domainNameConfiguration", "securityPolicy")
    if policy is UNKNOWN or policy in DOMAIN_SECURITY_POLICIES:
        return
    report(
        message(
            f"API Gateway custom domain {args.name!r} has the security policy {policy!r}: clients may "
            "negotiate TLS below 1.2",
            "pass domain_name_configuration={'security_policy': 'TLS_1_2', ...} (infra/http_api.py)",
        ),
        None,
    )


apigw_stage_access_logging = ResourceValidationPolicy(
    name="apigw-stage-access-logging",
    description="HTTP API stages write access logs.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_access_logging,
)
apigw_stage_default_throttling = ResourceValidationPolicy(
    name="apigw-stage-default-throttling",
    description="HTTP API stages have positive default rate and burst limits.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_default_throttling,
)
cors_no_wildcard_in_production = ResourceValidationPolicy(
    name="cors-no-wildcard-in-production",
    description="HTTP APIs and function URLs of production stacks allow no CORS origin `*`.",
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties=ENVIRONMENT_CLASS_SCHEMA),
    validate=_cors_not_wildcard,
)

apigw_domain_tls_1_2 = ResourceValidationPolicy(
    name="apigw-domain-tls-1-2",
    description="HTTP API custom domains accept TLS 1.2 or newer only (security policy `TLS_1_2`).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_domain_tls,
)

POLICIES = [
    apigw_stage_access_logging,
    apigw_stage_default_throttling,
    cors_no_wildcard_in_production,
    apigw_domain_tls_1_2,
]
