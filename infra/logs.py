"""Log groups of the stack: each created by the program (never implicitly by a service), with retention."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def retained_log_group(
    resource_name: str, group_name: str, retention_days: int, tags: Mapping[str, str], parent: pulumi.Resource
) -> aws.cloudwatch.LogGroup:
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=group_name,
        retention_in_days=retention_days,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
