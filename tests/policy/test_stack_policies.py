"""The stack policies: every ECR repository has a lifecycle policy; every function has its log group."""

import json

from pulumi_policy import StackValidationPolicy

from infra.project import PROJECT
from policy.guardrails import POLICIES
from tests.policy.support import UNKNOWN, Resource, function, log_group, repository, stack_violations

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RULES = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "action": {"type": "expire"},
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 1,
                },
            }
        ]
    }
)


def repo(name="repo") -> Resource:
    return Resource(REPOSITORY, repository(), name=name)


def lifecycle(target=f"{PROJECT}-dev", **kwargs) -> Resource:
    return Resource(LIFECYCLE, {"repository": target, "policy": RULES}, name="lifecycle", **kwargs)


def test_repository_with_its_lifecycle_policy_passes():
    assert stack_violations("ecr-lifecycle-policy", [repo(), lifecycle()]) == []


def test_repository_without_a_lifecycle_policy_is_reported_on_the_repository():
    repository_resource = repo()
    (found,) = stack_violations("ecr-lifecycle-policy", [repository_resource])
    assert "has no lifecycle policy" in found[0] and ". Fix: " in found[0]
    assert found[1] == repository_resource.urn


def test_a_lifecycle_policy_of_another_repository_does_not_count():
    assert stack_violations("ecr-lifecycle-policy", [repo(), lifecycle("another-repository")])


def test_a_lifecycle_policy_that_depends_on_the_repository_counts_while_its_name_is_unknown():
    resources = [repo("repo"), lifecycle(UNKNOWN, depends_on={"repository": ["repo"]})]
    assert stack_violations("ecr-lifecycle-policy", resources) == []


def fn(**overrides) -> Resource:
    return Resource(FUNCTION, function(**overrides), name="function")


def group(name=f"/aws/lambda/{PROJECT}-dev", **overrides) -> Resource:
    return Resource(LOG_GROUP, log_group(name, **overrides), name="log-group")


def test_function_with_its_log_group_passes():
    assert stack_violations("lambda-log-group", [fn(), group()]) == []


def test_function_without_its_log_group_is_reported():
    function_resource = fn()
    other = group("/aws/lambda/another-function")
    (found,) = stack_violations("lambda-log-group", [function_resource, other])
    assert f"no log group '/aws/lambda/{PROJECT}-dev'" in found[0] and ". Fix: " in found[0]
    assert found[1] == function_resource.urn


def test_log_group_without_retention_is_reported_on_the_log_group():
    log_group_resource = group(retentionInDays=0)
    (found,) = stack_violations("lambda-log-group", [fn(), log_group_resource])
    assert "keeps logs forever" in found[0] and ". Fix: " in found[0]
    assert found[1] == log_group_resource.urn


def test_the_logging_config_log_group_is_the_one_required():
    custom = fn(loggingConfig={"logFormat": "JSON", "logGroup": "/custom/functions"})
    assert stack_violations("lambda-log-group", [custom, group("/custom/functions")]) == []
    assert stack_violations("lambda-log-group", [custom, group()])


def test_in_a_preview_the_default_log_group_is_checked_while_the_logging_config_is_unknown():
    previewed = fn(loggingConfig={"logFormat": "JSON", "logGroup": UNKNOWN})
    assert stack_violations("lambda-log-group", [previewed, group()]) == []
    assert stack_violations("lambda-log-group", [previewed, group(retentionInDays=0)])
    assert stack_violations("lambda-log-group", [previewed]) == []


def test_a_function_whose_name_is_unknown_is_checked_during_the_update():
    assert stack_violations("lambda-log-group", [fn(name=UNKNOWN)]) == []


def test_every_stack_policy_is_tested_here():
    stack_policies = {p.name for p in POLICIES if isinstance(p, StackValidationPolicy)}
    assert stack_policies == {"ecr-lifecycle-policy", "lambda-log-group"}
