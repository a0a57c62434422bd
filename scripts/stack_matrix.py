#!/usr/bin/env python3
"""List the Pulumi stacks of container-lambda with the build platform and GitHub runner of each.

A stack is a `Pulumi.<stack>.yaml` file at the repository root. Its function architecture is the stack's
`container-lambda:architecture` value, else the default declared in `Pulumi.yaml`. The workflows build the
image on a runner of that architecture, so no emulation is needed.

The image is built from the stack's `container-lambda:dockerfile` (default from `Pulumi.yaml`, else
function/Dockerfile), which must be a file inside function/.

Prints GitHub step outputs (append to $GITHUB_OUTPUT), NAME being --name (default `stacks`):
  NAME=<JSON list of {stack, architecture, platform, runner, dockerfile}>   selected stacks, `dev` first
  NAME-count=<number of selected stacks>
  NAME-builds=<JSON list of the distinct {architecture, platform, runner, dockerfile}>

usage: stack_matrix.py [--root DIR] [--name NAME] [--only STACK ... | --exclude STACK ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

import yaml

PROJECT = "container-lambda"
FIRST_STACK = "dev"
DEFAULT_DOCKERFILE = "function/Dockerfile"
STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[^.]+)\.ya?ml$")
# Lambda architecture -> (docker platform, GitHub-hosted runner of that CPU architecture)
ARCHITECTURES = {
    "arm64": ("linux/arm64", "ubuntu-24.04-arm"),
    "x86_64": ("linux/amd64", "ubuntu-24.04"),
}


class StackError(Exception):
    """A stack file or the project file cannot give a valid architecture."""


@dataclass(frozen=True)
class Stack:
    stack: str
    architecture: str
    platform: str
    runner: str
    dockerfile: str


def _load(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise StackError(f"{path.name}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise StackError(f"{path.name}: expected a mapping at the top level")
    return data


def _config_value(config: object, key: str) -> object:
    """A config value under `container-lambda:<key>` or the project-local short form `<key>`."""
    if not isinstance(config, dict):
        return None
    for name in (f"{PROJECT}:{key}", key):
        if name in config:
            return config[name]
    return None


def project_default(root: Path, key: str) -> object:
    project_file = root / "Pulumi.yaml"
    if not project_file.is_file():
        raise StackError(f"{project_file} not found")
    declared = _config_value(_load(project_file).get("config"), key)
    if isinstance(declared, dict):  # {type, description, default}
        return declared.get("default")
    return declared


def stack_names(root: Path) -> list[str]:
    names = []
    for path in root.iterdir():
        match = STACK_FILE.match(path.name)
        if not match or not path.is_file():
            continue
        name = match["stack"]
        if not STACK_NAME.match(name):
            raise StackError(f"{path.name}: stack name {name!r} must match {STACK_NAME.pattern}")
        names.append(name)
    return sorted(names, key=lambda name: (name != FIRST_STACK, name))


def describe(root: Path, name: str) -> Stack:
    files = [root / f"Pulumi.{name}.yaml", root / f"Pulumi.{name}.yml"]
    stack_file = next((path for path in files if path.is_file()), None)
    if stack_file is None:
        raise StackError(f"stack {name!r} has no Pulumi.{name}.yaml in {root}")
    architecture = _config_value(_load(stack_file).get("config"), "architecture")
    if architecture is None:
        architecture = project_default(root, "architecture")
    if architecture not in ARCHITECTURES:
        raise StackError(
            f"stack {name!r}: architecture {architecture!r} is not one of {', '.join(sorted(ARCHITECTURES))}"
            " (set container-lambda:architecture in the stack file or its default in Pulumi.yaml)"
        )
    platform, runner = ARCHITECTURES[architecture]
    dockerfile = _config_value(_load(stack_file).get("config"), "dockerfile")
    if dockerfile is None:
        dockerfile = project_default(root, "dockerfile") or DEFAULT_DOCKERFILE
    parts = PurePosixPath(str(dockerfile)).parts
    if not isinstance(dockerfile, str) or len(parts) < 2 or parts[0] != "function" or ".." in parts:
        raise StackError(f"stack {name!r}: dockerfile {dockerfile!r} must be a path inside function/")
    return Stack(name, architecture, platform, runner, str(PurePosixPath(dockerfile)))


def select(root: Path, only: list[str] | None = None, exclude: list[str] | None = None) -> list[Stack]:
    names = stack_names(root)
    for wanted in only or []:
        if wanted not in names:
            raise StackError(f"stack {wanted!r} not found (stacks: {', '.join(names) or 'none'})")
    chosen = [n for n in names if (not only or n in only) and n not in (exclude or [])]
    return [describe(root, name) for name in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--name", default="stacks", help="name of the step output")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--only", action="append", metavar="STACK")
    group.add_argument("--exclude", action="append", metavar="STACK")
    args = parser.parse_args(argv)
    try:
        stacks = select(args.root, args.only, args.exclude)
    except StackError as exc:
        print(f"stack_matrix: {exc}", file=sys.stderr)
        return 1
    builds = []
    for stack in stacks:
        build = {key: value for key, value in asdict(stack).items() if key != "stack"}
        if build not in builds:
            builds.append(build)
    print(f"{args.name}=" + json.dumps([asdict(stack) for stack in stacks], separators=(",", ":")))
    print(f"{args.name}-count={len(stacks)}")
    print(f"{args.name}-builds=" + json.dumps(builds, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
