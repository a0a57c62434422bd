"""The function component: execution role, its log group, the container-image function, the version every
deploy publishes and the alias `live` the API invokes (with provisioned concurrency when set)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import catalogue
from infra.config import SecretReference
from infra.function_permissions import SID_PREFIX
from infra.iam_rules import boundary_arn, stack_role_path
from infra.logs import retained_log_group
from infra.project import PROJECT

ALIAS_NAME = "live"

LAMBDA_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LambdaAssumesTheRole",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    },
    sort_keys=True,
)

# X-Ray's trace writes have no resource-level permissions, so AWS requires "Resource": "*"; these two actions
# are what Lambda's active tracing needs (Lambda Developer Guide, "Visualize Lambda function invocations
# using AWS X-Ray": the execution role needs the write permissions of AWSXRayDaemonWriteAccess; the
# sampling-rule reads of that policy are not needed because Lambda makes the sampling decision).
XRAY_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]

# What reading a secretEnvironment entry takes: Powertools' parameters.get_parameter calls SSM GetParameter
# and parameters.get_secret calls Secrets Manager GetSecretValue; a customer managed key needs kms:Decrypt,
# allowed only when the service itself calls KMS for the caller (kms:ViaService = <service>.<region>.
# amazonaws.com: AWS KMS Developer Guide, "kms:ViaService"; Secrets Manager User Guide, "Permissions for the
# KMS key"). The values of kms:ViaService in partitions other than `aws` are not verified here.
SECRET_READ_ACTIONS = {"ssm": "ssm:GetParameter", "secretsmanager": "secretsmanager:GetSecretValue"}

# What Lambda does with the execution role to connect a function to a VPC: the resource catalogue's
# `execution` of the function (infra/catalogue.py, which the stack's permissions boundary allows too), held to
# the configured subnets and security groups (CreateNetworkInterface is authorized against the interface, the
# subnet and the security groups) and to interfaces of the stack's account and region ("If you don't specify a
# resource ID for DeleteNetworkInterface ... include all resource IDs": Lambda Developer Guide,
# configuration-vpc); the Describe actions on "*". Lambda makes these calls outside the execution environment
# without lambda:SourceFunctionArn, so a Deny on that key keeps the function's own code from using them.
FUNCTION_TYPE = "aws:lambda/function:Function"
VPC_ACCESS = catalogue.BY_TOKEN[FUNCTION_TYPE].execution


@dataclass(frozen=True)
class VpcAccess:
    """The function's VpcConfig, and where its network interfaces live (partition, region, account)."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    partition: str = "aws"
    region: str = ""
    account: str = ""

    def ec2_arn(self, resource: str) -> str:
        return f"arn:{self.partition}:ec2:{self.region}:{self.account}:{resource}"


def vpc_statements(vpc: VpcAccess) -> list[dict[str, Any]]:
    """The execution role's statements for Lambda's network interfaces in `vpc` (see VPC_ACCESS)."""
    resources: dict[str, list[str] | str] = {
        catalogue.NETWORK_INTERFACES.kind: [vpc.ec2_arn("network-interface/*")],
        catalogue.NEW_NETWORK_INTERFACE.kind: [
            vpc.ec2_arn("network-interface/*"),
            *(vpc.ec2_arn(f"subnet/{subnet}") for subnet in vpc.subnet_ids),
            *(vpc.ec2_arn(f"security-group/{group}") for group in vpc.security_group_ids),
        ],
        catalogue.REGION.kind: "*",
    }
    statements: list[dict[str, Any]] = [
        {
            "Sid": f"Vpc{access.on.kind}",
            "Effect": "Allow",
            "Action": sorted(access.actions),
            "Resource": resources[access.on.kind],
        }
        for access in VPC_ACCESS
    ]
    every = sorted({action for access in VPC_ACCESS for action in access.actions})
    return statements + [
        {
            "Sid": "NoNetworkInterfacesFromFunctionCode",
            "Effect": "Deny",
            "Action": every,
            "Resource": "*",
            "Condition": {"Null": {"lambda:SourceFunctionArn": "false"}},
        },
    ]


def resource_statements(token: str, arn: str) -> list[dict[str, Any]]:
    """The execution role's statements for what an AWS service does with it at run time on the stack's
    resource `arn` of catalogue type `token`: the entry's `execution` (infra/catalogue.py), which the stack's
    permissions boundary allows on the stack's resources of that kind. One Allow per kind of resource, Sid
    `Uses<kind>`, on `arn` (on "*" for actions AWS authorizes only there); the actions held to
    NOT_FROM_FUNCTION_CODE are also denied to the function's own code (as in vpc_statements).

    ValueError: the function's own type (its VPC access is vpc_statements', on its subnets), or a condition
    an execution role cannot express."""
    if token == FUNCTION_TYPE:
        raise ValueError(f"{token}: the function's own execution is vpc_statements'")
    actions: dict[str, set[str]] = {}  # by kind of resource
    denied: set[str] = set()
    for access in catalogue.BY_TOKEN[token].execution:
        if access.condition not in (None, catalogue.NOT_FROM_FUNCTION_CODE):
            raise ValueError(f"{token}: the execution role cannot hold the condition {access.condition!r}")
        actions.setdefault(access.on.kind, set()).update(access.actions)
        if access.condition:
            denied.update(access.actions)
    statements: list[dict[str, Any]] = [
        {
            "Sid": f"Uses{kind}",
            "Effect": "Allow",
            "Action": sorted(used),
            "Resource": "*" if kind == catalogue.REGION.kind else [arn],
        }
        for kind, used in actions.items()
    ]
    if denied:
        statements.append(
            {
                "Sid": f"No{''.join(actions)}FromFunctionCode",
                "Effect": "Deny",
                "Action": sorted(denied),
                "Resource": "*",
                "Condition": {"Null": {"lambda:SourceFunctionArn": "false"}},
            }
        )
    return statements


# How a missing managed policy shows in a failed getPolicy invoke: the provider's aws_iam_policy data source
# (terraform-provider-aws internal/service/iam/policy_data_source.go, dataSourcePolicyRead) reports
# "reading IAM Policy (<arn>): <error>", where findPolicyByARN (policy.go) turns IAM's NoSuchEntityException
# into a retry.NotFoundError whose message is "couldn't find resource" (as for ECR, infra/registry.py). The
# IAM error code is kept as a second marker.
MISSING_POLICY_MARKERS = ("couldn't find resource", "NoSuchEntity")


def policy_exists(arn: str) -> bool:
    """Does the account hold the managed policy `arn`? False only for the provider's not-found error; any
    other failure of the lookup (AccessDenied, throttling) propagates."""
    try:
        aws.iam.get_policy(arn=arn)
    except Exception as error:  # an invoke failure arrives as a plain Exception carrying the provider's text
        if any(marker in str(error) for marker in MISSING_POLICY_MARKERS):
            return False
        raise
    return True


# POWERTOOLS_LOG_LEVEL takes Python logging's names; Lambda's levels map as Powertools maps them
# (aws_lambda_powertools/shared/constants.py, LAMBDA_ADVANCED_LOGGING_LEVELS), except TRACE: Python has no
# level below DEBUG that Powertools' Logger filters on, so TRACE is DEBUG.
POWERTOOLS_LOG_LEVELS = {
    "TRACE": "DEBUG",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARNING",
    "ERROR": "ERROR",
    "FATAL": "CRITICAL",
}


def execution_policy(
    log_group_arn: str,
    tracing: bool,
    secrets: Mapping[str, SecretReference] | None = None,
    permissions: Sequence[Mapping[str, Any]] = (),
    vpc: VpcAccess | None = None,
    resources: Mapping[str, str] | None = None,
) -> str:
    """The inline policy: write to the function's own log group only (plus X-Ray trace writes), read
    exactly the parameters and secrets of `secrets` (decrypting with their KMS keys through their service),
    Lambda's network interfaces in the function's subnets when it has a `vpc` (vpc_statements), what AWS
    does with the role on the stack's `resources` (catalogue type token -> the resource's ARN:
    resource_statements), and the statements the function declares (`permissions`, rendered:
    infra/function_permissions.py), each under the Sid `Declared<Sid>`."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        }
    ]
    if tracing:
        statements.append({"Sid": "WriteTraces", "Effect": "Allow", "Action": XRAY_ACTIONS, "Resource": "*"})
    references = list((secrets or {}).values())
    for service, action in SECRET_READ_ACTIONS.items():
        arns = sorted({ref.arn for ref in references if ref.service == service})
        if arns:
            sid = {"ssm": "ReadSecretParameters", "secretsmanager": "ReadSecrets"}[service]
            statements.append({"Sid": sid, "Effect": "Allow", "Action": [action], "Resource": arns})
    keys: dict[str, set[str]] = {}
    for ref in references:
        if ref.kms_key_arn:
            keys.setdefault(ref.kms_key_arn, set()).add(f"{ref.service}.{ref.region}.amazonaws.com")
    for index, (key, services) in enumerate(sorted(keys.items())):
        statements.append(
            {
                "Sid": f"DecryptSecrets{index}",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [key],
                "Condition": {"StringEquals": {"kms:ViaService": sorted(services)}},
            }
        )
    if vpc is not None:
        statements += vpc_statements(vpc)
    for token, arn in sorted((resources or {}).items()):
        statements += resource_statements(token, arn)
    statements += [{**statement, "Sid": f"{SID_PREFIX}{statement['Sid']}"} for statement in permissions]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def function_environment(
    log_level: str, environment: Mapping[str, str], secret_environment: Mapping[str, SecretReference]
) -> dict[str, str]:
    """The function's variables: POWERTOOLS_LOG_LEVEL, each secretEnvironment name holding its ARN, then the
    configured environment (the config validation keeps the three sets of names apart)."""
    return {
        "POWERTOOLS_LOG_LEVEL": POWERTOOLS_LOG_LEVELS[log_level],
        **{name: ref.arn for name, ref in secret_environment.items()},
        **environment,
    }


@dataclass(frozen=True)
class FunctionArgs:
    name: str
    image_uri: pulumi.Input[str]  # by digest
    architecture: str
    memory_size: int
    timeout: int
    ephemeral_storage: int
    log_retention_days: int
    tracing: bool
    tags: Mapping[str, str]
    reserved_concurrency: int | None = None
    provisioned_concurrency: int = 0
    environment: Mapping[str, str] = field(default_factory=dict)
    environment_is_secret: bool = False  # set with --secret: the variables stay secret in state and previews
    secret_environment: Mapping[str, SecretReference] = field(default_factory=dict)
    log_level: str = "INFO"  # LoggingConfig.ApplicationLogLevel
    system_log_level: str = "INFO"  # LoggingConfig.SystemLogLevel
    extra_policy_arns: tuple[str, ...] = ()
    # the statements function/permissions.json declares, rendered for the stack (infra/function_inputs.py)
    permissions: Sequence[Mapping[str, Any]] = ()
    vpc_subnet_ids: tuple[str, ...] = ()  # with vpc_security_group_ids: the function's VpcConfig
    vpc_security_group_ids: tuple[str, ...] = ()
    snap_start: bool = False  # SnapStart on published versions


class Function(pulumi.ComponentResource):
    """The Lambda function (package type Image) and everything it needs to run and log."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]  # the alias `live`'s: what the API invokes
    qualifier: pulumi.Output[str]  # the alias the API invokes
    version: pulumi.Output[str]  # the version this deploy published (infra/delivery.py moves the alias)
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PROJECT}:infra:Function", name, None, opts)
        self.permissions_boundary = self._boundary(args)  # what every other role of the stack carries too
        # The stack's resources AWS uses with the execution role at run time (catalogue type token -> ARN):
        # the role's inline policy holds their catalogue entries' `execution` (resource_statements).
        self.used_resources: dict[str, pulumi.Output[str]] = {}
        self.log_group = retained_log_group(
            f"{name}-logs", f"/aws/lambda/{args.name}", args.log_retention_days, dict(args.tags), self
        )
        self._role(name, args)
        self._function(name, args)
        self._alias(name, args)
        self.function_name = self.function.name
        self.function_arn = self.function.arn
        self.version = self.function.version
        self.alias_arn = self.alias.arn
        self.invoke_arn = self.alias.invoke_arn
        self.qualifier = self.alias.name  # an output, so the permission waits for the alias
        self.role_arn = self.role.arn
        self.log_group_name = self.log_group.name
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "invokeArn": self.invoke_arn,
                "roleArn": self.role_arn,
                "logGroupName": self.log_group_name,
            }
        )

    def _boundary(self, args: FunctionArgs) -> str | None:
        """The stack's permissions boundary, or None in an account without the bootstrap."""
        # The bootstrap's deploy role may create the role only under the stack's own path and name and only
        # with the stack's permissions boundary, which it names after the partition, account and stack
        # (infra/iam_rules.py, docs/bootstrap.md). An account without the bootstrap (a first local deploy)
        # has no boundary: the role is then created without one, which no deploy role may do.
        stack = pulumi.get_stack()
        named = boundary_arn(aws.get_partition().partition, aws.get_caller_identity().account_id, stack)
        boundary: str | None = named
        if not policy_exists(named):
            pulumi.log.warn(
                f"the permissions boundary {boundary} does not exist in this account (the "
                f"bootstrap has not run for stack {stack!r}): the role {args.name} is created "
                "without a boundary. Run the bootstrap (docs/bootstrap.md) before deploying from "
                "CI: its deploy roles may create the role only with the boundary.",
                self,
            )
            boundary = None
        return boundary

    def _role(self, name: str, args: FunctionArgs) -> None:
        """The execution role, its inline policy and the attached managed policies."""
        child = pulumi.ResourceOptions(parent=self)
        stack = pulumi.get_stack()
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.name,
            path=stack_role_path(stack),
            description=f"Execution role of the Lambda function {args.name}",
            assume_role_policy=LAMBDA_TRUST_POLICY,
            permissions_boundary=self.permissions_boundary,
            tags=dict(args.tags),
            opts=child,
        )
        vpc = self._vpc(args)
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy",
            name=f"{args.name}-execution",
            role=self.role.name,
            policy=pulumi.Output.all(self.log_group.arn, pulumi.Output.all(**self.used_resources)).apply(
                lambda arns: execution_policy(
                    arns[0], args.tracing, args.secret_environment, args.permissions, vpc, arns[1]
                )
            ),
            opts=child,
        )
        # Logical names from the ARN, so reordering the list replaces nothing.
        self.policy_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-policy-{hashlib.sha256(arn.encode()).hexdigest()[:8]}",
                role=self.role.name,
                policy_arn=arn,
                opts=child,
            )
            for arn in args.extra_policy_arns
        ]

    def _vpc(self, args: FunctionArgs) -> VpcAccess | None:
        """Where Lambda puts the function's network interfaces (None without subnets)."""
        if not args.vpc_subnet_ids:
            return None
        if len(args.vpc_subnet_ids) == 1:
            pulumi.log.warn(
                f"{args.name} reaches its VPC through one subnet ({args.vpc_subnet_ids[0]}): an outage of "
                "its Availability Zone stops the function; use at least two subnets in different zones",
                self,
            )
        return VpcAccess(
            args.vpc_subnet_ids,
            args.vpc_security_group_ids,
            aws.get_partition().partition,
            aws.get_region().region,
            aws.get_caller_identity().account_id,
        )

    def _function(self, name: str, args: FunctionArgs) -> None:
        """The function, running the image by digest; every deploy publishes a version."""
        variables = function_environment(args.log_level, args.environment, args.secret_environment)
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=args.name,
            role=self.role.arn,
            package_type="Image",
            image_uri=args.image_uri,
            architectures=[args.architecture],
            memory_size=args.memory_size,
            timeout=args.timeout,
            ephemeral_storage=aws.lambda_.FunctionEphemeralStorageArgs(size=args.ephemeral_storage),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables=pulumi.Output.secret(variables) if args.environment_is_secret else variables
            ),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(
                mode="Active" if args.tracing else "PassThrough"
            ),
            # levels need the JSON log format (Lambda Developer Guide, monitoring-cloudwatchlogs-log-level)
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON",
                log_group=self.log_group.name,
                application_log_level=args.log_level,
                system_log_level=args.system_log_level,
            ),
            reserved_concurrent_executions=(
                args.reserved_concurrency if args.reserved_concurrency is not None else -1
            ),
            vpc_config=(
                aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=list(args.vpc_subnet_ids), security_group_ids=list(args.vpc_security_group_ids)
                )
                if args.vpc_subnet_ids
                else None
            ),
            snap_start=(
                aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions") if args.snap_start else None
            ),
            publish=True,  # every deploy publishes a version: what the alias `live` points to
            tags=dict(args.tags),
            # the log group before the function (Lambda would create it without retention), the role's
            # permissions before the first invocation
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.log_group, self.role_policy, *self.policy_attachments],
                additional_secret_outputs=(["environment"] if args.environment_is_secret else None),
            ),
        )

    def _alias(self, name: str, args: FunctionArgs) -> None:
        """The alias the API invokes, and the provisioned concurrency on it."""
        child = pulumi.ResourceOptions(parent=self)
        # The alias starts on the first published version; afterwards only the deployment moves it
        # (infra/delivery.py: smoke requests on the new version, then CodeDeploy's traffic shifting or a
        # direct update), so Pulumi never reverts what CodeDeploy did: version and routing are ignored after
        # creation.
        self.alias = aws.lambda_.Alias(
            f"{name}-alias",
            name=ALIAS_NAME,
            function_name=self.function.name,
            function_version=self.function.version,
            description="The published version the HTTP API invokes",
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["functionVersion", "routingConfig"]),
        )
        self.provisioned_concurrency_config = None
        if args.provisioned_concurrency > 0:
            self.provisioned_concurrency_config = aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-provisioned-concurrency",
                function_name=self.function.name,
                qualifier=self.alias.name,
                provisioned_concurrent_executions=args.provisioned_concurrency,
                opts=child,
            )
