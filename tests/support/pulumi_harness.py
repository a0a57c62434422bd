"""Run a Pulumi program under mocks and record everything it registers, invokes and exports.

Usage::

    from tests.support.pulumi_harness import run_program

    run = run_program("path/to/program", {"memorySize": 2048}, project="my-service", stack="dev",
                      stack_file="path/to/Pulumi.dev.yaml")
    fn = run.one("aws:lambda/function:Function")          # a Registered record
    fn.inputs["memorySize"], fn.parent, fn.depends_on, fn.state["arn"]
    run.outputs["apiUrl"]                                  # what pulumi.export received, resolved

API
---
``run_program(program, config=None, *, project, stack="dev", project_file=None, stack_file=None,
mocks=None, env=None, stack_references=None, secrets=()) -> ProgramRun``
    Installs fresh mocks (``pulumi.runtime.set_mocks``, preview=False) for this one call, builds the config
    the CLI would pass (the ``default``/``value`` of every key declared in ``project_file`` — by default
    ``<program>/Pulumi.yaml`` — then the ``config:`` of ``stack_file``, then ``config``), runs the program
    with ``runpy.run_path`` and waits for every export. ``config`` keys without a namespace get the project
    namespace; non-string values are JSON-encoded as the CLI does; a ``None`` value unsets the key. ``env``
    patches ``os.environ`` during the run (a ``None`` value removes the variable). ``stack_references`` maps
    a stack name (``org/project/stack``) to the outputs a ``pulumi.StackReference`` of it reads. ``secrets``
    are config keys passed as secret (``pulumi config set --secret``); a stack file's ``secure:`` values are
    passed as ``SECURE_PLACEHOLDER`` and make their key secret, as the CLI does. If the program raises, the
    exception propagates with ``error.registered`` = the records made before it.

``HarnessMocks(account=ACCOUNT, region=REGION, stack_references=None, extra_fills=None, extra_calls=None,
ecr_images=None, missing_policies=())``
    A ``pulumi.runtime.Mocks`` that fills the computed outputs of the AWS, Docker and Pulumi types the
    project's programs use (see ``FILLS``: every type of the resource catalogue, infra/catalogue.py, from the
    formats of its entry's ``id`` and ``outputs``; a few fills of their own), answers the invokes in ``CALLS``
    (getCallerIdentity, getRegion, getPartition, ecr getAuthorizationToken, ecr getImages, iam getPolicy) and
    raises ``AssertionError`` on any other invoke. ``ecr_images`` maps a repository name to its
    ``{tag: digest}`` images; ecr getImages of a repository not in it fails as the provider does
    (``MISSING_REPOSITORY``). iam getPolicy finds every policy except the ARNs in ``missing_policies``, for
    which it fails as the provider does (``missing_policy``).
    ``extra_fills`` / ``extra_calls`` add or override entries per type token / invoke token. Computed
    values are deterministic functions of the inputs, so two runs can be compared.

``ProgramRun``: ``records`` (every registration, components and providers included, in order),
``resources`` (without providers), ``of_type(token)``, ``one(token)``, ``named(name)``,
``children_of(record)``, ``by_urn(urn)``, ``outputs`` (exports, resolved), ``calls`` (invoke tokens with
their args), ``registered_outputs`` (component URN -> the outputs its ``register_outputs`` received).

``Registered``: ``typ``, ``name``, ``urn``, ``inputs`` (secrets unwrapped), ``secret_paths`` (dotted
paths of inputs that were secret), ``state`` (what the mock returned, inputs + computed), ``id``,
``custom``, ``parent`` (URN), ``depends_on`` (URNs), ``property_dependencies`` (input -> URNs),
``protect``, ``ignore_changes``, ``additional_secret_outputs``, ``state_secret_paths``.

Everything comes from Pulumi's public mocks API (``pulumi.runtime.set_mocks``, ``Mocks``) except the
registration options and ``register_outputs``, which only the monitor's requests carry: see
``RecordingMonitor``, the one place that reaches further, and the test that guards it.
"""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

from infra import catalogue

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"

# How a secret travels in the engine's property maps: {SIG_KEY: SECRET_SIG, "value": ...} (pulumi/pulumi
# sdk/go/common/resource/properties.go: SigKey and SecretSig; the same literal in
# pulumi_policy/deserialize.py).
# test_pulumi_harness.py checks the SDK still uses them.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_SIG = SIG_KEY
_SECRET = SECRET_SIG


def fake_hex(*parts: object, length: int = 64) -> str:
    """A deterministic hex string derived from `parts` (stands for digests and ids the cloud computes)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:length]


def _unwrap(value: Any, path: str, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG) == _SECRET:
            secrets.add(path)
            return _unwrap(value.get("value"), path, secrets)
        return {k: _unwrap(v, f"{path}.{k}" if path else k, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return value


def unwrap_secrets(value: Any) -> tuple[Any, set[str]]:
    """`value` with every secret replaced by its plain value, and the dotted paths that were secret."""
    secrets: set[str] = set()
    return _unwrap(value, "", secrets), secrets


# --- computed outputs per type token -----------------------------------------------------------------------
# Each fill gets (mocks, logical name, inputs without secrets) and returns (id, computed fields).
Fill = Callable[["HarnessMocks", str, dict], tuple[str, dict]]


class _Hex:
    """`{hex:N}` in a catalogue format: a deterministic hex string of N characters (`NX`: upper case)."""

    def __init__(self, *parts: object):
        self.parts = parts

    def __format__(self, spec: str) -> str:
        upper = spec.endswith("X")
        value = fake_hex(*self.parts, length=int(spec.rstrip("X") or 64))
        return value.upper() if upper else value


def catalogue_fill(entry: catalogue.ResourceType) -> Fill:
    """The fill of a resource type from its catalogue entry (infra/catalogue.py): its id and computed outputs
    from their formats, over the inputs (a missing `name` is the logical name, as the provider's autonaming
    would start it), the entry's defaults and the mock's partition, region and account."""

    def fill(m: HarnessMocks, name: str, i: dict) -> tuple[str, dict]:
        values: dict[str, Any] = {"partition": PARTITION, "region": m.region, "account": m.account}
        values |= {"logical": name, "hex": _Hex(entry.token, name, i), "name": name}
        values |= {key: value for key, value in i.items() if value not in (None, "")}
        for key, default in entry.defaults.items():
            values.setdefault(key, catalogue.render(default, values))
        pending = {"id": entry.id, **entry.outputs}
        known = set(values)
        computed: dict[str, str] = {}
        while pending:  # an output may name the id or another output, and the id an output
            ready = {key: form for key, form in pending.items() if catalogue.fields(form) <= known}
            if not ready:
                raise AssertionError(
                    f"{entry.token}: the formats of {sorted(pending)} name what nothing gives"
                )
            for key, form in ready.items():
                computed[key] = catalogue.render(form, values)
                del pending[key]
            values |= computed
            known |= set(computed)
        resource_id = computed.pop("id")
        return resource_id, computed

    return fill


def _docker_image(m: HarnessMocks, name: str, i: dict) -> tuple[str, dict]:
    image_name = str(i.get("imageName", name))
    repo = image_name.rsplit(":", 1)[0] if ":" in image_name.rsplit("/", 1)[-1] else image_name
    build = i.get("build") or {}
    digest = "sha256:" + fake_hex(image_name, build.get("platform"), build.get("dockerfile"))
    return f"{image_name}-{digest}", {
        "baseImageName": image_name,
        "repoDigest": f"{repo}@{digest}",
        "registryServer": (i.get("registry") or {}).get("server", m.registry),
        "dockerfile": build.get("dockerfile", "Dockerfile"),
        "context": build.get("context", "."),
    }


def _function(m: HarnessMocks, name: str, i: dict) -> tuple[str, dict]:
    """A function publishes version 1 when `publish` is set (its catalogue formats: $LATEST)."""
    resource_id, computed = catalogue_fill(catalogue.BY_TOKEN[FUNCTION])(m, name, i)
    if i.get("publish"):
        qualified = f"{computed['arn']}:1"
        invoke = computed["qualifiedInvokeArn"].replace(computed["qualifiedArn"], qualified)
        computed |= {"version": "1", "qualifiedArn": qualified, "qualifiedInvokeArn": invoke}
    return resource_id, computed


def _stage(m: HarnessMocks, name: str, i: dict) -> tuple[str, dict]:
    """The `$default` stage is invoked at the API's root (its catalogue format names the stage)."""
    resource_id, computed = catalogue_fill(catalogue.BY_TOKEN[STAGE])(m, name, i)
    if computed["name"] == "$default":
        computed["invokeUrl"] = computed["invokeUrl"].removesuffix("$default")
    return resource_id, computed


def _domain_name(m: HarnessMocks, name: str, i: dict) -> tuple[str, dict]:
    """The configuration gains the Regional target and its hosted zone (API Gateway v2 GetDomainName:
    DomainNameConfigurations[].ApiGatewayDomainName, HostedZoneId): outputs inside an input."""
    resource_id, computed = catalogue_fill(catalogue.BY_TOKEN[DOMAIN_NAME])(m, name, i)
    configuration = dict(i.get("domainNameConfiguration") or {})
    configuration |= {
        "targetDomainName": f"d-{fake_hex(resource_id, length=10)}.execute-api.{m.region}.amazonaws.com",
        "hostedZoneId": "Z" + fake_hex(m.region, length=13).upper(),
    }
    return resource_id, computed | {"domainNameConfiguration": configuration}


def _stack_reference(m: HarnessMocks, name: str, i: dict) -> tuple[str, dict]:
    stack = str(i.get("name") or name)
    if stack not in m.stack_references:
        raise AssertionError(f"no outputs given for StackReference {stack!r} (pass stack_references=)")
    return stack, {"name": stack, "outputs": dict(m.stack_references[stack]), "secretOutputNames": []}


def _command(m: HarnessMocks, name: str, i: dict) -> tuple[str, dict]:
    return f"{name}-{fake_hex(i.get('stdin'), length=8)}", {"stdout": "", "stderr": ""}


FUNCTION = "aws:lambda/function:Function"
STAGE = "aws:apigatewayv2/stage:Stage"
DOMAIN_NAME = "aws:apigatewayv2/domainName:DomainName"
# Every resource type of the catalogue, from its entry; where one output depends on an input in a way a
# format cannot say, a fill of its own; and the types of other providers.
FILLS: dict[str, Fill] = {entry.token: catalogue_fill(entry) for entry in catalogue.CATALOGUE} | {
    FUNCTION: _function,
    STAGE: _stage,
    DOMAIN_NAME: _domain_name,
    "docker:index/image:Image": _docker_image,
    "pulumi:pulumi:StackReference": _stack_reference,
    "command:local:Command": _command,
}


# --- invokes -----------------------------------------------------------------------------------------------
Call = Callable[["HarnessMocks", dict], "dict | tuple[dict, list[tuple[str, str]]]"]

CALLS: dict[str, Call] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda m, a: {
        "accountId": m.account,
        "arn": f"arn:{PARTITION}:iam::{m.account}:user/tester",
        "id": m.account,
        "userId": "AIDAEXAMPLEUSERID",
    },
    "aws:index/getRegion:getRegion": lambda m, a: {
        "name": m.region,
        "region": m.region,
        "id": m.region,
        "endpoint": f"ec2.{m.region}.amazonaws.com",
        "description": "Europe (Ireland)",
    },
    "aws:index/getPartition:getPartition": lambda m, a: {
        "partition": PARTITION,
        "id": PARTITION,
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda m, a: {
        "authorizationToken": "QVdTOm1vY2stcGFzc3dvcmQ=",
        "expiresAt": "2026-01-01T12:00:00Z",
        "id": m.region,
        "password": "mock-password",
        "proxyEndpoint": f"https://{m.registry}",
        "region": m.region,
        "registryId": a.get("registryId", m.account),
        "userName": "AWS",
    },
    "aws:ecr/getImages:getImages": lambda m, a: _ecr_images(m, a["repositoryName"]),
    "aws:iam/getPolicy:getPolicy": lambda m, a: _iam_policy(m, a["arn"]),
}


# What the real provider reports for ListImages of a missing repository: its aws_ecr_images data source wraps
# RepositoryNotFoundException in a retry.NotFoundError ("couldn't find resource"), and the bridge joins the
# diagnostic's summary and detail (see infra/registry.py).
MISSING_REPOSITORY = "reading ECR Images: couldn't find resource"


def _ecr_images(m: HarnessMocks, repository: str) -> dict | tuple[dict, list[tuple[str, str]]]:
    if repository not in m.ecr_images:
        return {}, [("repositoryName", MISSING_REPOSITORY)]
    return {
        "id": repository,
        "region": m.region,
        "registryId": m.account,
        "repositoryName": repository,
        "imageIds": [
            {"imageTag": tag, "imageDigest": digest} for tag, digest in m.ecr_images[repository].items()
        ],
    }


def missing_policy(arn: str) -> str:
    """What the real provider reports for GetPolicy of a missing policy: its aws_iam_policy data source wraps
    NoSuchEntityException in a retry.NotFoundError ("couldn't find resource"; see infra/function.py)."""
    return f"reading IAM Policy ({arn}): couldn't find resource"


def _iam_policy(m: HarnessMocks, arn: str) -> dict | tuple[dict, list[tuple[str, str]]]:
    if arn in m.missing_policies:
        return {}, [("arn", missing_policy(arn))]
    path_and_name = arn.split(":policy", 1)[1]
    path, name = path_and_name.rsplit("/", 1)
    return {
        "arn": arn,
        "id": arn,
        "name": name,
        "path": f"{path}/",
        "policyId": "ANPAEXAMPLEPOLICYID",
        "description": "",
        "attachmentCount": 0,
        "tags": {},
        "policy": json.dumps({"Version": "2012-10-17", "Statement": []}),
    }


class HarnessMocks(pulumi.runtime.Mocks):
    """Fills computed outputs (FILLS) and answers invokes (CALLS); any other invoke fails the test."""

    def __init__(
        self,
        account: str = ACCOUNT,
        region: str = REGION,
        stack_references: Mapping[str, Mapping[str, Any]] | None = None,
        extra_fills: Mapping[str, Fill] | None = None,
        extra_calls: Mapping[str, Call] | None = None,
        ecr_images: Mapping[str, Mapping[str, str]] | None = None,
        missing_policies: Iterable[str] = (),
    ):
        self.account = account
        self.region = region
        self.stack_references = dict(stack_references or {})
        self.ecr_images = {repository: dict(images) for repository, images in (ecr_images or {}).items()}
        self.missing_policies = frozenset(missing_policies)
        self.fills = FILLS | dict(extra_fills or {})
        self.handlers = CALLS | dict(extra_calls or {})
        self.calls: list[tuple[str, dict]] = []
        # what new_resource saw and answered last, per thread (the monitor reads it right after)
        self.last_registration = threading.local()

    @property
    def registry(self) -> str:
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        plain, _ = unwrap_secrets(dict(args.inputs))
        fill = self.fills.get(args.typ)
        if fill is None:
            resource_id, state = f"{args.name}-id", dict(args.inputs)
        else:
            resource_id, computed = fill(self, args.name, plain)
            state = dict(args.inputs) | {"id": resource_id} | computed
        self.last_registration.value = (args, resource_id, state)
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs):
        plain, _ = unwrap_secrets(dict(args.args))
        self.calls.append((args.token, plain))
        handler = self.handlers.get(args.token)
        if handler is None:
            raise AssertionError(f"the mocks answer no invoke {args.token!r}")
        return handler(self, plain)


@dataclass
class Registered:
    """One resource registration as the engine saw it."""

    typ: str
    name: str
    urn: str
    inputs: dict
    secret_paths: set[str]
    state: dict
    id: str | None
    custom: bool
    parent: str | None
    depends_on: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    state_secret_paths: set[str] = field(default_factory=set)


# --- the one place that reaches past the public mocks API ---------------------------------------------------
# `pulumi.runtime.Mocks.new_resource` receives a resource's type, name and inputs (public API: the records'
# inputs, state and id come from there), but not its options (parent, dependencies, protect, ignore changes,
# additional secret outputs) nor what a component passes to `register_outputs`. Those travel in the resource
# monitor's gRPC requests (RegisterResourceRequest, RegisterResourceOutputsRequest, ReadResourceRequest of
# pulumi/proto/resource.proto), which a MockMonitor subclass given to `set_mocks(monitor=...)` sees.
# tests/support/test_pulumi_harness.py::test_the_sdk_still_offers_what_the_harness_hooks_into fails, naming
# what changed, when an SDK upgrade moves any of this.
MONITOR_METHODS = ("RegisterResource", "RegisterResourceOutputs", "ReadResource")
REQUEST_OPTION_FIELDS = (
    "parent",
    "dependencies",
    "propertyDependencies",
    "protect",
    "ignoreChanges",
    "additionalSecretOutputs",
    "custom",
)


def _struct(message) -> dict:
    """A protobuf Struct of the monitor protocol as a plain dict (secrets still marked with SIG_KEY)."""
    return json_format.MessageToDict(message)


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, also recording each registration's options (parent, dependencies, ...)."""

    def __init__(self, mocks: HarnessMocks):
        super().__init__(mocks)
        self.harness_mocks = mocks
        self.records: list[Registered] = []
        self.registered_outputs: dict[str, dict] = {}  # component URN -> what register_outputs received
        self._lock = threading.Lock()

    def _answered(self, request) -> tuple[pulumi.runtime.MockResourceArgs, str, dict]:
        answered = getattr(self.harness_mocks.last_registration, "value", None)
        if answered is None or answered[0].name != request.name or answered[0].typ != request.type:
            raise AssertionError(
                f"the mock monitor did not pass {request.type} {request.name!r} to "
                "Mocks.new_resource as the harness expects (see RecordingMonitor)"
            )
        self.harness_mocks.last_registration.value = None
        return answered

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        args, resource_id, answered_state = self._answered(request)
        inputs, secrets = unwrap_secrets(dict(args.inputs))
        state, state_secrets = unwrap_secrets(dict(answered_state))
        record = Registered(
            typ=request.type,
            name=request.name,
            urn=response.urn,
            inputs=inputs,
            secret_paths=secrets,
            state=state,
            state_secret_paths=state_secrets,
            id=resource_id,
            custom=bool(request.custom),
            parent=request.parent or None,
            depends_on=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            protect=bool(request.protect),
            ignore_changes=list(request.ignoreChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
        )
        with self._lock:
            self.records.append(record)
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802 (gRPC method name)
        outputs = unwrap_secrets(_struct(request.outputs))[0]
        with self._lock:
            self.registered_outputs[request.urn] = outputs
        return super().RegisterResourceOutputs(request)

    def ReadResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().ReadResource(request)
        args, resource_id, answered_state = self._answered(request)
        with self._lock:
            self.records.append(
                Registered(
                    typ=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=unwrap_secrets(dict(args.inputs))[0],
                    secret_paths=set(),
                    state=unwrap_secrets(dict(answered_state))[0],
                    id=resource_id,
                    custom=True,
                    parent=request.parent or None,
                    depends_on=list(request.dependencies),
                    property_dependencies={},
                    protect=False,
                    ignore_changes=[],
                    additional_secret_outputs=[],
                )
            )
        return response


@dataclass
class ProgramRun:
    mocks: HarnessMocks
    monitor: RecordingMonitor
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def records(self) -> list[Registered]:
        return list(self.monitor.records)

    @property
    def resources(self) -> list[Registered]:
        return [r for r in self.records if not r.typ.startswith("pulumi:providers:")]

    @property
    def calls(self) -> list[tuple[str, dict]]:
        return list(self.mocks.calls)

    @property
    def registered_outputs(self) -> dict[str, dict]:
        return dict(self.monitor.registered_outputs)

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.records if r.typ == typ]

    def one(self, typ: str) -> Registered:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, found {len(found)}"
        return found[0]

    def named(self, name: str) -> Registered:
        found = [r for r in self.records if r.name == name]
        assert len(found) == 1, f"expected one resource named {name!r}, found {len(found)}"
        return found[0]

    def children_of(self, record: Registered) -> list[Registered]:
        return [r for r in self.records if r.parent == record.urn]

    def by_urn(self, urn: str) -> Registered:
        (found,) = [r for r in self.records if r.urn == urn]
        return found


def _cli_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _namespaced(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def project_config(project_file: Path, project: str) -> dict[str, str]:
    """The values the CLI takes from a Pulumi.yaml `config:` block (each key's `default`, or its `value`)."""
    declared = (yaml.safe_load(project_file.read_text()) or {}).get("config") or {}
    values = {}
    for key, spec in declared.items():
        if isinstance(spec, dict):
            if "value" in spec:
                values[_namespaced(key, project)] = _cli_value(spec["value"])
            elif "default" in spec:
                values[_namespaced(key, project)] = _cli_value(spec["default"])
        elif spec is not None:  # the short form `key: value`
            values[_namespaced(key, project)] = _cli_value(spec)
    return values


SECURE_PLACEHOLDER = "[secure value of the stack file]"


def _decrypted(value: Any) -> tuple[Any, bool]:
    """`value` with every `{secure: <ciphertext>}` replaced by a placeholder (the CLI would decrypt it), and
    whether there was one (the CLI then lists the whole key among the secret keys)."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECURE_PLACEHOLDER, True
    if isinstance(value, dict):
        pairs = {k: _decrypted(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        pairs = [_decrypted(v) for v in value]
        return [v for v, _ in pairs], any(s for _, s in pairs)
    return value, False


def stack_config(stack_file: Path, project: str) -> dict[str, str]:
    """The `config:` of a Pulumi.<stack>.yaml file, as the CLI passes it to the program (secure values as
    SECURE_PLACEHOLDER)."""
    return stack_config_and_secrets(stack_file, project)[0]


def stack_config_and_secrets(stack_file: Path, project: str) -> tuple[dict[str, str], set[str]]:
    """The `config:` of a stack file as the CLI passes it, and the keys the CLI marks secret."""
    declared = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    values, secrets = {}, set()
    for key, value in declared.items():
        plain, secret = _decrypted(value)
        values[_namespaced(key, project)] = _cli_value(plain)
        if secret:
            secrets.add(_namespaced(key, project))
    return values, secrets


@contextmanager
def _environment(env: Mapping[str, str | None] | None) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in (env or {})}
    try:
        for key, value in (env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_program(
    program: str | Path,
    config: Mapping[str, Any] | None = None,
    *,
    project: str,
    stack: str = "dev",
    project_file: str | Path | None = None,
    stack_file: str | Path | None = None,
    mocks: HarnessMocks | None = None,
    env: Mapping[str, str | None] | None = None,
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
    secrets: Iterable[str] = (),
) -> ProgramRun:
    """Run the program at `program` (a directory with __main__.py, or a file) once under fresh mocks.
    `secrets` are config keys the CLI would pass as secret (`pulumi config set --secret`)."""
    program = Path(program)
    mocks = mocks or HarnessMocks()
    mocks.stack_references.update(stack_references or {})
    monitor = RecordingMonitor(mocks)
    run = ProgramRun(mocks, monitor)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)

    program_dir = program if program.is_dir() else program.parent
    project_path = Path(project_file) if project_file else program_dir / "Pulumi.yaml"
    values = project_config(project_path, project) if project_path.exists() else {}
    secret_keys = {_namespaced(key, project) for key in secrets}
    if stack_file is not None:
        stack_values, stack_secrets = stack_config_and_secrets(Path(stack_file), project)
        values |= stack_values
        secret_keys |= stack_secrets
    for key, value in (config or {}).items():
        values[_namespaced(key, project)] = None if value is None else _cli_value(value)
    pulumi.runtime.set_all_config(
        {key: value for key, value in values.items() if value is not None}, sorted(secret_keys)
    )

    exported: dict[str, Any] = {}

    @pulumi.runtime.test
    def body():
        with mock.patch.object(pulumi, "export", side_effect=exported.__setitem__):
            runpy.run_path(str(program), run_name="__main__")
        return pulumi.Output.all(**exported).apply(run.outputs.update)

    try:
        with _environment(env):
            body()
    except BaseException as error:
        error.registered = run.records  # type: ignore[attr-defined]
        raise
    return run
