"""The bootstrap program's resources, recorded under mocks, pass every mandatory policy of the pack (the IAM
ones above all: its roles are the pipeline's way into AWS)."""

import json

import pytest
from pulumi_policy import ResourceValidationPolicy

from bootstrap import policies
from policy.guardrails import MANDATORY, iam
from policy.guardrails.tagging import TAGGABLE_TYPES
from tests.bootstrap.harness import STACK, run_bootstrap
from tests.policy.support import Resource, all_mandatory_violations, resource_violations, takes_tags

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pulumi_aws.s3 warns on import


@pytest.fixture(scope="module")
def bootstrap_resources() -> list[Resource]:
    run = run_bootstrap({"deployEnvironments": json.dumps(["dev", "production"])})
    return [Resource(r.typ, dict(r.inputs), name=r.name, stack=STACK) for r in run.resources]


@pytest.mark.parametrize("policy", [p.name for p in iam.POLICIES])
def test_bootstrap_resources_pass_the_iam_policy(bootstrap_resources, policy):
    found = [f"{r.name}: {text}" for r in bootstrap_resources for text in resource_violations(policy, r)]
    assert found == []


def test_bootstrap_resources_pass_every_mandatory_policy(bootstrap_resources):
    assert all_mandatory_violations(bootstrap_resources) == []


def test_the_iam_policies_saw_the_github_roles_and_their_permissions(bootstrap_resources):
    roles = [r for r in bootstrap_resources if r.typ == iam.ROLE]
    assert len(roles) == 5  # deploy dev, deploy production, preview, drift dev, drift production
    assert all(
        iam.is_github_oidc(statement)
        for role in roles
        for statement in json.loads(role.props["assumeRolePolicy"])["Statement"]
    )
    # five inline policies, the two permissions boundaries and the two deploy roles' managed policies (one per
    # part of the stack)
    parts = len(policies.MANAGED_PARTS)
    assert len([r for r in bootstrap_resources if r.typ in iam.PERMISSION_DOCUMENTS]) == 5 + 2 + 2 * parts
    assert all(isinstance(p, ResourceValidationPolicy) for p in iam.POLICIES)
    assert set(iam.POLICIES) <= set(MANDATORY)


def test_taggable_types_the_bootstrap_registers_are_known_to_the_tag_policy(bootstrap_resources):
    registered = {r.typ for r in bootstrap_resources if r.typ.startswith("aws:")}
    assert {typ for typ in registered if takes_tags(typ)} <= TAGGABLE_TYPES
