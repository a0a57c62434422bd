"""The standard tags every taggable resource of the project carries."""

from __future__ import annotations

from infra.project import PROJECT  # the one place: the `name` of Pulumi.yaml


def standard_tags(stack: str) -> dict[str, str]:
    """Project, Stack and ManagedBy tags (set explicitly in `tags=` of each taggable resource)."""
    return {"Project": PROJECT, "Stack": stack, "ManagedBy": "pulumi"}
