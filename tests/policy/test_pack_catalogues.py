"""The pack's lists of facts about AWS hold: each "taggable" type takes tags in the pulumi-aws SDK, and
each action allowed on Resource "*" has no resource type in the Service Authorization Reference (as
parliament ships it)."""

import json
from functools import cache
from pathlib import Path

import parliament
import pytest

from policy.guardrails.iam import RESOURCE_STAR_ACTIONS
from policy.guardrails.tagging import TAGGABLE_TYPES
from tests.policy.support import takes_tags

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pulumi_aws.s3 warns on import


@pytest.mark.parametrize("token", sorted(TAGGABLE_TYPES))
def test_each_taggable_type_takes_tags_in_the_sdk(token):
    assert takes_tags(token)


@pytest.mark.parametrize(
    "token",
    [
        "aws:iam/rolePolicy:RolePolicy",
        "aws:lambda/permission:Permission",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    ],
)
def test_the_sdk_check_tells_untaggable_types_apart(token):
    assert not takes_tags(token)


@cache
def privileges() -> dict[str, dict]:
    path = Path(parliament.__file__).with_name("iam_definition.json")
    return {
        f"{service['prefix']}:{privilege['privilege']}".lower(): privilege
        for service in json.loads(path.read_text())
        for privilege in service["privileges"]
    }


@pytest.mark.parametrize("action", sorted(RESOURCE_STAR_ACTIONS))
def test_each_star_only_action_has_no_resource_type(action):
    assert [r["resource_type"] for r in privileges()[action]["resource_types"]] == [""]


def test_the_reference_check_tells_scoped_actions_apart():
    assert [r["resource_type"] for r in privileges()["logs:putlogevents"]["resource_types"]] != [""]
