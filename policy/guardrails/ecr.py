"""ECR: scan on push, immutable tags, a lifecycle policy per repository, no public repository policy."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import (
    UNKNOWN,
    PolicyDocumentError,
    allows,
    label,
    lookup,
    message,
    parse_document,
    principals,
    statements,
)

REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"

# Condition keys that restrict a "*" principal to known accounts, organizations or sources.
RESTRICTING_CONDITION_KEYS = {
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
}


def _scan_on_push(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != REPOSITORY:
        return
    if lookup(args.props, "imageScanningConfiguration", "scanOnPush") is not True:
        report(
            message(
                f"ECR repository {args.name!r} does not scan images on push",
                "pass image_scanning_configuration={'scan_on_push': True} to aws.ecr.Repository",
            ),
            None,
        )


def _immutable_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != REPOSITORY:
        return
    mutability = lookup(args.props, "imageTagMutability")
    # IMMUTABLE_WITH_EXCLUSION leaves the tags its exclusion filters match mutable (a filter "*": every tag)
    if mutability is not UNKNOWN and mutability != "IMMUTABLE":
        report(
            message(
                f"ECR repository {args.name!r} has image tag mutability {mutability or 'MUTABLE (the default)'}",
                "pass image_tag_mutability='IMMUTABLE' to aws.ecr.Repository, without exclusion filters; deploy "
                "by digest",
            ),
            None,
        )


def _lifecycle_policy(args: StackValidationArgs, report: ReportViolation) -> None:
    repositories = [r for r in args.resources if r.resource_type == REPOSITORY]
    policies = [r for r in args.resources if r.resource_type == LIFECYCLE_POLICY]
    for repository in repositories:
        name = lookup(repository.props, "name")
        covered = False
        for policy in policies:
            target = lookup(policy.props, "repository")
            depends = repository in policy.property_dependencies.get("repository", [])
            if depends or target == name:
                covered = True
        if not covered:
            report(
                message(
                    f"ECR repository {repository.name!r} has no lifecycle policy, so old images pile up",
                    "add aws.ecr.LifecyclePolicy(repository=<repository>.name, policy=...) that expires untagged "
                    "images and keeps the newest N tagged ones",
                ),
                repository.urn,
            )


def public_statements(document: dict[str, Any]) -> list[str]:
    """Labels of Allow statements that grant a "*" principal without a condition restricting who it is."""
    found = []
    for index, statement in enumerate(statements(document)):
        if not allows(statement):
            continue
        if "NotPrincipal" in statement:
            found.append(label(statement, index))
            continue
        values = [value for kind_values in principals(statement).values() for value in kind_values]
        if "*" not in values:
            continue
        condition_keys = {
            key.lower()
            for operator in (statement.get("Condition") or {}).values()
            if isinstance(operator, dict)
            for key in operator
        }
        if not condition_keys & RESTRICTING_CONDITION_KEYS:
            found.append(label(statement, index))
    return found


def _no_public_repository_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != REPOSITORY_POLICY:
        return
    try:
        document = parse_document(lookup(args.props, "policy"))
    except PolicyDocumentError as error:
        report(message(f"ECR repository policy {args.name!r}: {error}", "pass a JSON policy document"), None)
        return
    if document is None:
        return
    for statement in public_statements(document):
        report(
            message(
                f'ECR repository policy {args.name!r}: {statement} allows anyone (principal "*")',
                "name the accounts or roles that may pull, or add an aws:PrincipalOrgID / aws:SourceAccount "
                "condition",
            ),
            None,
        )


ecr_scan_on_push = ResourceValidationPolicy(
    name="ecr-scan-on-push",
    description="ECR repositories scan every image on push.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_scan_on_push,
)
ecr_immutable_tags = ResourceValidationPolicy(
    name="ecr-immutable-tags",
    description="ECR image tags are immutable (`IMMUTABLE`, no exclusion filters).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_immutable_tags,
)
ecr_lifecycle_policy = StackValidationPolicy(
    name="ecr-lifecycle-policy",
    description="Every ECR repository has a lifecycle policy.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_lifecycle_policy,
)
ecr_no_public_repository_policy = ResourceValidationPolicy(
    name="ecr-no-public-repository-policy",
    description="No ECR repository policy grants `*` without an account or organization condition.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_no_public_repository_policy,
)

POLICIES = [ecr_scan_on_push, ecr_immutable_tags, ecr_lifecycle_policy, ecr_no_public_repository_policy]
