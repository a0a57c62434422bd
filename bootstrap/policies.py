"""IAM and resource policy documents of the bootstrap, as plain dicts (pure functions, tested offline).

Scope of the deploy role = exactly what the container-lambda stacks manage (see the README's stack section):
ECR repositories and Lambda functions named `container-lambda-*`, IAM roles under the path
`/container-lambda/`, log groups `/aws/lambda/container-lambda-*` and `/aws/apigateway/container-lambda-*`,
HTTP APIs of one region (API Gateway ARNs carry no name, so the region is the finest scope), the state
bucket and the KMS key. The preview role can read the same and nothing else.

Action names follow the AWS Service Authorization Reference; every document is checked with parliament
(tests/bootstrap/test_bootstrap_policies.py), which flags unknown actions and action/resource mismatches.
"""

from __future__ import annotations

from dataclasses import dataclass

OIDC_HOST = "token.actions.githubusercontent.com"
OIDC_URL = f"https://{OIDC_HOST}"
OIDC_AUDIENCE = "sts.amazonaws.com"
PROJECT = "container-lambda"
NAME_PATTERN = f"{PROJECT}-*"
# IAM path of the roles the stacks create. The pipeline roles themselves live under a different path, so the
# deploy role can never edit its own trust or permissions.
STACK_ROLE_PATH = f"/{PROJECT}/"
PIPELINE_ROLE_PATH = f"/{PROJECT}-ci/"
STATE_PREFIX = ".pulumi/"  # everything the Pulumi S3 (diy) backend writes lives under this key prefix
VERSION = "2012-10-17"


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

    @property
    def ecr_repositories(self) -> str:
        return self.arn("ecr", f"repository/{NAME_PATTERN}")

    @property
    def lambda_functions(self) -> list[str]:
        function = self.arn("lambda", f"function:{NAME_PATTERN}")
        return [function, f"{function}:*"]  # the function and its versions/aliases

    @property
    def stack_roles(self) -> str:
        return self.arn("iam", f"role{STACK_ROLE_PATH}*", regional=False)

    @property
    def log_groups(self) -> list[str]:
        # `log-group:<name>` and `log-group:<name>:*` (streams) are both matched by the trailing wildcard.
        return [
            self.arn("logs", f"log-group:/aws/lambda/{NAME_PATTERN}"),
            self.arn("logs", f"log-group:/aws/apigateway/{NAME_PATTERN}"),
        ]

    @property
    def http_apis(self) -> list[str]:
        return [
            self.arn("apigateway", "/apis", account=False),
            self.arn("apigateway", "/apis/*", account=False),
            # tags of an API are read and written through /tags/<url-encoded API ARN>
            self.arn("apigateway", "/tags/*", account=False),
        ]

    @property
    def oidc_provider(self) -> str:
        return self.arn("iam", f"oidc-provider/{OIDC_HOST}", regional=False)


def _statement(sid: str, actions: list[str], resources: list[str] | str, **condition) -> dict:
    """An Allow statement; callers give "*" only for actions without resource-level permissions."""
    statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def github_trust_policy(provider_arn: str, subjects: list[str]) -> dict:
    """Trust GitHub's OIDC tokens whose audience is STS and whose `sub` is exactly one of `subjects`."""
    return {
        "Version": VERSION,
        "Statement": [{
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{OIDC_HOST}:aud": OIDC_AUDIENCE,
                f"{OIDC_HOST}:sub": sorted(subjects),
            }},
        }],
    }


def deploy_subjects(repository: str, environments: tuple[str, ...] | list[str]) -> list[str]:
    """`sub` claims of jobs bound to a deploy environment, and nothing else: every deploy job runs in the
    environment named after its stack, so a job on main without an environment (which would skip the
    environment's protection rules) gets no write credentials."""
    return [f"repo:{repository}:environment:{name}" for name in environments]


def preview_subjects(repository: str) -> list[str]:
    """Pull requests of the repository itself (forks get no OIDC token), and main for read-only jobs
    such as the nightly drift check, which should never hold write credentials."""
    return [f"repo:{repository}:pull_request", f"repo:{repository}:ref:refs/heads/main"]


# ECR: GetAuthorizationToken has no resource-level permissions (AWS requires "Resource": "*"); the token
# only lets docker use the repository permissions granted below.
ECR_READ = [
    "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImageScanFindings",
    "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer",
    "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListImages", "ecr:ListTagsForResource",
]
ECR_WRITE = [
    "ecr:BatchDeleteImage", "ecr:CompleteLayerUpload", "ecr:CreateRepository", "ecr:DeleteLifecyclePolicy",
    "ecr:DeleteRepository", "ecr:DeleteRepositoryPolicy", "ecr:InitiateLayerUpload", "ecr:PutImage",
    "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy",
    # Lambda adds its image-pull grant to the repository policy on CreateFunction when it is missing,
    # which needs Set/GetRepositoryPolicy on the caller.
    "ecr:SetRepositoryPolicy", "ecr:TagResource", "ecr:UntagResource", "ecr:UploadLayerPart",
]
# Functions, their published versions and the alias `live` with its provisioned concurrency.
LAMBDA_READ = [
    "lambda:GetAlias", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionConcurrency", "lambda:GetFunctionConfiguration", "lambda:GetPolicy",
    "lambda:GetProvisionedConcurrencyConfig", "lambda:ListTags", "lambda:ListVersionsByFunction",
]
LAMBDA_WRITE = [
    "lambda:CreateAlias", "lambda:CreateFunction", "lambda:DeleteAlias", "lambda:DeleteFunction",
    "lambda:DeleteFunctionConcurrency", "lambda:DeleteProvisionedConcurrencyConfig", "lambda:PublishVersion",
    "lambda:PutFunctionConcurrency", "lambda:PutProvisionedConcurrencyConfig", "lambda:TagResource",
    "lambda:UntagResource", "lambda:UpdateAlias", "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
]
# Resource policy statements of the functions: only API Gateway may be granted invoke.
LAMBDA_PERMISSIONS = ["lambda:AddPermission", "lambda:RemovePermission"]
IAM_READ = [
    "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies",
    "iam:ListRoleTags",
]
IAM_WRITE = [
    "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy", "iam:ListInstanceProfilesForRole", "iam:PutRolePolicy", "iam:TagRole",
    "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
]
# Managed policies the stacks' roles may never get (infra/config.py refuses them in extraPolicyArns too).
# Inline policies (iam:PutRolePolicy) cannot be limited by content; see the README.
FORBIDDEN_POLICY_NAMES = ("AdministratorAccess", "IAMFullAccess")
LOGS_READ = ["logs:ListTagsForResource"]
LOGS_WRITE = [
    "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy", "logs:PutRetentionPolicy",
    "logs:TagResource", "logs:UntagResource",
]
# DescribeLogGroups supports no resource-level permissions (list of the account's groups, read-only).
LOGS_LIST = ["logs:DescribeLogGroups"]
# Access logging of an HTTP API stage: API Gateway's documented caller permissions ("Permissions to
# activate logging", http-api-logging.html). These actions support no resource-level permissions.
LOGS_DELIVERY = [
    "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
]
APIGATEWAY_READ = ["apigateway:GET"]
APIGATEWAY_WRITE = ["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"]


def _regional(scope: Scope, sid: str, actions: list[str]) -> dict:
    """A statement for actions AWS authorizes only on "*", held to the stacks' region."""
    return _statement(sid, actions, "*", StringEquals={"aws:RequestedRegion": scope.region})


def _state_statements(bucket_arn: str, key_arn: str, *, write: bool) -> list[dict]:
    objects = f"{bucket_arn}/{STATE_PREFIX}*"
    return [
        _statement("StateList", ["s3:ListBucket"], bucket_arn),
        _statement("StateObjects", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] if write
                   else ["s3:GetObject"], objects),
        # Decrypt: stack secrets and SSE-KMS state objects. Encrypt: new stack secrets (awskms provider).
        # GenerateDataKey: writing SSE-KMS objects.
        _statement("StateKey", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] if write
                   else ["kms:Decrypt"], key_arn),
    ]


def deploy_permissions(scope: Scope, bucket_arn: str, key_arn: str) -> dict:
    """Everything `pulumi up` / `destroy` of a container-lambda stack needs, scoped to its resources."""
    return {
        "Version": VERSION,
        "Statement": [
            _regional(scope, "EcrLogin", ["ecr:GetAuthorizationToken"]),
            _statement("EcrRepositories", ECR_READ + ECR_WRITE, scope.ecr_repositories),
            _statement("LambdaFunctions", LAMBDA_READ + LAMBDA_WRITE, scope.lambda_functions),
            _statement("LambdaInvokeGrantsForApiGateway", LAMBDA_PERMISSIONS, scope.lambda_functions,
                       StringEquals={"lambda:Principal": "apigateway.amazonaws.com"}),
            _statement("StackRoles", IAM_READ + IAM_WRITE, scope.stack_roles),
            _statement("AttachPoliciesToStackRoles", ["iam:AttachRolePolicy"], scope.stack_roles,
                       ArnNotLike={"iam:PolicyARN": [
                           f"arn:{scope.partition}:iam::*:policy{path}{name}"
                           for name in FORBIDDEN_POLICY_NAMES for path in ("/", "/*/")]}),
            _statement("PassStackRolesToLambdaOnly", ["iam:PassRole"], scope.stack_roles,
                       StringEquals={"iam:PassedToService": "lambda.amazonaws.com"}),
            _statement("LogGroups", LOGS_READ + LOGS_WRITE, scope.log_groups),
            _regional(scope, "LogGroupsList", LOGS_LIST),
            _regional(scope, "ApiAccessLogDelivery", LOGS_DELIVERY),
            _statement("HttpApis", APIGATEWAY_READ + APIGATEWAY_WRITE, scope.http_apis),
            *_state_statements(bucket_arn, key_arn, write=True),
        ],
    }


def preview_permissions(scope: Scope, bucket_arn: str, key_arn: str) -> dict:
    """`pulumi preview` (also with --refresh): read the stack's resources and its state, decrypt its secrets.

    The S3 (diy) backend takes no lock for a preview and writes no history or backup for a dry run
    (pkg/backend/diy/backend.go: Preview calls apply without Lock; addToHistory/backupStack only when
    !DryRun), so this role gets no S3 write at all: a pull request cannot plant or delete lock files.
    """
    return {
        "Version": VERSION,
        "Statement": [
            _regional(scope, "EcrLogin", ["ecr:GetAuthorizationToken"]),
            _statement("EcrRepositories", ECR_READ, scope.ecr_repositories),
            _statement("LambdaFunctions", LAMBDA_READ, scope.lambda_functions),
            _statement("StackRoles", IAM_READ, scope.stack_roles),
            _statement("LogGroups", LOGS_READ, scope.log_groups),
            _regional(scope, "LogGroupsList", LOGS_LIST),
            _statement("HttpApis", APIGATEWAY_READ, scope.http_apis),
            *_state_statements(bucket_arn, key_arn, write=False),
        ],
    }


def tls_only_bucket_policy(bucket_arn: str) -> dict:
    """Deny every request to the state bucket that does not arrive over TLS."""
    return {
        "Version": VERSION,
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }
