"""Settings: every invalid value stops the program before a single resource, naming key, value and rule."""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pytest

from infra.config import RETENTION_DAYS, ConfigError, load_settings
from tests.infra.support import FUNCTION, IMAGE, run_stack

DIGEST = "sha256:" + "ab" * 32
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

# (config, the key the message must name, a fragment of the bad value as the message shows it)
BAD = [
    ({"architecture": "arm"}, "container-lambda:architecture", "'arm'"),
    ({"memorySize": 64}, "container-lambda:memorySize", "'64'"),
    ({"memorySize": "lots"}, "container-lambda:memorySize", "'lots'"),
    ({"timeout": 0}, "container-lambda:timeout", "'0'"),
    ({"timeout": 901}, "container-lambda:timeout", "'901'"),
    ({"ephemeralStorage": 256}, "container-lambda:ephemeralStorage", "'256'"),
    ({"reservedConcurrency": -2}, "container-lambda:reservedConcurrency", "'-2'"),
    ({"provisionedConcurrency": -1}, "container-lambda:provisionedConcurrency", "'-1'"),
    ({"provisionedConcurrency": 5, "reservedConcurrency": 2}, "container-lambda:provisionedConcurrency",
     "'5'"),
    ({"logRetentionDays": 10}, "container-lambda:logRetentionDays", "'10'"),
    ({"logRetentionDays": 0}, "container-lambda:logRetentionDays", "'0'"),
    ({"tracing": "yes"}, "container-lambda:tracing", "'yes'"),
    ({"environment": {"AWS_REGION": "eu-west-1"}}, "container-lambda:environment", "AWS_REGION"),
    ({"environment": {"LAMBDA_TASK_ROOT": "/x"}}, "container-lambda:environment", "LAMBDA_TASK_ROOT"),
    ({"environment": {"TZ": "UTC"}}, "container-lambda:environment", "TZ"),
    ({"environment": {"1ST": "x"}}, "container-lambda:environment", "1ST"),
    ({"environment": {"NAME-WITH-DASH": "x"}}, "container-lambda:environment", "NAME-WITH-DASH"),
    ({"environment": {"COUNT": 3}}, "container-lambda:environment", "COUNT"),
    ({"environment": {"BIG": "x" * 4100}}, "container-lambda:environment", "BIG"),
    ({"environment": ["A=1"]}, "container-lambda:environment", "A=1"),
    ({"corsAllowOrigins": ["example.com"]}, "container-lambda:corsAllowOrigins", "example.com"),
    ({"corsAllowOrigins": ["https://example.com/"]}, "container-lambda:corsAllowOrigins", "https://example.com/"),
    ({"corsAllowOrigins": "https://example.com"}, "container-lambda:corsAllowOrigins", "https://example.com"),
    ({"throttleRateLimit": 0}, "container-lambda:throttleRateLimit", "'0'"),
    ({"throttleBurstLimit": -5}, "container-lambda:throttleBurstLimit", "'-5'"),
    ({"keepImages": 0}, "container-lambda:keepImages", "'0'"),
    ({"keepImages": 1001}, "container-lambda:keepImages", "'1001'"),
    ({"forceDelete": "maybe"}, "container-lambda:forceDelete", "'maybe'"),
    ({"kmsKeyArn": "alias/ecr"}, "container-lambda:kmsKeyArn", "'alias/ecr'"),
    ({"kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
     "container-lambda:kmsKeyArn", "us-east-1"),
    ({"extraPolicyArns": ["ReadOnlyAccess"]}, "container-lambda:extraPolicyArns", "ReadOnlyAccess"),
    ({"extraPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}, "container-lambda:extraPolicyArns",
     "AdministratorAccess"),
    ({"extraPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"] * 2}, "container-lambda:extraPolicyArns",
     "ReadOnlyAccess"),
    ({"dockerfile": "Dockerfile"}, "container-lambda:dockerfile", "'Dockerfile'"),
    ({"dockerfile": "function/../Pulumi.yaml"}, "container-lambda:dockerfile", "Pulumi.yaml"),
    ({"dockerfile": "function/Dockerfile.missing"}, "container-lambda:dockerfile", "Dockerfile.missing"),
    ({"dockerfile": "/etc/passwd"}, "container-lambda:dockerfile", "/etc/passwd"),
    ({"memorysize": 2048}, "container-lambda:memorysize", "2048"),
]


def config_error(config=None, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        run_stack(config, **kwargs)
    return caught.value


@pytest.mark.parametrize(("config", "key", "value"), BAD, ids=[f"{key.split(':')[-1]}={json.dumps(cfg)[:40]}"
                                                               for cfg, key, _ in BAD])
def test_an_invalid_value_names_its_key_and_value_and_registers_nothing(config, key, value):
    error = config_error(config)
    assert error.registered == []
    (problem,) = error.problems
    assert problem.key == key
    line = str(problem)
    assert line.startswith(f"{key} = ") and value in line
    assert line in str(error)


def test_every_bad_key_is_reported_at_once():
    error = config_error({"architecture": "sparc", "timeout": 0, "keepImages": 0, "tracing": "on"})
    keys = [p.key.split(":")[-1] for p in error.problems]
    assert keys == ["architecture", "timeout", "tracing", "keepImages"]
    assert "4 problems" in str(error) and "nothing was created" in str(error)
    assert error.registered == []


def test_the_message_says_what_is_allowed():
    message = str(config_error({"logRetentionDays": 10}))
    assert ", ".join(map(str, RETENTION_DAYS)) in message
    assert "must be an integer from 128 to 10240" in str(config_error({"memorySize": 64}))
    assert "must be arm64 or x86_64" in str(config_error({"architecture": "arm"}))


@pytest.mark.parametrize("stack", ["Dev", "dev_1", "-dev", "dev-", "dev--a", "a" * 32])
def test_a_stack_name_that_cannot_name_the_function_and_repository_is_refused(stack):
    error = config_error(stack=stack)
    assert [p.key for p in error.problems] == ["stack name"]
    assert repr(stack) in str(error) and error.registered == []


@pytest.mark.parametrize("image", [
    f"{REGISTRY}/container-lambda-dev:latest",  # a tag, not a digest
    f"{REGISTRY}/container-lambda-prod@{DIGEST}",  # another stack's repository
    f"123456789012.dkr.ecr.us-east-1.amazonaws.com/container-lambda-dev@{DIGEST}",  # another region
    f"docker.io/library/python@{DIGEST}",  # not ECR
    f"{REGISTRY}/container-lambda-dev@sha256:abc",  # a truncated digest
])
def test_a_build_cache_that_is_not_this_repository_by_digest_is_refused(image):
    error = config_error(cache_from=image)
    (problem,) = error.problems
    assert problem.key == "CONTAINER_LAMBDA_CACHE_FROM (environment variable)"
    assert image in str(error) and "container-lambda-dev@sha256:<64 hex>" in str(error)
    assert error.registered == []


def test_boundary_values_are_accepted():
    run = run_stack({"memorySize": 10240, "timeout": 900, "ephemeralStorage": 10240, "logRetentionDays": 3653,
                     "keepImages": 1000, "reservedConcurrency": 0, "throttleRateLimit": 1,
                     "throttleBurstLimit": 1, "corsAllowOrigins": ["*", "http://localhost:3000"],
                     "environment": {"A": "x" * 4000}})
    function = run.one(FUNCTION).inputs
    assert (function["memorySize"], function["timeout"], function["reservedConcurrentExecutions"]) == \
        (10240, 900, 0)


def test_a_digest_of_this_repository_is_accepted_as_build_cache():
    image = f"{REGISTRY}/container-lambda-dev@{DIGEST}"
    build = run_stack(cache_from=image).one(IMAGE).inputs["build"]
    assert build["cacheFrom"] == {"images": [image]}



def test_settings_are_a_frozen_typed_object_with_the_table_defaults():
    pulumi.runtime.set_all_config({})  # no Pulumi.yaml: the defaults come from the table in infra/config.py
    settings = load_settings(stack="dev", environ={})
    assert (settings.architecture, settings.platform, settings.memory_size, settings.timeout) == \
        ("arm64", "linux/arm64", 1024, 29)
    assert settings.reserved_concurrency is None and settings.kms_key_arn is None
    assert settings.cors_allow_origins == () and dict(settings.environment) == {}
    assert settings.prefix == "container-lambda-dev" and settings.dockerfile == "function/Dockerfile"
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.memory_size = 2048  # type: ignore[misc]


def test_an_unknown_key_the_cli_passes_in_pulumi_config_is_refused(monkeypatch):
    passed = {"container-lambda:timout": "30", "aws:region": "eu-west-1"}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(passed))
    pulumi.runtime.set_all_config({})
    with pytest.raises(ConfigError) as caught:
        load_settings(stack="dev", environ={})
    assert [p.key for p in caught.value.problems] == ["container-lambda:timout"]
    assert "timeout" in str(caught.value)  # the known keys are listed
