"""The stack outputs contract: stable names other stacks read with `pulumi.StackReference`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

# name -> what it is (the README's outputs table lists exactly these)
OUTPUTS: Mapping[str, str] = {
    "apiUrl": "https URL of the HTTP API's `$default` stage (no trailing slash)",
    "url": "https URL clients use: `https://<customDomain>` when customDomain is set, else apiUrl",
    "domainTarget": "Regional domain name of customDomain: the target of its DNS record (CNAME, or alias A "
    "with domainHostedZoneId); empty without customDomain",
    "domainHostedZoneId": "Route 53 hosted zone ID of domainTarget, for an alias record; empty without "
    "customDomain",
    "jwtIssuer": "issuer of the tokens every route but the public ones requires (config jwtIssuer); empty "
    "without authorizer",
    "apiId": "ID of the HTTP API",
    "functionName": "name of the Lambda function",
    "functionArn": "ARN of the Lambda function (unqualified)",
    "invokeArn": "invoke ARN the API integrates with: the alias `live`'s",
    "imageUri": "image the function runs: `<repositoryUrl>@sha256:<digest>`",
    "repositoryUrl": "URL of the ECR repository",
    "repositoryName": "name of the ECR repository",
    "roleArn": "ARN of the function's execution role",
    "logGroupName": "log group of the function (`/aws/lambda/<function>`)",
    "alarmTopicArn": "ARN of the SNS topic the stack's alarms notify (subscribe to it for alerts)",
    "dashboardUrl": "CloudWatch console URL of the stack's dashboard",
}


def export_outputs(values: Mapping[str, pulumi.Input[Any]]) -> None:
    """Export exactly the contract's outputs; anything missing or extra is a programming error."""
    missing, extra = set(OUTPUTS) - set(values), set(values) - set(OUTPUTS)
    if missing or extra:
        raise ValueError(
            f"stack outputs differ from the contract: missing {sorted(missing)}, extra {sorted(extra)}"
        )
    for name in OUTPUTS:
        pulumi.export(name, values[name])
