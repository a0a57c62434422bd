"""IAM documents of the bootstrap: exact trust, scoped permissions, and a clean parliament audit."""

import json
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import parliament
import pytest
from parliament import analyze_policy_string

from bootstrap import policies
from bootstrap.policies import Scope

SCOPE = Scope(partition="aws", region="eu-west-1", account_id="123456789012")
BUCKET_ARN = "arn:aws:s3:::container-lambda-state-20261123072400000000000001"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
REPOSITORY = "example-org/container-lambda"
OIDC = "token.actions.githubusercontent.com"
DEPLOY = policies.deploy_permissions(SCOPE, BUCKET_ARN, KEY_ARN)
PREVIEW = policies.preview_permissions(SCOPE, BUCKET_ARN, KEY_ARN)
PERMISSIONS = {"deploy": DEPLOY, "preview": PREVIEW}
TRUSTS = {
    "deploy": policies.github_trust_policy(SCOPE.oidc_provider,
                                           policies.deploy_subjects(REPOSITORY, ["production"])),
    "preview": policies.github_trust_policy(SCOPE.oidc_provider, policies.preview_subjects(REPOSITORY)),
}
# Actions AWS authorizes only against "*" (no resource types in the Service Authorization Reference).
RESOURCE_STAR_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "logs:DescribeLogGroups",
    "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
}


@cache
def iam_definition() -> dict[str, dict]:
    """parliament's copy of the Service Authorization Reference, by lower-case action name."""
    path = Path(parliament.__file__).with_name("iam_definition.json")
    actions = {}
    for service in json.loads(path.read_text()):
        for privilege in service["privileges"]:
            actions.setdefault(f"{service['prefix']}:{privilege['privilege']}".lower(), []).append(privilege)
    return actions


def statements(document: dict) -> list[dict]:
    return document["Statement"]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def findings(document: dict, *, community: bool = False) -> set[tuple[str, str]]:
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=community)
    return {(finding.issue, str(finding.detail)) for finding in policy.findings}


# --- trust -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", TRUSTS)
def test_trust_is_the_github_provider_with_exact_audience_and_subject(role):
    (statement,) = statements(TRUSTS[role])
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Federated": SCOPE.oidc_provider}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert list(statement["Condition"]) == ["StringEquals"]
    condition = statement["Condition"]["StringEquals"]
    assert set(condition) == {f"{OIDC}:aud", f"{OIDC}:sub"}
    assert condition[f"{OIDC}:aud"] == "sts.amazonaws.com"


def test_deploy_role_is_trusted_by_the_deploy_environments_only():
    (statement,) = statements(TRUSTS["deploy"])
    assert statement["Condition"]["StringEquals"][f"{OIDC}:sub"] == [
        "repo:example-org/container-lambda:environment:production",
    ]


def test_preview_role_is_trusted_by_pull_requests_and_main_only():
    (statement,) = statements(TRUSTS["preview"])
    assert statement["Condition"]["StringEquals"][f"{OIDC}:sub"] == [
        "repo:example-org/container-lambda:pull_request",
        "repo:example-org/container-lambda:ref:refs/heads/main",
    ]


@pytest.mark.parametrize("role", TRUSTS)
def test_no_subject_could_match_another_repository(role):
    (statement,) = statements(TRUSTS[role])
    for subject in statement["Condition"]["StringEquals"][f"{OIDC}:sub"]:
        assert subject.startswith(f"repo:{REPOSITORY}:")
        assert "*" not in subject and "?" not in subject


@pytest.mark.parametrize("role", TRUSTS)
def test_trust_policy_passes_parliament_except_its_known_blind_spots(role):
    # parliament audits identity policies: a trust policy has no Resource (MALFORMED), and parliament only
    # knows SAML and a few built-in web identity providers, not IAM OIDC providers
    # (UNKNOWN_FEDERATION_SOURCE).
    assert findings(TRUSTS[role]) == {
        ("MALFORMED", "Statement contains neither Resource nor NotResource"),
        ("UNKNOWN_FEDERATION_SOURCE", SCOPE.oidc_provider),
    }


# --- permissions -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", PERMISSIONS)
def test_permissions_pass_parliament_with_zero_findings(role):
    assert findings(PERMISSIONS[role]) == set()


def test_deploy_permissions_community_findings_are_the_documented_ones():
    # CREDENTIALS_EXPOSURE: ecr:GetAuthorizationToken, needed to push the image.
    # PERMISSIONS_MANAGEMENT_ACTIONS: the stack manages its function role, the function's resource policy
    # and the ECR repository policy.
    # PRIVILEGE_ESCALATION (EditExistingLambdaFunctionWithRole): deploying code to a function is the job.
    assert {issue for issue, _ in findings(DEPLOY, community=True)} == {
        "CREDENTIALS_EXPOSURE", "PERMISSIONS_MANAGEMENT_ACTIONS", "PRIVILEGE_ESCALATION",
    }


def test_preview_permissions_community_findings_are_the_documented_ones():
    # CREDENTIALS_EXPOSURE: ecr:GetAuthorizationToken; the program asks for registry credentials in previews
    # too. The token grants nothing beyond this role's read-only repository permissions.
    assert {issue for issue, _ in findings(PREVIEW, community=True)} == {"CREDENTIALS_EXPOSURE"}


@pytest.mark.parametrize("role", PERMISSIONS)
def test_every_action_is_a_real_iam_action(role):
    for statement in statements(PERMISSIONS[role]):
        for action in as_list(statement["Action"]):
            assert action.lower() in iam_definition(), action


@pytest.mark.parametrize("role", PERMISSIONS)
def test_only_allow_statements_and_no_wildcard_actions(role):
    for statement in statements(PERMISSIONS[role]):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in as_list(statement["Action"]):
            assert "*" not in action, action


@pytest.mark.parametrize("role", PERMISSIONS)
def test_resource_star_only_where_aws_supports_no_resource_scope(role):
    for statement in statements(PERMISSIONS[role]):
        if "*" in as_list(statement["Resource"]):
            assert statement["Resource"] == "*"
            assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
            for action in statement["Action"]:
                assert action in RESOURCE_STAR_ACTIONS, action
                # ...and AWS indeed defines no resource type for it.
                assert all(rt["resource_type"] == "" for p in iam_definition()[action.lower()]
                           for rt in p["resource_types"]), action


STATE_OBJECTS = f"{BUCKET_ARN}/.pulumi/*"
ALLOWED_RESOURCES = {
    "ecr": ["arn:aws:ecr:eu-west-1:123456789012:repository/container-lambda-*"],
    "lambda": ["arn:aws:lambda:eu-west-1:123456789012:function:container-lambda-*",
               "arn:aws:lambda:eu-west-1:123456789012:function:container-lambda-*:*"],
    "iam": ["arn:aws:iam::123456789012:role/container-lambda/*"],
    "logs": ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/container-lambda-*",
             "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/apigateway/container-lambda-*"],
    "apigateway": ["arn:aws:apigateway:eu-west-1::/apis", "arn:aws:apigateway:eu-west-1::/apis/*",
                   "arn:aws:apigateway:eu-west-1::/tags/*"],
    "s3": [BUCKET_ARN, STATE_OBJECTS],
    "kms": [KEY_ARN],
}


@pytest.mark.parametrize("role", PERMISSIONS)
def test_each_resource_is_scoped_to_what_the_stacks_manage(role):
    for statement in statements(PERMISSIONS[role]):
        if statement["Resource"] == "*":
            continue
        services = {action.split(":")[0] for action in statement["Action"]}
        assert len(services) == 1, statement["Sid"]
        (service,) = services
        for resource in as_list(statement["Resource"]):
            assert resource in ALLOWED_RESOURCES[service], (statement["Sid"], resource)


def test_pass_role_only_to_lambda_and_only_for_stack_roles():
    (statement,) = [s for s in statements(DEPLOY) if "iam:PassRole" in s["Action"]]
    assert statement["Action"] == ["iam:PassRole"]
    assert statement["Resource"] == "arn:aws:iam::123456789012:role/container-lambda/*"
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}


def test_stack_roles_never_get_administrator_or_iam_full_access_attached():
    (statement,) = [s for s in statements(DEPLOY) if "iam:AttachRolePolicy" in s["Action"]]
    assert statement["Action"] == ["iam:AttachRolePolicy"]
    assert statement["Resource"] == "arn:aws:iam::123456789012:role/container-lambda/*"
    assert statement["Condition"] == {"ArnNotLike": {"iam:PolicyARN": [
        "arn:aws:iam::*:policy/AdministratorAccess", "arn:aws:iam::*:policy/*/AdministratorAccess",
        "arn:aws:iam::*:policy/IAMFullAccess", "arn:aws:iam::*:policy/*/IAMFullAccess",
    ]}}


def test_function_invoke_grants_are_limited_to_api_gateway():
    (statement,) = [s for s in statements(DEPLOY) if "lambda:AddPermission" in s["Action"]]
    assert statement["Action"] == ["lambda:AddPermission", "lambda:RemovePermission"]
    assert statement["Condition"] == {"StringEquals": {"lambda:Principal": "apigateway.amazonaws.com"}}


def test_deploy_role_cannot_touch_the_pipeline_roles():
    pipeline_role = f"arn:aws:iam::123456789012:role{policies.PIPELINE_ROLE_PATH}any-role"
    for statement in statements(DEPLOY):
        for resource in as_list(statement["Resource"]):
            if resource != "*":
                assert not fnmatchcase(pipeline_role, resource), (statement["Sid"], resource)


def test_deploy_can_write_state_objects_only_under_the_backend_prefix():
    (statement,) = [s for s in statements(DEPLOY) if "s3:PutObject" in s["Action"]]
    assert statement["Resource"] == STATE_OBJECTS
    assert sorted(statement["Action"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]


def test_deploy_uses_the_key_for_secrets_and_state_encryption():
    (statement,) = [s for s in statements(DEPLOY) if s["Resource"] == KEY_ARN]
    assert statement["Action"] == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]


def test_preview_reads_state_and_decrypts_secrets_but_writes_nothing():
    actions = {action for statement in statements(PREVIEW) for action in statement["Action"]}
    assert {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"} <= actions
    for action in actions - {"kms:Decrypt"}:  # Decrypt is filed under "Write" by AWS, but changes nothing
        levels = {p["access_level"] for p in iam_definition()[action.lower()]}
        assert levels <= {"Read", "List"}, action


def test_preview_actions_are_a_subset_of_deploy_actions():
    def grants(document):
        return {(a, r) for s in statements(document) for a in s["Action"] for r in as_list(s["Resource"])}

    assert grants(PREVIEW) <= grants(DEPLOY)


@pytest.mark.parametrize("role", PERMISSIONS)
def test_inline_policy_fits_the_iam_size_quota(role):
    # Inline policies of a role: 10,240 characters in total, whitespace not counted.
    assert len(json.dumps(PERMISSIONS[role], separators=(",", ":"))) < 10_240


@pytest.mark.parametrize("role", PERMISSIONS)
def test_statement_ids_are_unique(role):
    sids = [statement["Sid"] for statement in statements(PERMISSIONS[role])]
    assert len(sids) == len(set(sids))


# --- bucket policy -----------------------------------------------------------------------------------------

def test_bucket_policy_denies_every_request_without_tls():
    (statement,) = statements(policies.tls_only_bucket_policy(BUCKET_ARN))
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bucket_policy_passes_parliament():
    assert findings(policies.tls_only_bucket_policy(BUCKET_ARN), community=True) == set()
