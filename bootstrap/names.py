"""The names the bootstrap and every stack derive from the project name, checked against AWS's limits.

Standard library and `infra` only, so that a bare `python3 -m scripts.check_project` (make check's first
step) reads them: the bootstrap (bootstrap/settings.py) refuses the same names before any resource.
"""

from __future__ import annotations

from collections.abc import Callable

from bootstrap.policies import MANAGED_PARTS
from infra.catalogue import name_limit_problems
from infra.project import PROJECT_NAME_RULE, is_project_name

# IAM role names hold at most 64 characters; the longest pipeline role is `<project>.deploy.<environment>`.
ROLE_NAME_MAX = 64


# The bootstrap's own names per deploy environment, and its per-project ones (IAM API Reference: CreateRole
# RoleName 64, CreatePolicy / PutRolePolicy PolicyName 128; S3 bucket names hold at most 63 characters and the
# provider's bucket_prefix at most 37, leaving 26 for the unique suffix: pulumi-aws Bucket bucketPrefix).
PIPELINE_NAME_LIMITS: tuple[tuple[str, Callable[[str, str], str], int], ...] = (
    ("deploy role name", lambda p, e: f"{p}.deploy.{e}", ROLE_NAME_MAX),
    ("deploy role's inline policy name", lambda p, e: f"{p}.deploy.{e}-permissions", 128),
    (
        "deploy role's managed policy name",
        lambda p, e: f"{p}.deploy.{e}.{max(MANAGED_PARTS, key=len)}",
        128,
    ),
    ("preview role name", lambda p, e: f"{p}.preview", ROLE_NAME_MAX),
    ("drift role name", lambda p, e: f"{p}.drift", ROLE_NAME_MAX),
    ("state bucket prefix", lambda p, e: f"{p}-state-", 37),
)


def pipeline_name_problems(project: str, environment: str) -> list[str]:
    """Each of the bootstrap's names for deploy environment `environment` of project `project`
    (PIPELINE_NAME_LIMITS) over its AWS limit, as a sentence naming the name, its length and the limit."""
    problems = []
    for what, derive, limit in PIPELINE_NAME_LIMITS:
        name = derive(project, environment)
        if len(name) > limit:
            problems.append(f"the {what} {name!r} has {len(name)} characters, over AWS's {limit}")
    return problems


def project_only_problems(project: str) -> list[str]:
    """The pipeline names over their limit that derive from the project name alone (the same for any deploy
    environment: the preview and drift roles, the state bucket prefix)."""
    return [
        problem
        for problem in pipeline_name_problems(project, "a")
        if problem in pipeline_name_problems(project, "b")
    ]


def project_name_problems(project: str) -> list[str]:
    """What makes `project` unusable as a project name whatever its stacks are called, as sentences: characters
    outside PROJECT_NAME_RULE, or a name derived from the project alone over its AWS limit (the state bucket
    prefix holds at most 30 characters of it). Empty when the name works with stack names of up to
    `longest_stack_name(project, stack_name_problems)` characters (22 for a project of 30)."""
    lead = f"the project name {project!r} (Pulumi.yaml `name:`)"
    if not is_project_name(project):
        return [
            f"{lead} must be {PROJECT_NAME_RULE}: it begins the names of the roles, the state bucket and every "
            "stack's resources, and AWS refuses other characters in some of them"
        ]
    return [f"{lead} is too long: {problem}; shorten it" for problem in project_only_problems(project)]


def stack_name_problems(project: str, stack: str) -> list[str]:
    """Every name over its AWS limit that the stack (and deploy environment) `stack` of project `project`
    derives: the stack's own names (infra/catalogue.py name_limit_problems) and the bootstrap's per
    environment (PIPELINE_NAME_LIMITS)."""
    return name_limit_problems(project, stack) + pipeline_name_problems(project, stack)
