"""The bootstrap program: validate the config, then create the provider, the state backend and the roles."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from bootstrap import components, policies
from bootstrap.settings import (
    NAMESPACE,
    BootstrapConfigError,
    BootstrapSettings,
    check_account,
    load_settings,
)
from infra.tags import standard_tags

# The repository variables the workflows read, in this order (exactly these stack outputs).
OUTPUT_NAMES = (
    "AWS_REGION",
    "AWS_DEPLOY_ROLE_ARN",
    "AWS_PREVIEW_ROLE_ARN",
    "PULUMI_BACKEND_URL",
    "PULUMI_SECRETS_PROVIDER",
)


def _check_existing_provider(settings: BootstrapSettings) -> None:
    if not settings.existing_oidc_provider_arn:
        return
    provider = aws.iam.get_open_id_connect_provider(arn=settings.existing_oidc_provider_arn)
    if policies.OIDC_AUDIENCE not in provider.client_id_lists:
        raise BootstrapConfigError([
            f"{NAMESPACE}:existingOidcProviderArn {settings.existing_oidc_provider_arn} does not list "
            f"{policies.OIDC_AUDIENCE!r} as a client id (audience), so no role could be assumed with it: "
            f"`aws iam add-client-id-to-open-id-connect-provider --client-id {policies.OIDC_AUDIENCE} "
            f"--open-id-connect-provider-arn {settings.existing_oidc_provider_arn}`"
        ])


def run() -> None:
    config = pulumi.Config(NAMESPACE)
    settings = load_settings(config.get, pulumi.Config("aws").get)
    # Everything below is looked up before the first resource is registered: a bad config creates nothing.
    account_id = aws.get_caller_identity().account_id
    partition = aws.get_partition().partition
    check_account(settings, account_id, partition)
    _check_existing_provider(settings)

    scope = policies.Scope(partition=partition, region=settings.region, account_id=account_id)
    tags = standard_tags(pulumi.get_stack())
    provider = components.GitHubOidcProvider(
        "github-actions", existing_arn=settings.existing_oidc_provider_arn, tags=tags)
    state = components.StateBackend("pulumi-state", tags=tags)
    deploy, preview = components.pipeline_roles(
        scope=scope,
        repository=settings.github_repository,
        environments=settings.deploy_environments,
        provider_arn=provider.arn,
        state=state,
        tags=tags,
    )

    region = settings.region
    outputs = {
        "AWS_REGION": region,
        "AWS_DEPLOY_ROLE_ARN": deploy.role.arn,
        "AWS_PREVIEW_ROLE_ARN": preview.role.arn,
        "PULUMI_BACKEND_URL": state.bucket.bucket.apply(lambda bucket: f"s3://{bucket}?region={region}"),
        "PULUMI_SECRETS_PROVIDER": state.alias.name.apply(lambda alias: f"awskms://{alias}?region={region}"),
    }
    for name in OUTPUT_NAMES:
        pulumi.export(name, outputs[name])
