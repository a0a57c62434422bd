"""A Lambda architecture and the names the other tools give the same CPU: the one table of them.

| Lambda (`Architectures`) | OCI image config `architecture` | Docker platform | GitHub-hosted runner |
| ------------------------ | ------------------------------- | --------------- | -------------------- |
| `arm64`                  | `arm64`                         | `linux/arm64`   | `ubuntu-24.04-arm`   |
| `x86_64`                 | `amd64`                         | `linux/amd64`   | `ubuntu-24.04`       |

Sources, each name checked in two places:
- Lambda: the Lambda API reference, CreateFunction `Architectures` ("Valid Values: x86_64 | arm64"); the same
  two in the AWS CDK (aws-lambda `lib/architecture.ts`: `X86_64 = new Architecture('x86_64', 'linux/amd64')`,
  `ARM_64 = new Architecture('arm64', 'linux/arm64')`).
- OCI: the OCI image spec, config.md `architecture` ("SHOULD use ... values listed in the Go Language document
  for GOARCH": amd64, arm64); containerd's platforms package (specifiers `<os>/<arch>`, e.g. `linux/amd64`).
- Runners: GitHub Docs, "GitHub-hosted runners reference" (standard runners: `ubuntu-24.04` is x64,
  `ubuntu-24.04-arm` arm64); GitHub changelog 2025-01-16, "Linux arm64 hosted runners now available for free
  in public repositories" (label `ubuntu-24.04-arm`).

Standard library only, so the workflows' bare runners run it too (scripts/pipeline.sh):

    python3 -m infra.architecture show ARCHITECTURE
        one architecture as a JSON object: {"name", "oci", "platform", "runner"}
    python3 -m infra.architecture list
        every architecture, a JSON array of such objects (a job matrix)
    python3 -m infra.architecture stack STACK PROJECT_CONFIG STACK_CONFIG
        the stack's architecture as a JSON object, from the `config` maps of Pulumi.yaml and
        Pulumi.<stack>.yaml given as JSON (the stack's value, else the project's default)

An architecture that is not in the table exits 2 with a message naming the value and the allowed ones.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from infra.project import stack_setting

OS = "linux"  # Lambda runs Linux images only
USAGE = (
    "usage: python3 -m infra.architecture show ARCHITECTURE | list | stack STACK PROJECT_CONFIG STACK_CONFIG"
)


class ArchitectureError(ValueError):
    """A value that is not a Lambda architecture of the table."""


@dataclass(frozen=True)
class Architecture:
    """One CPU under its names: `name` Lambda's, `oci` the image config's, `runner` GitHub's runner label."""

    name: str
    oci: str
    runner: str

    @property
    def platform(self) -> str:
        """The Docker platform (`docker build --platform`): `linux/<oci>`."""
        return f"{OS}/{self.oci}"

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "oci": self.oci, "platform": self.platform, "runner": self.runner}


ARCHITECTURES: Mapping[str, Architecture] = MappingProxyType(
    {
        architecture.name: architecture
        for architecture in (
            Architecture(name="arm64", oci="arm64", runner="ubuntu-24.04-arm"),
            Architecture(name="x86_64", oci="amd64", runner="ubuntu-24.04"),
        )
    }
)


def architecture(name: object) -> Architecture:
    """The architecture Lambda calls `name`. Raises ArchitectureError naming the value and the allowed ones."""
    if isinstance(name, str) and name in ARCHITECTURES:
        return ARCHITECTURES[name]
    raise ArchitectureError(f"architecture {name!r} is not one of {', '.join(ARCHITECTURES)}")


def of_stack(
    stack: str, project_config: Mapping[str, object], stack_config: Mapping[str, object]
) -> Architecture:
    """The architecture of `stack`: its `architecture` setting, else Pulumi.yaml's default (the `config` maps
    of Pulumi.yaml and Pulumi.<stack>.yaml). Raises ArchitectureError naming the stack and the value."""
    value = stack_setting("architecture", project_config, stack_config)
    try:
        return architecture(value)
    except ArchitectureError as error:
        raise ArchitectureError(f"stack {stack}: {error}") from None


def config_map(text: str) -> Mapping[str, object]:
    value = json.loads(text)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ArchitectureError(f"a config must be a JSON object, not {text!r}")
    return value


def main(argv: list[str]) -> int:
    try:
        if argv == ["list"]:
            print(json.dumps([each.as_json() for each in ARCHITECTURES.values()]))
        elif len(argv) == 2 and argv[0] == "show":
            print(json.dumps(architecture(argv[1]).as_json()))
        elif len(argv) == 4 and argv[0] == "stack":
            print(json.dumps(of_stack(argv[1], config_map(argv[2]), config_map(argv[3])).as_json()))
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except (ArchitectureError, json.JSONDecodeError) as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
