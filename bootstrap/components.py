"""Components of the bootstrap: the GitHub OIDC provider, the Pulumi state backend, the pipeline roles."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from bootstrap import policies
from bootstrap.policies import Scope

TYPE_PREFIX = "container-lambda-bootstrap:index"
SECRETS_KEY_ALIAS = "alias/container-lambda-pulumi-secrets"
STATE_BUCKET_PREFIX = "container-lambda-state-"
DEPLOY_ROLE_NAME = "github-actions-container-lambda-deploy"
PREVIEW_ROLE_NAME = "github-actions-container-lambda-preview"
# Old object versions of the state stay recoverable for this long (Pulumi keeps its own history as well).
NONCURRENT_STATE_DAYS = 90


def _json(value: pulumi.Input) -> pulumi.Output[str]:
    return pulumi.Output.from_input(value).apply(lambda document: json.dumps(document, indent=2))


class GitHubOidcProvider(pulumi.ComponentResource):
    """The account's IAM identity provider for GitHub Actions tokens, created here or an existing one.

    An account holds one provider per issuer URL, so an account that already trusts GitHub reuses it
    (config `existingOidcProviderArn`). No thumbprints: IAM validates GitHub's OIDC endpoint against its
    library of trusted root CAs and ignores thumbprints for it (IAM API reference,
    UpdateOpenIDConnectProviderThumbprint; thumbprint_lists is optional in the provider since then).
    """

    arn: pulumi.Output[str]

    def __init__(self, name: str, *, existing_arn: str | None, tags: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{TYPE_PREFIX}:GitHubOidcProvider", name, None, opts)
        if existing_arn:
            self.arn = pulumi.Output.from_input(existing_arn)
        else:
            provider = aws.iam.OpenIdConnectProvider(
                name,
                url=policies.OIDC_URL,
                client_id_lists=[policies.OIDC_AUDIENCE],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.arn = provider.arn
        self.register_outputs({"arn": self.arn})


class StateBackend(pulumi.ComponentResource):
    """S3 bucket for Pulumi state (versioned, SSE-KMS, private, TLS only) and the KMS key for its secrets.

    Both are protected: `pulumi destroy` of the bootstrap refuses to delete the state of every stack.
    """

    def __init__(self, name: str, *, tags: dict[str, str], opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{TYPE_PREFIX}:StateBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=True)

        # No `policy`: AWS applies the default key policy, which delegates access to IAM policies of the
        # account; the pipeline roles get exactly the key operations they need from their own policies.
        self.key = aws.kms.Key(
            f"{name}-key",
            description="Pulumi state and secrets of container-lambda (awskms secrets provider, SSE-KMS)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=protected,
        )
        self.alias = aws.kms.Alias(f"{name}-key-alias", name=SECRETS_KEY_ALIAS, target_key_id=self.key.key_id,
                                   opts=child)

        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket_prefix=STATE_BUCKET_PREFIX, tags=tags,
                                    opts=protected)
        bucket_id = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket_id, rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket_id, versioning_configuration={"status": "Enabled"},
            opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[{
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": self.key.arn,
                },
                "bucket_key_enabled": True,
            }],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=[{
                "id": "expire-old-state-versions",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_STATE_DAYS},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket_id,
            policy=_json(self.bucket.arn.apply(policies.tls_only_bucket_policy)),
            opts=child,
        )
        self.register_outputs(
            {"bucket": self.bucket.bucket, "keyArn": self.key.arn, "alias": self.alias.name})


class PipelineRole(pulumi.ComponentResource):
    """An IAM role that GitHub Actions jobs of one repository assume with OIDC, and its inline policy."""

    role: aws.iam.Role

    def __init__(self, name: str, *, role_name: str, description: str, provider_arn: pulumi.Input[str],
                 subjects: list[str], permissions: pulumi.Input[dict], tags: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{TYPE_PREFIX}:PipelineRole", name, None, opts)
        self.role = aws.iam.Role(
            name,
            name=role_name,
            path=policies.PIPELINE_ROLE_PATH,
            description=description,
            assume_role_policy=_json(pulumi.Output.from_input(provider_arn).apply(
                lambda arn: policies.github_trust_policy(arn, subjects))),
            max_session_duration=3600,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-permissions",
            name=f"{role_name}-permissions",
            role=self.role.id,
            policy=_json(permissions),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"arn": self.role.arn})


def pipeline_roles(*, scope: Scope, repository: str, environments: tuple[str, ...],
                   provider_arn: pulumi.Input[str], state: StateBackend,
                   tags: dict[str, str]) -> tuple[PipelineRole, PipelineRole]:
    """The deploy role (the deploy environments only) and the read-only preview role."""
    arns = pulumi.Output.all(state.bucket.arn, state.key.arn)
    deploy = PipelineRole(
        "deploy",
        role_name=DEPLOY_ROLE_NAME,
        description=f"pulumi up of container-lambda stacks from {repository} (deploy environments)",
        provider_arn=provider_arn,
        subjects=policies.deploy_subjects(repository, environments),
        permissions=arns.apply(lambda a: policies.deploy_permissions(scope, a[0], a[1])),
        tags=tags,
    )
    preview = PipelineRole(
        "preview",
        role_name=PREVIEW_ROLE_NAME,
        description=f"read-only pulumi preview of container-lambda stacks from {repository} pull requests",
        provider_arn=provider_arn,
        subjects=policies.preview_subjects(repository),
        permissions=arns.apply(lambda a: policies.preview_permissions(scope, a[0], a[1])),
        tags=tags,
    )
    return deploy, preview
