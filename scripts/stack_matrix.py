"""The architecture, platform and Dockerfile of a stack: its Pulumi.<stack>.yaml, with the defaults of
Pulumi.yaml (PyYAML, in the project's venv). The local tools use it (scripts/local.py: `make local-run` builds
for the default stack's platform). Which value wins, and what each architecture is called by Docker, OCI and
GitHub, is infra/architecture.py's (the workflows ask it too: scripts/pipeline.sh stacks). The program itself
validates every key (infra/config.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.architecture import ArchitectureError, of_stack
from infra.project import STACK_NAME_RULE, is_stack_name, stack_setting

DEFAULT_DOCKERFILE = "function/Dockerfile"


class StackError(Exception):
    """A stack file or the project file cannot give a valid value."""


@dataclass(frozen=True)
class Stack:
    stack: str
    architecture: str
    platform: str
    dockerfile: str


def _config(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StackError(f"{path.name}: cannot read ({exc})") from exc
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else {}


def describe(root: Path, name: str) -> Stack:
    """The stack `name` of the project in `root`. Raises StackError naming the file and the value."""
    if not is_stack_name(name):
        raise StackError(f"stack name {name!r} is not allowed: {STACK_NAME_RULE}")
    stack_file = root / f"Pulumi.{name}.yaml"
    if not stack_file.is_file():
        raise StackError(f"stack {name!r} has no {stack_file.name} in {root}")
    config, project_config = _config(stack_file), _config(root / "Pulumi.yaml")
    try:
        architecture = of_stack(name, project_config, config)
    except ArchitectureError as error:
        raise StackError(str(error)) from None
    dockerfile = stack_setting("dockerfile", project_config, config) or DEFAULT_DOCKERFILE
    return Stack(name, architecture.name, architecture.platform, str(dockerfile))
