"""The stack's config contract: every key of the project's namespace, declared once, as data (`KEYS`).

Each `Key` gives its name, its rule (type plus bounds or choices, each with its source), default, description
and an example. Everything else is derived from the table:

- `load_settings()` parses and validates every key before any resource is registered and returns a frozen
  `Settings` (attribute = the key in snake_case), or raises one `ConfigError` naming every bad key, its value
  (`[secret]` for a secret one) and what is allowed;
- the `config:` block of Pulumi.yaml and docs/config.md are generated from it by `make docs`
  (`python -m infra.config_docs`), and `make check` fails when the committed files differ from a regeneration.

Adding a key: one `Key(...)` entry here, its typed field of `Settings`, its use (for example in `__main__.py`),
`make docs`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, get_type_hints

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from infra.architecture import ARCHITECTURES
from infra.architecture import architecture as architecture_named
from infra.catalogue import name_limit_problems
from infra.deployment_preferences import DEPLOYMENT_PREFERENCES
from infra.function_contract import is_dockerfile_name
from infra.iam_rules import attachable_policy_problem, stack_secret_problem
from infra.project import (
    OTHER_NAMESPACES,
    PROJECT,
    PROJECT_NAME_RULE,
    STACK_NAME,
    STACK_NAME_RULE,
    is_project_name,
    is_stack_name,
    prefix_for,
)

__all__ = [
    "KEYS",
    "KEYS_BY_NAME",
    "NAMESPACE",
    "ConfigError",
    "Key",
    "Problem",
    "Settings",
    "load_settings",
    "STACK_NAME",
    "prefix_for",
]

NAMESPACE = PROJECT  # the project's config namespace is its name (Pulumi: `<project>:<key>`)
ROOT = Path(__file__).resolve().parents[1]
FUNCTION_DIR = "function"
CACHE_FROM_ENV = "BUILD_CACHE_FROM"
IMAGE_URI_ENV = "PINNED_IMAGE_URI"
# keys of the aws: namespace the program itself reads (Context.region); one or two edits from one is a typo
PROVIDER_KEYS_READ = ("region",)

# Smithy `integer`, the type of every "Type: Integer" field of the AWS API references: a 32-bit signed integer
# (Smithy 2.0 specification, "Simple types": integer = -2^31 to 2^31-1).
INT32_MAX = 2**31 - 1

# CloudWatch Logs retentionInDays: "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400,
# 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653." (CloudWatch Logs API reference, PutRetentionPolicy;
# the same list in boto3's logs.put_retention_policy and the AWS SDK for Kotlin's LogGroup.retentionInDays).
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# The keys Lambda reserves: "Defined runtime environment variables ... The keys for these environment
# variables are reserved and cannot be set in your function configuration" (AWS Lambda Developer Guide,
# configuration-envvars.html, "Reserved environment variables"; the same 19 names in boltops-tools/jets
# lib/jets/resource/lambda/function/environment.rb, citing that page). Every other name may be set, including
# AWS_LAMBDA_EXEC_WRAPPER, AWS_XRAY_CONTEXT_MISSING, AWS_MAX_ATTEMPTS or AWS_RETRY_MODE.
RESERVED_ENV_NAMES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TZ",
    }
)
# Lambda API, Environment.Variables: "Key Pattern: [a-zA-Z]([a-zA-Z0-9_])+" (ASCII: no \w, no Unicode).
ENV_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
ENV_MAX_BYTES = 4096  # Lambda: "The total size of all environment variables doesn't exceed 4 KB"
# Variables the program sets itself (infra/function.py); `environment` may not set them.
PROGRAM_ENV_NAMES = frozenset({"POWERTOOLS_LOG_LEVEL"})

# Lambda LoggingConfig (Lambda API reference): ApplicationLogLevel "Valid Values: TRACE | DEBUG | INFO |
# WARN | ERROR | FATAL", SystemLogLevel "Valid Values: DEBUG | INFO | WARN"; "To use log-level filtering,
# your function must be configured to use the JSON log format" (Developer Guide,
# monitoring-cloudwatchlogs-log-level). The same values in pulumi-aws's FunctionLoggingConfigArgs.
APPLICATION_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SYSTEM_LOG_LEVELS = ("DEBUG", "INFO", "WARN")

_DIGITS12 = r"[0-9]{12}"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]"
_PARTITION = r"aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc"
KMS_KEY_ARN = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):kms:(?P<region>{_REGION}):"
    rf"(?P<account>{_DIGITS12}):key/"
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
)
# IAM: policy names are [\w+=,.@-]+ in ASCII (IAM API reference, CreatePolicy PolicyName pattern).
POLICY_ARN = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):iam::(?P<account>aws|{_DIGITS12}):policy/"
    r"(?:[A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,128}"
)
# SSM parameter ARN: arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading slash>
# (Systems Manager User Guide, "Resource types defined by AWS Systems Manager": parameter); Secrets Manager
# secret ARN: arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>
# (Secrets Manager User Guide, "Secret ARNs"). Parameter names: a-zA-Z0-9_.-/ (SSM PutParameter Name).
SECRET_ARN = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):(?:(?P<ssm>ssm):(?P<ssm_region>{_REGION}):(?P<ssm_account>{_DIGITS12}):"
    r"parameter/[A-Za-z0-9_.\-/]{1,1011}"
    rf"|(?P<sm>secretsmanager):(?P<sm_region>{_REGION}):(?P<sm_account>{_DIGITS12}):"
    r"secret:[A-Za-z0-9/_+=.@-]{1,512}-[A-Za-z0-9]{6})"
)
DIGEST_URI = re.compile(
    rf"(?P<account>{_DIGITS12})\.dkr\.ecr\.(?P<region>{_REGION})\.(?P<suffix>[a-z0-9.]+)/"
    r"(?P<repository>[a-z0-9._/-]+)@sha256:[0-9a-f]{64}"
)
# ACM certificate ARN: arn:<partition>:acm:<region>:<account>:certificate/<certificate id> (ACM API reference,
# CertificateArn; "Resource types defined by AWS Certificate Manager": certificate). A Regional custom domain
# "must provide a Region-specific ACM certificate. This certificate must be in the same Region as your API"
# (API Gateway Developer Guide, "Set up a Regional custom domain name in API Gateway", Considerations).
CERTIFICATE_ARN = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):acm:(?P<region>{_REGION}):(?P<account>{_DIGITS12}):"
    r"certificate/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# A DNS name (RFC 1035 labels: letters, digits, hyphens, 1-63 characters, no hyphen at either end; 253 in all),
# written in lower case as API Gateway stores it; at least two labels.
DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DNS_NAME = re.compile(rf"(?:{DNS_LABEL}\.)+{DNS_LABEL}")
# Route 53 hosted zone ID (Route 53 API reference, HostedZone Id / ResourceId: "Maximum length of 32"), as
# GetHostedZone returns it without the /hostedzone/ prefix: upper-case letters and digits.
HOSTED_ZONE_ID = re.compile(r"[A-Z0-9]{1,32}")
# Lambda VpcConfig (Lambda API reference, VpcConfig; the same patterns in Inspector's LambdaVpcConfig): "SubnetIds
# ... Maximum number of 16 items", "SecurityGroupIds ... Maximum number of 5 items", ids `subnet-` / `sg-` and
# 8 or 17 characters.
SUBNET_ID = re.compile(r"subnet-(?:[a-z0-9]{8}|[a-z0-9]{17})")
SECURITY_GROUP_ID = re.compile(r"sg-(?:[a-z0-9]{8}|[a-z0-9]{17})")
MAX_SUBNETS, MAX_SECURITY_GROUPS = 16, 5
# A JWT authorizer's issuer: "The base domain of the identity provider that issues JSON Web Tokens. For
# example, an Amazon Cognito user pool has the following format: https://cognito-idp.{region}.amazonaws.com/
# {userPoolId}" (API Gateway v2 API reference, JWTConfiguration.Issuer; the same text in CloudFormation's
# AWS::ApiGatewayV2::Authorizer JWTConfiguration): https://host[/path], no query, fragment or credentials.
ISSUER = re.compile(
    rf"https://(?:{DNS_LABEL}\.)+{DNS_LABEL}(?::[0-9]{{1,5}})?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?",
    flags=re.IGNORECASE,
)


# --- rules: a type plus its bounds or choices; parse() turns the CLI's string into the value ----------------


class Invalid(Exception):
    """A value breaks its rule; `allowed` says what the rule accepts."""

    def __init__(self, allowed: str):
        super().__init__(allowed)
        self.allowed = allowed


@dataclass(frozen=True)
class Context:
    """What a rule may need besides the value: the stack, and the caller's account, region and partition
    (read with the provider's invokes only when a rule asks for them)."""

    stack: str
    configured_region: str | None  # aws:region

    @cached_property
    def region(self) -> str:
        """The stack's region: aws:region, else the provider's (AWS_REGION, the profile)."""
        return self.configured_region or aws.get_region().region

    @cached_property
    def caller(self) -> tuple[str, str, str]:
        """(partition, account, DNS suffix) of the credentials the program runs with."""
        partition = aws.get_partition()
        return partition.partition, aws.get_caller_identity().account_id, partition.dns_suffix


class Rule:
    """A type (`pulumi_type` in Pulumi.yaml's terms; None for an object, which Pulumi.yaml cannot type), what
    values of it are `allowed` (text), `source` (where the bound comes from) and `parse(raw, context)`."""

    source: str = ""

    @property
    def pulumi_type(self) -> str | None:
        return "string"

    @property
    def allowed(self) -> str:
        raise NotImplementedError

    def parse(self, raw: str, context: Context) -> Any:
        raise NotImplementedError

    def value_type(self) -> Any:
        """The type of what `parse` returns: the type of the key's `Settings` field (tests/infra/test_config.py
        checks the two against each other)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Integer(Rule):
    low: int
    high: int
    source: str = ""
    off: int | None = None  # a value outside [low, high] that switches the setting off
    off_means: str = ""
    pulumi_type = "integer"

    @property
    def allowed(self) -> str:
        text = f"an integer from {self.low} to {self.high}"
        return f"{text}, or {self.off} ({self.off_means})" if self.off is not None else text

    def parse(self, raw: str, context: Context) -> int:
        # canonical decimal only, as YAML and JSON write integers: no spaces, sign "+", leading zeros or "-0"
        if not re.fullmatch(r"-?[1-9][0-9]{0,19}|0", raw, flags=re.ASCII):
            raise Invalid(f"must be {self.allowed}, written in canonical decimal")
        value = int(raw)
        if value != self.off and not self.low <= value <= self.high:
            raise Invalid(f"must be {self.allowed}")
        return value

    def value_type(self) -> Any:
        return int


@dataclass(frozen=True)
class OneOf(Rule):
    choices: tuple[Any, ...]
    source: str = ""

    @property
    def pulumi_type(self) -> str:
        return "integer" if all(isinstance(c, int) for c in self.choices) else "string"

    @property
    def allowed(self) -> str:
        return "one of " + ", ".join(str(choice) for choice in self.choices)

    def parse(self, raw: str, context: Context) -> Any:
        for choice in self.choices:
            if raw == str(choice):  # exactly: " 30 " or "030" is not 30
                return choice
        raise Invalid(f"must be {self.allowed}")

    def value_type(self) -> Any:
        (kind,) = {type(choice) for choice in self.choices}
        return kind


@dataclass(frozen=True)
class Boolean(Rule):
    source: str = ""
    pulumi_type = "boolean"
    allowed = "true or false"

    def parse(self, raw: str, context: Context) -> bool:
        if raw.strip() not in ("true", "false"):
            raise Invalid(f"must be {self.allowed}")
        return raw.strip() == "true"

    def value_type(self) -> Any:
        return bool


@dataclass(frozen=True)
class Text(Rule):
    """A string checked by `check` (returns the value to use, or raises Invalid); `allowed_text` says what
    it accepts."""

    check: Callable[[str, Context], Any]
    allowed_text: str
    source: str = ""
    pulumi_type: str | None = "string"

    @property
    def allowed(self) -> str:
        return self.allowed_text

    def parse(self, raw: str, context: Context) -> Any:
        return self.check(raw, context)

    def value_type(self) -> Any:
        return get_type_hints(self.check)["return"]


def _json(raw: str, kind: type, what: str) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise Invalid(f"must be {what} (JSON)") from None
    if not isinstance(value, kind):
        raise Invalid(f"must be {what}")
    return value


@dataclass(frozen=True)
class StringList(Rule):
    """A JSON array of unique strings, each accepted by `item` (returns a problem, or None)."""

    item: Callable[[str, Context], str | None]
    item_text: str
    source: str = ""
    pulumi_type = "array"

    @property
    def allowed(self) -> str:
        return f"an array of unique entries, each {self.item_text}"

    def parse(self, raw: str, context: Context) -> tuple[str, ...]:
        items = _json(raw, list, "an array of strings")
        reasons = []
        for entry in items:
            reason = self.item(entry, context) if isinstance(entry, str) else "not a string"
            if reason:
                reasons.append(f"{entry!r}: {reason}")
        if reasons:
            raise Invalid(f"every entry must be {self.item_text} ({'; '.join(reasons)})")
        duplicates = sorted({entry for entry in items if items.count(entry) > 1})
        if duplicates:
            raise Invalid(f"entries must be unique (repeated: {', '.join(duplicates)})")
        return tuple(items)

    def value_type(self) -> Any:
        return tuple[str, ...]


@dataclass(frozen=True)
class NameMap(Rule):
    """A JSON object whose keys are Lambda environment variable names and values are checked by `value`."""

    value: Callable[[Any, Context], str | None]
    value_text: str
    source: str = ""
    pulumi_type = None

    @property
    def allowed(self) -> str:
        return (
            f"an object of names matching {ENV_NAME.pattern} (none reserved by Lambda or set by the "
            f"program) to {self.value_text}"
        )

    def parse(self, raw: str, context: Context) -> Mapping[str, Any]:
        variables = _json(raw, dict, "an object")
        problems = []
        for name, value in variables.items():
            if not ENV_NAME.fullmatch(name):
                problems.append(f"{name!r} does not match {ENV_NAME.pattern}")
            elif name in RESERVED_ENV_NAMES:
                problems.append(f"{name!r} is reserved by Lambda")
            elif name in PROGRAM_ENV_NAMES:
                problems.append(f"{name!r} is set by the program (see logLevel)")
            reason = self.value(value, context)
            if reason:
                problems.append(f"the value of {name!r} {reason}")
        if problems:
            raise Invalid("; ".join(problems))
        return MappingProxyType(dict(variables))


# --- the checks of single values ----------------------------------------------------------------------------

ORIGIN = re.compile(
    r"(?P<scheme>https?)://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?::(?P<port>[0-9]{1,5}))?"
)


def _origin(origin: str, context: Context) -> str | None:
    """`*`, or scheme://host[:port] (RFC 6454 serialised origin) with a port from 1 to 65535."""
    match = ORIGIN.fullmatch(origin)
    if origin == "*":
        return None
    if not match:
        return "not `*` or http(s)://host[:port] (no path, no trailing slash)"
    if match["port"] is not None and not 1 <= int(match["port"]) <= 65535:
        return "the port must be from 1 to 65535"
    return None


def _policy_arn(arn: str, context: Context) -> str | None:
    match = POLICY_ARN.fullmatch(arn)
    if not match:
        return "not an IAM policy ARN (arn:<partition>:iam::<account>|aws:policy/<name>)"
    problem = attachable_policy_problem(arn)  # the bootstrap's allow-list and the pack's admin-like rule
    if problem:
        return problem
    partition, account, _ = context.caller
    if match["partition"] != partition:
        return f"the partition must be the caller's ({partition})"
    if match["account"] not in ("aws", account):
        return f"account {match['account']} is neither aws (AWS managed) nor the caller's ({account})"
    return None


def _env_value(value: Any, context: Context) -> str | None:
    return None if isinstance(value, str) else "is not a string"


def _environment(raw: str, context: Context) -> Mapping[str, str]:
    variables = NameMap(_env_value, "strings").parse(raw, context)
    size = len(json.dumps(dict(variables), separators=(",", ":"), ensure_ascii=False).encode())
    if size > ENV_MAX_BYTES:
        raise Invalid(f"names and values total {size} bytes; Lambda allows {ENV_MAX_BYTES} (4 KB)")
    return variables


@dataclass(frozen=True)
class SecretReference:
    """A parameter or secret the function reads at run time: its ARN, and the KMS key that encrypts it."""

    arn: str
    kms_key_arn: str | None = None

    @property
    def service(self) -> str:
        return self.arn.split(":")[2]  # "ssm" or "secretsmanager"

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


def _kms_key_problem(arn: str, context: Context, region: str | None) -> str | None:
    match = KMS_KEY_ARN.fullmatch(arn)
    if not match:
        return "not a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key id>)"
    partition, account, _ = context.caller
    expected = {"partition": partition, "region": region, "account": account}
    wrong = [
        f"{part} {match[part]} is not the caller's {want}"
        for part, want in expected.items()
        if want and match[part] != want
    ]
    return "; ".join(wrong) or None


def _secret_reference(value: Any, context: Context) -> str | None:
    arn, key = (
        (value, None)
        if isinstance(value, str)
        else ((value.get("arn"), value.get("kmsKeyArn")) if isinstance(value, dict) else (None, None))
    )
    if not isinstance(arn, str) or (isinstance(value, dict) and set(value) - {"arn", "kmsKeyArn"}):
        return 'must be an ARN, or {"arn": <ARN>, "kmsKeyArn": <KMS key ARN>}'
    match = SECRET_ARN.fullmatch(arn)
    if not match:
        return (
            "is not an SSM parameter ARN (arn:<partition>:ssm:<region>:<account>:parameter/<name>) or a "
            "Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:"
            "<name>-<6 characters>)"
        )
    partition, account, _ = context.caller
    wrong = [
        f"{part} {found} is not the {whose} {want}"
        for part, found, whose, want in (
            ("partition", match["partition"], "caller's", partition),
            ("account", match["ssm_account"] or match["sm_account"], "caller's", account),
            ("region", match["ssm_region"] or match["sm_region"], "stack's", context.region),
        )
        if found != want
    ]
    if wrong:
        return "must be of the caller's partition and account and the stack's region: " + "; ".join(wrong)
    problem = stack_secret_problem(arn, context.stack)  # what the stack's boundary admits (iam_rules.py)
    if problem:
        return problem
    if key is not None:
        problem = (
            _kms_key_problem(key, context, match["ssm_region"] or match["sm_region"])
            if isinstance(key, str)
            else "kmsKeyArn is not a string"
        )
        if problem:
            return f"has a bad kmsKeyArn: {problem}"
    return None


def _secret_environment(raw: str, context: Context) -> Mapping[str, SecretReference]:
    references = NameMap(_secret_reference, "an SSM parameter or Secrets Manager secret ARN").parse(
        raw, context
    )
    return MappingProxyType(
        {
            name: SecretReference(value)
            if isinstance(value, str)
            else SecretReference(value["arn"], value.get("kmsKeyArn"))
            for name, value in references.items()
        }
    )


def _kms_key(raw: str, context: Context) -> str | None:
    if raw == "":
        return None
    problem = _kms_key_problem(raw, context, context.region)
    if problem:
        raise Invalid(f"must be empty or the ARN of a KMS key of this account and region ({problem})")
    return raw


def _dockerfile(raw: str, context: Context) -> str:
    allowed = (
        "must be the path of an existing Dockerfile directly in function/ (a file named Dockerfile or "
        "Dockerfile.<suffix>, or <name>.Dockerfile, e.g. function/Dockerfile.alt: the Dockerfiles the test "
        "workflow builds and container-tests, infra/function_contract.py dockerfiles)"
    )
    path = Path(raw)
    if path.is_absolute() or ".." in path.parts or not raw.strip():
        raise Invalid(allowed)
    if path.name.endswith(".dockerignore"):  # a Dockerfile's own ignore file (infra/build_context.py)
        raise Invalid(f"{allowed}; {path.name} is the ignore file of a Dockerfile, not a Dockerfile")
    function_dir = (ROOT / FUNCTION_DIR).resolve()
    resolved = (ROOT / path).resolve()
    if resolved.parent != function_dir or not resolved.is_file() or not is_dockerfile_name(resolved.name):
        raise Invalid(allowed)
    return resolved.relative_to(ROOT).as_posix()


def image_by_digest(raw: str, context: Context) -> str | None:
    """An image of this stack's repository, in this account, region and partition's registry, by digest."""
    if raw == "":
        return None
    repository = prefix_for(context.stack)
    partition, account, suffix = context.caller
    registry = f"{account}.dkr.ecr.{context.region}.{suffix}"
    match = DIGEST_URI.fullmatch(raw)
    if (
        not match
        or f"{match['account']}.dkr.ecr.{match['region']}.{match['suffix']}" != registry
        or match["repository"] != repository
    ):
        raise Invalid(
            f"must be empty or an image of this stack's repository by digest: "
            f"{registry}/{repository}@sha256:<64 hex>"
        )
    return raw


# A pragmatic address check (one @, a dotted domain); SNS's confirmation mail proves the address.
EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# EventBridge schedule expressions (EventBridge User Guide, "Creating an Amazon EventBridge rule that runs on
# a schedule"): rate(value unit), unit minute|hour|day for 1 and minutes|hours|days above; cron(6 fields).
RATE = re.compile(r"rate\((?:1 (?:minute|hour|day)|(?:[2-9]|[1-9][0-9]+) (?:minutes|hours|days))\)")
CRON = re.compile(r"cron\(\S+(?: \S+){5}\)")


def _email(raw: str, context: Context) -> str | None:
    if raw and not EMAIL.fullmatch(raw):
        raise Invalid("must be empty or an e-mail address (name@example.org)")
    return raw or None


def _schedule(raw: str, context: Context) -> str | None:
    if raw == "off":
        return None
    if not (RATE.fullmatch(raw) or CRON.fullmatch(raw)):
        raise Invalid("must be off, rate(<n> minutes|hours|days) (minute|hour|day for 1) or cron(<6 fields>)")
    return raw


def _custom_domain(raw: str, context: Context) -> str | None:
    if raw == "":
        return None
    if len(raw) > 253 or not DNS_NAME.fullmatch(raw):
        raise Invalid(
            "must be empty or a DNS name in lower case (labels of letters, digits and hyphens, at least two "
            "labels, 253 characters in all), e.g. api.example.com"
        )
    return raw


def _certificate(raw: str, context: Context) -> str | None:
    if raw == "":
        return None
    match = CERTIFICATE_ARN.fullmatch(raw)
    if not match:
        raise Invalid(
            "must be empty or an ACM certificate ARN (arn:<partition>:acm:<region>:<account>:certificate/<id>)"
        )
    partition, account, _ = context.caller
    wrong = [
        f"{part} {match[part]} is not the {whose} {want}"
        for part, whose, want in (
            ("partition", "caller's", partition),
            ("account", "caller's", account),
            ("region", "stack's", context.region),
        )
        if match[part] != want
    ]
    if wrong:
        raise Invalid(
            "must be an ACM certificate of the caller's partition and account in the stack's region (a Regional "
            "custom domain takes a certificate of its own region): " + "; ".join(wrong)
        )
    return raw


def _hosted_zone(raw: str, context: Context) -> str | None:
    if raw == "":
        return None
    if not HOSTED_ZONE_ID.fullmatch(raw):
        raise Invalid(
            "must be empty or a Route 53 hosted zone ID (up to 32 upper-case letters and digits, no /hostedzone/ prefix)"
        )
    return raw


def _issuer(raw: str, context: Context) -> str | None:
    if raw == "":
        return None
    if not ISSUER.fullmatch(raw):
        raise Invalid(
            "must be empty or the issuer's https URL (https://host[/path], no query, fragment or credentials), "
            "e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
        )
    return raw


def _audience(audience: str, context: Context) -> str | None:
    return (
        None
        if audience.strip() and audience == audience.strip()
        else "must be non-empty, without surrounding spaces"
    )


def _id_list(pattern: re.Pattern[str], what: str, limit: int) -> Callable[[str, Context], tuple[str, ...]]:
    def check(raw: str, context: Context) -> tuple[str, ...]:
        ids = StringList(
            lambda item, _context: None if pattern.fullmatch(item) else f"not a {what} ID", what
        ).parse(raw, context)
        if len(ids) > limit:
            raise Invalid(f"at most {limit} {what} IDs (Lambda VpcConfig), got {len(ids)}")
        return ids

    return check


_subnets = _id_list(SUBNET_ID, "subnet", MAX_SUBNETS)
_security_groups = _id_list(SECURITY_GROUP_ID, "security group", MAX_SECURITY_GROUPS)


# --- the contract -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One config key of the project namespace."""

    name: str
    rule: Rule
    default: Any
    description: str
    example: Any
    secret: bool = False  # may be set with `pulumi config set --secret` (the value then stays secret)

    @property
    def field(self) -> str:
        """The Settings attribute: the name in snake_case."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()


LAMBDA_CONFIG = "Lambda API reference, CreateFunction"
MAX_INIT_BUDGET_MS = 900_000  # the longest Timeout (900 s): no cold start a version survives lasts longer
KEYS: tuple[Key, ...] = (
    Key(
        "environmentClass",
        OneOf(("production", "non-production")),
        "non-production",
        "Whether the stack is production: the policy pack applies its production rules to resources tagged "
        "`EnvironmentClass=production`, and every resource carries this tag.",
        "production",
    ),
    Key(
        "architecture",
        OneOf(tuple(ARCHITECTURES), source=f"{LAMBDA_CONFIG}, Architectures"),
        "arm64",
        "Instruction set of the function; the image is built for the matching platform.",
        "x86_64",
    ),
    Key(
        "memorySize",
        Integer(128, 10240, source=f"{LAMBDA_CONFIG}, MemorySize"),
        1024,
        "Memory of the function in MB.",
        2048,
    ),
    Key(
        "timeout",
        Integer(1, 900, source=f"{LAMBDA_CONFIG}, Timeout"),
        29,
        "Function timeout in seconds (the HTTP API waits at most 30 s for an answer).",
        10,
    ),
    Key(
        "ephemeralStorage",
        Integer(512, 10240, source=f"{LAMBDA_CONFIG}, EphemeralStorage.Size"),
        512,
        "Size of /tmp in MB.",
        1024,
    ),
    Key(
        "reservedConcurrency",
        Integer(
            0,
            INT32_MAX,
            off=-1,
            off_means="no reservation",
            source="Lambda API reference, PutFunctionConcurrency: Integer, minimum 0",
        ),
        -1,
        "Concurrent executions reserved for the function (at most the account's unreserved concurrency).",
        20,
    ),
    Key(
        "provisionedConcurrency",
        Integer(
            1,
            INT32_MAX,
            off=0,
            off_means="no provisioned concurrency; every deploy still publishes a version behind `live`",
            source="Lambda API reference, PutProvisionedConcurrencyConfig: Integer, minimum 1",
        ),
        0,
        "Provisioned concurrency of the alias `live`; at most reservedConcurrency when that is set.",
        2,
    ),
    Key(
        "logRetentionDays",
        OneOf(RETENTION_DAYS, source="CloudWatch Logs API reference, PutRetentionPolicy"),
        14,
        "Retention of the function's and the API's log groups, in days.",
        365,
    ),
    Key(
        "logLevel",
        OneOf(APPLICATION_LOG_LEVELS, source="Lambda API reference, LoggingConfig"),
        "INFO",
        "Application log level: Lambda's LoggingConfig.ApplicationLogLevel (JSON log format) and "
        "POWERTOOLS_LOG_LEVEL.",
        "DEBUG",
    ),
    Key(
        "systemLogLevel",
        OneOf(SYSTEM_LOG_LEVELS, source="Lambda API reference, LoggingConfig"),
        "INFO",
        "Level of the logs Lambda itself writes: LoggingConfig.SystemLogLevel.",
        "WARN",
    ),
    Key(
        "tracing",
        Boolean(),
        True,
        "X-Ray active tracing. `false` is blocked by the policy pack's mandatory `lambda-active-tracing` "
        "(every preview and update fails) unless that policy is made advisory in policy/ (docs/guardrails.md).",
        True,
    ),
    Key(
        "environment",
        Text(
            _environment,
            NameMap(_env_value, "strings").allowed + ", 4 KB in total",
            source="Lambda Developer Guide, configuration-envvars",
            pulumi_type=None,
        ),
        {},
        "Environment variables of the function. Set it (or one path of it) with `--secret` to keep values "
        "secret in the state and in previews.",
        {"POWERTOOLS_SERVICE_NAME": "orders"},
        secret=True,
    ),
    Key(
        "secretEnvironment",
        Text(
            _secret_environment,
            NameMap(
                _secret_reference,
                "an SSM parameter or Secrets Manager secret ARN of the caller's "
                "account and partition and the stack's region, or "
                '{"arn": ..., "kmsKeyArn": ...}',
            ).allowed,
            pulumi_type=None,
        ),
        {},
        "Environment variables holding the ARN (not the value) of an SSM parameter or a Secrets Manager "
        "secret; the function's role may read exactly these (and decrypt with kmsKeyArn when given).",
        {
            "DB_PASSWORD_ARN": f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{PROJECT}/dev/db-password-AbCdEf"
        },
    ),
    Key(
        "corsAllowOrigins",
        StringList(_origin, "`*` or http(s)://host[:port] (port 1–65535)"),
        [],
        "Origins allowed by CORS; empty = no CORS configuration.",
        ["https://app.example.com"],
    ),
    Key(
        "throttleRateLimit",
        Integer(1, INT32_MAX, source="API Gateway v2 API reference, RouteSettings.ThrottlingRateLimit"),
        50,
        "Steady-state requests per second of the `$default` stage (at most the account's quota, "
        "10,000 by default).",
        100,
    ),
    Key(
        "throttleBurstLimit",
        Integer(
            1, INT32_MAX, source="API Gateway v2 API reference, RouteSettings.ThrottlingBurstLimit: Integer"
        ),
        100,
        "Burst limit of the `$default` stage (at most the account's quota, 5,000 by default).",
        200,
    ),
    Key(
        "keepImages",
        Integer(1, 1000, source="ECR lifecycle policy countNumber: ≥ 1; 1000: this project's cap"),
        10,
        "Published versions each deploy keeps, each with its image (the alias `live`'s versions always "
        "stay), and tagged builds no kept version runs that the repository keeps, newest first "
        "(docs/operations.md).",
        30,
    ),
    Key(
        "forceDelete",
        Boolean(),
        False,
        "Let `pulumi destroy` delete the repository while it still holds images.",
        True,
    ),
    Key(
        "kmsKeyArn",
        Text(
            _kms_key,
            "empty, or the ARN of a KMS key in the caller's partition, account and the stack's region",
        ),
        "",
        "KMS key that encrypts the repository; empty = AES256. The pipeline's deploy role may use it only when "
        "the bootstrap's repositoryKmsKeyArns names it for this stack (docs/bootstrap.md).",
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    Key(
        "extraPolicyArns",
        StringList(
            _policy_arn,
            "a customer-managed IAM policy ARN of the caller's account and "
            "partition, under the path /<project>/, no administrator-like name "
            "(infra/iam_rules.py)",
        ),
        [],
        "Managed policies attached to the function's role, besides its inline policy.",
        [f"arn:aws:iam::123456789012:policy/{PROJECT}/orders-table-read"],
    ),
    Key(
        "dockerfile",
        Text(
            _dockerfile, "a Dockerfile directly in function/ (named Dockerfile, Dockerfile.* or *.Dockerfile)"
        ),
        "function/Dockerfile",
        "Dockerfile of the image (the build context is function/).",
        "function/Dockerfile.alt",
    ),
    Key(
        "deploymentPreference",
        OneOf(
            tuple(DEPLOYMENT_PREFERENCES),
            source="AWS SAM DeploymentPreference Type; CodeDeploy User Guide, predefined Lambda deployment "
            "configurations",
        ),
        "AllAtOnce",
        "How each deploy moves the alias `live` to the new version after its smoke requests: "
        "AllAtOnce, or through CodeDeploy (canary or linear) rolling back on any alarm.",
        "Canary10Percent5Minutes",
    ),
    Key(
        "alarmEmail",
        Text(_email, "empty, or an e-mail address"),
        "",
        "Address subscribed to the stack's alarm topic (SNS asks it to confirm).",
        "ops@example.org",
    ),
    Key(
        "alarmErrorThreshold",
        Integer(1, INT32_MAX),
        1,
        "Function `Errors` per minute that raise the errors alarm.",
        5,
    ),
    Key(
        "alarmThrottleThreshold",
        Integer(1, INT32_MAX),
        1,
        "Function `Throttles` per minute that raise the throttles alarm.",
        10,
    ),
    Key(
        "alarm5xxThreshold",
        Integer(1, INT32_MAX),
        1,
        "HTTP API `5xx` responses per minute that raise the 5xx alarm.",
        5,
    ),
    Key(
        "alarmDurationPercent",
        Integer(1, 100),
        80,
        "Duration p99, in percent of the timeout, above which the duration alarm fires.",
        50,
    ),
    Key(
        "alarmConcurrencyPercent",
        Integer(1, 100),
        80,
        "ConcurrentExecutions, in percent of reservedConcurrency, that raise the concurrency alarm (only "
        "with a reservation).",
        90,
    ),
    Key(
        "warmUpSchedule",
        Text(
            _schedule,
            "`off`, or an EventBridge Scheduler schedule expression rate(...) or cron(...)",
            source="EventBridge Scheduler User Guide, schedule types",
        ),
        "rate(7 days)",
        "When an EventBridge Scheduler schedule invokes the alias with the health request, so that an idle "
        "function stays Active.",
        "rate(1 day)",
    ),
    Key(
        "customDomain",
        Text(
            _custom_domain,
            "empty, or a DNS name (lower case, at least two labels)",
            source="API Gateway Developer Guide, Regional custom domain names",
        ),
        "",
        "DNS name the HTTP API answers on besides its execute-api URL: a Regional custom domain (TLS 1.2) mapped "
        "to the `$default` stage; the outputs `domainTarget` and `domainHostedZoneId` say what DNS record to "
        "create. Needs certificateArn. The pipeline's deploy role may manage it only when the bootstrap's "
        "customDomains names it for this stack (docs/bootstrap.md).",
        "api.example.com",
    ),
    Key(
        "certificateArn",
        Text(
            _certificate,
            "empty, or the ARN of an ACM certificate of the caller's partition and account in the stack's region",
            source="API Gateway Developer Guide: a Regional custom domain's certificate is in the API's Region",
        ),
        "",
        "ACM certificate of customDomain (required with it), in the stack's region.",
        "arn:aws:acm:eu-west-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    Key(
        "hostedZoneId",
        Text(
            _hosted_zone,
            "empty, or a Route 53 hosted zone ID",
            source="Route 53 API reference, HostedZone Id",
        ),
        "",
        "Route 53 hosted zone in which the program creates customDomain's alias record (A) to the API's Regional "
        "domain; empty = create the DNS record yourself from the outputs. The pipeline's deploy role may write "
        "the record only in the zone the bootstrap's customDomains names for this stack.",
        "Z0123456789ABCDEFGHIJ",
    ),
    Key(
        "jwtIssuer",
        Text(
            _issuer,
            "empty, or an https URL (the JWT issuer)",
            source="API Gateway v2 API reference, JWTConfiguration.Issuer",
        ),
        "",
        "Issuer of the JSON Web Tokens a JWT authorizer requires on every route (Authorization header); the "
        'events of the function contract marked `"auth": false` stay public. Needs jwtAudiences.',
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    ),
    Key(
        "jwtAudiences",
        StringList(_audience, "a non-empty string (an `aud` the tokens may carry)"),
        [],
        "Audiences the JWT authorizer accepts (a token's `aud`, or a Cognito access token's `client_id`); "
        "required with jwtIssuer.",
        ["1example23456789"],
    ),
    Key(
        "vpcSubnetIds",
        Text(
            _subnets,
            f"an array of unique subnet IDs (subnet-<8 or 17 characters>), at most {MAX_SUBNETS}",
            source="Lambda API reference, VpcConfig.SubnetIds",
            pulumi_type="array",
        ),
        [],
        "Subnets the function reaches a VPC through (Lambda creates its network interfaces there); with "
        "vpcSecurityGroupIds. At least two, in different Availability Zones, are recommended. The function "
        "then reaches AWS APIs and the internet only through a NAT gateway or VPC endpoints "
        "(docs/operations.md).",
        ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    ),
    Key(
        "vpcSecurityGroupIds",
        Text(
            _security_groups,
            f"an array of unique security group IDs (sg-<8 or 17 characters>), at most {MAX_SECURITY_GROUPS}",
            source="Lambda API reference, VpcConfig.SecurityGroupIds",
            pulumi_type="array",
        ),
        [],
        "Security groups of the function's network interfaces; with vpcSubnetIds.",
        ["sg-0123456789abcdef0"],
    ),
    Key(
        "snapStart",
        Boolean(source="Lambda Developer Guide, Improving startup performance with Lambda SnapStart"),
        False,
        "SnapStart on published versions: Lambda initialises each new version once and resumes new execution "
        "environments from its snapshot. Refused with provisioned concurrency, ephemeral storage over 512 MB, "
        "or an image that does not support it (docs/operations.md).",
        True,
    ),
    Key(
        "maxInitDurationMs",
        Integer(
            1,
            MAX_INIT_BUDGET_MS,
            off=0,
            off_means="no cold-start budget",
            source="Lambda Developer Guide, REPORT line Init Duration; this project's bound: the 900 s timeout",
        ),
        0,
        "Cold-start budget: the pre-traffic check reads the new version's Init Duration (Restore Duration with "
        "SnapStart) from its first invocation and refuses a version over this many milliseconds before any "
        "traffic moves.",
        3000,
    ),
)
KEYS_BY_NAME = {key.name: key for key in KEYS}


# Checks across keys: (keys involved, check over the parsed values returning a problem or None).
def _provisioned_within_reserved(values: Mapping[str, Any]) -> str | None:
    reserved, provisioned = values.get("reservedConcurrency"), values.get("provisionedConcurrency")
    if reserved is not None and reserved != -1 and provisioned is not None and provisioned > reserved:
        return f"must not exceed {NAMESPACE}:reservedConcurrency ({reserved})"
    return None


def _names_distinct(values: Mapping[str, Any]) -> str | None:
    both = sorted(set(values.get("environment") or {}) & set(values.get("secretEnvironment") or {}))
    return f"names also set in {NAMESPACE}:environment: {', '.join(both)}" if both else None


def _both_or_neither(key: str, other: str, what: str) -> Callable[[Mapping[str, Any]], str | None]:
    """A check on `key`: it and `other` are set together (`what` says why)."""

    def check(values: Mapping[str, Any]) -> str | None:
        if key not in values or other not in values:
            return None  # one of them is already reported
        mine, theirs = bool(values[key]), bool(values[other])
        if mine and not theirs:
            return f"needs {NAMESPACE}:{other} too ({what})"
        if theirs and not mine:
            return f"is required when {NAMESPACE}:{other} is set ({what})"
        return None

    return check


def _zone_needs_domain(values: Mapping[str, Any]) -> str | None:
    if values.get("hostedZoneId") and "customDomain" in values and not values["customDomain"]:
        return f"needs {NAMESPACE}:customDomain (the record it creates is the custom domain's)"
    return None


# SnapStart: "SnapStart does not support provisioned concurrency, Amazon Elastic File System (Amazon EFS), or
# ephemeral storage greater than 512 MB" (Lambda Developer Guide, "Improving startup performance with Lambda
# SnapStart", Supported features and limitations). Both architectures are supported (earlier versions of that
# page listed arm64 as unsupported; the current one no longer does). The platform mounts no EFS file system.
# Container images: "If you use a managed runtime where SnapStart is supported or the corresponding base images
# for those runtimes (Java version 11+, Python version 3.12+, and .NET version 8+) Lambda coordinates the
# lifecycle for you"; any other image implements the /restore/next API or sets
# `LABEL com.amazonaws.lambda.feature.snapstart="Allow"`, else "version publication fails" (Lambda Developer
# Guide, "Implementing SnapStart hooks for container images"; earlier versions of the SnapStart page said
# container images were not supported).
SNAPSTART_MAX_EPHEMERAL_MB = 512
SNAPSTART_BASE_IMAGES = {"python": (3, 12), "java": (11,), "dotnet": (8,)}
SNAPSTART_LABEL = "com.amazonaws.lambda.feature.snapstart"
SNAPSTART_SOURCE = 'Lambda Developer Guide, "Improving startup performance with Lambda SnapStart"'
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)", re.IGNORECASE | re.MULTILINE)
_AWS_BASE = re.compile(r"public\.ecr\.aws/lambda/(?P<runtime>[a-z]+):(?P<version>[0-9]+(?:\.[0-9]+)?)")
_LABEL = re.compile(
    rf"^\s*LABEL\s.*\b{re.escape(SNAPSTART_LABEL)}\s*=\s*\"?Allow\"?", re.IGNORECASE | re.MULTILINE
)


def snapstart_image_problem(dockerfile: str) -> str | None:
    """Why the image `dockerfile` builds cannot publish a SnapStart version, or None: its last stage is an AWS
    base image of Java 11+, Python 3.12+ or .NET 8+, or sets the SnapStart label."""
    text = (ROOT / dockerfile).read_text(encoding="utf-8")
    stages = list(_FROM.finditer(text))
    last = stages[-1] if stages else None
    if last is not None and _LABEL.search(text, last.start()):
        return None
    base = _AWS_BASE.match(last["image"]) if last is not None else None
    if base is not None and base["runtime"] in SNAPSTART_BASE_IMAGES:
        version = tuple(int(part) for part in base["version"].split("."))
        if version >= SNAPSTART_BASE_IMAGES[base["runtime"]]:
            return None
    image = last["image"] if last is not None else "no FROM"
    return (
        f"the image of {dockerfile} ({image}) is not an AWS base image of Java 11+, Python 3.12+ or .NET 8+ "
        f'and does not set LABEL {SNAPSTART_LABEL}="Allow" in its last stage: Lambda would refuse to publish '
        f'the version (Lambda Developer Guide, "Implementing SnapStart hooks for container images")'
    )


def _snap_start(values: Mapping[str, Any]) -> str | None:
    if not values.get("snapStart"):
        return None
    problems = []
    if values.get("provisionedConcurrency"):
        problems.append(
            f"SnapStart does not support provisioned concurrency ({NAMESPACE}:provisionedConcurrency; "
            f"{SNAPSTART_SOURCE})"
        )
    if values.get("ephemeralStorage", 0) > SNAPSTART_MAX_EPHEMERAL_MB:
        problems.append(
            f"SnapStart does not support ephemeral storage over {SNAPSTART_MAX_EPHEMERAL_MB} MB "
            f"({NAMESPACE}:ephemeralStorage is {values['ephemeralStorage']}; {SNAPSTART_SOURCE})"
        )
    if values.get("dockerfile"):
        image = snapstart_image_problem(values["dockerfile"])
        if image:
            problems.append(image)
    return "; ".join(problems) or None


# "By default, Lambda sets the system log level to INFO. With this setting, Lambda automatically sends "start"
# and "report" log messages" (Lambda Developer Guide, "Log-level filtering"): at WARN the REPORT is not logged.
def _budget_needs_report(values: Mapping[str, Any]) -> str | None:
    if values.get("maxInitDurationMs") and values.get("systemLogLevel") == "WARN":
        return (
            f"needs {NAMESPACE}:systemLogLevel INFO or DEBUG: at WARN Lambda logs no REPORT, so the cold start "
            "cannot be read (Lambda Developer Guide, Log-level filtering)"
        )
    return None


CROSS_CHECKS: tuple[tuple[str, Callable[[Mapping[str, Any]], str | None]], ...] = (
    ("provisionedConcurrency", _provisioned_within_reserved),
    ("secretEnvironment", _names_distinct),
    (
        "certificateArn",
        _both_or_neither("certificateArn", "customDomain", "a custom domain serves TLS with it"),
    ),
    ("hostedZoneId", _zone_needs_domain),
    ("jwtAudiences", _both_or_neither("jwtAudiences", "jwtIssuer", "a JWT authorizer checks both")),
    (
        "vpcSecurityGroupIds",
        _both_or_neither(
            "vpcSecurityGroupIds", "vpcSubnetIds", "Lambda's VpcConfig takes subnets and security groups"
        ),
    ),
    ("snapStart", _snap_start),
    ("maxInitDurationMs", _budget_needs_report),
)


# --- results ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    key: str
    value: Any
    allowed: str
    secret: bool = False

    def __str__(self) -> str:
        return f"{self.key} = {'[secret]' if self.secret else repr(self.value)}: {self.allowed}"


class ConfigError(pulumi.RunError, ValueError):
    """Every invalid setting at once; raised before any resource is registered. A pulumi.RunError: the CLI
    prints the message alone, without a traceback (infra/function_inputs.py)."""

    def __init__(self, stack: str, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"invalid configuration for stack {stack!r} ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}; nothing was created):\n{lines}"
        )


@dataclass(frozen=True)
class Settings:
    """The validated settings: one typed field per key of KEYS, the key's name in snake_case
    (`settings.memory_size` is `memorySize`; tests/infra/test_config.py checks fields and types against
    KEYS); `secret_keys` are the keys set with --secret."""

    stack: str
    environment_class: str
    architecture: str
    memory_size: int
    timeout: int
    ephemeral_storage: int
    reserved_concurrency: int
    provisioned_concurrency: int
    log_retention_days: int
    log_level: str
    system_log_level: str
    tracing: bool
    environment: Mapping[str, str]
    secret_environment: Mapping[str, SecretReference]
    cors_allow_origins: tuple[str, ...]
    throttle_rate_limit: int
    throttle_burst_limit: int
    keep_images: int
    force_delete: bool
    kms_key_arn: str | None
    extra_policy_arns: tuple[str, ...]
    dockerfile: str
    deployment_preference: str
    alarm_email: str | None
    alarm_error_threshold: int
    alarm_throttle_threshold: int
    alarm5xx_threshold: int
    alarm_duration_percent: int
    alarm_concurrency_percent: int
    warm_up_schedule: str | None
    custom_domain: str | None
    certificate_arn: str | None
    hosted_zone_id: str | None
    jwt_issuer: str | None
    jwt_audiences: tuple[str, ...]
    vpc_subnet_ids: tuple[str, ...]
    vpc_security_group_ids: tuple[str, ...]
    snap_start: bool
    max_init_duration_ms: int
    secret_keys: frozenset[str] = frozenset()
    cache_from: str | None = None  # BUILD_CACHE_FROM: the deployed image to reuse as build cache
    pinned_image: str | None = None  # PINNED_IMAGE_URI: the image to run instead of building one

    if not TYPE_CHECKING:  # at run time only: a checker reports an unknown attribute itself

        def __getattr__(self, attribute: str) -> Any:
            fields = ", ".join(key.field for key in KEYS)
            raise AttributeError(f"Settings has no {attribute!r} (config keys: {fields})")

    def is_secret(self, name: str) -> bool:
        return name in self.secret_keys

    @property
    def prefix(self) -> str:
        return prefix_for(self.stack)

    @property
    def platform(self) -> str:
        """The Docker platform of the function's architecture (infra/architecture.py)."""
        return architecture_named(self.architecture).platform

    @property
    def reserved_concurrency_or_none(self) -> int | None:
        return None if self.reserved_concurrency == -1 else self.reserved_concurrency


# --- loading ------------------------------------------------------------------------------------------------


def cli_value(value: Any) -> str:
    """A value as the CLI passes it to the program: strings as they are, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, adjacent transpositions)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def _closest(name: str, candidates: list[str]) -> str | None:
    best = min(candidates, key=lambda candidate: edit_distance(name.lower(), candidate.lower()))
    return best if edit_distance(name.lower(), best.lower()) <= 2 else None


def _present_config() -> dict[str, str]:
    """Every config value the engine passed (`namespace:key` -> the CLI's string)."""
    return dict(runtime_config.CONFIG.get()) | dict(runtime_config.get_config_env())


def _is_secret(full: str) -> bool:
    return runtime_config.is_config_secret(full) or full in runtime_config.get_config_secret_keys_env()


def _misplaced_keys(present: Mapping[str, str]) -> list[Problem]:
    """Keys in the project namespace that are not in KEYS, and keys in a namespace one or two edits away from
    the project's (a typo would otherwise be silently ignored)."""
    problems = []
    names = [key.name for key in KEYS]
    for full in sorted(present):
        namespace, _, name = full.partition(":")
        if namespace == NAMESPACE and name not in KEYS_BY_NAME:
            near = _closest(name, names)
            hint = f"did you mean {NAMESPACE}:{near}?" if near else f"known keys: {', '.join(names)}"
            problems.append(
                Problem(
                    full,
                    present[full],
                    f"is not a config key of this project ({hint})",
                    secret=_is_secret(full),
                )
            )
        elif (
            namespace == "aws"
            and name not in PROVIDER_KEYS_READ
            and (near := _closest(name, list(PROVIDER_KEYS_READ)))
        ):
            problems.append(
                Problem(
                    full, present[full], f"is misspelt: did you mean aws:{near}?", secret=_is_secret(full)
                )
            )
        elif namespace != NAMESPACE and namespace not in OTHER_NAMESPACES and name in KEYS_BY_NAME:
            # after a rename of the project, the stack file's keys keep the old namespace: Pulumi would pass
            # them under it and the program would never read them
            problems.append(
                Problem(
                    full,
                    present[full],
                    f"is a key of this project under another namespace: did you mean {NAMESPACE}:{name}? "
                    "(after a rename of the project, rename the stack files' keys)",
                    secret=_is_secret(full),
                )
            )
        elif (
            namespace != NAMESPACE
            and namespace not in OTHER_NAMESPACES
            and edit_distance(namespace, NAMESPACE) <= 2
        ):
            intended = f"{NAMESPACE}:{_closest(name, names) or name}"
            problems.append(
                Problem(
                    full,
                    present[full],
                    f"the namespace is misspelt: did you mean {intended}?",
                    secret=_is_secret(full),
                )
            )
    return problems


def load_settings(stack: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise one ConfigError listing all problems (nothing is registered)."""
    stack = stack if stack is not None else pulumi.get_stack()
    environ = os.environ if environ is None else environ
    context = Context(stack=stack, configured_region=pulumi.Config("aws").get(PROVIDER_KEYS_READ[0]))
    present = _present_config()
    secret_keys = {key.name for key in KEYS if _is_secret(f"{NAMESPACE}:{key.name}")}
    problems: list[Problem] = []
    values: dict[str, Any] = {}

    if not is_project_name(PROJECT):
        problems.append(
            Problem(
                "name (Pulumi.yaml)",
                PROJECT,
                f"must be {PROJECT_NAME_RULE}: it begins the names of the function, repository, roles and "
                f"state bucket ({PROJECT}-<stack>…), and AWS refuses other characters in some of them",
            )
        )
    if not is_stack_name(stack):
        problems.append(
            Problem(
                "stack name",
                stack,
                f"must be {STACK_NAME_RULE} (it names the function, "
                f"repository and role {prefix_for('<stack>')})",
            )
        )
    else:
        problems += [
            Problem(
                "stack name",
                stack,
                f"is too long for the project {PROJECT}: {problem}; choose a shorter stack (or project) name",
            )
            for problem in name_limit_problems(PROJECT, stack)
        ]
    problems += _misplaced_keys(present)
    for key in KEYS:
        full = f"{NAMESPACE}:{key.name}"
        raw = present.get(full, cli_value(key.default))
        secret = key.name in secret_keys
        if secret and not key.secret:
            problems.append(
                Problem(
                    full,
                    raw,
                    "cannot be a secret (only environment can; the value would "
                    "otherwise reach resources in plaintext)",
                    secret=True,
                )
            )
            continue
        try:
            values[key.name] = key.rule.parse(raw, context)
        except Invalid as invalid:
            problems.append(Problem(full, raw, invalid.allowed, secret=secret))
    for name, check in CROSS_CHECKS:
        problem = check(values)
        if problem:
            full = f"{NAMESPACE}:{name}"
            problems.append(
                Problem(
                    full,
                    present.get(full, cli_value(KEYS_BY_NAME[name].default)),
                    problem,
                    secret=name in secret_keys,
                )
            )
    images: dict[str, str | None] = {}
    for attribute, variable in (
        ("cache_from", CACHE_FROM_ENV),
        ("pinned_image", IMAGE_URI_ENV),
    ):
        try:
            images[attribute] = image_by_digest(environ.get(variable, ""), context)
        except Invalid as invalid:
            problems.append(
                Problem(f"{variable} (environment variable)", environ.get(variable), invalid.allowed)
            )
    if problems:
        raise ConfigError(stack, problems)
    fields = {KEYS_BY_NAME[name].field: value for name, value in values.items()}
    return Settings(
        stack=stack,
        secret_keys=frozenset(secret_keys),
        cache_from=images["cache_from"],
        pinned_image=images["pinned_image"],
        **fields,
    )
