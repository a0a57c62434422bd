"""Secrets stay secret end to end: a value set with --secret (the whole `environment` or one path of it) is
secret on every resource input and output that holds it, and never printed; `secretEnvironment` passes ARNs,
and the execution role may read exactly those (evaluated against concrete requests)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import NAMESPACE, ConfigError
from infra.project import PROJECT
from tests.infra.support import FUNCTION, FUNCTION_ROLE_POLICY, policy_document, run_stack
from tests.support.iam import decide

PASSWORD = "hunter2-s3cr3t"
SECRET_ARN = f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{PROJECT}/dev/db-AbCdEf"
OTHER_SECRET = f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{PROJECT}/dev/admin-ZyXwVu"
PARAMETER_ARN = f"arn:aws:ssm:eu-west-1:123456789012:parameter/{PROJECT}/dev/api-token"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/99999999-12ab-34cd-56ef-1234567890ab"


def plaintext_paths(value: Any, secret_paths: set[str], path: str = "") -> list[str]:
    """Paths where the password appears in `value` outside every secret path."""
    if any(path == p or path.startswith(f"{p}.") or path.startswith(f"{p}[") for p in secret_paths if p):
        return []
    if isinstance(value, dict):
        return [
            hit
            for k, v in value.items()
            for hit in plaintext_paths(v, secret_paths, f"{path}.{k}" if path else k)
        ]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in plaintext_paths(v, secret_paths, f"{path}[{i}]")]
    return [path or "<root>"] if isinstance(value, str) and PASSWORD in value else []


@pytest.fixture(scope="module")
def secret_run():
    """`pulumi config set --secret --path environment.DATABASE_URL ...`: the CLI marks the key secret."""
    return run_stack(
        {
            "environment": {
                "DATABASE_URL": f"postgres://app:{PASSWORD}@db/orders",
                "POWERTOOLS_SERVICE_NAME": "orders",
            }
        },
        secrets=("environment",),
    )


def test_a_secret_environment_is_secret_on_the_function_input_and_output(secret_run):
    function = secret_run.one(FUNCTION)
    assert "environment" in function.secret_paths
    assert "environment" in function.additional_secret_outputs  # the engine keeps the output secret too
    assert function.inputs["environment"]["variables"]["DATABASE_URL"].endswith(f"{PASSWORD}@db/orders")


def test_the_secret_is_nowhere_in_plaintext(secret_run):
    for record in secret_run.records:
        assert plaintext_paths(record.inputs, record.secret_paths) == [], (record.name, "inputs")
        assert plaintext_paths(record.state, record.state_secret_paths) == [], (record.name, "state")
    assert PASSWORD not in json.dumps(secret_run.outputs)
    assert PASSWORD not in json.dumps(secret_run.registered_outputs)


def test_without_secret_the_environment_is_plain():
    function = run_stack({"environment": {"A_B": "x"}}).one(FUNCTION)
    assert function.secret_paths == set() and not function.additional_secret_outputs


def test_an_invalid_secret_is_reported_without_its_value():
    with pytest.raises(ConfigError) as caught:
        run_stack({"environment": {"AWS_REGION": PASSWORD}}, secrets=("environment",))
    assert PASSWORD not in str(caught.value)
    assert f"{NAMESPACE}:environment = [secret]" in str(caught.value)


@pytest.mark.parametrize("key", ["enviroment", f"{NAMESPACE}x:environment"])
def test_a_misspelt_secret_key_is_reported_without_its_value(key):
    with pytest.raises(ConfigError) as caught:
        run_stack({key: {"DATABASE_URL": PASSWORD}}, secrets=(key,))
    assert PASSWORD not in str(caught.value) and "[secret]" in str(caught.value)
    assert "did you mean" in str(caught.value)


def test_only_environment_may_be_secret():
    with pytest.raises(ConfigError) as caught:
        run_stack({"memorySize": 2048}, secrets=("memorySize",))
    (problem,) = caught.value.problems
    assert problem.key == f"{NAMESPACE}:memorySize" and "cannot be a secret" in str(problem)
    assert caught.value.registered == []


def test_a_secure_value_in_a_stack_file_is_a_secret(tmp_path):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(
        f"config:\n  aws:region: eu-west-1\n  {PROJECT}:environment:\n"
        "    DATABASE_URL:\n      secure: v1:abc:def\n"
    )
    function = run_stack(stack_file=stack_file).one(FUNCTION)
    assert "environment" in function.secret_paths


# --- secretEnvironment --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def references_run():
    return run_stack(
        {
            "secretEnvironment": {
                "DB_PASSWORD_ARN": SECRET_ARN,
                "API_TOKEN_ARN": {"arn": PARAMETER_ARN, "kmsKeyArn": KEY_ARN},
            }
        }
    )


def test_the_function_gets_the_arns_not_the_values(references_run):
    variables = references_run.one(FUNCTION).inputs["environment"]["variables"]
    assert (variables["DB_PASSWORD_ARN"], variables["API_TOKEN_ARN"]) == (SECRET_ARN, PARAMETER_ARN)


def test_the_role_reads_exactly_the_referenced_parameters_and_secrets(references_run):
    policy = policy_document(references_run.named(FUNCTION_ROLE_POLICY))
    assert decide(policy, "secretsmanager:GetSecretValue", SECRET_ARN) == "allow"
    assert decide(policy, "ssm:GetParameter", PARAMETER_ARN) == "allow"
    assert decide(policy, "secretsmanager:GetSecretValue", OTHER_SECRET) == "implicit deny"
    assert decide(policy, "secretsmanager:GetSecretValue", PARAMETER_ARN) == "implicit deny"
    assert decide(policy, "ssm:GetParameter", PARAMETER_ARN + "-other") == "implicit deny"
    assert decide(policy, "ssm:GetParameters", PARAMETER_ARN) == "implicit deny"
    assert decide(policy, "ssm:PutParameter", PARAMETER_ARN) == "implicit deny"
    assert decide(policy, "secretsmanager:PutSecretValue", SECRET_ARN) == "implicit deny"


def test_the_role_decrypts_with_the_given_key_only_through_its_service(references_run):
    policy = policy_document(references_run.named(FUNCTION_ROLE_POLICY))
    via_ssm = {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}
    assert decide(policy, "kms:Decrypt", KEY_ARN, via_ssm) == "allow"
    assert decide(policy, "kms:Decrypt", KEY_ARN, {}) == "implicit deny"  # a direct kms:Decrypt call
    assert (
        decide(policy, "kms:Decrypt", KEY_ARN, {"kms:ViaService": "s3.eu-west-1.amazonaws.com"})
        == "implicit deny"
    )
    assert decide(policy, "kms:Decrypt", OTHER_KEY, via_ssm) == "implicit deny"
    assert decide(policy, "kms:Encrypt", KEY_ARN, via_ssm) == "implicit deny"


def test_without_references_the_role_reads_no_secret(default_run):
    policy = policy_document(default_run.named(FUNCTION_ROLE_POLICY))
    for action, arn in (
        ("secretsmanager:GetSecretValue", SECRET_ARN),
        ("ssm:GetParameter", PARAMETER_ARN),
        ("kms:Decrypt", KEY_ARN),
    ):
        assert (
            decide(policy, action, arn, {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}) == "implicit deny"
        )
