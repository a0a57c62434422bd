"""Every resource policy of the pack with a passing and a failing resource (validation functions called with
constructed arguments, properties proxied as the engine sends them)."""

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from infra.project import PROJECT
from policy.guardrails import ADVISORY, MANDATORY, POLICIES
from tests.policy.support import (
    ACCOUNT,
    GITHUB,
    GITHUB_PROVIDER,
    REGION,
    UNKNOWN,
    document,
    execution_policy,
    function,
    github_trust,
    lambda_trust,
    log_group,
    permission,
    repository,
    role,
    stage,
    tags,
    violations,
)

FUNCTION = "aws:lambda/function:Function"
REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
STAGE = "aws:apigatewayv2/stage:Stage"
API = "aws:apigatewayv2/api:Api"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
API_ID = "a1b2c3d4e5"
EXECUTE_API = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
IAM_FULL = "arn:aws:iam::aws:policy/IAMFullAccess"
LAMBDA_BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SAFE_PULL = {
    "Sid": "Pull",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
}
PUBLIC_PULL = SAFE_PULL | {"Principal": "*"}
SUB = f"{GITHUB}:sub"
AUD = f"{GITHUB}:aud"
EXACT_SUB = f"repo:example-org/{PROJECT}:environment:dev"


def statement(actions, resources="*", **extra) -> str:
    return document({"Effect": "Allow", "Action": actions, "Resource": resources} | extra)


GRANT_READ = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/r"},
    "Action": "s3:GetObject",
}


def inline(policy: str) -> dict:
    return {"role": "r", "policy": policy}


def attach(policy_arn: str) -> dict:
    return {"role": "r", "policyArn": policy_arn}


def bucket_read() -> str:
    return statement(["s3:GetObject"], f"arn:aws:s3:::{PROJECT}-state/*")


# (case id, policy, resource type, passing props, failing props, fragment of the violation message)
CASES = [
    (
        "scan-on-push",
        "ecr-scan-on-push",
        REPOSITORY,
        repository(),
        repository(imageScanningConfiguration={"scanOnPush": False}),
        "does not scan images on push",
    ),
    (
        "scan-on-push-missing",
        "ecr-scan-on-push",
        REPOSITORY,
        repository(),
        {k: v for k, v in repository().items() if k != "imageScanningConfiguration"},
        "does not scan",
    ),
    (
        "immutable-tags",
        "ecr-immutable-tags",
        REPOSITORY,
        repository(),
        repository(imageTagMutability="MUTABLE"),
        "image tag mutability MUTABLE",
    ),
    (
        "immutable-tags-default",
        "ecr-immutable-tags",
        REPOSITORY,
        repository(),
        {k: v for k, v in repository().items() if k != "imageTagMutability"},
        "MUTABLE (the default)",
    ),
    (
        "immutable-tags-with-exclusion",
        "ecr-immutable-tags",
        REPOSITORY,
        repository(),
        repository(
            imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=[{"filter": "*", "filterType": "WILDCARD"}],
        ),
        "IMMUTABLE_WITH_EXCLUSION",
    ),
    (
        "public-repository-policy",
        "ecr-no-public-repository-policy",
        REPOSITORY_POLICY,
        {"repository": f"{PROJECT}-dev", "policy": document(SAFE_PULL)},
        {"repository": f"{PROJECT}-dev", "policy": document(PUBLIC_PULL)},
        "allows anyone",
    ),
    (
        "public-repository-policy-aws-star",
        "ecr-no-public-repository-policy",
        REPOSITORY_POLICY,
        {
            "repository": "r",
            "policy": document(
                PUBLIC_PULL
                | {"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}}}
            ),
        },
        {"repository": "r", "policy": document(PUBLIC_PULL | {"Principal": {"AWS": "*"}})},
        "allows anyone",
    ),
    (
        "package-type",
        "lambda-image-package",
        FUNCTION,
        function(),
        function(packageType="Zip"),
        "package type Zip",
    ),
    (
        "package-type-default",
        "lambda-image-package",
        FUNCTION,
        function(),
        {k: v for k, v in function().items() if k not in ("packageType", "imageUri")},
        "Zip (the default)",
    ),
    (
        "image-by-tag",
        "lambda-image-digest",
        FUNCTION,
        function(),
        function(imageUri=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{PROJECT}-dev:latest"),
        "not pinned by digest",
    ),
    (
        "image-short-digest",
        "lambda-image-digest",
        FUNCTION,
        function(),
        function(imageUri=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{PROJECT}-dev@sha256:abc"),
        "not pinned by digest",
    ),
    (
        "two-architectures",
        "lambda-single-architecture",
        FUNCTION,
        function(architectures=["x86_64"]),
        function(architectures=["arm64", "x86_64"]),
        "not one of",
    ),
    (
        "no-architecture",
        "lambda-single-architecture",
        FUNCTION,
        function(),
        {k: v for k, v in function().items() if k != "architectures"},
        "architectures []",
    ),
    (
        "tracing-passthrough",
        "lambda-active-tracing",
        FUNCTION,
        function(),
        function(tracingConfig={"mode": "PassThrough"}),
        "tracing mode PassThrough",
    ),
    (
        "tracing-missing",
        "lambda-active-tracing",
        FUNCTION,
        function(),
        {k: v for k, v in function().items() if k != "tracingConfig"},
        "PassThrough (the default)",
    ),
    (
        "secret-name-in-environment",
        "lambda-no-secrets-in-environment",
        FUNCTION,
        function(environment={"variables": {"LOG_LEVEL": "INFO", "FEATURE_FLAG": "on"}}),
        function(environment={"variables": {"LOG_LEVEL": "INFO", "DB_PASSWORD": "hunter2"}}),
        "['DB_PASSWORD']",
    ),
    (
        "secret-value-in-environment",
        "lambda-no-secrets-in-environment",
        FUNCTION,
        function(),
        function(environment={"variables": {"UPSTREAM": "AKIA" + "Q" * 16}}),
        "['UPSTREAM']",
    ),
    (
        "password-in-a-url",
        "lambda-no-secrets-in-environment",
        FUNCTION,
        function(environment={"variables": {"DATABASE_URL": "postgres://db.internal:5432/orders"}}),
        function(environment={"variables": {"DATABASE_URL": "postgres://app:hunter2@db.internal/orders"}}),
        "['DATABASE_URL']",
    ),
    (
        "secret-reference-by-arn",
        "lambda-no-secrets-in-environment",
        FUNCTION,
        function(
            environment={
                "variables": {
                    "DB_PASSWORD_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/db-AbCdEf",
                    "API_TOKEN": "arn:aws:ssm:eu-west-1:123456789012:parameter/orders/api-token",
                }
            }
        ),
        function(environment={"variables": {"API_TOKEN": "arn-looking-but-not-an-arn"}}),
        "['API_TOKEN']",
    ),
    (
        "function-url-none",
        "lambda-function-url-auth",
        FUNCTION_URL,
        {"functionName": "f", "authorizationType": "AWS_IAM"},
        {"functionName": "f", "authorizationType": "NONE"},
        "authorization type NONE",
    ),
    (
        "permission-star",
        "lambda-permission-scoped",
        PERMISSION,
        permission(),
        permission(principal="*"),
        "principal '*'",
    ),
    (
        "permission-no-source",
        "lambda-permission-scoped",
        PERMISSION,
        permission(),
        {k: v for k, v in permission().items() if k != "sourceArn"},
        "on behalf of any account",
    ),
    (
        "permission-bare-star-arn",
        "lambda-permission-scoped",
        PERMISSION,
        permission(),
        permission(sourceArn="*"),
        'bare "*"',
    ),
    (
        "permission-any-api",
        "lambda-permission-scoped",
        PERMISSION,
        permission(),
        permission(sourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*/*/*"),
        "does not name the API",
    ),
    (
        "permission-any-account",
        "lambda-permission-scoped",
        PERMISSION,
        permission(sourceArn=f"arn:aws:execute-api:{REGION}::{API_ID}/*", sourceAccount=ACCOUNT),
        permission(sourceArn=f"arn:aws:execute-api:{REGION}:*:{API_ID}/*/*"),
        "does not name the account",
    ),
    (
        "declared-permission-not-approved",
        "function-permissions-approved",
        ROLE_POLICY,
        {"role": "r", "policy": execution_policy()},
        {
            "role": "r",
            "policy": document(
                {
                    "Sid": "DeclaredNotInTheApprovedFile",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": ["arn:aws:s3:::a-bucket/*"],
                }
            ),
        },
        "NotInTheApprovedFile: not approved",
    ),
    (
        "star-action",
        "iam-no-wildcard-actions",
        ROLE_POLICY,
        {"role": "r", "policy": execution_policy()},
        {"role": "r", "policy": statement("*")},
        "wildcard actions ['*']",
    ),
    (
        "service-star-action",
        "iam-no-wildcard-actions",
        IAM_POLICY,
        {"policy": execution_policy()},
        {"policy": statement(["logs:*"], "arn:aws:logs:eu-west-1:123456789012:log-group:x")},
        "['logs:*']",
    ),
    (
        "xray-star-action",
        "iam-no-wildcard-actions",
        ROLE_POLICY,
        {"role": "r", "policy": execution_policy()},
        {"role": "r", "policy": statement(["xray:*"])},
        "['xray:*']",
    ),
    (
        "not-action",
        "iam-no-wildcard-actions",
        ROLE_POLICY,
        {"role": "r", "policy": bucket_read()},
        {"role": "r", "policy": document({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})},
        "every action except",
    ),
    (
        "inline-star-action",
        "iam-no-wildcard-actions",
        ROLE,
        role(inlinePolicies=[{"name": "logs", "policy": execution_policy()}]),
        role(inlinePolicies=[{"name": "logs", "policy": statement("s3:*")}]),
        "inline policy 'logs'",
    ),
    (
        "bucket-policy-star-action",
        "iam-no-wildcard-actions",
        BUCKET_POLICY,
        {
            "bucket": "state",
            "policy": document(
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": "arn:aws:s3:::state/*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ),
        },
        {
            "bucket": "state",
            "policy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/reader"},
                    "Action": "s3:*",
                    "Resource": "arn:aws:s3:::state/*",
                }
            ),
        },
        "['s3:*']",
    ),
    (
        "repository-policy-star-action",
        "iam-no-wildcard-actions",
        REPOSITORY_POLICY,
        {"repository": f"{PROJECT}-dev", "policy": document(SAFE_PULL)},
        {"repository": f"{PROJECT}-dev", "policy": document(SAFE_PULL | {"Action": "ecr:*"})},
        "['ecr:*']",
    ),
    (
        "prefix-wildcard-actions",
        "iam-no-wildcard-actions",
        ROLE_POLICY,
        inline(bucket_read()),
        inline(statement(["iam:C*", "iam:P*", "sts:A*"], f"arn:aws:iam::{ACCOUNT}:role/x")),
        "['iam:C*', 'iam:P*', 'sts:A*']",
    ),
    (
        "single-character-wildcard-action",
        "iam-no-wildcard-actions",
        IAM_POLICY,
        {"policy": bucket_read()},
        {"policy": statement(["s3:GetObjec?"], f"arn:aws:s3:::{PROJECT}-state/*")},
        "['s3:GetObjec?']",
    ),
    (
        "every-service-resource",
        "iam-no-service-wide-resources",
        ROLE_POLICY,
        inline(bucket_read()),
        inline(statement(["s3:GetObject"], "arn:aws:*:*:*:*")),
        "['arn:aws:*:*:*:*']",
    ),
    (
        "short-service-resource",
        "iam-no-service-wide-resources",
        IAM_POLICY,
        {"policy": bucket_read()},
        {"policy": statement(["s3:GetObject"], [f"arn:aws:s3:::{PROJECT}-state/*", "arn:aws:*"])},
        "['arn:aws:*']",
    ),
    (
        "every-bucket-resource",
        "iam-no-service-wide-resources",
        ROLE_POLICY,
        inline(bucket_read()),
        inline(statement(["s3:GetObject"], "arn:aws:s3:::*")),
        "['arn:aws:s3:::*']",
    ),
    (
        "every-log-group-resource",
        "iam-no-service-wide-resources",
        ROLE,
        role(inlinePolicies=[{"name": "logs", "policy": execution_policy()}]),
        role(
            inlinePolicies=[
                {"name": "logs", "policy": statement(["logs:PutLogEvents"], "arn:aws:logs:*:*:*")}
            ]
        ),
        "['arn:aws:logs:*:*:*']",
    ),
    (
        "bucket-policy-every-bucket",
        "iam-no-service-wide-resources",
        BUCKET_POLICY,
        {"bucket": "b", "policy": document(GRANT_READ | {"Resource": "arn:aws:s3:::b/*"})},
        {"bucket": "b", "policy": document(GRANT_READ | {"Resource": "arn:aws:s3:::*/*"})},
        "['arn:aws:s3:::*/*']",
    ),
    (
        "not-resource",
        "iam-no-service-wide-resources",
        IAM_POLICY,
        {"policy": bucket_read()},
        {
            "policy": document(
                {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"}
            )
        },
        "every resource except",
    ),
    (
        "power-user-attachment",
        "iam-no-admin-policies",
        ATTACHMENT,
        attach(LAMBDA_BASIC),
        attach("arn:aws:iam::aws:policy/PowerUserAccess"),
        "'poweruser'",
    ),
    (
        "amplify-admin-attachment",
        "iam-no-admin-policies",
        ATTACHMENT,
        attach(LAMBDA_BASIC),
        attach("arn:aws:iam::aws:policy/AdministratorAccess-Amplify"),
        "'admin'",
    ),
    (
        "customer-admin-attachment",
        "iam-no-admin-policies",
        ATTACHMENT,
        attach(f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/reads-the-bucket"),
        attach(f"arn:aws:iam::{ACCOUNT}:policy/OrgAdmin"),
        "'admin'",
    ),
    (
        "lower-case-admin-attachment",
        "iam-no-admin-policies",
        ATTACHMENT,
        attach(LAMBDA_BASIC),
        attach("arn:aws:iam::aws:policy/administratoraccess"),
        "'admin'",
    ),
    (
        "look-alike-admin-attachment",
        "iam-no-admin-policies",
        ATTACHMENT,
        attach(LAMBDA_BASIC),
        attach("arn:aws:iam::aws:policy/\u0410dministratorAccess"),
        "non-ASCII",
    ),
    (
        "admin-boundary",
        "iam-no-admin-policies",
        ROLE,
        role(permissionsBoundary=f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}-ci/{PROJECT}.boundary.dev"),
        role(permissionsBoundary=ADMIN),
        "caps nothing",
    ),
    (
        "s3-full-access-attachment",
        "iam-no-admin-policies",
        ROLE,
        role(managedPolicyArns=[LAMBDA_BASIC]),
        role(managedPolicyArns=[LAMBDA_BASIC, "arn:aws:iam::aws:policy/AmazonS3FullAccess"]),
        "'fullaccess'",
    ),
    (
        "resource-star",
        "iam-resource-star-only-where-required",
        ROLE_POLICY,
        {"role": "r", "policy": execution_policy()},
        {"role": "r", "policy": statement(["logs:PutLogEvents", "xray:PutTraceSegments"])},
        "grants ['logs:PutLogEvents'] on every resource",
    ),
    (
        "admin-attachment",
        "iam-no-admin-policies",
        ATTACHMENT,
        {"role": "r", "policyArn": LAMBDA_BASIC},
        {"role": "r", "policyArn": ADMIN},
        "AdministratorAccess",
    ),
    (
        "iam-full-attachment",
        "iam-no-admin-policies",
        ATTACHMENT,
        {"role": "r", "policyArn": LAMBDA_BASIC},
        {"role": "r", "policyArn": IAM_FULL.replace("arn:aws:", "arn:aws-us-gov:")},
        "IAMFullAccess",
    ),
    (
        "admin-managed-arns",
        "iam-no-admin-policies",
        ROLE,
        role(managedPolicyArns=[LAMBDA_BASIC]),
        role(managedPolicyArns=[LAMBDA_BASIC, ADMIN]),
        "AdministratorAccess",
    ),
    (
        "trust-star",
        "iam-trust-specific-principals",
        ROLE,
        role(),
        role(assumeRolePolicy=document({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})),
        "is a wildcard",
    ),
    (
        "trust-aws-star",
        "iam-trust-specific-principals",
        ROLE,
        role(
            assumeRolePolicy=document(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/deployer"},
                }
            )
        ),
        role(
            assumeRolePolicy=document(
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            )
        ),
        "is a wildcard",
    ),
    (
        "trust-whole-account",
        "iam-trust-specific-principals",
        ROLE,
        role(),
        role(
            assumeRolePolicy=document(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {
                        "AWS": ["arn:aws:iam::210987654321:role/deployer", f"arn:aws:iam::{ACCOUNT}:root"]
                    },
                }
            )
        ),
        "is a whole account",
    ),
    (
        "trust-account-id",
        "iam-trust-specific-principals",
        ROLE,
        role(),
        role(
            assumeRolePolicy=document(
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": ACCOUNT}}
            )
        ),
        "is a whole account",
    ),
    (
        "trust-service-wildcard",
        "iam-trust-specific-principals",
        ROLE,
        role(),
        role(
            assumeRolePolicy=document(
                {"Effect": "Allow", "Principal": {"Service": "*.amazonaws.com"}, "Action": "sts:AssumeRole"}
            )
        ),
        "is a wildcard",
    ),
    (
        "trust-not-principal",
        "iam-trust-specific-principals",
        ROLE,
        role(),
        role(
            assumeRolePolicy=document(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                }
            )
        ),
        "NotPrincipal",
    ),
    (
        "github-no-sub",
        "iam-github-oidc-trust",
        ROLE,
        role(assumeRolePolicy=github_trust()),
        role(assumeRolePolicy=github_trust({"StringEquals": {AUD: "sts.amazonaws.com"}})),
        "no StringEquals",
    ),
    (
        "github-wildcard-sub",
        "iam-github-oidc-trust",
        ROLE,
        role(assumeRolePolicy=github_trust()),
        role(
            assumeRolePolicy=github_trust(
                {"StringEquals": {AUD: "sts.amazonaws.com", SUB: f"repo:example-org/{PROJECT}:*"}}
            )
        ),
        "not an exact",
    ),
    (
        "github-string-like-sub",
        "iam-github-oidc-trust",
        ROLE,
        role(assumeRolePolicy=github_trust()),
        role(
            assumeRolePolicy=github_trust(
                {
                    "StringEquals": {AUD: "sts.amazonaws.com", SUB: EXACT_SUB},
                    "StringLike": {SUB: "repo:example-org/*"},
                }
            )
        ),
        "StringLike",
    ),
    (
        "github-no-aud",
        "iam-github-oidc-trust",
        ROLE,
        role(assumeRolePolicy=github_trust()),
        role(assumeRolePolicy=github_trust({"StringEquals": {SUB: EXACT_SUB}})),
        "aud is missing",
    ),
    (
        "github-other-aud",
        "iam-github-oidc-trust",
        ROLE,
        role(assumeRolePolicy=github_trust()),
        role(
            assumeRolePolicy=github_trust(
                {"StringEquals": {AUD: ["sts.amazonaws.com", "other"], SUB: EXACT_SUB}}
            )
        ),
        "aud is ['sts.amazonaws.com', 'other']",
    ),
    (
        "domain-tls-1-0",
        "apigw-domain-tls-1-2",
        "aws:apigatewayv2/domainName:DomainName",
        {
            "domainName": "api.example.com",
            "domainNameConfiguration": {"endpointType": "REGIONAL", "securityPolicy": "TLS_1_2"},
        },
        {
            "domainName": "api.example.com",
            "domainNameConfiguration": {"endpointType": "REGIONAL", "securityPolicy": "TLS_1_0"},
        },
        "TLS below 1.2",
    ),
    (
        "stage-no-access-log",
        "apigw-stage-access-logging",
        STAGE,
        stage(),
        {k: v for k, v in stage().items() if k != "accessLogSettings"},
        "destination_arn, format missing",
    ),
    (
        "stage-no-format",
        "apigw-stage-access-logging",
        STAGE,
        stage(),
        stage(accessLogSettings={"destinationArn": "arn:aws:logs:eu-west-1:123456789012:log-group:x"}),
        "(format missing)",
    ),
    (
        "stage-no-throttle",
        "apigw-stage-default-throttling",
        STAGE,
        stage(),
        {k: v for k, v in stage().items() if k != "defaultRouteSettings"},
        "throttlingRateLimit None",
    ),
    (
        "stage-zero-burst",
        "apigw-stage-default-throttling",
        STAGE,
        stage(),
        stage(defaultRouteSettings={"throttlingRateLimit": 50, "throttlingBurstLimit": 0}),
        "throttlingBurstLimit 0",
    ),
    (
        "log-group-forever",
        "log-group-retention",
        LOG_GROUP,
        log_group(),
        {k: v for k, v in log_group().items() if k != "retentionInDays"},
        "keeps its logs forever",
    ),
    (
        "tags-missing",
        "standard-tags",
        FUNCTION,
        function(),
        {k: v for k, v in function().items() if k != "tags"},
        "lacks the standard tags",
    ),
    (
        "tags-wrong-stack",
        "standard-tags",
        LOG_GROUP,
        log_group(),
        log_group(tags=tags("prod")),
        "Stack='prod'",
    ),
    (
        "tags-wrong-project",
        "standard-tags",
        ROLE,
        role(),
        role(tags=tags() | {"Project": "other"}),
        "Project='other'",
    ),
    (
        "tags-on-stage",
        "standard-tags",
        STAGE,
        stage(),
        stage(tags={"Project": f"{PROJECT}"}),
        "ManagedBy=None",
    ),
    # advisory policies
    (
        "reserved-concurrency",
        "lambda-reserved-concurrency",
        FUNCTION,
        function(),
        {k: v for k, v in function().items() if k != "reservedConcurrentExecutions"},
        "no reserved concurrency",
    ),
    (
        "reserved-concurrency-unreserved",
        "lambda-reserved-concurrency",
        FUNCTION,
        function(),
        function(reservedConcurrentExecutions=-1),
        "no reserved concurrency",
    ),
    (
        "kms-ecr",
        "kms-customer-managed-key",
        REPOSITORY,
        repository(
            encryptionConfigurations=[
                {"encryptionType": "KMS", "kmsKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"}
            ]
        ),
        repository(encryptionConfigurations=[{"encryptionType": "KMS"}]),
        "customer-managed KMS key",
    ),
    (
        "kms-log-group",
        "kms-customer-managed-key",
        LOG_GROUP,
        log_group(kmsKeyId=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"),
        log_group(),
        "a key CloudWatch Logs owns",
    ),
]


@pytest.mark.parametrize(("policy", "typ", "good"), [c[1:4] for c in CASES], ids=[c[0] for c in CASES])
def test_policy_passes_the_secure_resource(policy, typ, good):
    assert violations(policy, typ, good) == []


@pytest.mark.parametrize(
    ("policy", "typ", "bad", "fragment"), [(c[1], c[2], c[4], c[5]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_policy_rejects_the_insecure_resource_and_says_how_to_fix_it(policy, typ, bad, fragment):
    (found,) = violations(policy, typ, bad)
    assert fragment in found
    assert ". Fix: " in found


def test_every_resource_policy_has_a_case():
    production_only = {"cors-no-wildcard-in-production", "log-retention-production"}  # tested below
    covered = {case[1] for case in CASES} | production_only
    resource_policies = {p.name for p in POLICIES if isinstance(p, ResourceValidationPolicy)}
    assert not resource_policies - covered


def test_enforcement_levels():
    assert {p.enforcement_level for p in MANDATORY} == {EnforcementLevel.MANDATORY}
    assert {p.enforcement_level for p in ADVISORY} == {EnforcementLevel.ADVISORY}
    assert {p.name for p in ADVISORY} == {
        "log-retention-production",
        "kms-customer-managed-key",
        "lambda-reserved-concurrency",
    }
    assert len({p.name for p in POLICIES}) == len(POLICIES)


# --- production stacks (policy config) ----------------------------------------------------------------

OPEN_CORS = {"protocolType": "HTTP", "corsConfiguration": {"allowOrigins": ["*"]}}
LISTED_CORS = {"protocolType": "HTTP", "corsConfiguration": {"allowOrigins": ["https://app.example.com"]}}


def test_cors_star_is_rejected_on_a_production_stack():
    (found,) = violations(
        "cors-no-wildcard-in-production", API, OPEN_CORS | {"tags": tags("eu", "production")}, stack="eu"
    )
    assert "production stack 'eu'" in found and ". Fix: " in found


def test_cors_star_is_allowed_outside_production():
    assert violations("cors-no-wildcard-in-production", API, OPEN_CORS | {"tags": tags()}) == []
    assert (
        violations("cors-no-wildcard-in-production", API, OPEN_CORS | {"tags": tags("dev", "non-production")})
        == []
    )


def test_cors_with_listed_origins_passes_in_production():
    assert (
        violations(
            "cors-no-wildcard-in-production",
            API,
            LISTED_CORS | {"tags": tags("prod", "production")},
            stack="prod",
        )
        == []
    )


@pytest.mark.parametrize("stack", ["prod", "production", "prod-eu", "live"])
def test_production_is_the_declared_class_not_the_stack_name(stack):
    assert (
        violations("cors-no-wildcard-in-production", API, OPEN_CORS | {"tags": tags(stack)}, stack=stack)
        == []
    )
    assert (
        violations(
            "cors-no-wildcard-in-production",
            API,
            OPEN_CORS | {"tags": tags(stack, "non-production")},
            stack=stack,
        )
        == []
    )
    assert violations(
        "cors-no-wildcard-in-production", API, OPEN_CORS | {"tags": tags(stack, "production")}, stack=stack
    )


def test_the_tag_wins_over_the_pack_config():
    production = {"environmentClass": "production"}
    assert (
        violations(
            "cors-no-wildcard-in-production",
            API,
            OPEN_CORS | {"tags": tags("a", "non-production")},
            config=production,
        )
        == []
    )
    assert violations(
        "cors-no-wildcard-in-production", API, OPEN_CORS | {"tags": tags("a")}, config=production
    )


def test_cors_star_on_a_function_url_in_production():
    """A function URL takes no tags: the pack's environmentClass config declares the stack's class."""
    url = {"functionName": "f", "authorizationType": "AWS_IAM", "cors": {"allowOrigins": ["*"]}}
    assert violations(
        "cors-no-wildcard-in-production",
        FUNCTION_URL,
        url,
        stack="prod",
        config={"environmentClass": "production"},
    )
    assert violations("cors-no-wildcard-in-production", FUNCTION_URL, url, stack="prod") == []


def test_short_retention_warns_on_production_only():
    short = log_group(tags=tags("eu", "production"))
    (found,) = violations("log-retention-production", LOG_GROUP, short, stack="eu")
    assert "keeps logs 14 days, under 365" in found and ". Fix: " in found
    assert violations("log-retention-production", LOG_GROUP, log_group()) == []
    assert (
        violations(
            "log-retention-production", LOG_GROUP, log_group(tags=tags("production")), stack="production"
        )
        == []
    )
    a_year = log_group(retentionInDays=365, tags=tags("prod", "production"))
    assert violations("log-retention-production", LOG_GROUP, a_year, stack="prod") == []


def test_retention_minimum_comes_from_the_policy_config():
    group = log_group(retentionInDays=90, tags=tags("prod", "production"))
    assert (
        violations(
            "log-retention-production", LOG_GROUP, group, stack="prod", config={"minimumRetentionDays": 30}
        )
        == []
    )


def test_required_tags_come_from_the_policy_config():
    config = {"requiredTags": {"Project": f"{PROJECT}", "ManagedBy": "pulumi", "CostCenter": "ml"}}
    (found,) = violations("standard-tags", FUNCTION, function(), config=config)
    assert "CostCenter=None" in found


# --- preview: values the engine does not know yet -----------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "typ", "props"),
    [
        ("lambda-image-digest", FUNCTION, function(imageUri=UNKNOWN)),
        ("lambda-permission-scoped", PERMISSION, permission(sourceArn=UNKNOWN)),
        (
            "apigw-stage-access-logging",
            STAGE,
            stage(accessLogSettings={"destinationArn": UNKNOWN, "format": "{}"}),
        ),
        ("iam-no-wildcard-actions", ROLE_POLICY, {"role": "r", "policy": UNKNOWN}),
        ("iam-trust-specific-principals", ROLE, role(assumeRolePolicy=UNKNOWN)),
        ("standard-tags", FUNCTION, function(tags=tags() | {"Stack": UNKNOWN})),
    ],
)
def test_an_unknown_value_passes_the_preview(policy, typ, props):
    assert violations(policy, typ, props) == []


def test_a_document_as_a_map_is_read_like_json():
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert violations("iam-no-wildcard-actions", ROLE_POLICY, {"role": "r", "policy": policy})


def test_a_malformed_document_is_a_violation():
    (found,) = violations("iam-no-wildcard-actions", ROLE_POLICY, {"role": "r", "policy": "{not json"})
    assert "not valid JSON" in found


def test_the_wildcard_escalation_of_the_review_fails_two_policies():
    # "Action": ["iam:C*", "iam:P*", "sts:A*"], "Resource": "arn:aws:*:*:*:*" passed every policy before
    policy = statement(["iam:C*", "iam:P*", "sts:A*"], "arn:aws:*:*:*:*")
    assert violations("iam-no-wildcard-actions", ROLE_POLICY, {"role": "r", "policy": policy})
    assert violations("iam-no-service-wide-resources", ROLE_POLICY, {"role": "r", "policy": policy})


def test_deny_statements_may_use_wildcards():
    deny = document(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    assert violations("iam-no-wildcard-actions", IAM_POLICY, {"policy": deny}) == []
    assert violations("iam-resource-star-only-where-required", IAM_POLICY, {"policy": deny}) == []
    deny_everywhere = document({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*"})
    assert violations("iam-no-service-wide-resources", IAM_POLICY, {"policy": deny_everywhere}) == []


def test_the_lambda_trust_passes_the_github_policy_untouched():
    assert violations("iam-github-oidc-trust", ROLE, role(assumeRolePolicy=lambda_trust())) == []


def test_a_github_trust_names_a_specific_principal():
    assert violations("iam-trust-specific-principals", ROLE, role(assumeRolePolicy=github_trust())) == []
    assert GITHUB_PROVIDER.endswith(GITHUB)
