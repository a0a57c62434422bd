"""The architecture, platform and Dockerfile of a stack: its Pulumi.<stack>.yaml, with the defaults of
Pulumi.yaml (PyYAML, in the project's venv). The local tools use it (scripts/local.py: `make local-run` builds
for the default stack's platform); the workflows read the same keys on a bare runner with yq
(scripts/pipeline.sh stacks). The program itself validates every key (infra/config.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from infra.project import PROJECT, STACK_NAME_RULE, is_stack_name

# Lambda architecture -> Docker platform (OCI image spec architecture names)
PLATFORMS = {"arm64": "linux/arm64", "x86_64": "linux/amd64"}
DEFAULT_DOCKERFILE = "function/Dockerfile"


class StackError(Exception):
    """A stack file or the project file cannot give a valid value."""


@dataclass(frozen=True)
class Stack:
    stack: str
    architecture: str
    platform: str
    dockerfile: str


def _config(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StackError(f"{path.name}: cannot read ({exc})") from exc
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else {}


def _value(root: Path, stack_config: dict, key: str) -> object:
    for name in (f"{PROJECT}:{key}", key):
        if name in stack_config:
            return stack_config[name]
    declared = _config(root / "Pulumi.yaml").get(key)
    return declared.get("default") if isinstance(declared, dict) else declared


def describe(root: Path, name: str) -> Stack:
    """The stack `name` of the project in `root`. Raises StackError naming the file and the value."""
    if not is_stack_name(name):
        raise StackError(f"stack name {name!r} is not allowed: {STACK_NAME_RULE}")
    stack_file = root / f"Pulumi.{name}.yaml"
    if not stack_file.is_file():
        raise StackError(f"stack {name!r} has no {stack_file.name} in {root}")
    config = _config(stack_file)
    architecture = _value(root, config, "architecture")
    if architecture not in PLATFORMS:
        allowed = ", ".join(PLATFORMS)
        raise StackError(f"stack {name!r}: architecture {architecture!r} is not one of {allowed}")
    dockerfile = _value(root, config, "dockerfile") or DEFAULT_DOCKERFILE
    return Stack(name, str(architecture), PLATFORMS[str(architecture)], str(dockerfile))
