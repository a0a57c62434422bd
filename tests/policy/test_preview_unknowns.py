"""During a preview the engine sends values it can't know yet as sentinels that raise when a policy reads
them. No policy may crash on one, wherever it sits: each resource of the unit tests is sent with every
value, object and list, one at a time, made unknown."""

import copy

import pytest
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE

from infra.project import PROJECT
from policy.guardrails import POLICIES
from tests.policy.support import (
    Resource,
    function,
    log_group,
    repository,
    resource_violations,
    stack_violations,
)
from tests.policy.test_resource_policies import CASES


def paths(value, prefix=()):
    """Every path to a value inside `value`, containers included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def made_unknown(props: dict, path: tuple) -> dict:
    changed = copy.deepcopy(props)
    target = changed
    for step in path[:-1]:
        target = target[step]
    old = target[path[-1]]
    target[path[-1]] = (
        UNKNOWN_OBJECT_VALUE
        if isinstance(old, dict)
        else UNKNOWN_ARRAY_VALUE
        if isinstance(old, list)
        else UNKNOWN_STRING_VALUE
    )
    return changed


def partners() -> list[Resource]:
    """A compliant function, log group, repository and lifecycle policy for the changed resource to join."""
    return [
        Resource("aws:lambda/function:Function", function(), name="function"),
        Resource("aws:cloudwatch/logGroup:LogGroup", log_group(), name="log-group"),
        Resource("aws:ecr/repository:Repository", repository(), name="repository"),
        Resource(
            "aws:ecr/lifecyclePolicy:LifecyclePolicy",
            {"repository": f"{PROJECT}-dev", "policy": "{}"},
            name="lifecycle",
        ),
    ]


SAMPLES = {(case[2], repr(props)): props for case in CASES for props in (case[3], case[4])}
VARIANTS = [(typ, made_unknown(props, path)) for (typ, _), props in SAMPLES.items() for path in paths(props)]


@pytest.mark.parametrize("policy", [p.name for p in POLICIES if isinstance(p, ResourceValidationPolicy)])
def test_no_resource_policy_crashes_on_an_unknown_value(policy):
    for typ, props in VARIANTS:
        resource_violations(policy, Resource(typ, props), config=None)


@pytest.mark.parametrize("policy", [p.name for p in POLICIES if isinstance(p, StackValidationPolicy)])
def test_no_stack_policy_crashes_on_an_unknown_value(policy):
    for typ, props in VARIANTS:
        stack_violations(policy, [Resource(typ, props, name="changed"), *partners()])


def test_there_are_variants_for_every_sample():
    assert len(VARIANTS) > 5 * len(SAMPLES)
