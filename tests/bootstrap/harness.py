"""Runs the bootstrap program under Pulumi mocks and records what it registers and exports."""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pulumi
import yaml

from bootstrap.settings import NAMESPACE, BootstrapConfigError

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP_DIR = ROOT / "bootstrap"
STACK = "github"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
REPOSITORY = "example-org/container-lambda"
CREATED_PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "container-lambda-state-20261123072400000000000001"


def project_defaults() -> dict[str, str]:
    """Config defaults of bootstrap/Pulumi.yaml, as the CLI would pass them (JSON for non-strings)."""
    project = yaml.safe_load((BOOTSTRAP_DIR / "Pulumi.yaml").read_text())
    defaults = {key: spec["default"] for key, spec in project.get("config", {}).items() if "default" in spec}
    return {
        f"{NAMESPACE}:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in defaults.items()
    }


class BootstrapMocks(pulumi.runtime.Mocks):
    """Fills every computed field the bootstrap reads (an unfilled one would silently skip an apply)."""

    def __init__(self, existing_provider_audiences: list[str]):
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.calls: list[str] = []
        self.existing_provider_audiences = existing_provider_audiences

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(args)
        inputs = dict(args.inputs)
        typ = args.typ
        if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            inputs["arn"] = CREATED_PROVIDER_ARN
        elif typ == "aws:kms/key:Key":
            inputs |= {"arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}", "keyId": KEY_ID}
            return KEY_ID, inputs
        elif typ == "aws:kms/alias:Alias":
            inputs["arn"] = f"arn:aws:kms:{REGION}:{ACCOUNT}:{inputs['name']}"
        elif typ == "aws:s3/bucket:Bucket":
            inputs |= {"bucket": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"}
            return BUCKET, inputs
        elif typ == "aws:iam/role:Role":
            inputs["arn"] = f"arn:aws:iam::{ACCOUNT}:role{inputs['path']}{inputs['name']}"
            return inputs["name"], inputs
        return f"{args.name}-id", inputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/admin", "id": ACCOUNT,
                    "userId": "AIDAEXAMPLE"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
                    "reverseDnsPrefix": "com.amazonaws"}
        if args.token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            return {"arn": args.args["arn"], "id": args.args["arn"], "tags": {}, "thumbprintLists": [],
                    "url": "token.actions.githubusercontent.com",
                    "clientIdLists": self.existing_provider_audiences}
        raise AssertionError(f"unexpected invoke {args.token}")


@dataclass
class BootstrapRun:
    mocks: BootstrapMocks
    outputs: dict = field(default_factory=dict)
    protected: set[str] = field(default_factory=set)  # names of resources registered with protect=True

    def record_options(self, args: pulumi.ResourceTransformationArgs) -> None:
        if args.opts and args.opts.protect:
            self.protected.add(args.name)

    @property
    def resources(self) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.mocks.resources if r.typ.startswith("aws:")]

    def of_type(self, typ: str) -> list[dict]:
        return [r.inputs for r in self.resources if r.typ == typ]

    def one(self, typ: str) -> dict:
        (inputs,) = self.of_type(typ)
        return inputs

    def role(self, name: str) -> dict:
        (inputs,) = [r for r in self.of_type("aws:iam/role:Role") if r["name"] == name]
        return inputs

    def role_policy(self, role_name: str) -> dict:
        (inputs,) = [r for r in self.of_type("aws:iam/rolePolicy:RolePolicy") if r["role"] == role_name]
        return json.loads(inputs["policy"])


def run_bootstrap(config: dict[str, str] | None = None, *, existing_provider_audiences=("sts.amazonaws.com",),
                  aws_region: str | None = REGION) -> BootstrapRun:
    """Run bootstrap/__main__.py under fresh mocks with the Pulumi.yaml defaults plus `config`."""
    run = BootstrapRun(BootstrapMocks(list(existing_provider_audiences)))
    pulumi.runtime.set_mocks(run.mocks, project=NAMESPACE, stack=STACK, preview=False)
    values = project_defaults() | {f"{NAMESPACE}:githubRepository": REPOSITORY}
    if aws_region is not None:
        values["aws:region"] = aws_region
    values |= {f"{NAMESPACE}:{key}": value for key, value in (config or {}).items()}
    pulumi.runtime.set_all_config({key: value for key, value in values.items() if value is not None})
    exported: dict[str, object] = {}

    @pulumi.runtime.test
    def program():
        pulumi.runtime.register_stack_transformation(run.record_options)
        with mock.patch.object(pulumi, "export", side_effect=exported.__setitem__):
            runpy.run_path(str(BOOTSTRAP_DIR), run_name="__main__")
        return pulumi.Output.all(**exported).apply(run.outputs.update)

    try:
        program()
    except BootstrapConfigError as error:
        error.registered = run.mocks.resources  # what got registered before the error (must be nothing)
        raise
    return run
