"""The bootstrap program: validate the config, then create the provider, the state backend and the roles."""

from __future__ import annotations

import json
import shlex

import pulumi
import pulumi_aws as aws

from bootstrap import components, policies
from bootstrap.settings import (
    NAMESPACE,
    BootstrapConfigError,
    BootstrapSettings,
    check_account,
    drift_environment,
    gh_repository,
    load_settings,
)
from infra.tags import standard_tags

# Where each variable the workflows read is set (docs/bootstrap.md): GitHub repository variables, and
# variables of each deploy environment and of its drift environment `drift-<env>` (an environment variable
# overrides a repository variable of the same name inside a job that runs in that environment).
# DEPLOY_STACKS: deployEnvironments as a JSON array, the promotion order (the first is the building stack).
REPOSITORY_VARIABLES = ("AWS_REGION", "AWS_PREVIEW_ROLE_ARN", "PULUMI_BACKEND_URL", "DEPLOY_STACKS")
DEPLOY_ENVIRONMENT_VARIABLES = ("AWS_DEPLOY_ROLE_ARN", "PULUMI_SECRETS_PROVIDER")
DRIFT_ENVIRONMENT_VARIABLES = ("AWS_DRIFT_ROLE_ARN",)
VARIABLES = REPOSITORY_VARIABLES + DEPLOY_ENVIRONMENT_VARIABLES + DRIFT_ENVIRONMENT_VARIABLES
# The stack outputs, in this order.
OUTPUT_NAMES = (
    "buildingStack",
    "repositoryVariables",
    "environmentVariables",
    "ghVariableCommands",
    "githubSettingsCommand",
)


def _check_existing_provider(settings: BootstrapSettings) -> None:
    if not settings.existing_oidc_provider_arn:
        return
    provider = aws.iam.get_open_id_connect_provider(arn=settings.existing_oidc_provider_arn)
    if policies.OIDC_AUDIENCE not in provider.client_id_lists:
        raise BootstrapConfigError(
            [
                f"{NAMESPACE}:existingOidcProviderArn {settings.existing_oidc_provider_arn} does not list "
                f"{policies.OIDC_AUDIENCE!r} as a client id (audience), so no role could be assumed with it: "
                f"`aws iam add-client-id-to-open-id-connect-provider --client-id {policies.OIDC_AUDIENCE} "
                f"--open-id-connect-provider-arn {settings.existing_oidc_provider_arn}`"
            ]
        )


def gh_commands(
    repository: str, repository_variables: dict[str, str], environment_variables: dict[str, dict[str, str]]
) -> str:
    """The `gh variable set` commands that set every variable where the workflows read it, one per line."""
    repo = shlex.quote(gh_repository(repository))
    lines = [
        f"gh variable set {name} --repo {repo} --body {shlex.quote(value)}"
        for name, value in repository_variables.items()
    ]
    for environment, variables in environment_variables.items():
        lines += [
            f"gh variable set {name} --repo {repo} --env {shlex.quote(environment)} "
            f"--body {shlex.quote(value)}"
            for name, value in variables.items()
        ]
    return "\n".join(lines)


def run() -> None:
    config = pulumi.Config(NAMESPACE)
    settings = load_settings(config.get, pulumi.Config("aws").get, pulumi.get_stack())
    # Everything below is looked up before the first resource is registered: a bad config creates nothing.
    account_id = aws.get_caller_identity().account_id
    partition = aws.get_partition().partition
    check_account(settings, account_id, partition)
    _check_existing_provider(settings)

    scope = settings.scope(account_id, partition)
    tags = standard_tags(pulumi.get_stack())
    provider = components.GitHubOidcProvider(
        "github-actions", existing_arn=settings.existing_oidc_provider_arn, tags=tags
    )
    state = components.StateBackend("pulumi-state", tags=tags)
    roles = components.pipeline_roles(
        scope=scope,
        repository=settings.github_repository,
        environments=settings.deploy_environments,
        provider_arn=provider.arn,
        state=state,
        tags=tags,
        repository_kms_key_arns=settings.repository_kms_key_arns,
    )

    region = settings.region
    repository_variables = pulumi.Output.all(
        AWS_REGION=region,
        AWS_PREVIEW_ROLE_ARN=roles.preview.role.arn,
        PULUMI_BACKEND_URL=state.bucket.bucket.apply(lambda bucket: f"s3://{bucket}?region={region}"),
        DEPLOY_STACKS=json.dumps(list(settings.deploy_environments), separators=(",", ":")),
    )
    environment_variables = pulumi.Output.all(
        **{
            env: pulumi.Output.all(
                AWS_DEPLOY_ROLE_ARN=roles.deploy[env].role.arn,
                PULUMI_SECRETS_PROVIDER=roles.secrets[env].alias.name.apply(
                    lambda alias: f"awskms://{alias}?region={region}"
                ),
            )
            for env in settings.deploy_environments
        }
        | {
            drift_environment(env): pulumi.Output.all(AWS_DRIFT_ROLE_ARN=roles.drift[env].role.arn)
            for env in settings.deploy_environments
        }
    )
    outputs = {
        "buildingStack": settings.deploy_environments[0],
        "repositoryVariables": repository_variables,
        "environmentVariables": environment_variables,
        "ghVariableCommands": pulumi.Output.all(repository_variables, environment_variables).apply(
            lambda values: gh_commands(settings.github_repository, values[0], values[1])
        ),
    }
    # the GitHub settings no file can enforce (environments, reviewers, main's protection), read back with gh
    outputs["githubSettingsCommand"] = (
        f"python3 -m scripts.github_settings {shlex.quote(gh_repository(settings.github_repository))} "
        f"{shlex.quote(json.dumps(list(settings.deploy_environments), separators=(',', ':')))}"
    )
    for name in OUTPUT_NAMES:
        pulumi.export(name, outputs[name])
