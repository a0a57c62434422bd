"""Runs the bootstrap program under the project's Pulumi mock harness (tests/support/pulumi_harness.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bootstrap.settings import NAMESPACE
from infra.project import PROJECT
from tests.support.pulumi_harness import ACCOUNT, PARTITION, REGION, HarnessMocks, ProgramRun, run_program

BOOTSTRAP_DIR = Path(__file__).resolve().parents[2] / "bootstrap"
STACK = PROJECT  # the bootstrap's stack is named after the project
REPOSITORY = f"example-org/{PROJECT}"
OIDC_HOST = "token.actions.githubusercontent.com"
CREATED_PROVIDER_ARN = f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/{OIDC_HOST}"
BUCKET = f"{PROJECT}-state-20261123072400000000000001"

__all__ = [
    "ACCOUNT",
    "BUCKET",
    "CREATED_PROVIDER_ARN",
    "REGION",
    "REPOSITORY",
    "BootstrapRun",
    "run_bootstrap",
]


def _bucket(m: HarnessMocks, name: str, inputs: dict) -> tuple[str, dict]:
    assert BUCKET.startswith(inputs["bucketPrefix"])
    return BUCKET, {"bucket": BUCKET, "arn": f"arn:{PARTITION}:s3:::{BUCKET}"}


def _provider(m: HarnessMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return CREATED_PROVIDER_ARN, {"arn": CREATED_PROVIDER_ARN}


def _kms_alias(m: HarnessMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return inputs["name"], {"arn": f"arn:{PARTITION}:kms:{m.region}:{m.account}:{inputs['name']}"}


def _existing_provider(audiences: list[str]):
    def call(m: HarnessMocks, args: dict) -> dict:
        return {
            "arn": args["arn"],
            "id": args["arn"],
            "url": OIDC_HOST,
            "clientIdLists": audiences,
            "thumbprintLists": [],
            "tags": {},
        }

    return call


@dataclass
class BootstrapRun:
    """What one run registered (inputs by type) and exported."""

    program: ProgramRun

    @property
    def outputs(self) -> dict:
        return self.program.outputs

    @property
    def resources(self):
        return [r for r in self.program.resources if r.typ.startswith("aws:")]

    @property
    def protected(self) -> set[str]:
        return {r.name for r in self.program.records if r.protect}

    def of_type(self, typ: str) -> list[dict]:
        return [r.inputs for r in self.program.of_type(typ)]

    def one(self, typ: str) -> dict:
        return self.program.one(typ).inputs

    def key(self, name: str = "pulumi-state-key"):
        """A KMS key by resource name: the state key, or `secrets-<environment>-key`."""
        (key,) = [r for r in self.program.of_type("aws:kms/key:Key") if r.name == name]
        return key

    def key_arn(self, name: str = "pulumi-state-key") -> str:
        return self.key(name).state["arn"]

    def role(self, name: str) -> dict:
        (inputs,) = [r for r in self.of_type("aws:iam/role:Role") if r["name"] == name]
        return inputs

    def role_policy(self, role_name: str) -> dict:
        (inputs,) = [r for r in self.of_type("aws:iam/rolePolicy:RolePolicy") if r["role"] == role_name]
        return json.loads(inputs["policy"])

    def identity_policies(self, role_name: str) -> list[dict]:
        """The role's identity policies: its inline policies and the managed policies attached to it."""
        attached = {
            r["policyArn"]
            for r in self.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if r["role"] == role_name
        }
        inline = [
            json.loads(r["policy"])
            for r in self.of_type("aws:iam/rolePolicy:RolePolicy")
            if r["role"] == role_name
        ]
        managed = [
            json.loads(r.inputs["policy"])
            for r in self.program.of_type("aws:iam/policy:Policy")
            if r.state["arn"] in attached
        ]
        return inline + managed


def run_bootstrap(
    config: dict[str, str | None] | None = None,
    *,
    existing_provider_audiences=("sts.amazonaws.com",),
    aws_region: str | None = REGION,
    stack: str = STACK,
) -> BootstrapRun:
    """Run bootstrap/ with the Pulumi.yaml defaults, the test repository and region, then `config`.

    On an error, `error.registered` lists what was registered before it (must be nothing)."""
    mocks = HarnessMocks(
        extra_fills={
            "aws:s3/bucket:Bucket": _bucket,
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _provider,
            "aws:kms/alias:Alias": _kms_alias,
        },
        extra_calls={
            "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": _existing_provider(
                list(existing_provider_audiences)
            )
        },
    )
    values = {"aws:region": aws_region, "githubRepository": REPOSITORY} | (config or {})
    return BootstrapRun(run_program(BOOTSTRAP_DIR, values, project=NAMESPACE, stack=stack, mocks=mocks))
