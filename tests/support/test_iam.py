"""The IAM evaluator of the tests, against the cases of the IAM User Guide's evaluation logic."""

import pytest

from tests.support.iam import decide

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
    document = {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                               "Condition": via_ssm}]}
    assert decide(document, "kms:Decrypt", "k", {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}) == "allow"
    assert decide(document, "kms:Decrypt", "k", {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}) == \
        "implicit deny"
    assert decide(document, "kms:Decrypt", "k", {}) == "implicit deny"  # called directly: no ViaService


def test_unknown_operators_are_refused():
    document = {"Statement": [{"Effect": "Allow", "Action": "a:b", "Resource": "*",
                               "Condition": {"NumericLessThan": {"x": "1"}}}]}
    with pytest.raises(ValueError, match="NumericLessThan"):
        decide(document, "a:b", "r", {"x": "0"})
