"""IAM names and rules shared by the stack program, the bootstrap and the policy pack (standard library only).

One place for:

- where a stack's IAM roles live (`stack_role_path`: `/<project>/<stack>/`), so a deploy role scoped to that
  path can never reach another stack's roles, even when one stack name starts with another (`dev`, `dev-eu`);
- the permissions boundary every role of a stack must carry (`boundary_arn`), created by the bootstrap, and
  the parameters and secrets it lets the stack's function read (`stack_secret_prefixes`);
- which managed policies a stack's role may have attached (`attachable_policy_problem`: customer-managed ones
  under `/<project>/`, the allow-list that the bootstrap's `iam:PolicyARN` condition and the config key
  `extraPolicyArns` share) and which are administrator-like (`admin_like_problem`, what the policy pack
  refuses on any role, and `extraPolicyArns` too).

The policy pack runs from `policy/` in its own virtualenv and imports this module by path, so it must not
import anything outside the standard library and `infra.project`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from infra.project import PROJECT, prefix_for

# Pipeline roles and the boundaries live under this path; the stacks' roles under /<project>/<stack>/.
PIPELINE_PATH = f"/{PROJECT}-ci/"

# Words that mark an administrator-like managed policy, compared case-insensitively (IAM names are unique
# regardless of case). AdministratorAccess, AdministratorAccess-Amplify, IAMFullAccess, PowerUserAccess and a
# customer's OrgAdmin all contain one of them.
ADMIN_LIKE_WORDS = ("admin", "fullaccess", "poweruser")

# arn:<partition>:iam::<account>|aws:policy/<path/>name (IAM: path segments and names of [\w+=,.@-]).
POLICY_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>aws|\d{12}):policy/"
    r"(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,128})",
    re.ASCII,
)


def stack_role_path(stack: str) -> str:
    """`/<project>/<stack>/`: the IAM path of every role the stack creates."""
    return f"/{PROJECT}/{stack}/"


def stack_role_names(stack: str) -> tuple[str, ...]:
    """The exact name of every role the stack creates (`infra/function.py`: the function's execution role).

    IAM role names are unique in the account whatever the path, so the deploy role may create and change
    these names only: a path wildcard would let one stack's job take (squat) another stack's role name
    first. A component that creates another role adds its exact name here: CodeDeploy's service role
    (infra/delivery.py, with a deploymentPreference other than AllAtOnce) and the warm-up schedule's
    execution role (infra/delivery.py, unless warmUpSchedule is off)."""
    prefix = prefix_for(stack)
    return (prefix, f"{prefix}{CODEDEPLOY_ROLE_SUFFIX}", f"{prefix}{SCHEDULER_ROLE_SUFFIX}")


def boundary_policy_name(stack: str) -> str:
    """Name of the stack's permissions boundary (a '.' no stack-derived name contains)."""
    return f"{PROJECT}.boundary.{stack}"


def boundary_arn(partition: str, account: str, stack: str) -> str:
    """ARN of the managed policy the bootstrap creates as the stack's permissions boundary."""
    return f"arn:{partition}:iam::{account}:policy{PIPELINE_PATH}{boundary_policy_name(stack)}"


# Names of a stack's monitoring and delivery resources after its prefix `<project>-<stack>`
# (infra/monitoring.py, infra/delivery.py). Each suffix starts with a character no stack name holds ("." or,
# where SNS allows no ".", "_"), so the bootstrap's `<prefix>.*` matches this stack's resources only, never
# those of a stack whose name extends this one (`dev` and `dev-eu`).
ALARM_TOPIC_SUFFIX = "_alarms"  # SNS topic names: letters, digits, "-" and "_"
ALARM_SEPARATOR = "."
# alarm `<prefix>.<kind>`; the `new-version-` ones watch only the version a CodeDeploy deployment shifts to
NEW_VERSION_ALARM_KINDS = ("new-version-errors", "new-version-duration")
ALARM_KINDS = ("errors", "throttles", "duration", "5xx", "concurrency", *NEW_VERSION_ALARM_KINDS)
WARM_UP_SUFFIX = ".warm-up"  # the warm-up's EventBridge Scheduler schedule
CODEDEPLOY_ROLE_SUFFIX = ".codedeploy"  # the dashboard, CodeDeploy application and group are `<prefix>`
SCHEDULER_ROLE_SUFFIX = ".scheduler"  # the warm-up schedule's execution role


# Customer-managed policies an administrator created for the project's functions live under this path.
ATTACHABLE_POLICY_PATH = f"/{PROJECT}/"


def attachable_policy_pattern(partition: str, account: str) -> str:
    """The only managed policies a stack's roles may get: customer-managed ones under `/<project>/`."""
    return f"arn:{partition}:iam::{account}:policy{ATTACHABLE_POLICY_PATH}*"


def stack_secret_prefixes(stack: str) -> tuple[str, str]:
    """The resource parts of the SSM parameters (`/<project>/<stack>/...`) and Secrets Manager secrets
    (`<project>/<stack>/...`) the stack's permissions boundary lets its function read."""
    return f"parameter/{PROJECT}/{stack}/", f"secret:{PROJECT}/{stack}/"


def stack_secret_problem(arn: str, stack: str) -> str | None:
    """Why the stack's function could not read the parameter or secret `arn` (None when it can)."""
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    parameter, secret = stack_secret_prefixes(stack)
    if resource.startswith((parameter, secret)):
        return None
    return (
        f"must name an SSM parameter /{PROJECT}/{stack}/<name> or a Secrets Manager secret "
        f"{PROJECT}/{stack}/<name>: the stack's permissions boundary admits reads of these only"
    )


def admin_like_problem(arn: str) -> str | None:
    """Why `arn` names an administrator-like managed policy (None when it does not).

    Non-ASCII names are refused outright: a Cyrillic 'а' in "Аdministrator" would otherwise slip past a
    comparison of letters, and no AWS-managed policy name holds one."""
    if not arn.isascii():
        return "it contains non-ASCII characters (look-alike letters are refused)"
    name = arn.rsplit("/", 1)[-1].lower()
    for word in ADMIN_LIKE_WORDS:
        if word in name:
            return f"its name contains {word!r} (administrator-like policies are refused)"
    return None


def attachable_policy_problem(arn: str) -> str | None:
    """Why a stack's function role may not have `arn` attached (None when it may).

    Allowed: customer-managed policies under the path `/<project>/`, which an administrator creates for the
    project's functions (no deploy role can create or edit a policy), and never an administrator-like name.
    Whatever a stack's role gets is further capped by that stack's permissions boundary."""
    admin = admin_like_problem(arn)
    if admin:
        return admin
    match = POLICY_ARN.fullmatch(arn)
    if not match:
        return "not an IAM policy ARN (arn:aws:iam::<account>:policy/<path/>name)"
    path = ATTACHABLE_POLICY_PATH
    if match["account"] == "aws" or not f"/{match['path']}".startswith(path):
        return (
            f"only customer-managed policies under the path {path} may be attached "
            f"(arn:{match['partition']}:iam::<account>:policy{path}<name>)"
        )
    return None


# --- the limits of the AWS names a stack derives from `<project>-<stack>` -----------------------------------
# (infra/catalogue.py name_limit_problems checks these and the names the catalogue's entries declare: a new
# resource type declares its name there, in its entry)

# (what, the name for (project, stack), its maximum length, the source of the limit)
NAME_LIMITS: tuple[tuple[str, Callable[[str, str], str], int, str], ...] = (
    (
        "Lambda function name",
        lambda p, s: f"{p}-{s}",
        64,
        "Lambda API Reference, CreateFunction FunctionName",
    ),
    ("IAM role name (the function's)", lambda p, s: f"{p}-{s}", 64, "IAM API Reference, CreateRole RoleName"),
    (
        "IAM role name (CodeDeploy's)",
        lambda p, s: f"{p}-{s}{CODEDEPLOY_ROLE_SUFFIX}",
        64,
        "IAM API Reference, CreateRole RoleName",
    ),
    (
        "IAM inline policy name",
        lambda p, s: f"{p}-{s}{CODEDEPLOY_ROLE_SUFFIX}",
        128,
        "IAM API Reference, PutRolePolicy PolicyName",
    ),
    ("IAM role path", lambda p, s: f"/{p}/{s}/", 512, "IAM API Reference, CreateRole Path"),
    (
        "permissions boundary policy name",
        lambda p, s: f"{p}.boundary.{s}",
        128,
        "IAM API Reference, CreatePolicy PolicyName",
    ),
    (
        "IAM role name (the warm-up schedule's)",
        lambda p, s: f"{p}-{s}{SCHEDULER_ROLE_SUFFIX}",
        64,
        "IAM API Reference, CreateRole RoleName",
    ),
    (
        "EventBridge Scheduler schedule name",
        lambda p, s: f"{p}-{s}{WARM_UP_SUFFIX}",
        64,
        "EventBridge Scheduler API Reference, CreateSchedule Name",
    ),
    (
        "ECR repository name",
        lambda p, s: f"{p}-{s}",
        256,
        "ECR API Reference, CreateRepository repositoryName",
    ),
    (
        "CloudWatch alarm name",
        lambda p, s: f"{p}-{s}{ALARM_SEPARATOR}{max(ALARM_KINDS, key=len)}",
        255,
        "CloudWatch API Reference, PutMetricAlarm AlarmName",
    ),
    ("CloudWatch dashboard name", lambda p, s: f"{p}-{s}", 255, "CloudWatch API Reference, PutDashboard"),
    (
        "SNS topic name",
        lambda p, s: f"{p}-{s}{ALARM_TOPIC_SUFFIX}",
        256,
        "SNS API Reference, CreateTopic Name",
    ),
    (
        "CodeDeploy application and deployment group name",
        lambda p, s: f"{p}-{s}",
        100,
        "CodeDeploy API Reference, CreateApplication applicationName / CreateDeploymentGroup",
    ),
    (
        "CloudWatch Logs log group name",
        lambda p, s: f"/aws/apigateway/{p}-{s}",
        512,
        "CloudWatch Logs API Reference, CreateLogGroup logGroupName",
    ),
)
