"""The standard tags every taggable resource of the project carries."""

from __future__ import annotations

from infra.project import PROJECT  # the one place: the `name` of Pulumi.yaml

ENVIRONMENT_CLASS_TAG = "EnvironmentClass"  # read by the policy pack (policy/guardrails/common.py)


def standard_tags(stack: str, environment_class: str | None = None) -> dict[str, str]:
    """Project, Stack and ManagedBy tags, and EnvironmentClass (`production` | `non-production`, the stack's
    `environmentClass` config) when given. Set explicitly in `tags=` of each taggable resource."""
    tags = {"Project": PROJECT, "Stack": stack, "ManagedBy": "pulumi"}
    if environment_class is not None:
        tags[ENVIRONMENT_CLASS_TAG] = environment_class
    return tags
