"""IAM: no wildcard inside any action name, no service-wide resource, `*` resources only for actions AWS
authorizes against `*` alone, no administrator-like managed policies, trust policies with specific
principals, exact GitHub OIDC trust (docs/guardrails.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

# the rules of the function's declared permissions, shared with the program (standard library only)
import infra.catalogue as catalogue
import infra.function_permissions as function_permissions

from .common import (
    UNKNOWN,
    PolicyDocumentError,
    admin_like_problem,
    allows,
    as_list,
    has_wildcard,
    is_list,
    label,
    lookup,
    message,
    parse_document,
    principals,
    stack_from_urn,
    statements,
)

ROLE = "aws:iam/role:Role"
# Identity policies: the resource types and the property that holds the JSON document.
PERMISSION_DOCUMENTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
# Resource policies: no wildcard action in their Allow statements either.
RESOURCE_POLICY_DOCUMENTS = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
}
# Managed policy attachments: the resource types and the property that holds the ARN (or ARNs).
ATTACHMENTS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    ROLE: "managedPolicyArns",
}

# Actions the Service Authorization Reference lists with no resource type, so a statement can only grant
# them on "*" (tests check this list against parliament's copy of the reference): X-Ray's, which an actively
# traced function needs, and those of the resource catalogue (infra/catalogue.py, REGION: the pipeline's and
# what Lambda does with a VPC function's execution role).
RESOURCE_STAR_ACTIONS = frozenset(
    action.lower()
    for action in (
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
        *catalogue.region_only(),
    )
)

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?$")
# An AWS principal that is a whole account: its 12-digit ID or its root ARN (every principal of the account
# that an identity policy allows could assume the role).
WHOLE_ACCOUNT = re.compile(r"^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$")


def permission_documents(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    """(what, raw document) of every identity policy a resource carries."""
    if args.resource_type in PERMISSION_DOCUMENTS:
        yield "policy", lookup(args.props, PERMISSION_DOCUMENTS[args.resource_type])
    elif args.resource_type == ROLE:
        inline = lookup(args.props, "inlinePolicies")
        for index, policy in enumerate(inline if is_list(inline) else []):
            name = lookup(policy, "name")
            yield f"inline policy {name if isinstance(name, str) else index!r}", lookup(policy, "policy")


def _documents(
    args: ResourceValidationArgs, report: ReportViolation, raw: Iterator[tuple[str, Any]]
) -> Iterator[tuple[str, dict[str, Any]]]:
    for what, value in raw:
        try:
            document = parse_document(value)
        except PolicyDocumentError as error:
            report(
                message(
                    f"{args.resource_type.split(':')[-1]} {args.name!r}: {what}: {error}",
                    "pass a JSON document with a Statement list",
                ),
                None,
            )
            continue
        if document is not None:
            yield what, document


def wildcard_action(action: str) -> bool:
    """Any `*` or `?` in an action name: `*`, `service:*`, and also `iam:P*` or `sts:A?sumeRole`, which grant
    whatever AWS adds under that prefix (checkov CKV_AWS_62/63/109/110/111 flag the same class)."""
    return "*" in action or "?" in action


def service_wide(resource: str) -> bool:
    """A resource pattern that names every resource of a service (or of every service) without being the
    plain `*` (which iam-resource-star-only-where-required judges): a wildcard in the partition or service
    (`arn:aws:*`, `arn:*:*:*:*:*`), or a resource part made of wildcards only (`arn:aws:s3:::*`,
    `arn:aws:logs:*:*:*`)."""
    resource = resource.strip()
    if resource == "*" or not resource.lower().startswith("arn") and not has_wildcard(resource):
        return False
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return has_wildcard(resource)
    if any(has_wildcard(part) for part in parts[:3]):
        return True
    return set(parts[5]) <= {"*", "?", "/"}


def action_documents(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    """(what, raw document) of every identity or resource policy a resource carries."""
    yield from permission_documents(args)
    if args.resource_type in RESOURCE_POLICY_DOCUMENTS:
        yield "policy", lookup(args.props, RESOURCE_POLICY_DOCUMENTS[args.resource_type])


def _allowing_statements(
    args: ResourceValidationArgs, report: ReportViolation
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, statement) of every Allow statement of the policies that grant actions, `where` naming the
    resource, the document and the statement for a violation's message."""
    for what, document in _documents(args, report, action_documents(args)):
        for index, statement in enumerate(statements(document)):
            if allows(statement):
                kind = args.resource_type.split(":")[-1]
                yield f"{kind} {args.name!r}: {what}, {label(statement, index)}", statement


def _no_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, statement in _allowing_statements(args, report):
        if "NotAction" in statement:
            report(
                message(
                    f"{where} allows every action except {as_list(statement['NotAction'])}",
                    "list the actions it needs under Action",
                ),
                None,
            )
        wild = [a for a in as_list(statement.get("Action")) if isinstance(a, str) and wildcard_action(a)]
        if wild:
            report(
                message(
                    f"{where} allows the wildcard actions {wild}",
                    "list the exact actions it needs (for tracing: xray:PutTraceSegments and "
                    "xray:PutTelemetryRecords)",
                ),
                None,
            )


def _no_service_wide_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, statement in _allowing_statements(args, report):
        if "NotResource" in statement:
            report(
                message(
                    f"{where} allows every resource except {as_list(statement['NotResource'])}",
                    "list the resources it needs under Resource",
                ),
                None,
            )
        wide = [r for r in as_list(statement.get("Resource")) if isinstance(r, str) and service_wide(r)]
        if wide:
            report(
                message(
                    f"{where} grants on the service-wide resources {wide}",
                    "name the resources it needs (its own log group, repository, bucket prefix, ...)",
                ),
                None,
            )


def _resource_star_only_where_required(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for what, document in _documents(args, report, permission_documents(args)):
        for index, statement in enumerate(statements(document)):
            resources = [str(resource).strip() for resource in as_list(statement.get("Resource"))]
            if not allows(statement) or "*" not in resources:
                continue
            scoped = sorted(
                str(a)
                for a in as_list(statement.get("Action"))
                if str(a).lower() not in RESOURCE_STAR_ACTIONS
            )
            if scoped or "NotAction" in statement:
                report(
                    message(
                        f"{args.resource_type.split(':')[-1]} {args.name!r}: {what}, {label(statement, index)} "
                        f'grants {scoped or "NotAction"} on every resource ("*")',
                        "scope Resource to the ARNs it needs (its own log group, repository, ...); only actions "
                        'without resource-level permissions, such as X-Ray\'s writes, may use "*"',
                    ),
                    None,
                )


def managed_policy_arns(args: ResourceValidationArgs) -> list[str]:
    key = ATTACHMENTS.get(args.resource_type)
    value = lookup(args.props, key) if key else None
    return [arn for arn in as_list(value if value is not UNKNOWN else None) if isinstance(arn, str)]


def _no_admin_policies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    boundary = lookup(args.props, "permissionsBoundary") if args.resource_type == ROLE else None
    problem = admin_like_problem(boundary) if isinstance(boundary, str) else None
    if problem:
        report(
            message(
                f"role {args.name!r} is bounded by the managed policy {boundary!r}: {problem}, so the boundary "
                "caps nothing",
                "bound the role by its stack's permissions boundary (infra/iam_rules.py boundary_arn)",
            ),
            None,
        )
    for arn in managed_policy_arns(args):
        problem = admin_like_problem(arn)
        if problem:
            report(
                message(
                    f"{args.resource_type.split(':')[-1]} {args.name!r} attaches the managed policy {arn!r}: "
                    f"{problem}",
                    "grant only the actions the role needs in an inline policy scoped to its resources, or a "
                    "customer-managed policy under /<project>/ (config key extraPolicyArns)",
                ),
                None,
            )


def trust_document(args: ResourceValidationArgs, report: ReportViolation) -> dict[str, Any] | None:
    if args.resource_type != ROLE:
        return None
    trust = ("trust policy", lookup(args.props, "assumeRolePolicy"))
    for _, document in _documents(args, report, iter([trust])):
        return document
    return None


def principal_problems(statement: dict[str, Any]) -> list[str]:
    """Why an Allow statement of a trust policy does not name specific principals (empty when it does)."""
    if "NotPrincipal" in statement:
        return ["it uses NotPrincipal, which trusts everyone not listed"]
    found = principals(statement)
    if not found:
        return ["it has no Principal"]
    problems = []
    for kind, values in found.items():
        for value in values:
            if kind == "*" or has_wildcard(value):
                problems.append(f"principal {kind}: {value!r} is a wildcard")
            elif kind == "Service" and not SERVICE_PRINCIPAL.match(value):
                problems.append(f"service principal {value!r} is not a name like lambda.amazonaws.com")
            elif kind == "AWS" and WHOLE_ACCOUNT.match(value):
                problems.append(f"principal AWS: {value!r} is a whole account, not a role or user of it")
    return problems


def _trust_specific_principals(args: ResourceValidationArgs, report: ReportViolation) -> None:
    document = trust_document(args, report)
    if document is None:
        return
    for index, statement in enumerate(statements(document)):
        if not allows(statement):
            continue
        for problem in principal_problems(statement):
            report(
                message(
                    f"role {args.name!r}: trust policy {label(statement, index)}: {problem}",
                    "trust one named principal: a service (lambda.amazonaws.com), a role ARN, or an OIDC "
                    "provider ARN with exact conditions",
                ),
                None,
            )


def is_github_oidc(statement: dict[str, Any]) -> bool:
    return any(
        value.endswith(f"oidc-provider/{GITHUB_OIDC_HOST}")
        for value in principals(statement).get("Federated", [])
    )


def github_condition_problems(statement: dict[str, Any]) -> list[str]:
    """Why a GitHub OIDC trust statement does not pin the audience and the subject exactly."""
    condition = statement.get("Condition") or {}
    equals = condition.get("StringEquals") or {}
    problems = []
    if "sts:AssumeRoleWithWebIdentity" not in as_list(statement.get("Action")):
        problems.append("its Action is not sts:AssumeRoleWithWebIdentity")
    audiences = as_list(equals.get(f"{GITHUB_OIDC_HOST}:aud")) if isinstance(equals, Mapping) else []
    if audiences != [GITHUB_AUDIENCE]:
        problems.append(
            f"StringEquals {GITHUB_OIDC_HOST}:aud is {audiences or 'missing'}, not [{GITHUB_AUDIENCE!r}]"
        )
    subjects = as_list(equals.get(f"{GITHUB_OIDC_HOST}:sub")) if isinstance(equals, Mapping) else []
    if not subjects:
        problems.append(f"it has no StringEquals {GITHUB_OIDC_HOST}:sub, so any repository can assume it")
    for subject in subjects:
        if not isinstance(subject, str) or has_wildcard(subject) or not subject.startswith("repo:"):
            problems.append(f"subject {subject!r} is not an exact repo:<owner>/<repo>:... value")
    for operator, keys in condition.items():
        if operator != "StringEquals" and isinstance(keys, Mapping) and f"{GITHUB_OIDC_HOST}:sub" in keys:
            problems.append(f"{operator} on {GITHUB_OIDC_HOST}:sub also matches other subjects")
    return problems


def _github_oidc_trust(args: ResourceValidationArgs, report: ReportViolation) -> None:
    document = trust_document(args, report)
    if document is None:
        return
    for index, statement in enumerate(statements(document)):
        if not allows(statement) or not is_github_oidc(statement):
            continue
        for problem in github_condition_problems(statement):
            report(
                message(
                    f"role {args.name!r}: GitHub OIDC trust {label(statement, index)}: {problem}",
                    f"use StringEquals with {GITHUB_OIDC_HOST}:aud = {GITHUB_AUDIENCE} and "
                    f"{GITHUB_OIDC_HOST}:sub = the exact subjects, e.g. repo:<owner>/<repo>:environment:<name>",
                ),
                None,
            )


def _function_permissions_approved(args: ResourceValidationArgs, report: ReportViolation) -> None:
    stack = stack_from_urn(args.urn)
    prefix = function_permissions.SID_PREFIX
    for what, document in _documents(args, report, permission_documents(args)):
        declared = [
            {**statement, "Sid": str(statement["Sid"])[len(prefix) :]}
            for statement in statements(document)
            if str(statement.get("Sid", "")).startswith(prefix) and allows(statement)
        ]
        if not declared or stack is None:
            continue
        approved_file = function_permissions.APPROVED.relative_to(function_permissions.ROOT)
        try:
            approved = function_permissions.load_statements(function_permissions.APPROVED)
        except function_permissions.PermissionsError as error:
            report(
                message(str(error), f"keep {approved_file} a policy document of approved statements"), None
            )
            continue
        for problem in function_permissions.unapproved(declared, approved, stack):
            report(
                message(
                    f"{args.resource_type.split(':')[-1]} {args.name!r}: {what}: the function's permission {problem}",
                    "a platform administrator reviews the statement of function/permissions.json, copies it into "
                    f"{approved_file} and runs the bootstrap, whose boundary then admits it (docs/bootstrap.md)",
                ),
                None,
            )


iam_no_wildcard_actions = ResourceValidationPolicy(
    name="iam-no-wildcard-actions",
    description="No Allow statement of an identity, bucket or repository policy has a wildcard anywhere in an action name (`*`, `service:*`, `iam:P*`, `s3:GetObjec?`) or `NotAction`.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_no_wildcard_actions,
)
iam_no_service_wide_resources = ResourceValidationPolicy(
    name="iam-no-service-wide-resources",
    description="No Allow statement of an identity, bucket or repository policy names a service-wide resource (`arn:aws:*`, `arn:aws:*:*:*:*`, `arn:aws:s3:::*`, `arn:aws:logs:*:*:*`) or has `NotResource`.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_no_service_wide_resources,
)
iam_resource_star_only_where_required = ResourceValidationPolicy(
    name="iam-resource-star-only-where-required",
    description='IAM statements grant on `Resource: "*"` only actions that have no resource-level permissions (X-Ray\'s writes, `ecr:GetAuthorizationToken`, …).',
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_resource_star_only_where_required,
)
iam_no_admin_policies = ResourceValidationPolicy(
    name="iam-no-admin-policies",
    description="No administrator-like managed policy is attached or used as a role's permissions boundary: a name containing `admin`, `fullaccess` or `poweruser` in any case, or any non-ASCII character.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_no_admin_policies,
)
iam_trust_specific_principals = ResourceValidationPolicy(
    name="iam-trust-specific-principals",
    description="Role trust policies name specific principals (no `*`, no whole account, no `NotPrincipal`).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_trust_specific_principals,
)
iam_github_oidc_trust = ResourceValidationPolicy(
    name="iam-github-oidc-trust",
    description="GitHub OIDC trust policies require `StringEquals` on `aud` = `sts.amazonaws.com` and on exact `sub` values.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_github_oidc_trust,
)
function_permissions_approved = ResourceValidationPolicy(
    name="function-permissions-approved",
    description="The statements the function declares (`function/permissions.json`, `Declared<Sid>` in a role's policy) are covered by the ones a platform administrator approved (`bootstrap/function-permissions.json`), which the stack's permissions boundary admits.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_function_permissions_approved,
)

POLICIES = [
    function_permissions_approved,
    iam_no_wildcard_actions,
    iam_no_service_wide_resources,
    iam_resource_star_only_where_required,
    iam_no_admin_policies,
    iam_trust_specific_principals,
    iam_github_oidc_trust,
]
