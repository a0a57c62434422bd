"""CloudWatch Logs retention, and the advisories on production retention and customer-managed KMS keys."""

from __future__ import annotations

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

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
REPOSITORY = "aws:ecr/repository:Repository"
PRODUCTION_MINIMUM_DAYS = 365


def _retention_set(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP:
        return
    retention = lookup(args.props, "retentionInDays")
    if retention is not UNKNOWN and not (number(retention) or 0) > 0:
        report(
            message(
                f"log group {args.name!r} keeps its logs forever (no retention_in_days)",
                f"set retention_in_days (config key {PROJECT}:logRetentionDays)",
            ),
            None,
        )


def _production_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP or not is_production(args.props, args.urn, args.get_config()):
        return
    minimum = (args.get_config() or {}).get("minimumRetentionDays", PRODUCTION_MINIMUM_DAYS)
    retention = number(lookup(args.props, "retentionInDays"))
    if retention is not None and 0 < retention < minimum:
        report(
            message(
                f"log group {args.name!r} of the production stack {stack_of(args.props, args.urn)!r} keeps logs "
                f"{retention:g} days, under {minimum:g}",
                f"set the stack's config key {PROJECT}:logRetentionDays to {minimum} or more",
            ),
            None,
        )


def _customer_managed_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == LOG_GROUP:
        key = lookup(args.props, "kmsKeyId")
        if key is not UNKNOWN and not key:
            report(
                message(
                    f"log group {args.name!r} is encrypted with a key CloudWatch Logs owns, not one you control",
                    "pass kms_key_id=<customer-managed KMS key ARN> (its key policy must allow CloudWatch Logs)",
                ),
                None,
            )
    elif args.resource_type == REPOSITORY:
        configurations = lookup(args.props, "encryptionConfigurations")
        if configurations is UNKNOWN:
            return
        if not any(
            lookup(config, "encryptionType") == "KMS" and lookup(config, "kmsKey")
            for config in as_list(configurations)
        ):
            report(
                message(
                    f"ECR repository {args.name!r} is not encrypted with a customer-managed KMS key",
                    f"set the config key {PROJECT}:kmsKeyArn (encryption_configurations="
                    "[{'encryption_type': 'KMS', 'kms_key': <key ARN>}])",
                ),
                None,
            )


log_group_retention = ResourceValidationPolicy(
    name="log-group-retention",
    description="Every CloudWatch log group has a retention period.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_retention_set,
)
log_retention_production = ResourceValidationPolicy(
    name="log-retention-production",
    description="Log groups of production stacks keep logs at least 365 days.",
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(
        properties=ENVIRONMENT_CLASS_SCHEMA
        | {
            "minimumRetentionDays": {
                "type": "integer",
                "minimum": 1,
                "default": PRODUCTION_MINIMUM_DAYS,
                "description": "The least retention, in days, of a production log group.",
            },
        }
    ),
    validate=_production_retention,
)
kms_customer_managed_key = ResourceValidationPolicy(
    name="kms-customer-managed-key",
    description="ECR repositories and log groups are encrypted with a customer-managed KMS key.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_customer_managed_key,
)

POLICIES = [log_group_retention]
ADVISORY = [log_retention_production, kms_customer_managed_key]
