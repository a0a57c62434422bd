"""Components of the bootstrap: the GitHub OIDC provider, the Pulumi state backend, the secrets keys, the
stacks' permissions boundaries and the pipeline roles."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from bootstrap import policies
from bootstrap.policies import Scope
from bootstrap.settings import drift_environment
from infra.deployment_preferences import DEPLOY_SESSION_SECONDS
from infra.iam_rules import boundary_policy_name
from infra.project import PROJECT

TYPE_PREFIX = f"{PROJECT}-bootstrap:index"
STATE_KEY_ALIAS = f"alias/{PROJECT}-state"
STATE_BUCKET_PREFIX = policies.STATE_BUCKET_PREFIX
# Pipeline role names hold a '.', which no stack-derived name (<project>-<stack>...) contains, so they can
# never collide with a role a stack creates (IAM role names are unique per account whatever the path).
PREVIEW_ROLE_NAME = f"{PROJECT}.preview"
# Old object versions of the state stay recoverable for this long (Pulumi keeps its own history as well).
NONCURRENT_STATE_DAYS = 90
# .pulumi/meta.yaml as the diy backend writes it for the project-scoped layout (meta.go: yaml of
# {version: 1}); written here so that no pipeline role needs to create objects outside its own stack's.
DIY_META = "version: 1\n"


def deploy_role_name(environment: str) -> str:
    return f"{PROJECT}.deploy.{environment}"


def drift_role_name(environment: str) -> str:
    return f"{PROJECT}.drift.{environment}"


def secrets_key_alias(environment: str) -> str:
    return f"alias/{PROJECT}-secrets-{environment}"


def _json(value: pulumi.Input[Any]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(value).apply(lambda document: json.dumps(document, indent=2))


class GitHubOidcProvider(pulumi.ComponentResource):
    """The account's IAM identity provider for GitHub Actions tokens, created here or an existing one.

    An account holds one provider per issuer URL, so an account that already trusts GitHub reuses it
    (config `existingOidcProviderArn`). No thumbprints: IAM validates GitHub's OIDC endpoint against its
    library of trusted root CAs and ignores thumbprints for it (IAM API reference,
    UpdateOpenIDConnectProviderThumbprint; thumbprint_lists is optional in the provider since then).
    """

    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        existing_arn: str | None,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
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
    """S3 bucket for Pulumi state (versioned, SSE-KMS, private, TLS only) and the KMS key that encrypts it.

    The bucket, the key and every setting that protects them (ownership, public-access block, versioning,
    encryption, TLS-only policy, lifecycle) are protected: `pulumi destroy` of the bootstrap, or a change
    that would replace one of them, stops instead of exposing or deleting the state of every stack.
    """

    def __init__(self, name: str, *, tags: dict[str, str], opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{TYPE_PREFIX}:StateBackend", name, None, opts)
        protected = pulumi.ResourceOptions(parent=self, protect=True)

        # No `policy`: AWS applies the default key policy, which delegates access to IAM policies of the
        # account; the pipeline roles may use this key only through S3 (kms:ViaService).
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"Pulumi state objects of {PROJECT} (SSE-KMS of the state bucket)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=protected,
        )
        self.alias = aws.kms.Alias(
            f"{name}-key-alias", name=STATE_KEY_ALIAS, target_key_id=self.key.key_id, opts=protected
        )

        self.bucket = aws.s3.Bucket(
            f"{name}-bucket", bucket_prefix=STATE_BUCKET_PREFIX, tags=tags, opts=protected
        )
        bucket_id = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=protected,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=protected,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration={"status": "Enabled"},
            opts=protected,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": self.key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=protected,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=[
                {
                    "id": "expire-old-state-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_STATE_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=protected,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket_id,
            policy=_json(self.bucket.arn.apply(policies.tls_only_bucket_policy)),
            opts=protected,
        )
        # Encrypted and versioned like every state object.
        aws.s3.BucketObjectv2(
            f"{name}-meta",
            bucket=bucket_id,
            key=policies.META_KEY,
            content=DIY_META,
            content_type="application/yaml",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning, encryption]),
        )
        self.register_outputs(
            {"bucket": self.bucket.bucket, "keyArn": self.key.arn, "alias": self.alias.name}
        )


class SecretsKey(pulumi.ComponentResource):
    """The KMS key of one deploy environment's stack secrets (awskms secrets provider), with its alias.

    One key per stack: only that stack's deploy role may encrypt with it; the preview role decrypts the
    building stack's only, each drift role its own stack's. Protected like the state."""

    def __init__(self, environment: str, *, tags: dict[str, str], opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{TYPE_PREFIX}:SecretsKey", f"secrets-{environment}", None, opts)
        protected = pulumi.ResourceOptions(parent=self, protect=True)
        self.key = aws.kms.Key(
            f"secrets-{environment}-key",
            description=f"Pulumi secrets of the {PROJECT} stack {environment} (awskms secrets provider)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=protected,
        )
        self.alias = aws.kms.Alias(
            f"secrets-{environment}-alias",
            name=secrets_key_alias(environment),
            target_key_id=self.key.key_id,
            opts=protected,
        )
        self.register_outputs({"keyArn": self.key.arn, "alias": self.alias.name})


class PipelineRole(pulumi.ComponentResource):
    """An IAM role that GitHub Actions jobs of one repository assume with OIDC, and its inline policy."""

    role: aws.iam.Role

    def __init__(
        self,
        name: str,
        *,
        role_name: str,
        description: str,
        provider_arn: pulumi.Input[str],
        subjects: list[str],
        permissions: pulumi.Input[dict[str, Any]],
        tags: dict[str, str],
        max_session_duration: int = 3600,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(f"{TYPE_PREFIX}:PipelineRole", name, None, opts)
        self.role = aws.iam.Role(
            name,
            name=role_name,
            path=policies.PIPELINE_ROLE_PATH,
            description=description,
            assume_role_policy=_json(
                pulumi.Output.from_input(provider_arn).apply(
                    lambda arn: policies.github_trust_policy(arn, subjects)
                )
            ),
            max_session_duration=max_session_duration,
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


@dataclass
class PipelineRoles:
    deploy: dict[str, PipelineRole]  # by deploy environment
    preview: PipelineRole
    drift: dict[str, PipelineRole]  # by deploy environment (trusted by its environment drift-<env>)
    secrets: dict[str, SecretsKey]  # by deploy environment


def pipeline_roles(
    *,
    scope: Scope,
    repository: str,
    environments: tuple[str, ...],
    provider_arn: pulumi.Input[str],
    state: StateBackend,
    tags: dict[str, str],
    repository_kms_key_arns: Mapping[str, str] | None = None,
) -> PipelineRoles:
    """Per deploy environment: its secrets key, its stacks' permissions boundary, its deploy role and its drift
    role (environment `drift-<env>`); then the preview role (pull requests, the building stack)."""
    building = environments[0]
    secrets = {env: SecretsKey(env, tags=tags) for env in environments}
    deploy = {}
    for env in environments:
        boundary = aws.iam.Policy(
            f"boundary-{env}",
            name=boundary_policy_name(env),
            path=policies.PIPELINE_ROLE_PATH,
            description=f"Permissions boundary of every IAM role of the {PROJECT} stack {env}",
            policy=json.dumps(policies.boundary_policy(scope, env), indent=2),
            tags=tags,
        )
        arns = pulumi.Output.all(state.bucket.arn, state.key.arn, secrets[env].key.arn)

        def deploy_permissions(a: list[str], env: str = env) -> dict[str, Any]:
            return policies.deploy_permissions(scope, env, building, a[0], a[1], a[2])

        deploy[env] = PipelineRole(
            f"deploy-{env}",
            role_name=deploy_role_name(env),
            description=f"pulumi up of the {PROJECT} stack {env} from {repository} (environment {env})",
            provider_arn=provider_arn,
            subjects=[policies.environment_subject(repository, env)],
            permissions=arns.apply(deploy_permissions),
            tags=tags,
            # the slowest traffic shift runs inside `pulumi up`: the job's session outlasts it
            max_session_duration=DEPLOY_SESSION_SECONDS,
            # the boundary exists before any deploy job can ask for it
            opts=pulumi.ResourceOptions(depends_on=[boundary]),
        )
        # The stack's resources, one customer-managed policy per part of the stack (image, function, HTTP
        # API, monitoring and delivery), since a role's inline policies share one 10,240-character quota.
        for part in policies.MANAGED_PARTS:
            managed = aws.iam.Policy(
                f"deploy-{env}-{part}",
                name=policies.managed_policy_name(env, part),
                path=policies.PIPELINE_ROLE_PATH,
                description=f"pulumi up of the {PROJECT} stack {env}: its {part} (its deploy role)",
                policy=json.dumps(
                    policies.managed_permissions(scope, env, part, (repository_kms_key_arns or {}).get(env)),
                    indent=2,
                ),
                tags=tags,
            )
            aws.iam.RolePolicyAttachment(
                f"deploy-{env}-{part}-attachment", role=deploy[env].role.name, policy_arn=managed.arn
            )
    preview_arns = pulumi.Output.all(state.bucket.arn, state.key.arn, secrets[building].key.arn)
    preview = PipelineRole(
        "preview",
        role_name=PREVIEW_ROLE_NAME,
        description=(
            f"read-only pulumi preview of the {PROJECT} stack {building} from {repository} pull requests"
        ),
        provider_arn=provider_arn,
        subjects=[policies.pull_request_subject(repository)],
        permissions=preview_arns.apply(lambda a: policies.preview_permissions(scope, building, *a)),
        tags=tags,
    )
    drift = {}
    for env in environments:
        drift_arns = pulumi.Output.all(state.bucket.arn, state.key.arn, secrets[env].key.arn)

        def drift_permissions(a: list[str], env: str = env) -> dict[str, Any]:
            return policies.drift_permissions(scope, env, a[0], a[1], a[2])

        drift[env] = PipelineRole(
            f"drift-{env}",
            role_name=drift_role_name(env),
            description=(
                f"read-only drift check of the {PROJECT} stack {env} from {repository} "
                f"(environment {drift_environment(env)})"
            ),
            provider_arn=provider_arn,
            subjects=[policies.environment_subject(repository, drift_environment(env))],
            permissions=drift_arns.apply(drift_permissions),
            tags=tags,
        )
    return PipelineRoles(deploy=deploy, preview=preview, drift=drift, secrets=secrets)
