"""The shared IAM rules (infra/iam_rules.py): one allow-list for the bootstrap's attach condition and the
config key extraPolicyArns, one admin-like rule for the policy pack and the config."""

import pytest

from infra.iam_rules import (
    admin_like_problem,
    attachable_policy_pattern,
    attachable_policy_problem,
    boundary_arn,
    stack_role_path,
)
from infra.project import PROJECT
from tests.support.iam import arn_matches

ACCOUNT = "123456789012"


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/administratoraccess",
        "arn:aws:iam::aws:policy/AdministratorAccess-Amplify",
        "arn:aws:iam::aws:policy/PowerUserAccess",
        "arn:aws:iam::aws:policy/IAMFullAccess",
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        "arn:aws:iam::aws:policy/job-function/SystemAdministrator",
        f"arn:aws:iam::{ACCOUNT}:policy/OrgAdmin",
        f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/orgADMIN",
        "arn:aws:iam::aws:policy/\u0410dministratorAccess",  # Cyrillic А
        f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/re\u0430ds",  # any non-ASCII letter
    ],
)
def test_admin_like_policies_are_refused(arn):
    assert admin_like_problem(arn)
    assert attachable_policy_problem(arn)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/reads-the-bucket",
    ],
)
def test_other_names_are_not_admin_like(arn):
    assert admin_like_problem(arn) is None


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/reads-the-bucket",
        f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/dev/reads-the-bucket",
        f"arn:aws-cn:iam::{ACCOUNT}:policy/{PROJECT}/reads",
    ],
)
def test_customer_policies_under_the_project_path_are_attachable(arn):
    assert attachable_policy_problem(arn) is None
    partition = arn.split(":")[1]
    assert arn_matches(attachable_policy_pattern(partition, ACCOUNT), arn)


@pytest.mark.parametrize(
    ("arn", "why"),
    [
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", "only customer-managed"),
        (f"arn:aws:iam::{ACCOUNT}:policy/reads-the-bucket", "only customer-managed"),
        (f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}-extra", "only customer-managed"),
        (f"arn:aws:iam::{ACCOUNT}:policy/team/{PROJECT}/x", "only customer-managed"),
        ("ReadOnlyAccess", "not an IAM policy ARN"),
        (f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}/x", "not an IAM policy ARN"),
        (f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/*", "not an IAM policy ARN"),
    ],
)
def test_everything_else_is_refused_with_the_reason(arn, why):
    problem = attachable_policy_problem(arn)
    assert problem and why in problem
    if why == "only customer-managed" and arn.startswith("arn:aws:"):
        assert not arn_matches(attachable_policy_pattern("aws", ACCOUNT), arn)


def test_stack_paths_never_contain_one_another():
    # `dev-eu` starts with `dev`; the trailing '/' keeps the paths apart
    assert not stack_role_path("dev-eu").startswith(stack_role_path("dev"))


def test_the_boundary_lives_outside_every_stack_path_and_attachable_path():
    arn = boundary_arn("aws", ACCOUNT, "dev")
    assert not arn_matches(attachable_policy_pattern("aws", ACCOUNT), arn)
    assert f":policy{stack_role_path('dev')}" not in arn
