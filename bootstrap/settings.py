"""Configuration of the bootstrap stack, validated as a whole before any resource is registered.

Every problem is reported in one error message (key by key), so a wrong stack config never leaves a
half-created bootstrap behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from bootstrap.names import project_name_problems, project_only_problems, stack_name_problems
from bootstrap.policies import CustomDomain, FunctionNetwork, Scope, size_problems
from infra.config import (
    DNS_NAME,
    HOSTED_ZONE_ID,
    MAX_SECURITY_GROUPS,
    MAX_SUBNETS,
    SECURITY_GROUP_ID,
    SUBNET_ID,
)
from infra.project import (
    PROJECT,
    STACK_NAME_RULE,
    is_stack_name,
    project_name,
)

# The bootstrap's own Pulumi project (bootstrap/Pulumi.yaml) names no project: its config namespace is its
# `name`, and its one stack is named after the project it serves (`<project>`), so that the bootstraps of two
# services never share a stack, whatever backend holds their state, and renaming the service stays one edit
# of the root Pulumi.yaml.
NAMESPACE = project_name(Path(__file__).resolve().parent / "Pulumi.yaml")
# The GitHub environments of the nightly drift check and the weekly rescan: `drift-<env>` per deploy
# environment, each with a read-only role of its own; no deploy environment may take such a name.
DRIFT_ENVIRONMENT_PREFIX = "drift-"


def drift_environment(environment: str) -> str:
    """The GitHub environment whose jobs check stack `environment` for drift (its drift role trusts it)."""
    return f"{DRIFT_ENVIRONMENT_PREFIX}{environment}"


# GitHub account names: letters, digits and single inner hyphens, at most 39 characters. Repository names:
# letters, digits, '.', '_' and '-', at most 100 characters. Neither can hold '*' or '?', so a trust
# condition built from them can never match another repository. Since 2026-07-15 GitHub issues immutable
# `sub` claims for new and renamed repositories (`repo:OWNER@OWNER_ID/REPO@REPO_ID:...`; GitHub changelog
# 2026-04-23, "Immutable subject claims for GitHub Actions OIDC tokens"): the repository may be given in that
# form too, with both numeric IDs, and every trust policy uses exactly the form given.
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_REPOSITORY = r"[A-Za-z0-9._-]{1,100}"
_ID = r"[1-9][0-9]{0,19}"
GITHUB_REPOSITORY_RE = re.compile(
    rf"^(?P<owner>{_OWNER})(?:@(?P<owner_id>{_ID}))?/(?P<name>{_REPOSITORY})(?:@(?P<repo_id>{_ID}))?$"
)
REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
# A KMS key ARN (AWS KMS Developer Guide, "Key ARN": arn:<partition>:kms:<region>:<account>:key/<key id>).
KMS_KEY_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):kms:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):(?P<account>\d{12}):"
    r"key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
OIDC_PROVIDER_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):"
    r"oidc-provider/token\.actions\.githubusercontent\.com$"
)


class BootstrapConfigError(pulumi.RunError, ValueError):
    """The bootstrap stack configuration is invalid; the message lists every bad key. A pulumi.RunError: the
    CLI prints the message alone, without a traceback (infra/function_inputs.py)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            f"invalid {NAMESPACE} configuration ({len(problems)} problem(s)); nothing was created:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


@dataclass(frozen=True)
class BootstrapSettings:
    region: str
    github_repository: str
    deploy_environments: tuple[str, ...]
    existing_oidc_provider_arn: str | None
    # deploy environment -> the customer-managed KMS key its stack's repository uses (the stack's kmsKeyArn)
    repository_kms_key_arns: Mapping[str, str] = field(default_factory=dict)
    # deploy environment -> the custom domain (and the Route 53 zone of its record) its stack may use
    custom_domains: Mapping[str, CustomDomain] = field(default_factory=dict)
    # deploy environment -> the subnets and security groups its stack's function may use (vpcSubnetIds, ...)
    function_networks: Mapping[str, FunctionNetwork] = field(default_factory=dict)

    def scope(self, account_id: str, partition: str) -> Scope:
        """Where the stacks live, with the custom domains and function networks assigned to them."""
        return Scope(
            partition, self.region, account_id, dict(self.custom_domains), dict(self.function_networks)
        )


def _repository(raw: str | None, problems: list[str]) -> str:
    if not raw:
        problems.append(
            f"{NAMESPACE}:githubRepository is required: the repository whose workflows may assume the roles, "
            "as <owner>/<repo> (e.g. the output of `gh repo view --json nameWithOwner --jq .nameWithOwner`)"
        )
        return ""
    match = GITHUB_REPOSITORY_RE.fullmatch(raw)
    if raw.endswith(".git"):
        problems.append(f"{NAMESPACE}:githubRepository {raw!r} must not end in '.git' (use <owner>/<repo>)")
    elif (
        not match or match["name"] in {".", ".."} or (match["owner_id"] is None) != (match["repo_id"] is None)
    ):
        problems.append(
            f"{NAMESPACE}:githubRepository {raw!r} is not <owner>/<repo> nor the immutable form "
            "<owner>@<owner id>/<repo>@<repo id> (`gh api repos/OWNER/REPO --jq '.owner.id, .id'`): "
            "owner = letters, digits and inner single hyphens (max 39), repo = letters, digits, '.', '_', "
            "'-' (max 100), ids = digits; no wildcards"
        )
    return raw


def _environments(raw: str | None, problems: list[str]) -> tuple[str, ...]:
    if raw is None or raw == "" or raw.strip() == "[]":
        problems.append(
            f"{NAMESPACE}:deployEnvironments must list at least one GitHub environment (got {raw!r}): only "
            "jobs in these environments may assume the deploy role, and each stack deploys in the "
            "environment named after it, e.g. `pulumi config set --path 'deployEnvironments[0]' dev`"
        )
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(
            f"{NAMESPACE}:deployEnvironments must be a list of GitHub environment names, e.g. "
            f"`pulumi config set --path 'deployEnvironments[0]' production`; got {raw!r}"
        )
        return ()
    seen: dict[str, str] = {}
    said_of_the_project = project_only_problems(PROJECT)  # said once, of the project name alone
    for name in value:
        if not isinstance(name, str) or not is_stack_name(name):
            problems.append(
                f"{NAMESPACE}:deployEnvironments entry {name!r} is not a stack name ({STACK_NAME_RULE}): "
                "each deploy environment is the stack of the same name, and it becomes part of an exact "
                "`sub` condition"
            )
        elif name == "drift" or name.startswith(DRIFT_ENVIRONMENT_PREFIX):
            problems.append(
                f"{NAMESPACE}:deployEnvironments entry {name!r} is reserved for the nightly drift check "
                f"(environments {DRIFT_ENVIRONMENT_PREFIX}<env>, each with a read-only role of its own): a "
                "deploy environment of that name would be trusted by another stack's drift role"
            )
        elif too_long := [
            problem for problem in stack_name_problems(PROJECT, name) if problem not in said_of_the_project
        ]:
            problems += [
                f"the project name {PROJECT!r} (Pulumi.yaml `name:`) with the deploy environment {name!r} "
                f"({NAMESPACE}:deployEnvironments) is too long: {problem}; shorten either"
                for problem in too_long
            ]
        elif name in seen:
            problems.append(f"{NAMESPACE}:deployEnvironments lists {name!r} twice")
        else:
            seen[name] = name
    return tuple(value)


def _provider_arn(raw: str | None, problems: list[str]) -> str | None:
    if not raw:
        return None
    if not OIDC_PROVIDER_ARN_RE.fullmatch(raw):
        problems.append(
            f"{NAMESPACE}:existingOidcProviderArn {raw!r} is not the ARN of a GitHub Actions OIDC provider "
            "(arn:<partition>:iam::<12-digit account>:oidc-provider/token.actions.githubusercontent.com); "
            "leave it unset to create the provider"
        )
    return raw


def _repository_keys(
    raw: str | None, environments: tuple[str, ...], region: str, problems: list[str]
) -> dict[str, str]:
    if not raw or raw.strip() in ("{}", ""):
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(
            f"{NAMESPACE}:repositoryKmsKeyArns must map deploy environments to KMS key ARNs, e.g. "
            f"`pulumi config set --path 'repositoryKmsKeyArns.production' arn:aws:kms:...`; got {raw!r}"
        )
        return {}
    for environment, arn in value.items():
        match = KMS_KEY_ARN_RE.fullmatch(arn)
        if environment not in environments:
            problems.append(
                f"{NAMESPACE}:repositoryKmsKeyArns names {environment!r}, which is not a deploy environment "
                f"({', '.join(environments) or 'none'})"
            )
        elif not match:
            problems.append(
                f"{NAMESPACE}:repositoryKmsKeyArns.{environment} {arn!r} is not a KMS key ARN "
                "(arn:<partition>:kms:<region>:<account>:key/<key id>)"
            )
        elif region and match["region"] != region:
            problems.append(
                f"{NAMESPACE}:repositoryKmsKeyArns.{environment} is in {match['region']}, not in the stacks' "
                f"region {region}: ECR uses a key of its own region"
            )
    return dict(value)


def _per_environment(
    setting: str,
    shape: str,
    example: str,
    raw: str | None,
    environments: tuple[str, ...],
    problems: list[str],
) -> dict[str, tuple[str, dict[str, Any]]]:
    """A setting that maps deploy environments to objects of `shape`: each entry of a deploy environment as
    (its config key, the object), the others named in `problems`."""
    if not raw or raw.strip() in ("{}", ""):
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        problems.append(
            f"{NAMESPACE}:{setting} must map deploy environments to {shape}, e.g. {example}; got {raw!r}"
        )
        return {}
    entries = {}
    for environment, entry in value.items():
        key = f"{NAMESPACE}:{setting}.{environment}"
        if environment in environments:
            entries[environment] = (key, entry)
        else:
            problems.append(
                f"{key} names {environment!r}, which is not a deploy environment "
                f"({', '.join(environments) or 'none'})"
            )
    return entries


def _custom_domains(
    raw: str | None, environments: tuple[str, ...], problems: list[str]
) -> dict[str, CustomDomain]:
    example = (
        "`pulumi config set --path 'customDomains.production.domainName' api.example.com` (and, for the "
        "Route 53 record, `... 'customDomains.production.hostedZoneId' Z0123456789ABCDEFGHIJ`)"
    )
    entries = _per_environment(
        "customDomains", "{domainName, hostedZoneId}", example, raw, environments, problems
    )
    domains = {}
    for environment, (key, entry) in entries.items():
        name, zone = entry.get("domainName"), entry.get("hostedZoneId", "")
        if set(entry) - {"domainName", "hostedZoneId"}:
            problems.append(f"{key} has unknown keys {sorted(set(entry) - {'domainName', 'hostedZoneId'})}")
        elif not isinstance(name, str) or len(name) > 253 or not DNS_NAME.fullmatch(name):
            problems.append(
                f"{key}.domainName {name!r} is not a DNS name in lower case with at least two labels (the "
                "stack's customDomain)"
            )
        elif not isinstance(zone, str) or (zone and not HOSTED_ZONE_ID.fullmatch(zone)):
            problems.append(
                f"{key}.hostedZoneId {zone!r} is not a Route 53 hosted zone ID (upper-case letters and "
                "digits, without /hostedzone/)"
            )
        else:
            domains[environment] = CustomDomain(name, zone)
    return domains


def _function_networks(
    raw: str | None, environments: tuple[str, ...], problems: list[str]
) -> dict[str, FunctionNetwork]:
    example = (
        "`pulumi config set --path 'functionNetworks.production.subnetIds[0]' subnet-0123456789abcdef0` and "
        "`... 'functionNetworks.production.securityGroupIds[0]' sg-0123456789abcdef0`"
    )
    entries = _per_environment(
        "functionNetworks", "{subnetIds, securityGroupIds}", example, raw, environments, problems
    )
    networks = {}
    for environment, (key, entry) in entries.items():
        if set(entry) != {"subnetIds", "securityGroupIds"}:
            problems.append(
                f"{key} must have exactly the keys subnetIds and securityGroupIds, got {sorted(entry)}"
            )
            continue
        ids = {}
        for name, pattern, most in (
            ("subnetIds", SUBNET_ID, MAX_SUBNETS),
            ("securityGroupIds", SECURITY_GROUP_ID, MAX_SECURITY_GROUPS),
        ):
            listed = entry[name]
            if (
                not isinstance(listed, list)
                or not 1 <= len(listed) <= most
                or len(set(map(str, listed))) != len(listed)
                or not all(isinstance(item, str) and pattern.fullmatch(item) for item in listed)
            ):
                problems.append(
                    f"{key}.{name} {listed!r} must be 1 to {most} unique IDs like those of the stack's "
                    f"vpc{name[0].upper()}{name[1:]} ({pattern.pattern})"
                )
            else:
                ids[name] = tuple(listed)
        if len(ids) == 2:
            networks[environment] = FunctionNetwork(ids["subnetIds"], ids["securityGroupIds"])
    return networks


def gh_repository(repository: str) -> str:
    """`owner/repo` for the GitHub CLI, from either form of `githubRepository`."""
    match = GITHUB_REPOSITORY_RE.fullmatch(repository)
    return f"{match['owner']}/{match['name']}" if match else repository


Getter = Callable[[str], str | None]


def load_settings(get: Getter, get_aws: Getter, stack: str = PROJECT) -> BootstrapSettings:
    """Validate the stack config. `get`/`get_aws` read keys of this project's and the `aws` namespace;
    `stack` is the bootstrap's stack, which must be named after the project."""
    problems: list[str] = []
    if stack != PROJECT:
        problems.append(
            f"the bootstrap's stack is {stack!r}; it must be named after the project, {PROJECT!r}, so that "
            f"no other service's bootstrap shares it: `pulumi -C bootstrap stack init {PROJECT}`"
        )
    problems += project_name_problems(PROJECT)
    region = get_aws("region") or ""
    if not region:
        problems.append("aws:region is required: the region of the stacks to deploy, e.g. eu-west-1")
    elif not REGION_RE.fullmatch(region):
        problems.append(f"aws:region {region!r} is not an AWS region name such as eu-west-1")
    environments = _environments(get("deployEnvironments"), problems)
    settings = BootstrapSettings(
        region=region,
        github_repository=_repository(get("githubRepository"), problems),
        deploy_environments=environments,
        existing_oidc_provider_arn=_provider_arn(get("existingOidcProviderArn"), problems),
        repository_kms_key_arns=_repository_keys(get("repositoryKmsKeyArns"), environments, region, problems),
        custom_domains=_custom_domains(get("customDomains"), environments, problems),
        function_networks=_function_networks(get("functionNetworks"), environments, problems),
    )
    if problems:
        raise BootstrapConfigError(problems)
    return settings


def check_account(settings: BootstrapSettings, account_id: str, partition: str) -> None:
    """An existing provider and the repository keys must live in the account (and partition) the roles are
    created in, and the pipeline policies rendered for it must fit IAM's quotas."""
    scope = settings.scope(account_id, partition)
    too_big = size_problems(scope, settings.deploy_environments, settings.repository_kms_key_arns)
    if too_big:
        raise BootstrapConfigError(
            [
                f"{NAMESPACE}:deployEnvironments: {problem} (a shorter project or environment name shortens it)"
                for problem in too_big
            ]
        )
    for environment, arn in settings.repository_kms_key_arns.items():
        key = KMS_KEY_ARN_RE.fullmatch(arn)
        if key and (key["account"], key["partition"]) != (account_id, partition):
            raise BootstrapConfigError(
                [
                    f"{NAMESPACE}:repositoryKmsKeyArns.{environment} belongs to account {key['account']} "
                    f"({key['partition']}), but the credentials are for account {account_id} ({partition})"
                ]
            )
    match = OIDC_PROVIDER_ARN_RE.fullmatch(settings.existing_oidc_provider_arn or "")
    if match and (match["account"], match["partition"]) != (account_id, partition):
        raise BootstrapConfigError(
            [
                f"{NAMESPACE}:existingOidcProviderArn belongs to account {match['account']} "
                f"({match['partition']}), but the credentials are for account {account_id} ({partition}); "
                "a role can only trust an identity provider of its own account"
            ]
        )
