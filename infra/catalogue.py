"""The resource catalogue: every AWS resource type the stack or the bootstrap manages, declared once
(standard library only: the policy pack imports it).

Each entry (`ResourceType`, by Pulumi type token) says:

- the IAM actions the provider (terraform-provider-aws, which pulumi-aws wraps) and the pipeline call for it,
  per step: `create`, `read`, `update`, `delete`, `tag`, and the operations around `pulumi up`: `deploy`
  (the deployment inside `up`, infra/deployment_runner.py, the checks of scripts/pipeline.sh and the
  rollback, scripts/rollback.py) and
  `rescan` (the weekly rescan of the drift role); each group of actions on the resource IAM authorizes it
  on (an `Arn`: its format, and the names a stack's resources of that kind have), or on `REGION` (actions
  AWS authorizes on "*" only), and under a named `condition` when the bootstrap must hold it to more than
  the resource (bootstrap/policies.py renders each condition);
- `never`: actions no pipeline role may get, whatever else it is given (rendered as a Deny);
- `readers`: which read-only pipeline roles read it (`preview`, `drift`; `deploy` for a resource the
  bootstrap creates and the stack's program looks up);
- `taggable`: it takes `tags` (the policy pack's standard-tags policy checks those);
- `outputs`: the computed outputs a mock must fill (tests/support/pulumi_harness.py), as formats over the
  resource's inputs and `{partition}`, `{region}`, `{account}`, `{logical}` (the logical name), `{id}`,
  `{hex:N}` (a deterministic hex string of N characters; `X` for upper case);
- `state_arn`: the ARN of one registered resource that its calls are authorized on, as a format over its
  state (its inputs and outputs); "" when it lies on another resource the test finds itself;
- `execution`: what an AWS service does at run time with the stack's execution role for the resource
  (Lambda's network interfaces of a function in a VPC; Lambda sending a failed event to a queue of the stack):
  the permissions boundary allows it on the stack's resources of its kind (bootstrap/policies.py), the
  program's execution role holds it on the resource itself (infra/function.py `resource_statements`; the
  function's own subnets and security groups for its VPC: `vpc_statements`); no pipeline role gets it;
- `names`: the names the stack gives its resources of the type after its prefix (`StackName`: the suffix
  and AWS's length limit), which the ARN patterns, the component and the stack name's length check
  (`name_limit_problems`) read.

bootstrap/policies.py derives the pipeline roles' permissions from it, the policy pack its taggable types,
the mock harness its fills, and tests/bootstrap/test_bootstrap_covers_stack.py the calls it checks against
the program's real resources. Adding a resource type to the stack is its component plus one entry here.

Action names follow the AWS Service Authorization Reference (tests check every one against parliament's
copy of it, and each `REGION` action against its resource types).
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from infra.iam_rules import (
    ALARM_SEPARATOR,
    ALARM_TOPIC_SUFFIX,
    CODEDEPLOY_ROLE_SUFFIX,
    NAME_LIMITS,
    PIPELINE_PATH,
    SCHEDULER_ROLE_SUFFIX,
    WARM_UP_SUFFIX,
    boundary_policy_name,
    stack_role_names,
    stack_role_path,
)
from infra.project import PROJECT, STACK_NAME_MAX, prefix_for

LIFECYCLE = ("create", "read", "update", "delete", "tag")
OPERATIONS = ("deploy", "rescan")
STEPS = LIFECYCLE + OPERATIONS
STACK = "stack"
BOOTSTRAP = "bootstrap"
# The parts of the stack, by component: what each pipeline policy document is cut along.
CONCERNS = ("image", "function", "api", "monitoring", "delivery")
# What each pipeline role does with the resources: the deploy role runs their whole lifecycle and the
# deployment; the preview and drift roles read them (drift also rescans the image).
# An AWS service's own calls with the stack's execution role (ResourceType.execution): no pipeline role's step.
EXECUTE = "execute"
ROLE_STEPS = {"deploy": (*LIFECYCLE, "deploy"), "preview": ("read",), "drift": ("read", "rescan")}

_FORMATTER = string.Formatter()
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def fields(template: str) -> set[str]:
    """The placeholder names of a format (without optional brackets)."""
    return {name for _, name, _, _ in _FORMATTER.parse(template.replace("[", "").replace("]", "")) if name}


def render(template: str, values: Mapping[str, Any]) -> str:
    """`template` with each `{name}` replaced from `values`; a `[...]` part is left out when one of its
    placeholders is missing or empty. KeyError names a placeholder outside an optional part without a value."""

    def optional(match: re.Match[str]) -> str:
        part = match[1]
        if all(values.get(name) not in (None, "") for name in fields(part)):
            return part.format_map(values)
        return ""

    return _OPTIONAL.sub(optional, template).format_map(values)


@dataclass(frozen=True)
class StackName:
    """The name a stack gives its resource of one kind: the stack's prefix `<project>-<stack>`, then `suffix`,
    which starts with a character no stack name holds ("." or, where AWS allows none, "_"), so that
    `<prefix><suffix>` never names a resource of a stack whose name extends this one (`dev`, `dev-eu`).
    `what` names it in errors; `limit`: AWS's maximum length in characters, from `source` (an API Reference)."""

    what: str
    suffix: str
    limit: int
    source: str

    def of(self, prefix: str) -> str:
        """The name for the stack prefix `prefix` (a component: `args.name`)."""
        return f"{prefix}{self.suffix}"

    @property
    def pattern(self) -> str:
        """The name as an `Arn` stack-name pattern (over `{prefix}`)."""
        return self.of("{prefix}")


@dataclass(frozen=True)
class Arn:
    """A kind of resource IAM authorizes calls on: its ARN format (Service Authorization Reference) with
    `{partition}`, `{region}`, `{account}` and name placeholders, and for each name placeholder the
    patterns a stack's own resources match, over `{prefix}` (`<project>-<stack>`), `{stack}`, `{project}`
    and `{role_path}` (`/<project>/<stack>/`), and the names an administrator assigns a stack in the
    bootstrap (`assigned`: `{domain}`, its custom domain, `{hosted_zone}`, the Route 53 zone of its record).
    `requires`: assigned names the kind needs although its format names none of them (a collection)."""

    kind: str  # a word for statement ids: Repository, Function, ...
    format: str
    stack_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    requires: tuple[str, ...] = ()

    def of_stack(
        self, partition: str, region: str, account: str, stack: str, assigned: Mapping[str, str] | None = None
    ) -> list[str]:
        """Every ARN pattern of the stack's own resources of this kind (one per combination of names); none
        when it needs a name the bootstrap did not assign the stack (a stack without a custom domain has no
        domain of its own)."""
        names = {
            "prefix": prefix_for(stack),
            "stack": stack,
            "project": PROJECT,
            "role_path": stack_role_path(stack),
        } | {key: value for key, value in (assigned or {}).items() if value}
        needed = set(self.requires).union(*(fields(p) for ps in self.stack_names.values() for p in ps))
        if not needed <= set(names):
            return []
        keys = sorted(self.stack_names)
        choices = [[pattern.format_map(names) for pattern in self.stack_names[key]] for key in keys]
        base = {"partition": partition, "region": region, "account": account}
        return [
            render(self.format, base | dict(zip(keys, combination, strict=True)))
            for combination in itertools.product(*choices)
        ]

    def named(self, **names: str) -> str:
        """The format with some name placeholders replaced by other formats (a resource that names this one
        by one of its own inputs: a lifecycle policy's `{repository}`)."""
        return render(self.format, {key: f"{{{key}}}" for key in fields(self.format)} | names)


# Actions AWS authorizes on "*" only: held to the stacks' region (aws:RequestedRegion).
REGION = Arn("Region", "*")

REPOSITORY = Arn(
    "Repository", "arn:{partition}:ecr:{region}:{account}:repository/{name}", {"name": ("{prefix}",)}
)
FUNCTION = Arn(  # the function, and its versions and aliases (qualified ARNs)
    "Function",
    "arn:{partition}:lambda:{region}:{account}:function:{name}",
    {"name": ("{prefix}", "{prefix}:*")},
)
# The stack's roles by exact name (a role name is unique in the account, whatever its path):
# infra/iam_rules.py stack_role_names.
ROLES = Arn(
    "Roles",
    "arn:{partition}:iam::{account}:role{path}{name}",
    {
        "path": ("{role_path}",),
        "name": tuple(name.replace(prefix_for("STACK"), "{prefix}") for name in stack_role_names("STACK")),
    },
)
CODEDEPLOY_ROLE = Arn(
    "CodeDeployRole",
    ROLES.format,
    {"path": ("{role_path}",), "name": (f"{{prefix}}{CODEDEPLOY_ROLE_SUFFIX}",)},
)
BOUNDARY = Arn(  # the stack's permissions boundary (the bootstrap's): infra/iam_rules.py boundary_arn
    "Boundary",
    "arn:{partition}:iam::{account}:policy{path}{name}",
    {"path": (PIPELINE_PATH,), "name": (boundary_policy_name("{stack}"),)},
)
LOG_GROUPS = Arn(  # the function's and the HTTP API's log groups, and their streams
    "LogGroups",
    "arn:{partition}:logs:{region}:{account}:log-group:{name}",
    {
        "name": (
            "/aws/lambda/{prefix}",
            "/aws/lambda/{prefix}:*",
            "/aws/apigateway/{prefix}",
            "/aws/apigateway/{prefix}:*",
        )
    },
)
# HTTP APIs have generated ids: the stack's own are told apart by their owner tags (a condition).
HTTP_API_LIST = Arn("HttpApiList", "arn:{partition}:apigateway:{region}::/apis")
HTTP_APIS = Arn("HttpApis", "arn:{partition}:apigateway:{region}::/apis/{id}", {"id": ("*",)})
HTTP_API_TAGS = Arn("HttpApiTags", "arn:{partition}:apigateway:{region}::/tags/{arn}", {"arn": ("*",)})
ALARM_TOPIC = Arn(
    "AlarmTopic",
    "arn:{partition}:sns:{region}:{account}:{name}",
    {"name": (f"{{prefix}}{ALARM_TOPIC_SUFFIX}",)},
)
ALARMS = Arn(
    "Alarms",
    "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}",
    {"name": (f"{{prefix}}{ALARM_SEPARATOR}*",)},
)
DASHBOARD = Arn(  # dashboards are global: no region in their ARN
    "Dashboard", "arn:{partition}:cloudwatch::{account}:dashboard/{name}", {"name": ("{prefix}",)}
)
# The warm-up's schedule, in the account's default schedule group (infra/delivery.py)
WARM_UP_SCHEDULE = Arn(
    "WarmUpSchedule",
    "arn:{partition}:scheduler:{region}:{account}:schedule/{group}/{name}",
    {"group": ("default",), "name": (f"{{prefix}}{WARM_UP_SUFFIX}",)},
)
SCHEDULER_ROLE = Arn(
    "SchedulerRole", ROLES.format, {"path": ("{role_path}",), "name": (f"{{prefix}}{SCHEDULER_ROLE_SUFFIX}",)}
)
# A custom domain of the HTTP API (apigatewayv2 DomainName, and its API mappings below it): the domain the
# bootstrap assigns the stack (bootstrap/settings.py customDomains). CreateDomainName is authorized on the
# collection, which names no domain: held to the stack's owner tags, and only for a stack with a domain.
DOMAIN_NAME_LIST = Arn(
    "DomainNameList", "arn:{partition}:apigateway:{region}::/domainnames", requires=("domain",)
)
DOMAIN_NAME = Arn(
    "DomainName",
    "arn:{partition}:apigateway:{region}::/domainnames/{name}",
    {"name": ("{domain}", "{domain}/apimappings", "{domain}/apimappings/*")},
)
# The Route 53 hosted zone the bootstrap assigns the stack, and the zone's change records (ids Route 53
# generates; GetChange only reads a change's status).
HOSTED_ZONE = Arn("HostedZone", "arn:{partition}:route53:::hostedzone/{id}", {"id": ("{hosted_zone}",)})
DNS_CHANGES = Arn(
    "DnsChanges", "arn:{partition}:route53:::change/{id}", {"id": ("*",)}, requires=("hosted_zone",)
)
# Where Lambda puts a VPC function's network interfaces (the execution role's and the boundary's, not the
# pipeline's): EC2's ARNs in the stacks' account and region.
NETWORK_INTERFACES = Arn(
    "NetworkInterfaces", "arn:{partition}:ec2:{region}:{account}:network-interface/{id}", {"id": ("*",)}
)
# A new interface is authorized on itself, its subnet and its security groups: one statement names all three.
NEW_NETWORK_INTERFACE = Arn(
    "NewNetworkInterface",
    "arn:{partition}:ec2:{region}:{account}:{resource}",
    {"resource": ("network-interface/*", "subnet/*", "security-group/*")},
)
APPLICATION = Arn(
    "Application", "arn:{partition}:codedeploy:{region}:{account}:application:{name}", {"name": ("{prefix}",)}
)
DEPLOYMENT_GROUP = Arn(
    "DeploymentGroup",
    "arn:{partition}:codedeploy:{region}:{account}:deploymentgroup:{application}/{name}",
    {"application": ("{prefix}",), "name": ("{prefix}",)},
)
# CodeDeploy's predefined Lambda configurations (CodeDeployDefault.Lambda*), owned by AWS.
DEPLOYMENT_CONFIGS = Arn(
    "DeploymentConfigs",
    "arn:{partition}:codedeploy:{region}:{account}:deploymentconfig:{name}",
    {"name": ("CodeDeployDefault.Lambda*",)},
)
ARNS = (
    REPOSITORY,
    FUNCTION,
    ROLES,
    CODEDEPLOY_ROLE,
    BOUNDARY,
    LOG_GROUPS,
    HTTP_API_LIST,
    HTTP_APIS,
    HTTP_API_TAGS,
    ALARM_TOPIC,
    ALARMS,
    DASHBOARD,
    WARM_UP_SCHEDULE,
    SCHEDULER_ROLE,
    DOMAIN_NAME_LIST,
    DOMAIN_NAME,
    HOSTED_ZONE,
    DNS_CHANGES,
    NETWORK_INTERFACES,
    NEW_NETWORK_INTERFACE,
    APPLICATION,
    DEPLOYMENT_GROUP,
    DEPLOYMENT_CONFIGS,
)

# The conditions bootstrap/policies.py renders (and tests/bootstrap/test_bootstrap_covers_stack.py gives the
# values of), by name:
PERMISSIONS_BOUNDARY = "permissions-boundary"  # iam:PermissionsBoundary = the stack's boundary
ATTACHABLE_POLICY = "attachable-policy"  # that, and iam:PolicyARN among the allow-listed policies
PASSED_TO_LAMBDA = "passed-to-lambda"  # iam:PassedToService
PASSED_TO_CODEDEPLOY = "passed-to-codedeploy"
INVOKE_GRANTEE = "invoke-grantee"  # lambda:Principal among the allowed services, no function URL
OWNER_REQUEST_TAGS = "owner-request-tags"  # aws:RequestTag/<owner tag> = the stack's
OWNER_TAGS = "owner-tags"  # aws:ResourceTag/<owner tag> = the stack's
OWNER_TAGS_ACCESS_LOG = "owner-tags-access-log"  # that, and the access-log destination is the stack's
OTHER_TAG_KEYS = "other-tag-keys"  # aws:TagKeys holds no owner tag key
PASSED_TO_SCHEDULER = "passed-to-scheduler"
# route53:ChangeResourceRecordSets{NormalizedRecordNames,RecordTypes} = the stack's domain, an A record only
DNS_RECORD = "dns-record"
NOT_FROM_FUNCTION_CODE = "not-from-function-code"  # no lambda:SourceFunctionArn: Lambda's own calls
# lambda:SubnetIds and lambda:SecurityGroupIds among the stack's assigned network, or absent (no VpcConfig)
FUNCTION_NETWORK = "function-network"
CONDITIONS = (
    PERMISSIONS_BOUNDARY,
    ATTACHABLE_POLICY,
    PASSED_TO_LAMBDA,
    PASSED_TO_CODEDEPLOY,
    INVOKE_GRANTEE,
    OWNER_REQUEST_TAGS,
    OWNER_TAGS,
    OWNER_TAGS_ACCESS_LOG,
    OTHER_TAG_KEYS,
    PASSED_TO_SCHEDULER,
    DNS_RECORD,
    NOT_FROM_FUNCTION_CODE,
    FUNCTION_NETWORK,
)


@dataclass(frozen=True)
class Access:
    """`actions` of lifecycle step `step`, authorized on `on` (under `condition`, if named)."""

    step: str
    actions: tuple[str, ...]
    on: Arn
    condition: str | None = None


def grants(on: Arn, condition: str | None = None, **steps: Iterable[str]) -> tuple[Access, ...]:
    """One `Access` per step given: `grants(REPOSITORY, read=[...], create=[...])`."""
    for step in steps:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r} (one of {', '.join(STEPS)})")
    return tuple(Access(step, tuple(actions), on, condition) for step, actions in steps.items() if actions)


@dataclass(frozen=True)
class ResourceType:
    """One AWS resource type the stack or the bootstrap manages (see the module's docstring)."""

    token: str
    owners: frozenset[str]
    access: tuple[Access, ...] = ()
    never: tuple[str, ...] = ()
    readers: frozenset[str] = frozenset({"preview", "drift"})
    taggable: bool = False
    outputs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    id: str = "{name}"
    defaults: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    state_arn: str = "{arn}"
    concern: str = BOOTSTRAP  # which part of the stack (CONCERNS) or the bootstrap
    execution: tuple[Access, ...] = ()
    names: tuple[StackName, ...] = ()

    def actions(self, *steps: str) -> list[str]:
        """The actions of `steps` (every step when none is given), in the order declared, without repeats."""
        wanted = steps or STEPS
        return list(
            dict.fromkeys(a for access in self.access if access.step in wanted for a in access.actions)
        )

    def on(self, step: str) -> Iterator[Access]:
        return (access for access in self.access if access.step == step)


def uses(on: Arn, actions: Iterable[str], condition: str | None = None) -> Access:
    """What an AWS service does with the stack's execution role (a `ResourceType.execution`): `actions` on
    the stack's resources of kind `on` (REGION: on "*"), under `condition` if named."""
    return Access(EXECUTE, tuple(actions), on, condition)


def _of(concern: str) -> Callable[..., ResourceType]:
    """A constructor of the stack's resource types of one concern: `(token, *grants, **fields)`."""

    def declare(token: str, *access: tuple[Access, ...], **kwargs: Any) -> ResourceType:
        return ResourceType(
            token, frozenset({STACK}), tuple(itertools.chain(*access)), concern=concern, **kwargs
        )

    return declare


_image, _function, _api, _monitoring, _delivery = map(_of, CONCERNS)


def _bootstrap(token: str, **kwargs: Any) -> ResourceType:
    return ResourceType(token, frozenset({BOOTSTRAP}), readers=frozenset(), concern=BOOTSTRAP, **kwargs)


def _invoke_arn(function_arn: str) -> str:
    return (
        f"arn:{{partition}}:apigateway:{{region}}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


ROLE_OUTPUTS = {
    "name": "{name}",
    "path": "{path}",
    "arn": ROLES.format,
    "uniqueId": "AROA{hex:17X}",
    "createDate": "2026-01-01T00:00:00Z",
}
TAG = ("TagResource", "UntagResource")

CATALOGUE: tuple[ResourceType, ...] = (
    # --- the image: infra/registry.py ---
    _image(
        "aws:ecr/repository:Repository",
        grants(
            REPOSITORY,
            create=["ecr:CreateRepository"],
            # ListImages: the content tag's lookup (aws_ecr_images); DescribeImages and
            # DescribeImageScanFindings: the checks of scripts/pipeline.sh
            read=[
                "ecr:DescribeRepositories",
                "ecr:ListTagsForResource",
                "ecr:GetRepositoryPolicy",
                "ecr:ListImages",
                "ecr:DescribeImages",
                "ecr:DescribeImageScanFindings",
            ],
            # Lambda adds its image-pull grant to the repository policy on CreateFunction when it is missing,
            # which needs Set/GetRepositoryPolicy on the caller.
            update=[
                "ecr:PutImageScanningConfiguration",
                "ecr:SetRepositoryPolicy",
                "ecr:DeleteRepositoryPolicy",
            ],
            delete=["ecr:DeleteRepository", "ecr:BatchDeleteImage"],
            tag=[f"ecr:{action}" for action in TAG],
            # the weekly rescan of the digest the stack runs (rescan.yml, scripts/pipeline.sh rescan): starting
            # a scan changes no image, repository or setting
            rescan=["ecr:StartImageScan"],
            # the deployment and the rollback (scripts/rollback.py) keep the images of the kept versions under
            # protected tags and drop the tags of versions no longer kept
            deploy=["ecr:ListImages", "ecr:BatchGetImage", "ecr:PutImage", "ecr:BatchDeleteImage"],
        ),
        # The repository is created IMMUTABLE (CreateRepository's imageTagMutability; the provider calls
        # PutImageTagMutability only on an update that changes image_tag_mutability: terraform-provider-aws
        # internal/service/ecr/repository.go, resourceRepositoryUpdate), so no deploy job may make tags mutable
        # and overwrite a content tag that a later deploy or a rollback reuses.
        never=("ecr:PutImageTagMutability",),
        taggable=True,
        outputs={
            "name": "{name}",
            "arn": REPOSITORY.format,
            "registryId": "{account}",
            "repositoryUrl": "{account}.dkr.ecr.{region}.amazonaws.com/{name}",
        },
    ),
    _image(
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        grants(
            REPOSITORY,
            create=["ecr:PutLifecyclePolicy"],
            read=["ecr:GetLifecyclePolicy"],
            update=["ecr:PutLifecyclePolicy"],
            delete=["ecr:DeleteLifecyclePolicy"],
        ),
        id="{repository}",
        outputs={"registryId": "{account}"},
        state_arn=REPOSITORY.named(name="{repository}"),
    ),
    # The push (and, in previews too, the pull of the build cache) through the registry's login token:
    # GetAuthorizationToken has no resource-level permissions; the token only lets docker use the repository
    # permissions granted here.
    _image(
        "docker:index/registryImage:RegistryImage",
        grants(
            REPOSITORY,
            create=[
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
            ],
            read=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            delete=["ecr:BatchDeleteImage"],
        ),
        grants(REGION, read=["ecr:GetAuthorizationToken"]),
        outputs={"sha256Digest": "sha256:{hex:64}"},
        id="{sha256Digest}",
        state_arn="",  # its name is `<repository URL>:<tag>`: the repository's ARN
    ),
    # --- the function: infra/function.py ---
    _function(
        "aws:iam/role:Role",
        grants(
            ROLES,
            read=[
                "iam:GetRole",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRoleTags",
            ],
            # No iam:UpdateAssumeRolePolicy: it supports no condition key, and the stacks' trust policies are
            # constants (the Lambda and CodeDeploy services), so a deploy job cannot re-point an existing
            # role's trust; a trust change is a replacement (`pulumi up --replace`).
            update=["iam:UpdateRole", "iam:UpdateRoleDescription"],
            delete=["iam:DeleteRole"],
            tag=["iam:TagRole", "iam:UntagRole"],
        ),
        # The actions that give a role permissions: only while the role carries (or is given) the stack's
        # boundary. The Service Authorization Reference lists iam:PermissionsBoundary for exactly these role
        # actions (and DeleteRolePermissionsBoundary, which no pipeline role gets).
        grants(
            ROLES,
            PERMISSIONS_BOUNDARY,
            create=["iam:CreateRole"],
            update=["iam:PutRolePermissionsBoundary"],
        ),
        never=("iam:DeleteRolePermissionsBoundary",),
        taggable=True,
        defaults={"path": "/"},
        outputs=ROLE_OUTPUTS,
    ),
    _function(
        "aws:iam/rolePolicy:RolePolicy",
        grants(ROLES, read=["iam:GetRolePolicy"]),
        grants(
            ROLES,
            PERMISSIONS_BOUNDARY,
            create=["iam:PutRolePolicy"],
            update=["iam:PutRolePolicy"],
            delete=["iam:DeleteRolePolicy"],
        ),
        id="{role}:{name}",
        outputs={"name": "{name}"},
        state_arn="",  # on its role, found by name
    ),
    _function(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        grants(ROLES, read=["iam:ListAttachedRolePolicies"]),
        grants(ROLES, ATTACHABLE_POLICY, create=["iam:AttachRolePolicy"]),
        grants(ROLES, PERMISSIONS_BOUNDARY, delete=["iam:DetachRolePolicy"]),
        id="{role}-{hex:8}",
        state_arn="",  # on its role, found by name
    ),
    _monitoring(  # the function's and the API's log groups
        "aws:cloudwatch/logGroup:LogGroup",
        grants(
            LOG_GROUPS,
            create=["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
            read=["logs:ListTagsForResource"],
            update=["logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy"],
            delete=["logs:DeleteLogGroup"],
            tag=[f"logs:{action}" for action in TAG],
        ),
        grants(REGION, read=["logs:DescribeLogGroups"]),  # the account's groups, names only
        taggable=True,
        outputs={"name": "{name}", "arn": LOG_GROUPS.format},
    ),
    _function(
        "aws:lambda/function:Function",
        # The function's VpcConfig: CreateFunction and UpdateFunctionConfiguration carry lambda:SubnetIds and
        # lambda:SecurityGroupIds (ArrayOfString) when the request sets subnets and security groups (Lambda
        # Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC": "Using IAM condition
        # keys for VPC settings"; Service Authorization Reference, AWS Lambda): only those the bootstrap
        # assigned the stack (functionNetworks), so no deploy role puts its function in another stack's network.
        grants(
            FUNCTION,
            FUNCTION_NETWORK,
            create=["lambda:CreateFunction"],
            update=["lambda:UpdateFunctionConfiguration"],
        ),
        grants(
            FUNCTION,
            read=[
                "lambda:GetFunction",
                "lambda:ListVersionsByFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetFunctionConcurrency",
                "lambda:ListTags",
            ],
            update=[
                "lambda:UpdateFunctionCode",
                "lambda:PublishVersion",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
            ],
            # DeleteFunction of a version too: the deployment deletes old versions
            delete=["lambda:DeleteFunction"],
            tag=[f"lambda:{action}" for action in TAG],
            # the smoke requests on a new version before it takes traffic (the deployment, and the rollback's
            # on the kept version it moves back to); the rollback lists the kept versions and their images
            # (scripts/rollback.py)
            deploy=["lambda:InvokeFunction", "lambda:ListVersionsByFunction", "lambda:GetFunction"],
        ),
        grants(ROLES, PASSED_TO_LAMBDA, create=["iam:PassRole"], update=["iam:PassRole"]),
        # A function in a VPC: Lambda checks the caller may see the subnets and security groups of the
        # VpcConfig ("User permissions": ec2:DescribeSecurityGroups, ec2:DescribeSubnets, ec2:DescribeVpcs;
        # Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC"); EC2's
        # Describe actions have no resource-level permissions.
        grants(
            REGION,
            create=["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
            update=["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
        ),
        # ... and Lambda creates and manages the function's network interfaces with its execution role: the
        # actions of the AWS managed policy AWSLambdaVPCAccessExecutionRole (ec2:CreateNetworkInterface,
        # DescribeNetworkInterfaces, DescribeSubnets, DeleteNetworkInterface, AssignPrivateIpAddresses,
        # UnassignPrivateIpAddresses; AWS Managed Policy Reference). CreateNetworkInterface is authorized on
        # the interface, its subnet and its security groups; the Describe actions work only on "*" (Lambda
        # Developer Guide, configuration-vpc). Lambda makes these calls outside the function, without
        # lambda:SourceFunctionArn ("Using source function ARN to control function access behavior"): the
        # function's own code never gets them.
        taggable=True,
        execution=(
            uses(NEW_NETWORK_INTERFACE, ["ec2:CreateNetworkInterface"], NOT_FROM_FUNCTION_CODE),
            uses(
                NETWORK_INTERFACES,
                [
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                NOT_FROM_FUNCTION_CODE,
            ),
            uses(REGION, ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], NOT_FROM_FUNCTION_CODE),
        ),
        outputs={
            "name": "{name}",
            "arn": FUNCTION.format,
            "invokeArn": _invoke_arn("{arn}"),
            "version": "$LATEST",
            "qualifiedArn": "{arn}:{version}",
            "qualifiedInvokeArn": _invoke_arn("{qualifiedArn}"),
            "lastModified": "2026-01-01T00:00:00.000+0000",
            "sourceCodeHash": "{hex:64}",
        },
    ),
    _function(
        "aws:lambda/alias:Alias",
        grants(
            FUNCTION,
            create=["lambda:CreateAlias"],
            read=["lambda:GetAlias"],
            update=["lambda:UpdateAlias"],
            delete=["lambda:DeleteAlias"],
            # the deployment and the rollback (scripts/rollback.py) move `live` between versions
            deploy=["lambda:GetAlias", "lambda:UpdateAlias"],
        ),
        id="{arn}",
        outputs={"arn": FUNCTION.named(name="{functionName}:{name}"), "invokeArn": _invoke_arn("{arn}")},
    ),
    _function(
        "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
        grants(
            FUNCTION,
            create=["lambda:PutProvisionedConcurrencyConfig"],
            read=["lambda:GetProvisionedConcurrencyConfig"],
            update=["lambda:PutProvisionedConcurrencyConfig"],
            delete=["lambda:DeleteProvisionedConcurrencyConfig"],
        ),
        id="{functionName},{qualifier}",
        state_arn=FUNCTION.named(name="{functionName}:{qualifier}"),
    ),
    # Resource policy statements of the functions: only the services the stack grants may be named. The
    # Service Authorization Reference lists exactly two condition keys for AddPermission and RemovePermission:
    # lambda:Principal and lambda:FunctionUrlAuthType; the granted action and the SourceArn/SourceAccount of a
    # grant take no key (docs/bootstrap.md).
    _function(
        "aws:lambda/permission:Permission",
        grants(FUNCTION, read=["lambda:GetPolicy"]),
        grants(FUNCTION, INVOKE_GRANTEE, create=["lambda:AddPermission"], delete=["lambda:RemovePermission"]),
        defaults={"statementId": "{logical}"},
        id="{statementId}",
        outputs={"statementId": "{statementId}"},
        state_arn=FUNCTION.named(name="{function}[:{qualifier}]"),
    ),
    # --- the HTTP API: infra/http_api.py. Service Authorization Reference, API Gateway Management V2: the Api,
    # Stage, Route, Integration, ... resource types take aws:ResourceTag; POST/PUT/PATCH/DELETE take
    # aws:RequestTag and aws:TagKeys; the Tags resource type takes no condition key.
    _api(
        "aws:apigatewayv2/api:Api",
        grants(HTTP_API_LIST, OWNER_REQUEST_TAGS, create=["apigateway:POST"]),
        grants(HTTP_API_LIST, read=["apigateway:GET"]),
        grants(HTTP_API_TAGS, read=["apigateway:GET"]),
        grants(
            HTTP_APIS,
            OWNER_TAGS,
            read=["apigateway:GET"],
            update=["apigateway:PUT"],
            delete=["apigateway:DELETE"],
        ),
        grants(HTTP_APIS, OWNER_TAGS_ACCESS_LOG, update=["apigateway:PATCH"]),
        grants(HTTP_API_TAGS, OTHER_TAG_KEYS, tag=["apigateway:POST", "apigateway:DELETE"]),
        taggable=True,
        id="{hex:10}",
        outputs={
            "apiEndpoint": "https://{id}.execute-api.{region}.amazonaws.com",
            "arn": HTTP_APIS.format,
            "executionArn": "arn:{partition}:execute-api:{region}:{account}:{id}",
        },
    ),
    # A stage's access logs go to the stack's own API log group only: CreateStage and UpdateStage carry
    # apigateway:Request/AccessLoggingDestination when they set a destination.
    _api(
        "aws:apigatewayv2/stage:Stage",
        grants(HTTP_APIS, OWNER_TAGS, read=["apigateway:GET"], delete=["apigateway:DELETE"]),
        grants(HTTP_APIS, OWNER_TAGS_ACCESS_LOG, create=["apigateway:POST"], update=["apigateway:PATCH"]),
        grants(HTTP_API_TAGS, OTHER_TAG_KEYS, tag=["apigateway:POST", "apigateway:DELETE"]),
        # Access logging: API Gateway's documented caller permissions ("Permissions to activate logging",
        # http-api-logging.html); the Service Authorization Reference lists no resource type and no condition
        # key for any of them, so they can only be held to the region (docs/bootstrap.md).
        grants(
            REGION,
            create=[
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:ListLogDeliveries",
                "logs:DescribeResourcePolicies",
                "logs:PutResourcePolicy",
            ],
            update=["logs:UpdateLogDelivery"],
            delete=["logs:DeleteLogDelivery"],
        ),
        taggable=True,
        outputs={
            "name": "{name}",
            "arn": HTTP_APIS.named(id="{apiId}") + "/stages/{name}",
            "executionArn": "arn:{partition}:execute-api:{region}:{account}:{apiId}/{name}",
            "invokeUrl": "https://{apiId}.execute-api.{region}.amazonaws.com/{name}",
        },
    ),
    *(
        _api(
            f"aws:apigatewayv2/{kind}:{kind.title()}",
            grants(HTTP_APIS, OWNER_TAGS, read=["apigateway:GET"], delete=["apigateway:DELETE"]),
            grants(HTTP_APIS, OWNER_TAGS_ACCESS_LOG, create=["apigateway:POST"], update=["apigateway:PATCH"]),
            id="{hex:7}",
            outputs=outputs,
            state_arn=HTTP_APIS.named(id="{apiId}") + f"/{kind}s/{{id}}",
        )
        for kind, outputs in (
            ("integration", {"integrationResponseSelectionExpression": ""}),
            ("route", {}),
            ("authorizer", {}),  # the JWT authorizer the routes require (jwtIssuer)
        )
    ),
    # The custom domain (customDomain): its Regional domain name, created with the stack's owner tags, then
    # read, changed and deleted by the name the bootstrap assigned the stack; its mapping to the stage; and,
    # in the Route 53 zone the bootstrap assigned, its A alias record (terraform-provider-aws
    # internal/service/route53/record.go: GetHostedZone, ChangeResourceRecordSets, then GetChange until the
    # change is INSYNC; reads list the zone's record sets).
    _api(
        "aws:apigatewayv2/domainName:DomainName",
        grants(DOMAIN_NAME_LIST, OWNER_REQUEST_TAGS, create=["apigateway:POST"]),
        grants(
            DOMAIN_NAME,
            read=["apigateway:GET"],
            update=["apigateway:PATCH"],
            delete=["apigateway:DELETE"],
        ),
        grants(HTTP_API_TAGS, read=["apigateway:GET"]),
        grants(HTTP_API_TAGS, OTHER_TAG_KEYS, tag=["apigateway:POST", "apigateway:DELETE"]),
        taggable=True,
        id="{domainName}",
        outputs={"arn": DOMAIN_NAME.named(name="{domainName}")},
    ),
    _api(
        "aws:apigatewayv2/apiMapping:ApiMapping",
        grants(
            DOMAIN_NAME,
            create=["apigateway:POST"],
            read=["apigateway:GET"],
            update=["apigateway:PATCH"],
            delete=["apigateway:DELETE"],
        ),
        id="{hex:6}",
        state_arn=DOMAIN_NAME.named(name="{domainName}") + "/apimappings/{id}",
    ),
    _api(
        "aws:route53/record:Record",
        grants(HOSTED_ZONE, read=["route53:GetHostedZone", "route53:ListResourceRecordSets"]),
        grants(
            HOSTED_ZONE,
            DNS_RECORD,
            create=["route53:ChangeResourceRecordSets"],
            update=["route53:ChangeResourceRecordSets"],
            delete=["route53:ChangeResourceRecordSets"],
        ),
        grants(
            DNS_CHANGES,
            create=["route53:GetChange"],
            update=["route53:GetChange"],
            delete=["route53:GetChange"],
        ),
        id="{zoneId}_{name}_{type}",
        outputs={"fqdn": "{name}"},
        state_arn=HOSTED_ZONE.named(id="{zoneId}"),
    ),
    # --- monitoring: infra/monitoring.py ---
    _monitoring(
        "aws:sns/topic:Topic",
        grants(
            ALARM_TOPIC,
            create=["sns:CreateTopic"],
            read=["sns:GetTopicAttributes", "sns:ListTagsForResource"],
            update=["sns:SetTopicAttributes"],
            delete=["sns:DeleteTopic"],
            tag=[f"sns:{action}" for action in TAG],
        ),
        taggable=True,
        id=ALARM_TOPIC.format,
        outputs={"arn": ALARM_TOPIC.format, "name": "{name}", "owner": "{account}"},
    ),
    _monitoring(  # the topic's policy is a topic attribute
        "aws:sns/topicPolicy:TopicPolicy",
        grants(
            ALARM_TOPIC,
            create=["sns:SetTopicAttributes"],
            read=["sns:GetTopicAttributes"],
            update=["sns:SetTopicAttributes"],
            delete=["sns:SetTopicAttributes"],
        ),
        id="{arn}",
    ),
    # SNS subscriptions have no resource type in the Service Authorization Reference: region only.
    _monitoring(
        "aws:sns/topicSubscription:TopicSubscription",
        grants(ALARM_TOPIC, create=["sns:Subscribe"]),
        grants(
            REGION,
            read=["sns:GetSubscriptionAttributes"],
            update=["sns:SetSubscriptionAttributes"],
            delete=["sns:Unsubscribe"],
        ),
        id="{topic}:{hex:36}",
        outputs={"arn": "{topic}:{hex:36}"},
        state_arn="{topic}",
    ),
    _monitoring(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        grants(
            ALARMS,
            create=["cloudwatch:PutMetricAlarm"],
            read=["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
            update=["cloudwatch:PutMetricAlarm"],
            delete=["cloudwatch:DeleteAlarms"],
            tag=[f"cloudwatch:{action}" for action in TAG],
        ),
        taggable=True,
        outputs={"name": "{name}", "arn": ALARMS.format},
    ),
    _monitoring(
        "aws:cloudwatch/dashboard:Dashboard",
        grants(
            DASHBOARD,
            create=["cloudwatch:PutDashboard"],
            read=["cloudwatch:GetDashboard"],
            update=["cloudwatch:PutDashboard"],
            delete=["cloudwatch:DeleteDashboards"],
        ),
        defaults={"dashboardName": "{logical}"},
        id="{dashboardName}",
        outputs={"dashboardName": "{dashboardName}", "dashboardArn": DASHBOARD.named(name="{dashboardName}")},
        state_arn="{dashboardArn}",
    ),
    # --- delivery: infra/delivery.py ---
    # The warm-up: a schedule matches no events, and its execution role (the stack's, under its boundary)
    # may invoke the alias only. Schedules take no tags (their groups do).
    _delivery(
        "aws:scheduler/schedule:Schedule",
        grants(
            WARM_UP_SCHEDULE,
            create=["scheduler:CreateSchedule"],
            read=["scheduler:GetSchedule"],
            update=["scheduler:UpdateSchedule"],
            delete=["scheduler:DeleteSchedule"],
        ),
        # CreateSchedule and UpdateSchedule pass the execution role (Service Authorization Reference, EventBridge
        # Scheduler: dependent action iam:PassRole, iam:PassedToService scheduler.amazonaws.com)
        grants(SCHEDULER_ROLE, PASSED_TO_SCHEDULER, create=["iam:PassRole"], update=["iam:PassRole"]),
        defaults={"groupName": "default"},
        id="{groupName}/{name}",
        outputs={"arn": WARM_UP_SCHEDULE.named(group="{groupName}")},
    ),
    _delivery(
        "aws:codedeploy/application:Application",
        grants(
            APPLICATION,
            # no UpdateApplication: the application's only other input is its name (a change replaces it)
            create=["codedeploy:CreateApplication"],
            read=[
                "codedeploy:GetApplication",
                "codedeploy:ListTagsForResource",
                "codedeploy:GetApplicationRevision",
            ],
            delete=["codedeploy:DeleteApplication"],
            tag=[f"codedeploy:{action}" for action in TAG],
            deploy=["codedeploy:RegisterApplicationRevision"],
        ),
        taggable=True,
        id="{hex:36}",
        outputs={"name": "{name}", "applicationId": "{id}", "arn": APPLICATION.format},
    ),
    _delivery(
        "aws:codedeploy/deploymentGroup:DeploymentGroup",
        grants(
            DEPLOYMENT_GROUP,
            create=["codedeploy:CreateDeploymentGroup"],
            read=[
                "codedeploy:GetDeploymentGroup",
                "codedeploy:ListTagsForResource",
                "codedeploy:GetDeployment",
            ],
            update=["codedeploy:UpdateDeploymentGroup"],
            delete=["codedeploy:DeleteDeploymentGroup"],
            tag=[f"codedeploy:{action}" for action in TAG],
            deploy=["codedeploy:CreateDeployment"],
        ),
        grants(DEPLOYMENT_CONFIGS, deploy=["codedeploy:GetDeploymentConfig"]),
        grants(CODEDEPLOY_ROLE, PASSED_TO_CODEDEPLOY, create=["iam:PassRole"], update=["iam:PassRole"]),
        taggable=True,
        defaults={"deploymentGroupName": "{logical}"},
        id="{hex:36}",
        outputs={
            "deploymentGroupId": "{id}",
            "arn": DEPLOYMENT_GROUP.named(application="{appName}", name="{deploymentGroupName}"),
        },
    ),
    # --- the bootstrap's (bootstrap/components.py), created by an administrator; no pipeline role manages
    # them. The stack's program looks its boundary up (aws_iam_policy: GetPolicy, then GetPolicyVersion of the
    # default version) to create the role without one in an account that has no bootstrap (infra/function.py).
    ResourceType(
        "aws:iam/policy:Policy",
        frozenset({BOOTSTRAP}),
        grants(BOUNDARY, read=["iam:GetPolicy", "iam:GetPolicyVersion"]),
        concern="function",
        # whatever else a deploy role may be given by an administrator later, it never loosens a boundary
        never=(
            "iam:CreatePolicyVersion",
            "iam:DeletePolicy",
            "iam:DeletePolicyVersion",
            "iam:SetDefaultPolicyVersion",
        ),
        readers=frozenset({"deploy", "preview", "drift"}),
        taggable=True,
        defaults={"path": "/"},
        id="{arn}",
        outputs={
            "name": "{name}",
            "arn": BOUNDARY.format,
            "policyId": "ANPA{hex:17X}",
        },
    ),
    _bootstrap(
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        taggable=True,
        id="{arn}",
        outputs={"arn": "arn:{partition}:iam::{account}:oidc-provider/{logical}"},
    ),
    _bootstrap(
        "aws:kms/key:Key",
        taggable=True,
        id="1234abcd-12ab-34cd-56ef-{hex:12}",
        outputs={"keyId": "{id}", "arn": "arn:{partition}:kms:{region}:{account}:key/{id}"},
    ),
    _bootstrap("aws:kms/alias:Alias", outputs={"arn": "arn:{partition}:kms:{region}:{account}:{name}"}),
    _bootstrap(
        "aws:s3/bucket:Bucket",
        taggable=True,
        defaults={"bucket": "{bucketPrefix}{hex:26}"},
        id="{bucket}",
        outputs={"bucket": "{bucket}", "arn": "arn:{partition}:s3:::{bucket}"},
    ),
    _bootstrap("aws:s3/bucketObjectv2:BucketObjectv2", taggable=True, id="{key}"),
    *(
        _bootstrap(f"aws:s3/{token}", id="{bucket}")
        for token in (
            "bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "bucketOwnershipControls:BucketOwnershipControls",
            "bucketPolicy:BucketPolicy",
            "bucketPublicAccessBlock:BucketPublicAccessBlock",
            "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "bucketVersioning:BucketVersioning",
        )
    ),
)

BY_TOKEN: Mapping[str, ResourceType] = MappingProxyType({entry.token: entry for entry in CATALOGUE})
TAGGABLE_TYPES = frozenset(entry.token for entry in CATALOGUE if entry.taggable)
STACK_TYPES = tuple(entry for entry in CATALOGUE if STACK in entry.owners)


def accesses(
    role: str, *, concerns: Iterable[str] | None = None, steps: Iterable[str] | None = None
) -> list[Access]:
    """What pipeline role `role` (deploy, preview, drift) gets of the catalogue, in its order: the steps of
    ROLE_STEPS on the stack's resource types (the preview and drift roles: of those they read), and the reads
    of the bootstrap's types it reads; `concerns`, `steps`: of those parts and steps only."""
    role_steps = set(ROLE_STEPS[role]) & set(STEPS if steps is None else steps)
    wanted = set(CONCERNS if concerns is None else concerns)
    return [
        access
        for entry in CATALOGUE
        if entry.concern in wanted and (role in entry.readers or (role == "deploy" and STACK in entry.owners))
        for access in entry.access
        if access.step in role_steps and (STACK in entry.owners or access.step == "read")
    ]


def execution() -> list[Access]:
    """What AWS services do with the stack's execution roles (the permissions boundary allows exactly that)."""
    return [access for entry in CATALOGUE for access in entry.execution]


def region_only() -> set[str]:
    """Every action of the catalogue that AWS authorizes on "*" only (the pipeline's and the services')."""
    return {
        action
        for entry in CATALOGUE
        for access in (*entry.access, *entry.execution)
        if access.on == REGION
        for action in access.actions
    }


def never() -> list[str]:
    """The actions no pipeline role may get, whatever else it is given."""
    return sorted({action for entry in CATALOGUE for action in entry.never})


def name_limit_problems(project: str, stack: str) -> list[str]:
    """Each AWS name the stack `stack` of project `project` would derive that exceeds its limit, as a sentence
    naming the name, its length and the limit (empty when every name fits): the names of infra/iam_rules.py
    NAME_LIMITS and those the catalogue's entries declare (`ResourceType.names`)."""
    declared = [
        (name.what, lambda p, s, name=name: name.of(f"{p}-{s}"), name.limit, name.source)
        for entry in CATALOGUE
        for name in entry.names
    ]
    problems = []
    for what, derive, limit, source in (*NAME_LIMITS, *declared):
        name = derive(project, stack)
        if len(name) > limit:
            problems.append(f"the {what} {name!r} has {len(name)} characters, over AWS's {limit} ({source})")
    return problems


def longest_stack_name(project: str, problems: Callable[[str, str], list[str]] = name_limit_problems) -> int:
    """The most characters a stack name of project `project` may have with `problems(project, stack)` empty
    (by default every name of name_limit_problems within its AWS limit): 0 when even a one-character stack
    name is too long, at most STACK_NAME_MAX. Every derived name grows with the stack name, so the first
    length that fits, counted down, is the longest."""
    return next((n for n in range(STACK_NAME_MAX, 0, -1) if not problems(project, "s" * n)), 0)
