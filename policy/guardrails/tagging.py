"""Standard tags on every taggable resource: Project=container-lambda, Stack=<stack>, ManagedBy=pulumi."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .common import UNKNOWN, lookup, message, stack_from_urn

DEFAULT_TAGS = {"Project": "container-lambda", "ManagedBy": "pulumi"}
# AWS resource types that take `tags`, among those this project and its bootstrap use or may use
# (tests check each against the pulumi-aws SDK, and that every taggable type the stacks register is here).
TAGGABLE_TYPES = frozenset(
    {
        "aws:apigatewayv2/api:Api",
        "aws:apigatewayv2/domainName:DomainName",
        "aws:apigatewayv2/stage:Stage",
        "aws:apigatewayv2/vpcLink:VpcLink",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:codedeploy/application:Application",
        "aws:codedeploy/deploymentGroup:DeploymentGroup",
        "aws:ecr/repository:Repository",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/policy:Policy",
        "aws:iam/role:Role",
        "aws:iam/user:User",
        "aws:kms/key:Key",
        "aws:s3/bucketObjectv2:BucketObjectv2",
        "aws:lambda/codeSigningConfig:CodeSigningConfig",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "aws:lambda/function:Function",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:sns/topic:Topic",
        "aws:sqs/queue:Queue",
    }
)


def _standard_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in TAGGABLE_TYPES:
        return
    tags = lookup(args.props, "tags")
    if tags is UNKNOWN:
        return
    required = dict(DEFAULT_TAGS)
    configured = (args.get_config() or {}).get("requiredTags")
    if configured:
        required = {str(key): str(value) for key, value in configured.items()}
    stack = stack_from_urn(args.urn)
    if stack:
        required["Stack"] = stack
    wrong = {}
    for key, expected in required.items():
        actual = lookup(tags, key)
        if actual is not UNKNOWN and actual != expected:
            wrong[key] = actual
    if wrong:
        found = ", ".join(f"{key}={value!r}" for key, value in wrong.items())
        report(
            message(
                f"{args.resource_type.split(':')[-1]} {args.name!r} lacks the standard tags (found {found})",
                "pass tags=standard_tags(stack) (infra/tags.py): "
                + ", ".join(f"{key}={value}" for key, value in required.items()),
            ),
            None,
        )


standard_tags = ResourceValidationPolicy(
    name="standard-tags",
    description="Every taggable resource carries Project, Stack (the stack's name) and ManagedBy tags.",
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "requiredTags": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "default": DEFAULT_TAGS,
                "description": "Tags every taggable resource carries, besides Stack=<stack>.",
            },
        }
    ),
    validate=_standard_tags,
)

POLICIES = [standard_tags]
