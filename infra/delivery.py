"""Safe delivery: every deploy moves the alias `live` to the version it published, after smoke requests,
either all at once or through CodeDeploy's traffic shifting with automatic rollback; and an EventBridge
Scheduler schedule keeps the function `Active`.

How the deployment is started and awaited: a `pulumi-command` `local.Command` runs
`python -m infra.deployment_runner` (same interpreter as the program) whenever the published version changes.
Why this and not a dynamic provider or a workflow step:
- a workflow step would leave a local `pulumi up` (scripts/deploy.sh) without the safety, and one `up` could
  end with the alias still on the old version and a green exit;
- a Python dynamic provider is serialised with dill into the state: a provider class outside `__main__` is
  pickled by reference (pulumi/pulumi#7453, open), and the pickled byte code ties the state to one Python
  version (pulumi/pulumi#2900);
- the command fails the `up` with the runner's exit status (the resource is then not recorded, so the next
  `up` retries it), is skipped by `pulumi preview`, and the runner is an ordinary module tested against
  botocore's Stubber (tests/infra/test_deployment_runner.py).
Pulumi never reverts the alias: infra/function.py ignores the alias's version and routing after creation.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_command import local

from infra import function_contract
from infra.deployment_preferences import (
    ALL_AT_ONCE,
    DEPLOYMENT_PREFERENCES,
    codedeploy_config_name,
    wait_seconds,
)
from infra.deployment_runner import case_to_json
from infra.iam_rules import CODEDEPLOY_ROLE_SUFFIX, SCHEDULER_ROLE_SUFFIX, WARM_UP_SUFFIX, stack_role_path
from infra.project import PROJECT
from infra.registry import PROTECTED_TAG_PREFIX  # kept by the lifecycle policy's first rule

ROOT = Path(__file__).resolve().parents[1]

CODEDEPLOY_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CodeDeployAssumesTheRole",
                "Effect": "Allow",
                "Principal": {"Service": "codedeploy.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    },
    sort_keys=True,
)


def codedeploy_policy(function_arn: str, alarm_arns: Sequence[str]) -> str:
    """What CodeDeploy needs to shift this function's alias while watching this stack's alarms: the Lambda and
    CloudWatch part of the managed AWSCodeDeployRoleForLambda, scoped to this function and these alarms (its
    S3 reads and CodeDeployHook_* invocations are for hooks and revisions in S3, which this stack does not
    use)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ShiftTheAlias",
                    "Effect": "Allow",
                    "Action": [
                        "lambda:GetAlias",
                        "lambda:GetProvisionedConcurrencyConfig",
                        "lambda:UpdateAlias",
                    ],
                    "Resource": [function_arn, f"{function_arn}:*"],
                },
                {
                    "Sid": "WatchTheAlarms",
                    "Effect": "Allow",
                    "Action": ["cloudwatch:DescribeAlarms"],
                    "Resource": sorted(alarm_arns),
                },
            ],
        },
        sort_keys=True,
    )


def health_event(cases: Sequence[function_contract.Case]) -> Mapping[str, object]:
    """The warm-up's health request, from the function contract (events sorted by file name): the first GET
    request expected to answer 2xx, else the first event expected to answer 2xx, else the first event (any
    invocation keeps the function Active; a successful, side-effect-free one is preferred). ValueError when
    the contract has no event."""
    if not cases:
        raise ValueError("the function contract has no event (the warm-up's health request)")
    ok = [case for case in cases if 200 <= case.expected.status < 300]
    gets = [case for case in ok if (request := case.request()) is not None and request.method == "GET"]
    return (gets or ok or list(cases))[0].event


@dataclass(frozen=True)
class DeliveryArgs:
    name: str  # `<project>-<stack>`
    function_name: pulumi.Input[str]
    function_arn: pulumi.Input[str]
    version: pulumi.Input[str]  # the version this deploy published
    alias_name: pulumi.Input[str]
    repository_name: pulumi.Input[str]
    keep_versions: int
    smoke_cases: Sequence[function_contract.Case]  # the function contract: function/events/
    # the alarms CodeDeploy watches while it shifts (Monitoring's new-version alarms), as names, ARNs and
    # resources (the deployment waits for their update to this deploy's version)
    alarm_names: Sequence[pulumi.Input[str]]
    alarm_arns: pulumi.Input[Sequence[str]]
    tags: Mapping[str, str]
    permissions_boundary: str | None  # the stack's boundary as Function resolved it (None: no bootstrap)
    function_timeout: int  # seconds: the smoke requests wait this long (plus a margin) for each answer
    preference: str = ALL_AT_ONCE
    alarms: Sequence[pulumi.Resource] = ()
    max_init_duration_ms: int = 0  # the new version's cold-start budget (0: none)


class Delivery(pulumi.ComponentResource):
    """The deployment of each published version (and, unless `AllAtOnce`, the CodeDeploy application, its
    deployment group and service role)."""

    def __init__(self, name: str, args: DeliveryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PROJECT}:infra:Delivery", name, None, opts)
        if args.preference not in DEPLOYMENT_PREFERENCES:
            raise ValueError(f"unknown deployment preference {args.preference!r}")
        code_deploy = self._code_deploy(name, args)
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        spec = pulumi.Output.json_dumps(
            {
                "region": region,
                "functionName": args.function_name,
                "alias": args.alias_name,
                "targetVersion": args.version,
                "repositoryName": args.repository_name,
                "protectedTagPrefix": PROTECTED_TAG_PREFIX,
                "keepVersions": args.keep_versions,
                "functionTimeout": args.function_timeout,
                "maxInitDurationMs": args.max_init_duration_ms,
                "smokeCases": [case_to_json(case) for case in args.smoke_cases],
                "codeDeploy": code_deploy,
            }
        )
        self.deployment = local.Command(
            f"{name}-deployment",
            create=f"{shlex.quote(sys.executable)} -m infra.deployment_runner",
            dir=str(ROOT),
            stdin=spec,
            # a new version (or another way to deploy it) runs the deployment again
            triggers=[args.version, args.preference],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.alarms)),
        )
        self.register_outputs({"deploymentPreference": args.preference})

    def _code_deploy(self, name: str, args: DeliveryArgs) -> dict[str, Any] | None:
        """The CodeDeploy application, deployment group and service role (none for AllAtOnce), and what the
        deployment runner needs of them."""
        self.application = self.deployment_group = self.role = None
        if args.preference == ALL_AT_ONCE:
            return None
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        # Like every role of the stack: under the stack's path, with the boundary the function's role got
        # (which admits CodeDeploy's alias and alarm reads: bootstrap/policies.py, boundary_policy).
        stack = pulumi.get_stack()
        self.role = aws.iam.Role(
            f"{name}-codedeploy-role",
            name=f"{args.name}{CODEDEPLOY_ROLE_SUFFIX}",
            path=stack_role_path(stack),
            description=f"CodeDeploy shifts the alias of the Lambda function {args.name}",
            assume_role_policy=CODEDEPLOY_TRUST_POLICY,
            permissions_boundary=args.permissions_boundary,
            tags=tags,
            opts=child,
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-codedeploy-policy",
            name=f"{args.name}{CODEDEPLOY_ROLE_SUFFIX}",
            role=self.role.name,
            policy=pulumi.Output.all(args.function_arn, args.alarm_arns).apply(
                lambda v: codedeploy_policy(v[0], v[1])
            ),
            opts=child,
        )
        self.application = aws.codedeploy.Application(
            f"{name}-application", name=args.name, compute_platform="Lambda", tags=tags, opts=child
        )
        self.deployment_group = aws.codedeploy.DeploymentGroup(
            f"{name}-deployment-group",
            app_name=self.application.name,
            deployment_group_name=args.name,
            service_role_arn=self.role.arn,
            deployment_config_name=codedeploy_config_name(args.preference),
            deployment_style=aws.codedeploy.DeploymentGroupDeploymentStyleArgs(
                deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
            ),
            auto_rollback_configuration=aws.codedeploy.DeploymentGroupAutoRollbackConfigurationArgs(
                enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
            ),
            alarm_configuration=aws.codedeploy.DeploymentGroupAlarmConfigurationArgs(
                enabled=True, alarms=list(args.alarm_names)
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy]),
        )
        return {
            "application": self.application.name,
            "deploymentGroup": self.deployment_group.deployment_group_name,
            "timeoutSeconds": wait_seconds(args.preference),
        }


@dataclass(frozen=True)
class WarmUpArgs:
    name: str
    alias_arn: pulumi.Input[str]
    schedule: str  # an EventBridge Scheduler schedule expression, e.g. rate(7 days)
    event: Mapping[str, object]  # the health request (an HTTP API payload 2.0 event)
    tags: Mapping[str, str]
    permissions_boundary: str | None  # the stack's boundary as Function resolved it (None: no bootstrap)


# The schedule group every schedule without one belongs to (EventBridge Scheduler User Guide, "Managing a
# schedule group": the group `default`).
SCHEDULE_GROUP = "default"


def scheduler_trust_policy(partition: str, region: str, account: str) -> str:
    """EventBridge Scheduler may assume the role for schedules of this account's default group only: the
    confused-deputy keys aws:SourceAccount and aws:SourceArn, whose value must be the schedule group's ARN, not
    a schedule's (EventBridge Scheduler User Guide, "Confused deputy prevention")."""
    group = f"arn:{partition}:scheduler:{region}:{account}:schedule-group/{SCHEDULE_GROUP}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SchedulerAssumesTheRole",
                    "Effect": "Allow",
                    "Principal": {"Service": "scheduler.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account, "aws:SourceArn": group}},
                }
            ],
        },
        sort_keys=True,
    )


def warm_up_policy(alias_arn: str) -> str:
    """What the schedule's execution role may do: invoke the alias, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "InvokeTheAlias",
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": alias_arn,
                }
            ],
        },
        sort_keys=True,
    )


class WarmUp(pulumi.ComponentResource):
    """An EventBridge Scheduler schedule invoking the alias with the health request, so that an idle image
    function never becomes `Inactive`.

    A schedule matches no events (an EventBridge rule can be turned into an event pattern on the account's
    default bus), and it invokes through an execution role of the stack (under the stack's path and
    boundary, trusted by EventBridge Scheduler for this account's default schedule group) that may invoke the
    alias only: the function's resource policy grants nothing to the schedule."""

    def __init__(self, name: str, args: WarmUpArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PROJECT}:infra:WarmUp", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        trust = pulumi.Output.all(
            aws.get_partition_output(opts=invoke).partition,
            aws.get_region_output(opts=invoke).region,
            aws.get_caller_identity_output(opts=invoke).account_id,
        ).apply(lambda v: scheduler_trust_policy(v[0], v[1], v[2]))
        role_name = f"{args.name}{SCHEDULER_ROLE_SUFFIX}"
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            path=stack_role_path(pulumi.get_stack()),
            description=f"EventBridge Scheduler invokes {args.name}:live with its health request",
            assume_role_policy=trust,
            permissions_boundary=args.permissions_boundary,
            tags=dict(args.tags),
            opts=child,
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=role_name,
            role=self.role.name,
            policy=pulumi.Output.from_input(args.alias_arn).apply(warm_up_policy),
            opts=child,
        )
        self.schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=f"{args.name}{WARM_UP_SUFFIX}",
            group_name=SCHEDULE_GROUP,
            schedule_expression=args.schedule,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=args.alias_arn, role_arn=self.role.arn, input=json.dumps(dict(args.event))
            ),
            description=f"Invokes {args.name}:live with its health request so that it stays Active",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy]),
        )
        self.register_outputs({"scheduleArn": self.schedule.arn})
