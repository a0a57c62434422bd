"""The offline IAM evaluator (tests/support/iam.py) against the cases the IAM User Guide documents ("Policy
evaluation logic", "Condition operators", "IAM JSON policy elements: Resource"), so that the escalation
tests rest on it."""

import pytest

from tests.support.iam import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Request,
    arn_matches,
    condition_matches,
    decide,
    evaluate,
    trust_allows,
)

ROLE = "arn:aws:iam::123456789012:role/app/dev/app-dev"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **condition):
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:app-dev",
            "arn:aws:lambda:eu-west-1:123456789012:function:app-dev",
            True,
        ),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:app-dev",
            "arn:aws:lambda:eu-west-1:123456789012:function:app-dev-eu",
            False,
        ),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:app-dev:*",
            "arn:aws:lambda:eu-west-1:123456789012:function:app-dev:live",
            True,
        ),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:app-dev:*",
            "arn:aws:lambda:eu-west-1:123456789012:function:app-dev-eu",
            False,
        ),
        ("arn:aws:iam::123456789012:role/app/dev/*", "arn:aws:iam::123456789012:role/app/dev/app-dev", True),
        (
            "arn:aws:iam::123456789012:role/app/dev/*",
            "arn:aws:iam::123456789012:role/app/dev-eu/app-dev-eu",
            False,
        ),
        # the region and account segments match on their own: `*` there never swallows a colon
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/.pulumi/stacks/app/dev.json", True),
        ("arn:aws:logs:*:123456789012:log-group:x", "arn:aws:logs:eu-west-1:123456789012:log-group:x", True),
        (
            "arn:aws:logs:eu-*:123456789012:log-group:x",
            "arn:aws:logs:us-east-1:123456789012:log-group:x",
            False,
        ),
        # case-sensitive, and `[` is a plain character
        ("arn:aws:iam::123456789012:policy/Admin", "arn:aws:iam::123456789012:policy/admin", False),
        ("arn:aws:s3:::b/[ab]", "arn:aws:s3:::b/a", False),
        ("*", "arn:aws:s3:::anything", True),
    ],
)
def test_arn_matching(pattern, arn, expected):
    assert arn_matches(pattern, arn) is expected


@pytest.mark.parametrize(
    ("operator", "key", "values", "context", "expected"),
    [
        ("StringEquals", "k", "a", {"k": "a"}, True),
        ("StringEquals", "k", ["a", "b"], {"k": "b"}, True),  # values of a key: OR
        ("StringEquals", "k", "a", {"k": "A"}, False),  # case-sensitive values
        ("StringEquals", "K", "a", {"k": "a"}, True),  # case-insensitive keys
        ("StringEquals", "k", "a", {}, False),  # missing key: a positive operator fails
        ("StringNotEquals", "k", "a", {}, True),  # ...and a negated one holds
        ("StringNotEquals", "k", ["a", "b"], {"k": "b"}, False),
        ("StringEqualsIfExists", "k", "a", {}, True),
        ("StringEqualsIfExists", "k", "a", {"k": "b"}, False),
        ("StringLike", "k", "a*", {"k": "abc"}, True),
        ("StringNotLike", "k", "a*", {"k": "abc"}, False),
        ("ArnLike", "k", "arn:aws:iam::1:policy/app/dev/*", {"k": "arn:aws:iam::1:policy/app/dev/x"}, True),
        (
            "ArnLike",
            "k",
            "arn:aws:iam::1:policy/app/dev/*",
            {"k": "arn:aws:iam::aws:policy/AdministratorAccess"},
            False,
        ),
        ("ArnNotLike", "k", "arn:aws:iam::*:policy/Admin*", {}, True),
        ("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "false"}, True),
        ("Null", "k", "true", {}, True),
        ("Null", "k", "false", {}, False),
        (
            "ForAllValues:StringNotEquals",
            "aws:TagKeys",
            ["Project", "Stack"],
            {"aws:TagKeys": ["Owner"]},
            True,
        ),
        (
            "ForAllValues:StringNotEquals",
            "aws:TagKeys",
            ["Project", "Stack"],
            {"aws:TagKeys": ["Owner", "Stack"]},
            False,
        ),
        ("ForAllValues:StringNotEquals", "aws:TagKeys", ["Project"], {}, True),  # vacuously true when missing
        ("ForAnyValue:StringEquals", "aws:TagKeys", ["Stack"], {"aws:TagKeys": ["Owner", "Stack"]}, True),
        ("ForAnyValue:StringEquals", "aws:TagKeys", ["Stack"], {}, False),
        ("StringEqualsIgnoreCase", "k", "Project", {"k": "PROJECT"}, True),
        ("StringNotEqualsIgnoreCase", "k", "Project", {"k": "project"}, False),
        ("StringNotEqualsIgnoreCase", "k", "Project", {}, True),  # negated: true when missing
        ("ForAllValues:StringNotEquals", "aws:TagKeys", ["Project"], {"aws:TagKeys": ["project"]}, True),
        (
            "ForAllValues:StringNotEqualsIgnoreCase",
            "aws:TagKeys",
            ["Project", "Stack"],
            {"aws:TagKeys": ["Owner", "project"]},
            False,
        ),
        ("ForAllValues:StringNotEqualsIgnoreCase", "aws:TagKeys", ["Project"], {}, True),  # missing: true
        # the tag key of aws:ResourceTag/<key> is looked up case-insensitively, its value compared as written
        ("StringEquals", "aws:ResourceTag/Project", "app", {"aws:ResourceTag/project": "app"}, True),
        ("StringEquals", "aws:ResourceTag/project", "app", {"aws:ResourceTag/Project": "App"}, False),
    ],
)
def test_condition_operators(operator, key, values, context, expected):
    assert condition_matches(operator, key, values, context) is expected


def test_a_context_with_keys_differing_only_in_case_is_refused():
    # IAM matches aws:ResourceTag/Project against a tag `Project` or `project`, but not both: undefined here
    with pytest.raises(ValueError, match="differ only in case"):
        condition_matches(
            "StringEquals",
            "aws:ResourceTag/Project",
            "app",
            {"aws:ResourceTag/Project": "other", "aws:ResourceTag/project": "app"},
        )


def test_an_unimplemented_operator_is_an_error_not_a_silent_pass():
    with pytest.raises(ValueError, match="NumericLessThan"):
        condition_matches("NumericLessThan", "k", "1", {"k": "0"})


def test_no_statement_means_implicit_deny():
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::b/k"), [policy()]) == IMPLICIT_DENY


def test_allow_needs_action_resource_and_every_condition():
    identity = [
        policy(
            allow(
                "iam:CreateRole",
                "arn:aws:iam::123456789012:role/app/dev/*",
                StringEquals={"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/b"},
                ArnLike={"iam:PolicyARN": "arn:aws:iam::123456789012:policy/app/*"},
            )
        )
    ]
    both = {
        "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/b",
        "iam:PolicyARN": "arn:aws:iam::123456789012:policy/app/x",
    }
    assert evaluate(Request("iam:CreateRole", ROLE, both), identity) == ALLOWED
    assert evaluate(Request("IAM:createrole", ROLE, both), identity) == ALLOWED  # action names: any case
    assert (
        evaluate(Request("iam:CreateRole", ROLE, {"iam:PolicyARN": both["iam:PolicyARN"]}), identity)
        == IMPLICIT_DENY
    )
    assert evaluate(Request("iam:DeleteRole", ROLE, both), identity) == IMPLICIT_DENY


def test_explicit_deny_wins_over_any_allow():
    identity = [
        policy(allow("iam:*", "*"), {"Effect": "Deny", "Action": "iam:DeletePolicy", "Resource": "*"})
    ]
    assert evaluate(Request("iam:DeletePolicy", "arn:aws:iam::1:policy/x"), identity) == EXPLICIT_DENY
    assert evaluate(Request("iam:GetPolicy", "arn:aws:iam::1:policy/x"), identity) == ALLOWED


def test_a_boundary_caps_what_the_identity_policy_allows():
    identity = [policy(allow("*", "*"))]
    boundary = policy(allow("logs:PutLogEvents", "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/app-dev:*"))
    assert (
        evaluate(
            Request("logs:PutLogEvents", "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/app-dev:*"),
            identity,
            boundary,
        )
        == ALLOWED
    )
    assert evaluate(Request("iam:CreateUser", "arn:aws:iam::1:user/x"), identity, boundary) == IMPLICIT_DENY
    # ...and the boundary grants nothing by itself
    assert (
        evaluate(
            Request("logs:PutLogEvents", "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/app-dev:*"),
            [policy()],
            boundary,
        )
        == IMPLICIT_DENY
    )


def test_not_action_and_not_resource():
    identity = [policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"})]
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::open/k"), identity) == ALLOWED
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::secret/k"), identity) == IMPLICIT_DENY
    assert evaluate(Request("iam:GetRole", ROLE), identity) == IMPLICIT_DENY


PROVIDER = "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"
TRUST = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": ["repo:o/r:environment:dev"],
                }
            },
        }
    ]
}


def claims(sub, aud="sts.amazonaws.com"):
    return {"token.actions.githubusercontent.com:sub": sub, "token.actions.githubusercontent.com:aud": aud}


def test_trust_policy_with_exact_claims():
    assert trust_allows(TRUST, federated=PROVIDER, context=claims("repo:o/r:environment:dev"))
    assert not trust_allows(TRUST, federated=PROVIDER, context=claims("repo:o/r:pull_request"))
    assert not trust_allows(TRUST, federated=PROVIDER, context=claims("repo:o/r:environment:dev", aud="x"))
    assert not trust_allows(
        TRUST, federated="arn:aws:iam::1:oidc-provider/other", context=claims("repo:o/r:environment:dev")
    )


# --- decide(): the documents-first form -------------------------------------------------------------------

ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter/app/token"
ALLOW = {"Statement": [{"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": [ARN]}]}


def test_allow_needs_action_and_resource():
    assert decide(ALLOW, "ssm:GetParameter", ARN) == "allow"
    assert decide(ALLOW, "ssm:getparameter", ARN) == "allow"  # actions are case-insensitive
    assert decide(ALLOW, "ssm:GetParameters", ARN) == "implicit deny"
    assert decide(ALLOW, "ssm:GetParameter", ARN + "2") == "implicit deny"


def test_an_explicit_deny_wins():
    deny = {"Statement": [{"Effect": "Deny", "Action": "ssm:*", "Resource": "*"}]}
    assert decide([ALLOW, deny], "ssm:GetParameter", ARN) == "deny"


def test_conditions():
    via_ssm = {"StringEquals": {"kms:ViaService": ["ssm.eu-west-1.amazonaws.com"]}}
    document = {
        "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": via_ssm}]
    }
    assert decide(document, "kms:Decrypt", "k", {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}) == "allow"
    assert (
        decide(document, "kms:Decrypt", "k", {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"})
        == "implicit deny"
    )
    assert decide(document, "kms:Decrypt", "k", {}) == "implicit deny"  # called directly: no ViaService


def test_unknown_operators_are_refused_through_decide():
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "a:b",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"x": "1"}},
            }
        ]
    }
    with pytest.raises(ValueError, match="NumericLessThan"):
        decide(document, "a:b", "r", {"x": "0"})
