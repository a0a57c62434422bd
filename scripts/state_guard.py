"""Refuse a stack's state that would make the engine run code, or reach a host, the program never declared.

    pulumi stack export --stack STACK | python3 -m scripts.state_guard STACK

Whoever can write a stack's state (its deploy role: the state bucket) could plant entries that the next engine
run of that stack acts on with the job's credentials and tokens:
- a `command:local:Command` whose `delete` command the engine runs on deleting or replacing it (pulumi-command
  `provider/pkg/provider/local/commandController.go`: `Delete` runs `Delete` of the resource's state);
- an entry whose `type` names one thing while its URN names another: the engine sends the URN's type to the
  provider the entry names (pulumi/pulumi `pkg/resource/deploy/step.go`, DeleteStep), and pulumi-go-provider
  dispatches on the URN's type without its package (`middleware/dispatch/dispatch.go`);
- a provider entry whose settings make it start a program or reach a host (the docker provider's `host:
  ssh://…` with `sshOpts`, which reach `ssh`; any provider's `pluginDownloadURL`), used by a refresh or a delete.

So every entry must be what this program writes, an allowlist: its `type` is its URN's type; that type is one
the program registers (the catalogue's stack resources, the command that runs the deployment, the program's
components, the stack, a stack reference, the aws, docker and command providers); a resource names a provider
of its own package; command resources carry no `delete`; provider entries carry only the settings the program
gives them (docker: `registryAuth` with addresses only; command: none) and no `pluginDownloadURL`.

Run right before every engine run of a state a deploy role may write (scripts/pipeline.sh, scripts/deploy.sh).
It cannot stop a writer that races between this check and the engine's read of the state.

Input: the JSON of `pulumi stack export` (an untyped deployment: {"version": 3, "deployment": {"resources":
[...]}}, resources as Pulumi's `apitype` ResourceV3, sdk/go/common/apitype/resources.json). Exit status 0 when
every entry is allowed; 1 naming each one that is not; 2 when the input is not an exported deployment.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from infra.catalogue import CATALOGUE, STACK
from infra.project import PROJECT

COMMAND = "command:local:Command"
PROVIDER_PREFIX = "pulumi:providers:"
COMPONENT_PREFIX = f"{PROJECT}:infra:"
# Types of the program besides the catalogue's AWS resources (tests/pipeline/test_state_guard.py holds every
# type the program registers in every configuration to this set).
OTHER_TYPES = frozenset({COMMAND, "pulumi:pulumi:Stack", "pulumi:pulumi:StackReference"})
# Provider settings the program gives (infra/registry.py: the docker provider's registry addresses); the aws
# provider's come from the stack's `aws:` config, so only a plugin download is refused there.
PROVIDER_SETTINGS: Mapping[str, frozenset[str] | None] = {
    "aws": None,
    "docker": frozenset({"version", "registryAuth"}),
    "command": frozenset({"version"}),
    "pulumi": frozenset({"version"}),  # the engine's built-in provider (stack references)
}


def allowed_types() -> frozenset[str]:
    """The resource types the program registers (not its components and providers: by prefix)."""
    return frozenset(entry.token for entry in CATALOGUE if STACK in entry.owners) | OTHER_TYPES


def urn_type(urn: str) -> str:
    """The resource type a URN names: `urn:pulumi:<stack>::<project>::<parent types $ type>::<name>`."""
    parts = urn.split("::")
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        raise ValueError(f"{urn!r} is not a resource URN")
    return parts[2].split("$")[-1]


def _provider_problem(resource: Mapping[str, Any], package: str) -> str | None:
    if package not in PROVIDER_SETTINGS:
        return f"a provider of the package {package!r}, which the program does not use"
    inputs, outputs = resource.get("inputs") or {}, resource.get("outputs") or {}
    for properties in (inputs, outputs):
        internal = properties.get("__internal") or {}
        if "pluginDownloadURL" in properties or (
            isinstance(internal, Mapping) and "pluginDownloadURL" in internal
        ):
            return "a provider with a pluginDownloadURL"
    allowed = PROVIDER_SETTINGS[package]
    if allowed is not None:
        extra = sorted(set(inputs) - allowed - {"__internal"})
        if extra:
            return f"a {package} provider with settings the program never gives: {', '.join(extra)}"
        if package == "docker":
            auths = inputs.get("registryAuth")
            entries = json.loads(auths) if isinstance(auths, str) else auths or []
            if not isinstance(entries, list) or any(set(entry) - {"address"} for entry in entries):
                return "a docker provider with registry settings other than addresses"
    return None


def problem_of(resource: Mapping[str, Any], types: frozenset[str]) -> str | None:
    """Why one state entry is not one the program writes (None when it is)."""
    urn, kind = str(resource.get("urn", "")), resource.get("type")
    named = urn_type(urn)
    if kind != named:
        return f"its type {kind!r} is not its URN's {named!r}"
    if kind.startswith(PROVIDER_PREFIX):
        return _provider_problem(resource, kind.removeprefix(PROVIDER_PREFIX))
    if kind.startswith(COMPONENT_PREFIX) or kind == "pulumi:pulumi:Stack":
        return "a component that claims a provider" if resource.get("custom") else None
    if kind not in types:
        return f"a resource of the type {kind!r}, which the program never registers"
    provider = str(resource.get("provider", ""))
    if provider and urn_type(provider.rsplit("::", 1)[0]) != f"{PROVIDER_PREFIX}{kind.split(':')[0]}":
        return f"a {kind} resource that names the provider {provider!r} of another package"
    if kind == COMMAND:
        for part in ("outputs", "inputs"):
            if (resource.get(part) or {}).get("delete") not in (None, ""):
                return f"its {part} carry a `delete` command, which the engine would run; the program declares none"
    return None


def problems(exported: Mapping[str, Any]) -> list[str]:
    """Each entry of the exported deployment the program never writes, as a sentence naming its URN. Raises
    ValueError when `exported` is not an exported deployment."""
    deployment = exported.get("deployment")
    if not isinstance(deployment, Mapping):
        raise ValueError("not the JSON of `pulumi stack export` (no `deployment` object)")
    resources = deployment.get("resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, Mapping) for r in resources):
        raise ValueError("the deployment's `resources` is not a list of resources")
    types = allowed_types()
    found = []
    for resource in resources:
        problem = problem_of(resource, types)
        if problem:
            found.append(f"{resource.get('urn')}: {problem}")
    return found


def main(argv: list[str]) -> int:
    stack = argv[0] if argv else "the stack"
    try:
        found = problems(json.load(sys.stdin))
    except (ValueError, AttributeError, TypeError) as exc:
        print(f"state_guard: {stack}: {exc}", file=sys.stderr)
        return 2
    for problem in found:
        print(f"state_guard: {stack}: {problem}", file=sys.stderr)
    if found:
        print(
            f"state_guard: {stack}: refused before the engine runs: the state holds what the program never "
            "writes; restore it from a known-good version (the state bucket keeps versions) and find who wrote "
            "it (CloudTrail's S3 data events)",
            file=sys.stderr,
        )
        return 1
    print(f"state_guard: {stack}: every entry of the state is one the program writes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
