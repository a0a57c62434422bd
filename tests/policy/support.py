"""Runs the pack's validations the way the engine does, without the engine.

Properties go through the policy SDK's own `unknown_checking_proxy`, as the analyzer wraps them, so a policy
sees read-only `Mapping`/`Sequence` proxies and an unknown value raises `UnknownValueError` when read.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from infra.project import PROJECT
from policy.guardrails import MANDATORY, POLICIES

ACCOUNT = "123456789012"
REGION = "eu-west-1"
UNKNOWN = UNKNOWN_STRING_VALUE  # what the engine sends for a value computed during the update
DIGEST = "sha256:" + "ab" * 32
BY_NAME = {policy.name: policy for policy in POLICIES}
RESOURCE_POLICIES = [p for p in MANDATORY if isinstance(p, ResourceValidationPolicy)]
STACK_POLICIES = [p for p in MANDATORY if isinstance(p, StackValidationPolicy)]


def engine_props(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """`props` after the trip the engine's analyzer request takes: a protobuf Struct (every number becomes a
    float), deserialized and wrapped by the policy SDK exactly as its analyzer server does."""
    struct = struct_pb2.Struct()
    struct.update(copy.deepcopy(dict(props)))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def urn(typ: str, name: str, stack: str = "dev") -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{typ}::{name}"


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def tags(stack: str = "dev", environment_class: str | None = None) -> dict[str, str]:
    """The standard tags; with `environment_class`, the EnvironmentClass tag too (infra/tags.py)."""
    found = {"Project": PROJECT, "Stack": stack, "ManagedBy": "pulumi"}
    return found | ({"EnvironmentClass": environment_class} if environment_class else {})


@dataclass
class Resource:
    typ: str
    props: dict
    name: str = "res"
    stack: str = "dev"
    depends_on: dict[str, list[str]] = field(default_factory=dict)  # property -> names or URNs of resources
    recorded_urn: str | None = None  # the URN a program run registered (else one is made up)

    @property
    def urn(self) -> str:
        return self.recorded_urn or urn(self.typ, self.name, self.stack)


def violations(
    policy_name: str,
    typ: str,
    props: Mapping[str, Any],
    *,
    name: str = "res",
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """The messages a resource policy reports for one resource."""
    return resource_violations(policy_name, Resource(typ, dict(props), name=name, stack=stack), config)


def resource_violations(
    policy_name: str, resource: Resource, config: Mapping[str, Any] | None = None
) -> list[str]:
    """The messages a resource policy reports for a Resource (with its recorded URN, when it has one)."""
    policy = BY_NAME[policy_name]
    assert isinstance(policy, ResourceValidationPolicy)
    found: list[str] = []
    args = ResourceValidationArgs(
        resource.typ, engine_props(resource.props), resource.urn, resource.name, options(), None, config
    )
    assert policy.validate(args, lambda text, _urn=None: found.append(text)) is None
    return found


def policy_resources(resources: list[Resource]) -> list[PolicyResource]:
    built = {
        r.urn: PolicyResource(r.typ, engine_props(r.props), r.urn, r.name, options(), None, None, [], {})
        for r in resources
    }
    by_key = built | {r.name: built[r.urn] for r in resources}
    for resource in resources:
        for prop, keys in resource.depends_on.items():
            depends = [by_key[key] for key in keys if key in by_key]
            built[resource.urn].property_dependencies[prop] = depends
            built[resource.urn].dependencies.extend(depends)
    return list(built.values())


def stack_violations(
    policy_name: str, resources: list[Resource], config: Mapping[str, Any] | None = None
) -> list[tuple[str, str | None]]:
    """(message, urn) of every violation a stack policy reports."""
    policy = BY_NAME[policy_name]
    assert isinstance(policy, StackValidationPolicy)
    found: list[tuple[str, str | None]] = []
    args = StackValidationArgs(policy_resources(resources), config)
    assert policy.validate(args, lambda text, at=None: found.append((text, at))) is None
    return found


def all_mandatory_violations(resources: list[Resource]) -> list[str]:
    """Every mandatory policy over every resource, then every mandatory stack policy over all of them."""
    found = []
    for policy in RESOURCE_POLICIES:
        for resource in resources:
            found += [f"{policy.name}: {text}" for text in resource_violations(policy.name, resource)]
    for policy in STACK_POLICIES:
        found += [f"{policy.name}: {text}" for text, _ in stack_violations(policy.name, resources)]
    return found


def takes_tags(token: str) -> bool:
    """Whether the pulumi-aws SDK's class of `token` (e.g. aws:lambda/function:Function) takes tags."""
    _, module_path, class_name = token.split(":")
    module = module_path.split("/")[0]
    package = importlib.import_module(
        f"pulumi_aws.{module}_" if module == "lambda" else f"pulumi_aws.{module}"
    )
    cls = getattr(package, class_name)
    return f"'{token}'" in inspect.getsource(cls) and isinstance(getattr(cls, "tags", None), property)


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --- resources shaped as the stack registers them (camelCase input names) ---------------------------------


def function(**overrides) -> dict:
    return {
        "name": f"{PROJECT}-dev",
        "packageType": "Image",
        "imageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{PROJECT}-dev@{DIGEST}",
        "architectures": ["arm64"],
        "tracingConfig": {"mode": "Active"},
        "reservedConcurrentExecutions": 10,
        "role": f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}/dev/{PROJECT}-dev",
        "tags": tags(),
    } | overrides


def repository(**overrides) -> dict:
    return {
        "name": f"{PROJECT}-dev",
        "imageScanningConfiguration": {"scanOnPush": True},
        "imageTagMutability": "IMMUTABLE",
        "encryptionConfigurations": [{"encryptionType": "AES256"}],
        "tags": tags(),
    } | overrides


def log_group(name: str = f"/aws/lambda/{PROJECT}-dev", **overrides) -> dict:
    return {"name": name, "retentionInDays": 14, "tags": tags()} | overrides


def stage(**overrides) -> dict:
    return {
        "apiId": "a1b2c3d4e5",
        "name": "$default",
        "autoDeploy": True,
        "accessLogSettings": {
            "destinationArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/apigateway/{PROJECT}",
            "format": json.dumps({"requestId": "$context.requestId", "status": "$context.status"}),
        },
        "defaultRouteSettings": {"throttlingRateLimit": 50, "throttlingBurstLimit": 100},
        "tags": tags(),
    } | overrides


def permission(**overrides) -> dict:
    return {
        "action": "lambda:InvokeFunction",
        "function": f"{PROJECT}-dev",
        "principal": "apigateway.amazonaws.com",
        "sourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3d4e5/*/*",
    } | overrides


def lambda_trust() -> str:
    return document(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )


def role(**overrides) -> dict:
    return {
        "name": f"{PROJECT}-dev",
        "path": f"/{PROJECT}/",
        "assumeRolePolicy": lambda_trust(),
        "tags": tags(),
    } | overrides


def execution_policy() -> str:
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{PROJECT}-dev"
    return document(
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{group}:*"],
        },
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
    )


GITHUB = "token.actions.githubusercontent.com"
GITHUB_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB}"


def github_trust(condition: dict | None = None, **statement) -> str:
    condition = (
        condition
        if condition is not None
        else {
            "StringEquals": {
                f"{GITHUB}:aud": "sts.amazonaws.com",
                f"{GITHUB}:sub": [f"repo:example-org/{PROJECT}:environment:dev"],
            }
        }
    )
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": GITHUB_PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }
        | statement
    )
