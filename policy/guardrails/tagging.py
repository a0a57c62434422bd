"""Standard tags on every taggable resource: Project=<project>, Stack=<stack>, ManagedBy=pulumi."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

import infra.catalogue as catalogue

from .common import PROJECT, UNKNOWN, lookup, message, stack_from_urn

DEFAULT_TAGS = {"Project": PROJECT, "ManagedBy": "pulumi"}  # infra/tags.py sets the same
# The AWS resource types the stacks and the bootstrap manage that take `tags`: the resource catalogue's
# (infra/catalogue.py; tests check each against the pulumi-aws SDK).
TAGGABLE_TYPES = catalogue.TAGGABLE_TYPES


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
