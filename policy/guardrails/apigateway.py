"""API Gateway v2 (HTTP APIs): stages log access and throttle by default; no `*` CORS origin in production."""

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

POLICIES = [apigw_stage_access_logging, apigw_stage_default_throttling, cors_no_wildcard_in_production]
