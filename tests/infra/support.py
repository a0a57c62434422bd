"""Runs the stack's program (the project root) under the shared mock harness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.project import PROJECT
from tests.support.pulumi_harness import HarnessMocks, ProgramRun, Registered, run_program

ROOT = Path(__file__).resolve().parents[2]
CACHE_ENV = "BUILD_CACHE_FROM"
IMAGE_URI_ENV = "PINNED_IMAGE_URI"

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMAGE = "docker:index/registryImage:RegistryImage"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# the function's execution role and its inline policy (logical names of infra/function.py), among the stack's roles
FUNCTION_ROLE = "function-role"
FUNCTION_ROLE_POLICY = "function-execution-policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
PERMISSION = "aws:lambda/permission:Permission"
API = "aws:apigatewayv2/api:Api"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
ROUTE = "aws:apigatewayv2/route:Route"
STAGE = "aws:apigatewayv2/stage:Stage"


def run_stack(
    config: dict[str, Any] | None = None,
    *,
    stack: str = "dev",
    cache_from: str | None = None,
    pinned_image: str | None = None,
    ecr_images: dict[str, dict[str, str]] | None = None,
    stack_file: Path | None = None,
    program: Path = ROOT,
    secrets: tuple[str, ...] = (),
    mocks: HarnessMocks | None = None,
) -> ProgramRun:
    """The program with Pulumi.yaml's defaults, aws:region and `config` (no BUILD_CACHE_FROM /
    PINNED_IMAGE_URI unless `cache_from` / `pinned_image` is given). `ecr_images` is what ECR
    holds ({repository: {tag: digest}}); by default no repository exists yet (a first deployment).
    `secrets` are keys set with --secret; `mocks` replaces the default mocks (another account, region...)."""
    values: dict[str, Any] = {} if stack_file else {"aws:region": "eu-west-1"}
    values |= config or {}
    return run_program(
        program,
        values,
        project=PROJECT,
        stack=stack,
        project_file=ROOT / "Pulumi.yaml",
        stack_file=stack_file,
        mocks=mocks or HarnessMocks(ecr_images=ecr_images),
        env={CACHE_ENV: cache_from, IMAGE_URI_ENV: pinned_image},
        secrets=secrets,
    )


def log_group(run: ProgramRun, name: str) -> Registered:
    (found,) = [r for r in run.of_type(LOG_GROUP) if r.inputs["name"] == name]
    return found


def policy_document(record: Registered, key: str = "policy") -> dict:
    return json.loads(record.inputs[key])
