"""Lambda: image packaging pinned by digest, one architecture, active tracing, a log group, no open URL or
permission, plus the advisory on reserved concurrency."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import PROJECT, UNKNOWN, is_list, lookup, message, number

FUNCTION = "aws:lambda/function:Function"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

DIGEST_URI = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
ARCHITECTURES = ("arm64", "x86_64")
# arn:<partition>:execute-api:<region>:<account>:<api id>/<stage>/<method>/<path>
EXECUTE_API_ARN = re.compile(
    r"^arn:[^:]+:execute-api:(?P<region>[^:]*):(?P<account>[^:]*):(?P<api>[^/]*)(/.*)?$"
)
ACCOUNT_ID = re.compile(r"^\d{12}$")
# Variable names that announce a secret, and values shaped like well-known credentials.
SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE
)
SECRET_VALUE = re.compile(
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----|"
    r"\bgh[pousr]_[A-Za-z0-9]{36}\b|"
    r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"
)  # a URL with a password
# A reference to a secret, not a secret: the ARN of an SSM parameter or a Secrets Manager secret (what the
# config key secretEnvironment passes; infra/config.py).
SECRET_REFERENCE = re.compile(
    r"^arn:[a-z-]+:(?:ssm:[^:]+:[0-9]{12}:parameter/|"
    r"secretsmanager:[^:]+:[0-9]{12}:secret:)\S+$"
)


def _image_package(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FUNCTION:
        return
    package_type = lookup(args.props, "packageType")
    if package_type is not UNKNOWN and package_type != "Image":
        report(
            message(
                f"Lambda function {args.name!r} has package type {package_type or 'Zip (the default)'}",
                "deploy it as a container image: package_type='Image', image_uri=<repository>@sha256:<digest>",
            ),
            None,
        )


def _image_digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FUNCTION or lookup(args.props, "packageType") != "Image":
        return
    uri = lookup(args.props, "imageUri")
    if uri is UNKNOWN:
        return  # the image is built during the update; the update runs this policy with the digest known
    if not isinstance(uri, str) or not DIGEST_URI.match(uri):
        report(
            message(
                f"Lambda function {args.name!r} has image URI {uri!r}, which is not pinned by digest",
                "set image_uri to the pushed image's repo digest (<repository>@sha256:<64 hex>), never a tag",
            ),
            None,
        )


def _single_architecture(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FUNCTION:
        return
    architectures = lookup(args.props, "architectures")
    if architectures is UNKNOWN:
        return
    values = list(architectures) if is_list(architectures) else []
    if len(values) != 1 or values[0] not in ARCHITECTURES:
        report(
            message(
                f"Lambda function {args.name!r} has architectures {values}, not one of {list(ARCHITECTURES)}",
                f"pass architectures=[<the image's architecture>] (config key {PROJECT}:architecture)",
            ),
            None,
        )


def _active_tracing(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FUNCTION:
        return
    mode = lookup(args.props, "tracingConfig", "mode")
    if mode is not UNKNOWN and mode != "Active":
        report(
            message(
                f"Lambda function {args.name!r} has tracing mode {mode or 'PassThrough (the default)'}",
                f"pass tracing_config={{'mode': 'Active'}} (config key {PROJECT}:tracing true) and allow "
                "xray:PutTraceSegments and xray:PutTelemetryRecords to its role",
            ),
            None,
        )


def _no_secrets_in_environment(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FUNCTION:
        return
    variables = lookup(args.props, "environment", "variables")
    if not isinstance(variables, Mapping):
        return
    values = {name: str(lookup(variables, name) or "") for name in variables}
    suspicious = sorted(
        name
        for name, value in values.items()
        if not SECRET_REFERENCE.match(value) and (SECRET_NAME.search(name) or SECRET_VALUE.search(value))
    )
    if suspicious:
        report(
            message(
                f"Lambda function {args.name!r} has secret-looking environment variables {suspicious}: the "
                "environment is readable by anyone who can read the function's configuration or the stack",
                "keep the value in Secrets Manager or an SSM SecureString and pass its ARN with the config key "
                "secretEnvironment (the role may then read that one secret; docs/config.md)",
            ),
            None,
        )


def expected_log_group(function_props: Any) -> tuple[str | None, bool]:
    """The log group a function writes to (its logging config's group, else /aws/lambda/<name>), and whether
    that is certain. In a preview the provider's default for loggingConfig.logGroup is still unknown."""
    custom = lookup(function_props, "loggingConfig", "logGroup")
    if isinstance(custom, str) and custom:
        return custom, True
    name = lookup(function_props, "name")
    default = f"/aws/lambda/{name}" if isinstance(name, str) and name else None
    return default, custom is not UNKNOWN


def _log_group(args: StackValidationArgs, report: ReportViolation) -> None:
    groups = {lookup(r.props, "name"): r for r in args.resources if r.resource_type == LOG_GROUP}
    for function in (r for r in args.resources if r.resource_type == FUNCTION):
        wanted, certain = expected_log_group(function.props)
        if wanted is None:
            continue  # the name is computed during the update
        group = groups.get(wanted)
        if group is None and not certain:
            continue  # a custom log group may be configured; the update's analysis knows
        if group is None:
            report(
                message(
                    f"Lambda function {function.name!r} has no log group {wanted!r} in the stack, so Lambda "
                    "creates one that never expires",
                    f"declare aws.cloudwatch.LogGroup(name={wanted!r}, retention_in_days=...) and make the "
                    "function depend on it",
                ),
                function.urn,
            )
            continue
        retention = lookup(group.props, "retentionInDays")
        if retention is not UNKNOWN and not (number(retention) or 0) > 0:
            report(
                message(
                    f"log group {wanted!r} of Lambda function {function.name!r} keeps logs forever",
                    f"set retention_in_days (config key {PROJECT}:logRetentionDays)",
                ),
                group.urn,
            )


def _function_url_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FUNCTION_URL:
        return
    auth = lookup(args.props, "authorizationType")
    if auth is not UNKNOWN and auth != "AWS_IAM":
        report(
            message(
                f"Lambda function URL {args.name!r} has authorization type {auth}: anyone on the internet can "
                "invoke the function",
                "use authorization_type='AWS_IAM', or serve the function through the HTTP API instead",
            ),
            None,
        )


def _source_arn_problem(source_arn: str, source_account: Any) -> str | None:
    if source_arn.strip() == "*":
        return 'its source ARN is the bare "*"'
    match = EXECUTE_API_ARN.match(source_arn)
    if match:
        account = match.group("account") or (source_account if isinstance(source_account, str) else "")
        account_known = ACCOUNT_ID.match(account)
        if not account_known:
            return f"its source ARN {source_arn!r} does not name the account"
        if not match.group("api") or "*" in match.group("api") or "?" in match.group("api"):
            return f"its source ARN {source_arn!r} does not name the API"
    return None


def _permission_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != PERMISSION:
        return
    principal = lookup(args.props, "principal")
    if principal is UNKNOWN:
        return
    if not isinstance(principal, str) or principal.strip() == "*" or "*" in principal:
        report(
            message(
                f"Lambda permission {args.name!r} grants invoke to principal {principal!r}",
                "name one service principal (e.g. apigateway.amazonaws.com) with a source_arn, or one account",
            ),
            None,
        )
        return
    if not principal.endswith(".amazonaws.com"):
        return  # an account or role: a specific principal
    source_arn = lookup(args.props, "sourceArn")
    source_account = lookup(args.props, "sourceAccount")
    if source_arn is UNKNOWN or source_account is UNKNOWN:
        return
    if not source_arn and not source_account:
        report(
            message(
                f"Lambda permission {args.name!r} lets {principal} invoke the function on behalf of any account",
                "set source_arn to the calling resource (for an HTTP API: <api>.execution_arn + '/*/*'), or "
                "source_account",
            ),
            None,
        )
        return
    problem = _source_arn_problem(source_arn, source_account) if isinstance(source_arn, str) else None
    if source_arn and problem:
        report(
            message(
                f"Lambda permission {args.name!r} for {principal}: {problem}",
                "scope source_arn to this API: <api>.execution_arn + '/*/*'",
            ),
            None,
        )


def _reserved_concurrency(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FUNCTION:
        return
    reserved = lookup(args.props, "reservedConcurrentExecutions")
    count = number(reserved)
    if reserved is not UNKNOWN and (count is None or count < 0):
        report(
            message(
                f"Lambda function {args.name!r} has no reserved concurrency: a burst can take the account's "
                "whole concurrency (and its bill) and starve other functions",
                f"set the config key {PROJECT}:reservedConcurrency (reserved_concurrent_executions)",
            ),
            None,
        )


lambda_image_package = ResourceValidationPolicy(
    name="lambda-image-package",
    description="Lambda functions are packaged as container images.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_image_package,
)
lambda_image_digest = ResourceValidationPolicy(
    name="lambda-image-digest",
    description="Lambda image URIs are pinned by `@sha256:` digest.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_image_digest,
)
lambda_single_architecture = ResourceValidationPolicy(
    name="lambda-single-architecture",
    description="Lambda functions declare exactly one architecture, `arm64` or `x86_64`.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_single_architecture,
)
lambda_active_tracing = ResourceValidationPolicy(
    name="lambda-active-tracing",
    description="Lambda functions have X-Ray tracing mode `Active`.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_active_tracing,
)
lambda_log_group = StackValidationPolicy(
    name="lambda-log-group",
    description="Every Lambda function has its log group in the stack, with retention.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_log_group,
)
lambda_function_url_auth = ResourceValidationPolicy(
    name="lambda-function-url-auth",
    description="No Lambda function URL has authorization type `NONE`.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_function_url_auth,
)
lambda_permission_scoped = ResourceValidationPolicy(
    name="lambda-permission-scoped",
    description="No Lambda permission grants principal `*`; a service principal comes with a source ARN naming the account and API, or a source account.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_permission_scoped,
)
lambda_no_secrets_in_environment = ResourceValidationPolicy(
    name="lambda-no-secrets-in-environment",
    description="Lambda environment variables hold no secret (by name, or by a value shaped like an AWS key, a private key or a GitHub token).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_no_secrets_in_environment,
)
lambda_reserved_concurrency = ResourceValidationPolicy(
    name="lambda-reserved-concurrency",
    description="Lambda functions have reserved concurrency.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_reserved_concurrency,
)

POLICIES = [
    lambda_image_package,
    lambda_image_digest,
    lambda_single_architecture,
    lambda_active_tracing,
    lambda_log_group,
    lambda_function_url_auth,
    lambda_permission_scoped,
    lambda_no_secrets_in_environment,
]
ADVISORY = [lambda_reserved_concurrency]
