"""The stack's settings: every `container-lambda:` config key, read and validated before anything is created.

`load_settings()` returns a frozen `Settings`, or raises one `ConfigError` naming every bad key, its value and
what is allowed. `KEYS` is the single description of the config contract: Pulumi.yaml declares exactly
these keys with these defaults, and the README's config table lists them (tests compare all three).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

NAMESPACE = "container-lambda"
ROOT = Path(__file__).resolve().parents[1]
FUNCTION_DIR = "function"
CACHE_FROM_ENV = "CONTAINER_LAMBDA_CACHE_FROM"
IMAGE_URI_ENV = "CONTAINER_LAMBDA_IMAGE_URI"

# CloudWatch Logs retentionInDays: "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400,
# 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653." (CloudWatch Logs API reference, PutRetentionPolicy;
# the same list in boto3's logs.put_retention_policy and the AWS SDK for Kotlin's LogGroup.retentionInDays).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)

# Environment variables Lambda reserves ("Defined runtime environment variables", AWS Lambda Developer Guide,
# configuration-envvars.html; the same list in the guide's older "Lambda execution environment" table). Names
# starting with AWS_ or LAMBDA_ are refused as a whole, as are names starting with "_" (by the name pattern).
RESERVED_ENV_NAMES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ",
})
RESERVED_ENV_PREFIXES = ("AWS_", "LAMBDA_")
ENV_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
ENV_MAX_BYTES = 4096  # Lambda: "The total size of all environment variables doesn't exceed 4 KB"

# Names derived from the stack: container-lambda-<stack> is the function, repository, role and log group name.
# ECR repository names are lowercase components joined by single separators; Lambda function and IAM role
# names allow 64 characters. 31 characters (scripts/deploy.sh's limit) keeps the prefix at 48.
STACK_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
STACK_NAME_MAX = 31

ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?::[0-9]{1,5})?")
KMS_KEY_ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov):kms:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):"
                         r"key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})")
POLICY_ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov):iam::(aws|\d{12}):policy/"
                        r"(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}")
# Policies the guardrails refuse on any role (policy pack rule iam-no-admin-policies).
FORBIDDEN_POLICY_NAMES = frozenset({"AdministratorAccess", "IAMFullAccess"})
DIGEST_URI = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?/"
                        r"([a-z0-9._/-]+)@sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Key:
    """One config key of the contract (the README table and Pulumi.yaml are checked against these)."""

    name: str
    type: str  # the Pulumi.yaml type ("string", "integer", "boolean", "array"; "object" has no declared type)
    default: Any
    allowed: str
    description: str


KEYS: tuple[Key, ...] = (
    Key("architecture", "string", "arm64", "`arm64`, `x86_64`",
        "Instruction set of the function; the image is built for the matching platform."),
    Key("memorySize", "integer", 1024, "128–10240", "Memory of the function in MB."),
    Key("timeout", "integer", 29, "1–900",
        "Function timeout in seconds (the HTTP API waits at most 30 s for an answer)."),
    Key("ephemeralStorage", "integer", 512, "512–10240", "Size of /tmp in MB."),
    Key("reservedConcurrency", "integer", -1, "-1 (no reservation) or ≥ 0",
        "Concurrent executions reserved for the function; -1 leaves it unreserved."),
    Key("provisionedConcurrency", "integer", 0, "≥ 0; ≤ reservedConcurrency when that is set",
        "Provisioned concurrency of the alias `live` (0 = no version, no alias)."),
    Key("logRetentionDays", "integer", 14, ", ".join(str(d) for d in RETENTION_DAYS),
        "Retention of the function's and the API's log groups, in days."),
    Key("tracing", "boolean", True, "`true`, `false`", "X-Ray active tracing."),
    Key("environment", "object", {}, "names `[A-Za-z][A-Za-z0-9_]*`, none reserved by Lambda, total ≤ 4 KB",
        "Environment variables of the function (object of string to string)."),
    Key("corsAllowOrigins", "array", [], "`*` or `http(s)://host[:port]`",
        "Origins allowed by CORS; empty = no CORS configuration."),
    Key("throttleRateLimit", "integer", 50, "> 0",
        "Default steady-state request rate of the stage (per second)."),
    Key("throttleBurstLimit", "integer", 100, "> 0", "Default burst limit of the stage."),
    Key("keepImages", "integer", 10, "1–1000", "Tagged images the repository keeps (newest first)."),
    Key("forceDelete", "boolean", False, "`true`, `false`",
        "Let `pulumi destroy` delete the repository while it still holds images."),
    Key("kmsKeyArn", "string", "", "empty, or a KMS key ARN in the stack's region",
        "KMS key that encrypts the repository; empty = AES256."),
    Key("extraPolicyArns", "array", [], "IAM policy ARNs (not AdministratorAccess or IAMFullAccess)",
        "Managed policies attached to the function's role, besides its inline policy."),
    Key("dockerfile", "string", "function/Dockerfile", "a Dockerfile inside `function/`",
        "Dockerfile of the image (the build context is function/)."),
)
KEYS_BY_NAME = {key.name: key for key in KEYS}


@dataclass(frozen=True)
class Problem:
    key: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: {self.allowed}"


class ConfigError(ValueError):
    """Every invalid setting at once; raised before any resource is registered."""

    def __init__(self, stack: str, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid configuration for stack {stack!r} ({len(problems)} problem"
                         f"{'s' if len(problems) != 1 else ''}; nothing was created):\n{lines}")


@dataclass(frozen=True)
class Settings:
    stack: str
    architecture: str
    memory_size: int
    timeout: int
    ephemeral_storage: int
    reserved_concurrency: int | None
    provisioned_concurrency: int
    log_retention_days: int
    tracing: bool
    environment: Mapping[str, str]
    cors_allow_origins: tuple[str, ...]
    throttle_rate_limit: int
    throttle_burst_limit: int
    keep_images: int
    force_delete: bool
    kms_key_arn: str | None
    extra_policy_arns: tuple[str, ...]
    dockerfile: str  # relative to the project root, inside function/
    cache_from: str | None  # the deployed image (<repositoryUrl>@sha256:...) to reuse as build cache
    pinned_image: str | None  # an image of the repository (by digest) to run instead of building one

    @property
    def prefix(self) -> str:
        return prefix_for(self.stack)

    @property
    def platform(self) -> str:
        return {"arm64": "linux/arm64", "x86_64": "linux/amd64"}[self.architecture]


def prefix_for(stack: str) -> str:
    return f"{NAMESPACE}-{stack}"


# --- parsing (values reach the program as the CLI passes them: strings, JSON for arrays and objects) -------

class _Invalid(Exception):
    def __init__(self, allowed: str):
        super().__init__(allowed)
        self.allowed = allowed


def _integer(raw: str, low: int | None = None, high: int | None = None, text: str = "") -> int:
    what = text or _range_text(low, high)
    if not re.fullmatch(r"-?[0-9]+", raw.strip()):
        raise _Invalid(f"must be an integer {what}".rstrip())
    value = int(raw)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _Invalid(f"must be an integer {what}")
    return value


def _range_text(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"from {low} to {high}"
    if low is not None:
        return f"≥ {low}"
    return ""


def _boolean(raw: str) -> bool:
    if raw.strip().lower() not in ("true", "false"):
        raise _Invalid("must be true or false")
    return raw.strip().lower() == "true"


def _json(raw: str, kind: type, what: str) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise _Invalid(f"must be {what} (JSON)") from None
    if not isinstance(value, kind):
        raise _Invalid(f"must be {what}")
    return value


def _string_list(raw: str, check: Callable[[str], str | None], what: str) -> tuple[str, ...]:
    items = _json(raw, list, f"an array of {what}")
    bad = [item for item in items if not isinstance(item, str) or check(item)]
    if bad:
        reasons = "; ".join(f"{item!r}: {check(item) if isinstance(item, str) else 'not a string'}"
                            for item in bad)
        raise _Invalid(f"every entry must be {what} ({reasons})")
    duplicates = sorted({item for item in items if items.count(item) > 1})
    if duplicates:
        raise _Invalid(f"entries must be unique (repeated: {', '.join(duplicates)})")
    return tuple(items)


def _origin_problem(origin: str) -> str | None:
    if origin == "*" or ORIGIN.fullmatch(origin):
        return None
    return "not `*` or http(s)://host[:port] (no path, no trailing slash)"


def _policy_problem(arn: str) -> str | None:
    if not POLICY_ARN.fullmatch(arn):
        return "not an IAM policy ARN (arn:aws:iam::<account>|aws:policy/<name>)"
    if arn.rsplit("/", 1)[-1] in FORBIDDEN_POLICY_NAMES:
        return "administrator policies are refused"
    return None


def _environment(raw: str) -> Mapping[str, str]:
    variables = _json(raw, dict, "an object of string to string")
    problems = []
    for name, value in variables.items():
        if not ENV_NAME.fullmatch(name):
            problems.append(f"{name!r} does not match [A-Za-z][A-Za-z0-9_]*")
        elif name in RESERVED_ENV_NAMES or name.startswith(RESERVED_ENV_PREFIXES):
            problems.append(f"{name!r} is reserved by Lambda (AWS_*, LAMBDA_*, TZ, _HANDLER, ...)")
        if not isinstance(value, str):
            problems.append(f"the value of {name!r} is not a string")
    if problems:
        raise _Invalid("; ".join(problems))
    size = len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode())
    if size > ENV_MAX_BYTES:
        raise _Invalid(f"names and values total {size} bytes; Lambda allows {ENV_MAX_BYTES} (4 KB)")
    return MappingProxyType(dict(variables))


def _dockerfile(raw: str) -> str:
    allowed = "must be the path of an existing Dockerfile inside function/ (e.g. function/Dockerfile.debian)"
    path = Path(raw)
    if path.is_absolute() or ".." in path.parts or not raw.strip():
        raise _Invalid(allowed)
    function_dir = (ROOT / FUNCTION_DIR).resolve()
    resolved = (ROOT / path).resolve()
    if function_dir not in resolved.parents or not resolved.is_file():
        raise _Invalid(allowed)
    return resolved.relative_to(ROOT).as_posix()


def _kms_key(raw: str, region: str | None) -> str | None:
    if raw == "":
        return None
    match = KMS_KEY_ARN.fullmatch(raw)
    if not match:
        raise _Invalid("must be empty or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)")
    if region and match.group(2) != region:
        raise _Invalid(f"the key must be in the stack's region {region} (aws:region)")
    return raw


def _image_by_digest(raw: str, stack: str, region: str | None) -> str | None:
    if raw == "":
        return None
    match = DIGEST_URI.fullmatch(raw)
    repository = prefix_for(stack)
    if not match or match.group(3) != repository or (region and match.group(2) != region):
        where = f"{region}" if region else "<region>"
        raise _Invalid(f"must be empty or an image of this stack's repository by digest: "
                       f"<account>.dkr.ecr.{where}.amazonaws.com/{repository}@sha256:<64 hex>")
    return raw


# --- loading -----------------------------------------------------------------------------------------------

def _raw_values(config: pulumi.Config) -> dict[str, str]:
    values = {}
    for key in KEYS:
        raw = config.get(key.name)
        if raw is None:
            raw = key.default if isinstance(key.default, str) else json.dumps(key.default)
        values[key.name] = raw
    return values


def _unknown_keys() -> list[str]:
    """Keys of the project namespace that are not in KEYS (a typo would otherwise be silently ignored)."""
    known = {f"{NAMESPACE}:{key.name}" for key in KEYS}
    present = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    return sorted(k for k in present if k.startswith(f"{NAMESPACE}:") and k not in known)


def load_settings(stack: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise one ConfigError listing all problems."""
    stack = stack if stack is not None else pulumi.get_stack()
    environ = os.environ if environ is None else environ
    region = pulumi.Config("aws").get("region")
    raw = _raw_values(pulumi.Config(NAMESPACE))
    problems: list[Problem] = []
    parsed: dict[str, Any] = {}

    def check(name: str, parse: Callable[[str], Any], label: str | None = None) -> None:
        try:
            parsed[name] = parse(raw[name])
        except _Invalid as invalid:
            problems.append(Problem(label or f"{NAMESPACE}:{name}", raw[name], invalid.allowed))

    if len(stack) > STACK_NAME_MAX or not STACK_NAME.fullmatch(stack):
        problems.append(Problem("stack name", stack, (
            f"must be 1–{STACK_NAME_MAX} lowercase letters and digits in words joined by single hyphens "
            f"(it names the function, repository and role {prefix_for('<stack>')})")))
    for unknown in _unknown_keys():
        problems.append(Problem(unknown, pulumi.Config(NAMESPACE).get(unknown.split(":", 1)[1]),
                                "is not a config key of this project (known: "
                                + ", ".join(key.name for key in KEYS) + ")"))

    def architecture(value: str) -> str:
        if value not in ("arm64", "x86_64"):
            raise _Invalid("must be arm64 or x86_64")
        return value

    def retention(value: str) -> int:
        days = _integer(value, text="CloudWatch Logs accepts")
        if days not in RETENTION_DAYS:
            raise _Invalid("must be one of the retention periods CloudWatch Logs accepts: "
                           + ", ".join(map(str, RETENTION_DAYS)))
        return days

    def reserved(value: str) -> int | None:
        number = _integer(value, -1, text="≥ 0, or -1 for no reservation")
        return None if number == -1 else number

    check("architecture", architecture)
    check("memorySize", lambda v: _integer(v, 128, 10240))
    check("timeout", lambda v: _integer(v, 1, 900))
    check("ephemeralStorage", lambda v: _integer(v, 512, 10240))
    check("reservedConcurrency", reserved)
    check("provisionedConcurrency", lambda v: _integer(v, 0))
    check("logRetentionDays", retention)
    check("tracing", _boolean)
    check("environment", _environment)
    check("corsAllowOrigins", lambda v: _string_list(v, _origin_problem, "`*` or http(s)://host[:port]"))
    check("throttleRateLimit", lambda v: _integer(v, 1, text="> 0"))
    check("throttleBurstLimit", lambda v: _integer(v, 1, text="> 0"))
    check("keepImages", lambda v: _integer(v, 1, 1000))
    check("forceDelete", _boolean)
    check("kmsKeyArn", lambda v: _kms_key(v, region))
    check("extraPolicyArns", lambda v: _string_list(v, _policy_problem, "an IAM policy ARN"))
    check("dockerfile", _dockerfile)
    for name, variable in (("cacheFrom", CACHE_FROM_ENV), ("pinnedImage", IMAGE_URI_ENV)):
        raw[name] = environ.get(variable, "")
        check(name, lambda v: _image_by_digest(v, stack, region), f"{variable} (environment variable)")

    reserved_value, provisioned = parsed.get("reservedConcurrency"), parsed.get("provisionedConcurrency")
    if reserved_value is not None and provisioned is not None and provisioned > reserved_value:
        problems.append(Problem(f"{NAMESPACE}:provisionedConcurrency", raw["provisionedConcurrency"],
                                f"must not exceed {NAMESPACE}:reservedConcurrency ({reserved_value})"))
    if problems:
        raise ConfigError(stack, problems)
    return Settings(
        stack=stack,
        architecture=parsed["architecture"],
        memory_size=parsed["memorySize"],
        timeout=parsed["timeout"],
        ephemeral_storage=parsed["ephemeralStorage"],
        reserved_concurrency=parsed["reservedConcurrency"],
        provisioned_concurrency=parsed["provisionedConcurrency"],
        log_retention_days=parsed["logRetentionDays"],
        tracing=parsed["tracing"],
        environment=parsed["environment"],
        cors_allow_origins=parsed["corsAllowOrigins"],
        throttle_rate_limit=parsed["throttleRateLimit"],
        throttle_burst_limit=parsed["throttleBurstLimit"],
        keep_images=parsed["keepImages"],
        force_delete=parsed["forceDelete"],
        kms_key_arn=parsed["kmsKeyArn"],
        extra_policy_arns=parsed["extraPolicyArns"],
        dockerfile=parsed["dockerfile"],
        cache_from=parsed["cacheFrom"],
        pinned_image=parsed["pinnedImage"],
    )
