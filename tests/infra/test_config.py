"""Settings: every invalid value stops the program before a single resource, naming key, value and rule."""

from __future__ import annotations

import dataclasses
import json
from typing import get_type_hints

import pulumi
import pytest

import infra.config
from infra.config import (
    KEYS,
    KEYS_BY_NAME,
    NAMESPACE,
    RESERVED_ENV_NAMES,
    RETENTION_DAYS,
    ConfigError,
    Settings,
    load_settings,
)
from infra.project import PROJECT
from tests.infra.support import FUNCTION, IMAGE, run_stack
from tests.support.second_dockerfile import second_dockerfile, snapstart_function

DIGEST = "sha256:" + "ab" * 32
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET_ARN = f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{PROJECT}/dev/db-AbCdEf"
CERT = f"arn:aws:acm:eu-west-1:123456789012:certificate/{KEY_ID}"
DOMAIN = {"customDomain": "api.example.com", "certificateArn": CERT}
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SG = "sg-0123456789abcdef0"
ARABIC_INDIC_ACCOUNT = "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662"
N = NAMESPACE

# (config, the key the message must name, a fragment of the bad value as the message shows it)
BAD = [
    ({"architecture": "arm"}, f"{N}:architecture", "'arm'"),
    ({"memorySize": 64}, f"{N}:memorySize", "'64'"),
    ({"memorySize": "lots"}, f"{N}:memorySize", "'lots'"),
    ({"memorySize": "1024.0"}, f"{N}:memorySize", "'1024.0'"),
    # integers are written canonically: no surrounding whitespace, no leading zeros, no sign "+", no "-0"
    ({"memorySize": " 1024 "}, f"{N}:memorySize", "' 1024 '"),
    ({"memorySize": "01024"}, f"{N}:memorySize", "'01024'"),
    ({"keepImages": "01"}, f"{N}:keepImages", "'01'"),
    ({"timeout": "+30"}, f"{N}:timeout", "'+30'"),
    ({"reservedConcurrency": "-0"}, f"{N}:reservedConcurrency", "'-0'"),
    ({"logRetentionDays": " 30"}, f"{N}:logRetentionDays", "' 30'"),
    ({"logRetentionDays": "030"}, f"{N}:logRetentionDays", "'030'"),
    ({"memorySize": "\u0661\u0660\u0662\u0664"}, f"{N}:memorySize", "'\u0661\u0660\u0662\u0664'"),
    ({"timeout": 0}, f"{N}:timeout", "'0'"),
    ({"timeout": 901}, f"{N}:timeout", "'901'"),
    ({"ephemeralStorage": 256}, f"{N}:ephemeralStorage", "'256'"),
    ({"reservedConcurrency": -2}, f"{N}:reservedConcurrency", "'-2'"),
    ({"reservedConcurrency": 10**12}, f"{N}:reservedConcurrency", "'1000000000000'"),
    ({"reservedConcurrency": 2**31}, f"{N}:reservedConcurrency", "'2147483648'"),
    ({"provisionedConcurrency": -1}, f"{N}:provisionedConcurrency", "'-1'"),
    ({"provisionedConcurrency": 10**12}, f"{N}:provisionedConcurrency", "'1000000000000'"),
    ({"provisionedConcurrency": 5, "reservedConcurrency": 2}, f"{N}:provisionedConcurrency", "'5'"),
    ({"logRetentionDays": 10}, f"{N}:logRetentionDays", "'10'"),
    ({"logRetentionDays": 0}, f"{N}:logRetentionDays", "'0'"),
    ({"logLevel": "VERBOSE"}, f"{N}:logLevel", "'VERBOSE'"),
    ({"logLevel": "info"}, f"{N}:logLevel", "'info'"),
    ({"systemLogLevel": "ERROR"}, f"{N}:systemLogLevel", "'ERROR'"),
    ({"environmentClass": "prod"}, f"{N}:environmentClass", "'prod'"),
    ({"tracing": "yes"}, f"{N}:tracing", "'yes'"),
    ({"tracing": "True"}, f"{N}:tracing", "'True'"),
    ({"environment": {"AWS_REGION": "eu-west-1"}}, f"{N}:environment", "AWS_REGION"),
    ({"environment": {"LAMBDA_TASK_ROOT": "/x"}}, f"{N}:environment", "LAMBDA_TASK_ROOT"),
    ({"environment": {"TZ": "UTC"}}, f"{N}:environment", "TZ"),
    ({"environment": {"POWERTOOLS_LOG_LEVEL": "DEBUG"}}, f"{N}:environment", "POWERTOOLS_LOG_LEVEL"),
    ({"environment": {"1ST": "x"}}, f"{N}:environment", "1ST"),
    ({"environment": {"X": "x"}}, f"{N}:environment", "'X'"),  # Lambda's pattern needs two characters
    ({"environment": {"NAME-WITH-DASH": "x"}}, f"{N}:environment", "NAME-WITH-DASH"),
    ({"environment": {"N\u00c4ME": "x"}}, f"{N}:environment", "N\u00c4ME"),
    ({"environment": {"COUNT": 3}}, f"{N}:environment", "COUNT"),
    ({"environment": {"BIG": "x" * 4100}}, f"{N}:environment", "BIG"),
    ({"environment": ["A=1"]}, f"{N}:environment", "A=1"),
    ({"secretEnvironment": {"DB": "arn:aws:s3:::bucket/key"}}, f"{N}:secretEnvironment", "arn:aws:s3"),
    # outside what the stack's permissions boundary admits (another stack's, or no stack's, names)
    (
        {"secretEnvironment": {"DB": SECRET_ARN.replace("/dev/", "/production/")}},
        f"{N}:secretEnvironment",
        "permissions boundary",
    ),
    (
        {"secretEnvironment": {"DB": "arn:aws:ssm:eu-west-1:123456789012:parameter/orders/db"}},
        f"{N}:secretEnvironment",
        "permissions boundary",
    ),
    (
        {"secretEnvironment": {"DB": SECRET_ARN.replace("arn:aws:", "arn:aws-cn:")}},
        f"{N}:secretEnvironment",
        "aws-cn",
    ),
    (
        {
            "secretEnvironment": {
                "DB": {"arn": SECRET_ARN, "kmsKeyArn": f"arn:aws:kms:eu-west-1:999999999999:key/{KEY_ID}"}
            }
        },
        f"{N}:secretEnvironment",
        "999999999999",
    ),
    ({"secretEnvironment": {"DB": {"arn": SECRET_ARN, "kms": "x"}}}, f"{N}:secretEnvironment", "kms"),
    # a reference in another account or region than the stack's (the caller's)
    (
        {"secretEnvironment": {"DB": SECRET_ARN.replace(":123456789012:", ":999999999999:")}},
        f"{N}:secretEnvironment",
        "account 999999999999",
    ),
    (
        {"secretEnvironment": {"DB": SECRET_ARN.replace(":eu-west-1:", ":us-east-1:")}},
        f"{N}:secretEnvironment",
        "region us-east-1",
    ),
    (
        {"secretEnvironment": {"DB": f"arn:aws:ssm:eu-west-1:999999999999:parameter/{PROJECT}/dev/token"}},
        f"{N}:secretEnvironment",
        "account 999999999999",
    ),
    ({"secretEnvironment": {"AWS_REGION": SECRET_ARN}}, f"{N}:secretEnvironment", "AWS_REGION"),
    ({"secretEnvironment": {"DB": SECRET_ARN}, "environment": {"DB": "x"}}, f"{N}:secretEnvironment", "DB"),
    ({"corsAllowOrigins": ["example.com"]}, f"{N}:corsAllowOrigins", "example.com"),
    ({"corsAllowOrigins": ["https://example.com/"]}, f"{N}:corsAllowOrigins", "https://example.com/"),
    ({"corsAllowOrigins": "https://example.com"}, f"{N}:corsAllowOrigins", "https://example.com"),
    ({"corsAllowOrigins": ["https://app.example.com:99999"]}, f"{N}:corsAllowOrigins", ":99999"),
    ({"corsAllowOrigins": ["https://app.example.com:0"]}, f"{N}:corsAllowOrigins", ":0"),
    ({"throttleRateLimit": 0}, f"{N}:throttleRateLimit", "'0'"),
    ({"throttleRateLimit": 10**30}, f"{N}:throttleRateLimit", "'1000000000000000000000000000000'"),
    ({"throttleRateLimit": 2.5}, f"{N}:throttleRateLimit", "'2.5'"),
    ({"throttleBurstLimit": -5}, f"{N}:throttleBurstLimit", "'-5'"),
    ({"throttleBurstLimit": 1099511627776}, f"{N}:throttleBurstLimit", "'1099511627776'"),
    ({"keepImages": 0}, f"{N}:keepImages", "'0'"),
    ({"keepImages": 1001}, f"{N}:keepImages", "'1001'"),
    ({"forceDelete": "maybe"}, f"{N}:forceDelete", "'maybe'"),
    ({"kmsKeyArn": "alias/ecr"}, f"{N}:kmsKeyArn", "'alias/ecr'"),
    ({"kmsKeyArn": f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"}, f"{N}:kmsKeyArn", "us-east-1"),
    (
        {"kmsKeyArn": f"arn:aws:kms:eu-west-1:{ARABIC_INDIC_ACCOUNT}:key/{KEY_ID}"},
        f"{N}:kmsKeyArn",
        ARABIC_INDIC_ACCOUNT,
    ),
    ({"kmsKeyArn": f"arn:aws-cn:kms:eu-west-1:123456789012:key/{KEY_ID}"}, f"{N}:kmsKeyArn", "aws-cn"),
    ({"kmsKeyArn": f"arn:aws:kms:eu-west-1:999999999999:key/{KEY_ID}"}, f"{N}:kmsKeyArn", "999999999999"),
    ({"extraPolicyArns": ["ReadOnlyAccess"]}, f"{N}:extraPolicyArns", "ReadOnlyAccess"),
    (
        {"extraPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
        f"{N}:extraPolicyArns",
        "AdministratorAccess",
    ),
    (
        {"extraPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"] * 2},
        f"{N}:extraPolicyArns",
        "ReadOnlyAccess",
    ),
    (
        {"extraPolicyArns": ["arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"]},
        f"{N}:extraPolicyArns",
        "aws-us-gov",
    ),
    # a customer-managed policy of another account than the caller's
    (
        {"extraPolicyArns": [f"arn:aws:iam::999999999999:policy/{N}/orders-read"]},
        f"{N}:extraPolicyArns",
        "999999999999",
    ),
    ({"dockerfile": "Dockerfile"}, f"{N}:dockerfile", "'Dockerfile'"),
    ({"dockerfile": "function/../Pulumi.yaml"}, f"{N}:dockerfile", "Pulumi.yaml"),
    ({"dockerfile": "function/Dockerfile.missing"}, f"{N}:dockerfile", "Dockerfile.missing"),
    ({"dockerfile": "function/events/expected-status.json"}, f"{N}:dockerfile", "expected-status.json"),
    ({"dockerfile": "/etc/passwd"}, f"{N}:dockerfile", "/etc/passwd"),
    ({"memorysize": 2048}, f"{N}:memorysize", "2048"),
    ({f"{N}x:memorySize": 512}, f"{N}x:memorySize", "512"),  # a namespace one edit from the project's
    ({f"{N[:-1]}:timeout": 30}, f"{N[:-1]}:timeout", "30"),
    # one or two edits from aws:region, the one aws: key the program reads
    ({"aws:regoin": "eu-west-1"}, "aws:regoin", "eu-west-1"),
    ({"aws:rgion": "eu-west-1"}, "aws:rgion", "eu-west-1"),
    (
        {"deploymentPreference": "Canary10Percent1Minute"},
        f"{N}:deploymentPreference",
        "Canary10Percent1Minute",
    ),
    ({"deploymentPreference": "allatonce"}, f"{N}:deploymentPreference", "allatonce"),
    ({"alarmEmail": "ops.example.org"}, f"{N}:alarmEmail", "ops.example.org"),
    ({"alarmErrorThreshold": 0}, f"{N}:alarmErrorThreshold", "'0'"),
    ({"alarmThrottleThreshold": 0}, f"{N}:alarmThrottleThreshold", "'0'"),
    ({"alarm5xxThreshold": -1}, f"{N}:alarm5xxThreshold", "'-1'"),
    ({"alarmDurationPercent": 101}, f"{N}:alarmDurationPercent", "'101'"),
    ({"alarmConcurrencyPercent": 0}, f"{N}:alarmConcurrencyPercent", "'0'"),
    ({"warmUpSchedule": "rate(1 days)"}, f"{N}:warmUpSchedule", "rate(1 days)"),
    ({"warmUpSchedule": "rate(0 minutes)"}, f"{N}:warmUpSchedule", "rate(0 minutes)"),
    ({"warmUpSchedule": "weekly"}, f"{N}:warmUpSchedule", "weekly"),
    # a custom domain: a DNS name with an ACM certificate of the caller's partition and account in the
    # stack's region, set together; a hosted zone only with a domain
    ({"customDomain": "API.example.com", "certificateArn": CERT}, f"{N}:customDomain", "API.example.com"),
    ({"customDomain": "localhost", "certificateArn": CERT}, f"{N}:customDomain", "localhost"),
    ({"customDomain": "-api.example.com", "certificateArn": CERT}, f"{N}:customDomain", "-api.example.com"),
    ({"customDomain": "*.example.com", "certificateArn": CERT}, f"{N}:customDomain", "*.example.com"),
    ({"customDomain": "https://api.example.com"}, f"{N}:customDomain", "https://api.example.com"),
    ({"customDomain": "api.example.com"}, f"{N}:certificateArn", "''"),
    ({"certificateArn": CERT}, f"{N}:certificateArn", CERT),
    (
        {"customDomain": "api.example.com", "certificateArn": CERT.replace("eu-west-1", "us-east-1")},
        f"{N}:certificateArn",
        "us-east-1",
    ),
    (
        {
            "customDomain": "api.example.com",
            "certificateArn": CERT.replace(":123456789012:", ":999999999999:"),
        },
        f"{N}:certificateArn",
        "999999999999",
    ),
    (
        {"customDomain": "api.example.com", "certificateArn": CERT.replace("arn:aws:", "arn:aws-cn:")},
        f"{N}:certificateArn",
        "aws-cn",
    ),
    (
        {"customDomain": "api.example.com", "certificateArn": CERT.replace(":certificate/", ":key/")},
        f"{N}:certificateArn",
        ":key/",
    ),
    ({"hostedZoneId": "Z0123456789ABCDEFGHIJ"}, f"{N}:hostedZoneId", "Z0123456789ABCDEFGHIJ"),
    ({"hostedZoneId": "/hostedzone/Z012345", **DOMAIN}, f"{N}:hostedZoneId", "/hostedzone/Z012345"),
    ({"hostedZoneId": "z0123456789", **DOMAIN}, f"{N}:hostedZoneId", "z0123456789"),
    # a JWT authorizer: an https issuer and at least one audience, set together
    ({"jwtIssuer": "http://issuer.example.com", "jwtAudiences": ["a"]}, f"{N}:jwtIssuer", "http://issuer"),
    ({"jwtIssuer": "https://issuer.example.com?x=1", "jwtAudiences": ["a"]}, f"{N}:jwtIssuer", "?x=1"),
    ({"jwtIssuer": "https://user@issuer.example.com", "jwtAudiences": ["a"]}, f"{N}:jwtIssuer", "user@"),
    ({"jwtIssuer": "https://issuer.example.com"}, f"{N}:jwtAudiences", "[]"),
    ({"jwtAudiences": ["a"]}, f"{N}:jwtAudiences", "a"),
    ({"jwtIssuer": "https://issuer.example.com", "jwtAudiences": [""]}, f"{N}:jwtAudiences", "''"),
    ({"jwtIssuer": "https://issuer.example.com", "jwtAudiences": ["a", "a"]}, f"{N}:jwtAudiences", "a"),
    ({"jwtIssuer": "https://issuer.example.com", "jwtAudiences": "a"}, f"{N}:jwtAudiences", "a"),
    # VPC: subnet and security group IDs of AWS's formats, both or neither, within Lambda's limits
    ({"vpcSubnetIds": ["subnet-123"], "vpcSecurityGroupIds": [SG]}, f"{N}:vpcSubnetIds", "subnet-123"),
    ({"vpcSubnetIds": ["sg-0123456789abcdef0"], "vpcSecurityGroupIds": [SG]}, f"{N}:vpcSubnetIds", "sg-0123"),
    ({"vpcSubnetIds": [SUBNETS[0]] * 2, "vpcSecurityGroupIds": [SG]}, f"{N}:vpcSubnetIds", SUBNETS[0]),
    (
        {"vpcSubnetIds": [f"subnet-{i:08x}" for i in range(17)], "vpcSecurityGroupIds": [SG]},
        f"{N}:vpcSubnetIds",
        "subnet-00000010",
    ),
    ({"vpcSubnetIds": SUBNETS, "vpcSecurityGroupIds": ["sg-XYZ"]}, f"{N}:vpcSecurityGroupIds", "sg-XYZ"),
    (
        {"vpcSubnetIds": SUBNETS, "vpcSecurityGroupIds": [f"sg-{i:08x}" for i in range(6)]},
        f"{N}:vpcSecurityGroupIds",
        "sg-00000005",
    ),
    ({"vpcSubnetIds": SUBNETS}, f"{N}:vpcSecurityGroupIds", "[]"),
    ({"vpcSecurityGroupIds": [SG]}, f"{N}:vpcSecurityGroupIds", SG),
    # SnapStart where AWS refuses it
    ({"snapStart": "yes"}, f"{N}:snapStart", "'yes'"),
    ({"snapStart": True, "provisionedConcurrency": 2}, f"{N}:snapStart", "'true'"),
    ({"snapStart": True, "ephemeralStorage": 1024}, f"{N}:snapStart", "'true'"),
    # the cold-start budget
    ({"maxInitDurationMs": -1}, f"{N}:maxInitDurationMs", "'-1'"),
    ({"maxInitDurationMs": 900001}, f"{N}:maxInitDurationMs", "'900001'"),
    ({"maxInitDurationMs": 2000, "systemLogLevel": "WARN"}, f"{N}:maxInitDurationMs", "'2000'"),
]


def config_error(config=None, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        run_stack(config, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("config", "key", "value"),
    BAD,
    ids=[f"{key.split(':')[-1]}={json.dumps(cfg)[:40]}" for cfg, key, _ in BAD],
)
def test_an_invalid_value_names_its_key_and_value_and_registers_nothing(config, key, value):
    error = config_error(config)
    assert error.registered == []
    (problem,) = error.problems
    assert problem.key == key
    line = str(problem)
    assert line.startswith(f"{key} = ") and value in line, line
    assert line in str(error)


def test_every_bad_key_is_reported_at_once():
    error = config_error({"architecture": "sparc", "timeout": 0, "keepImages": 0, "tracing": "on"})
    keys = [p.key.split(":")[-1] for p in error.problems]
    assert keys == ["architecture", "timeout", "tracing", "keepImages"]
    assert "4 problems" in str(error) and "nothing was created" in str(error)
    assert error.registered == []


def test_a_config_error_prints_as_its_list_of_problems_without_a_traceback():
    # The Python language host prints a pulumi.RunError's message alone, every other exception with its
    # traceback (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec: `except pulumi.RunError as e:
    # pulumi.log.error(str(e))`).
    error = config_error({"memorySize": 64, "timeout": 0})
    assert isinstance(error, pulumi.RunError)
    assert str(error).splitlines()[1:] == [f"  - {problem}" for problem in error.problems]


def test_the_message_says_what_is_allowed():
    message = str(config_error({"logRetentionDays": 10}))
    assert ", ".join(map(str, RETENTION_DAYS)) in message
    assert "must be an integer from 128 to 10240" in str(config_error({"memorySize": 64}))
    assert "must be one of arm64, x86_64" in str(config_error({"architecture": "arm"}))
    assert "port must be from 1 to 65535" in str(
        config_error({"corsAllowOrigins": ["http://a.example:70000"]})
    )


def test_a_misspelt_key_or_namespace_names_the_intended_key():
    assert f"did you mean {N}:memorySize?" in str(config_error({"memorysize": 2048}))
    assert f"did you mean {N}:memorySize?" in str(config_error({f"{N}x:memorySize": 512}))
    assert f"did you mean {N}:timeout?" in str(config_error({f"{N[:-1]}:timout": 30}))
    assert "did you mean aws:region?" in str(config_error({"aws:regoin": "eu-west-1"}))


def test_other_namespaces_pass():
    run_stack({"aws:skipMetadataApiCheck": "true", "pulumi:tags": '{"team": "a"}', f"other-{N}:x": "1"})


@pytest.mark.parametrize("stack", ["Dev", "dev_1", "-dev", "dev-", "dev--a", "a" * 32, "d\u0435v"])
def test_a_stack_name_that_cannot_name_the_function_and_repository_is_refused(stack):
    error = config_error(stack=stack)
    assert [p.key for p in error.problems] == ["stack name"]
    assert repr(stack) in str(error) and error.registered == []


@pytest.mark.parametrize(
    "image",
    [
        f"{REGISTRY}/{PROJECT}-dev:latest",  # a tag, not a digest
        f"{REGISTRY}/{PROJECT}-prod@{DIGEST}",  # another stack's repository
        f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{PROJECT}-dev@{DIGEST}",  # another region
        f"999999999999.dkr.ecr.eu-west-1.amazonaws.com/{PROJECT}-dev@{DIGEST}",  # another account
        f"{REGISTRY}.cn/{PROJECT}-dev@{DIGEST}",  # another partition's registry
        f"{ARABIC_INDIC_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{PROJECT}-dev@{DIGEST}",
        f"docker.io/library/python@{DIGEST}",  # not ECR
        f"{REGISTRY}/{PROJECT}-dev@sha256:abc",  # a truncated digest
    ],
)
@pytest.mark.parametrize("variable", ["cache_from", "pinned_image"])
def test_an_image_that_is_not_this_repository_by_digest_is_refused(image, variable):
    error = config_error(**{variable: image})
    (problem,) = error.problems
    name = {"cache_from": "BUILD_CACHE_FROM", "pinned_image": "PINNED_IMAGE_URI"}[variable]
    assert problem.key == f"{name} (environment variable)"
    assert image in str(error) and f"{REGISTRY}/{PROJECT}-dev@sha256:<64 hex>" in str(error)
    assert error.registered == []


def test_boundary_values_are_accepted():
    run = run_stack(
        {
            "memorySize": 10240,
            "timeout": 900,
            "ephemeralStorage": 10240,
            "logRetentionDays": 3653,
            "keepImages": 1000,
            "reservedConcurrency": 2**31 - 1,
            "provisionedConcurrency": 2**31 - 1,
            "throttleRateLimit": 1,
            "throttleBurstLimit": 2**31 - 1,
            "corsAllowOrigins": ["*", "http://localhost:3000", "https://a.example:65535"],
            "environment": {"AB": "x" * 4000},
        }
    )
    function = run.one(FUNCTION).inputs
    assert (function["memorySize"], function["timeout"], function["reservedConcurrentExecutions"]) == (
        10240,
        900,
        2**31 - 1,
    )


@pytest.mark.parametrize(
    "name",
    [
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_LAMBDA_EXEC_WRAPPER",
        "LAMBDA_CUSTOM",
        "PYTHONPATH",
        "LANG",
    ],
)
def test_environment_names_lambda_does_not_reserve_are_accepted(name):
    variables = run_stack({"environment": {name: "x"}}).one(FUNCTION).inputs["environment"]["variables"]
    assert variables[name] == "x"


def test_the_reserved_names_are_the_developer_guides_list():
    assert len(RESERVED_ENV_NAMES) == 19
    for name in RESERVED_ENV_NAMES:
        if name[0].isalpha():  # _HANDLER and _X_AMZN_TRACE_ID already fail Lambda's name pattern
            assert f"{name!r} is reserved by Lambda" in str(config_error({"environment": {name: "x"}}))


def test_a_digest_of_this_repository_is_accepted_as_build_cache():
    image = f"{REGISTRY}/{PROJECT}-dev@{DIGEST}"
    build = run_stack(cache_from=image).one(IMAGE).inputs["build"]
    assert build["cacheFroms"] == [image]


# Keys that are set together: an example is given with its companions' examples.
COMPANIONS = {
    "customDomain": ("certificateArn",),
    "certificateArn": ("customDomain",),
    "hostedZoneId": ("customDomain", "certificateArn"),
    "jwtIssuer": ("jwtAudiences",),
    "jwtAudiences": ("jwtIssuer",),
    "vpcSubnetIds": ("vpcSecurityGroupIds",),
    "vpcSecurityGroupIds": ("vpcSubnetIds",),
}


@pytest.mark.parametrize("key", KEYS, ids=lambda key: key.name)
def test_the_example_of_every_key_is_accepted_and_reaches_the_settings(key, tmp_path):
    config = {name: KEYS_BY_NAME[name].example for name in (key.name, *COMPANIONS.get(key.name, ()))}
    if key.name == "snapStart":  # whatever function/ holds: an image Lambda can snapshot
        with snapstart_function(tmp_path):
            run_stack(config)
        return
    with second_dockerfile(tmp_path):  # the `dockerfile` key's example names a second Dockerfile
        run_stack(config)  # raises ConfigError otherwise


def test_a_dockerfiles_own_ignore_file_is_not_a_dockerfile(tmp_path):
    # `Dockerfile.dockerignore` is named like a Dockerfile (Dockerfile.*) but is the ignore file BuildKit reads
    # for function/Dockerfile: refused even when it exists
    with second_dockerfile(tmp_path):
        (tmp_path / "function" / "Dockerfile.dockerignore").write_text("*\n", encoding="utf-8")
        error = config_error({"dockerfile": "function/Dockerfile.dockerignore"})
    (problem,) = error.problems
    assert problem.key == f"{N}:dockerfile" and "ignore file" in str(problem), str(problem)
    assert error.registered == []


def test_a_dockerfile_in_a_subfolder_of_the_function_is_refused(tmp_path):
    # the test workflow builds and container-tests the Dockerfiles directly in function/ only
    with second_dockerfile(tmp_path):
        (tmp_path / "function" / "images").mkdir()
        (tmp_path / "function" / "images" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
        error = config_error({"dockerfile": "function/images/Dockerfile"})
    (problem,) = error.problems
    assert problem.key == f"{N}:dockerfile" and "directly in function/" in str(problem), str(problem)


def test_settings_are_frozen_and_named_after_the_keys():
    pulumi.runtime.set_all_config({})  # no Pulumi.yaml: every key at the default of the table
    settings = load_settings(stack="dev", environ={})
    assert (settings.architecture, settings.platform, settings.memory_size, settings.timeout) == (
        "arm64",
        "linux/arm64",
        1024,
        29,
    )
    assert settings.reserved_concurrency_or_none is None and settings.kms_key_arn is None
    assert settings.cors_allow_origins == () and dict(settings.environment) == {}
    assert settings.prefix == f"{PROJECT}-dev" and settings.dockerfile == "function/Dockerfile"
    assert settings.environment_class == "non-production"
    with pytest.raises(AttributeError, match="memorySize|memory_size"):
        settings.memory_size = 2048  # type: ignore[misc]
    with pytest.raises(AttributeError, match="no 'memory'"):
        _ = settings.memory


# Settings fields that are not config keys: the stack, the keys set with --secret, the images of the
# environment (BUILD_CACHE_FROM, PINNED_IMAGE_URI).
NOT_KEYS = {"stack", "secret_keys", "cache_from", "pinned_image"}


@pytest.mark.parametrize("key", KEYS, ids=lambda key: key.name)
def test_every_key_has_a_settings_field_of_the_type_its_rule_parses(key):
    fields = get_type_hints(Settings)
    assert key.field in fields, f"{key.name} has no Settings field {key.field}"
    assert fields[key.field] == key.rule.value_type(), (
        f"{key.name}: Settings.{key.field} is {fields[key.field]}, its rule parses {key.rule.value_type()}"
    )


def test_every_settings_field_is_a_key():
    fields = {field.name for field in dataclasses.fields(Settings)} - NOT_KEYS
    assert sorted(fields - {key.field for key in KEYS}) == [], "Settings fields without a key of KEYS"


def test_an_unknown_key_the_cli_passes_in_pulumi_config_is_refused(monkeypatch):
    passed = {f"{N}:timout": "30", "aws:region": "eu-west-1"}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(passed))
    pulumi.runtime.set_all_config({})
    with pytest.raises(ConfigError) as caught:
        load_settings(stack="dev", environ={})
    assert [p.key for p in caught.value.problems] == [f"{N}:timout"]
    assert f"did you mean {N}:timeout?" in str(caught.value)


def test_without_aws_region_the_provider_region_is_asked():
    image = f"{REGISTRY}/{PROJECT}-dev@{DIGEST}"
    run = run_stack({"aws:region": None}, cache_from=image)  # the mocks' provider is in eu-west-1
    assert "aws:index/getRegion:getRegion" in [token for token, _ in run.calls]
    assert run.one(IMAGE).inputs["build"]["cacheFroms"] == [image]


# A project name of 30 characters with a stack name of 31: `<project>-<stack>` is 62 characters, a valid
# Lambda function name, but CodeDeploy's role `<prefix>.codedeploy` and the warm-up schedule `<prefix>.warm-up`
# exceed IAM's and EventBridge's 64.
LONG_PROJECT = "p" * 30
LONG_STACK = "s" * 31


@pytest.mark.parametrize(
    ("project", "stack", "limit"),
    [
        (LONG_PROJECT, LONG_STACK, "IAM role name (CodeDeploy's)"),
        (LONG_PROJECT, LONG_STACK, "EventBridge Scheduler schedule name"),
        ("p" * 40, "s" * 24, "Lambda function name"),
        ("p" * 98, "dev", "CodeDeploy application and deployment group name"),
    ],
)
def test_a_stack_whose_derived_names_exceed_an_aws_limit_is_refused_before_any_resource(
    monkeypatch, project, stack, limit
):
    monkeypatch.setattr(infra.config, "PROJECT", project)
    error = config_error(stack=stack)
    assert {p.key for p in error.problems} == {"stack name"}
    assert f"the {limit} " in str(error) and "over AWS's" in str(error)
    assert error.registered == []


# Pulumi takes `Orders_API-2` as a project name; ECR (lowercase), S3 (no "_") and Lambda (no ".") do not.
@pytest.mark.parametrize(
    "project", ["Orders", "orders_api", "orders.api", "orders--api", "-orders", "ordérs", "aws", "pulumi"]
)
def test_a_project_name_aws_would_refuse_in_a_derived_name_is_refused_before_any_resource(
    monkeypatch, project
):
    monkeypatch.setattr(infra.config, "PROJECT", project)
    error = config_error()
    assert [p.key for p in error.problems] == ["name (Pulumi.yaml)"], str(error)
    assert repr(project) in str(error) and "lowercase letters and digits" in str(error)
    assert error.registered == []


@pytest.mark.parametrize(
    ("project", "longest"), [("p" * 21, 31), ("p" * 30, 22), ("p" * 40, 12), ("p" * 52, 0)]
)
def test_the_longest_stack_name_of_a_project_is_the_longest_every_derived_name_admits(project, longest):
    # `<project>-<stack>.codedeploy` is a role name of at most 64: project and stack share 52 characters
    from infra.catalogue import longest_stack_name, name_limit_problems

    assert longest_stack_name(project) == longest
    assert name_limit_problems(project, "s" * longest) == [] if longest else name_limit_problems(project, "s")
    if longest < 31:
        assert name_limit_problems(project, "s" * (longest + 1)) != []


# SnapStart on an image: an AWS base image of Java 11+, Python 3.12+ or .NET 8+ in the last stage, or the
# SnapStart label there (Lambda Developer Guide, "Implementing SnapStart hooks for container images").
@pytest.mark.parametrize(
    ("dockerfile", "supported"),
    [
        ('FROM public.ecr.aws/lambda/python:3.13\nCMD ["app.handler"]\n', True),
        ("FROM public.ecr.aws/lambda/python:3.12.2025.01.01@sha256:" + "a" * 64 + "\n", True),
        ("FROM --platform=linux/arm64 public.ecr.aws/lambda/java:21\n", True),
        ("FROM public.ecr.aws/lambda/dotnet:8\n", True),
        ("FROM public.ecr.aws/lambda/python:3.11\n", False),
        ("FROM public.ecr.aws/lambda/java:8.al2\n", False),
        ("FROM public.ecr.aws/lambda/nodejs:22\n", False),
        ("FROM debian:12-slim\n", False),
        (
            'FROM public.ecr.aws/lambda/nodejs:22\nLABEL com.amazonaws.lambda.feature.snapstart="Allow"\n',
            True,
        ),
        # the label of an earlier stage is not the image's
        (
            'FROM debian:12 AS build\nLABEL com.amazonaws.lambda.feature.snapstart="Allow"\nFROM debian:12\n',
            False,
        ),
        # an AWS base image in an earlier stage only
        ("FROM public.ecr.aws/lambda/python:3.13 AS deps\nFROM debian:12-slim\n", False),
    ],
)
def test_snapstart_accepts_only_images_lambda_can_snapshot(dockerfile, supported, tmp_path, monkeypatch):
    (tmp_path / "function").mkdir()
    (tmp_path / "function" / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    monkeypatch.setattr(infra.config, "ROOT", tmp_path)
    problem = infra.config.snapstart_image_problem("function/Dockerfile")
    assert (problem is None) == supported, problem
    if problem:
        assert "Implementing SnapStart hooks for container images" in problem


def test_snapstart_names_every_combination_aws_refuses_at_once(tmp_path):
    with snapstart_function(tmp_path):
        error = config_error({"snapStart": True, "provisionedConcurrency": 1, "ephemeralStorage": 513})
        (problem,) = error.problems
        assert problem.key == f"{N}:snapStart"
        assert (
            "provisioned concurrency" in problem.allowed
            and "ephemeral storage over 512 MB" in problem.allowed
        )
        assert error.registered == []
        run_stack({"snapStart": True, "ephemeralStorage": 512})  # the limit itself is accepted


def test_the_vpc_keys_and_the_jwt_keys_reach_the_settings():
    pulumi.runtime.set_all_config(
        {
            f"{N}:vpcSubnetIds": json.dumps(SUBNETS),
            f"{N}:vpcSecurityGroupIds": json.dumps([SG]),
            f"{N}:jwtIssuer": "https://issuer.example.com/pool",
            f"{N}:jwtAudiences": json.dumps(["client-a", "client-b"]),
            "aws:region": "eu-west-1",
        }
    )
    settings = load_settings(stack="dev", environ={})
    assert settings.vpc_subnet_ids == tuple(SUBNETS) and settings.vpc_security_group_ids == (SG,)
    assert settings.jwt_issuer == "https://issuer.example.com/pool"
    assert settings.jwt_audiences == ("client-a", "client-b")
    assert settings.custom_domain is None and settings.max_init_duration_ms == 0
