"""The project's identity: its name (the one place is `name:` in Pulumi.yaml) and the stack-name rule.

Everything that names AWS resources, tags, bootstrap roles, the KMS alias or the policy pack derives from
`PROJECT`; renaming the service is one edit of Pulumi.yaml. This module imports nothing outside the standard
library, so the workflows' bare runners can use it too:

    python3 -m infra.project name           # prints the project name
    python3 -m infra.project stack NAME     # exits 2 with the rule when NAME is not a valid stack name
    python3 -m infra.project prefix NAME    # prints `<project>-<NAME>`, the name of the stack's function, ...
    VENV/bin/python -m infra.project link-library
        # puts the repository root on VENV's path (policy/venv: scripts/pipeline.sh, scripts/deploy.sh)
"""

from __future__ import annotations

import re
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILE = ROOT / "Pulumi.yaml"

# A top-level `name: <value>` line of Pulumi.yaml (tests/infra/test_project.py checks it against PyYAML).
# Any value, so that a name outside the rule reaches the rule's message (is_project_name).
_NAME_LINE = re.compile(r"^name:[ \t]*(['\"]?)(.*?)\1[ \t]*(?:[ \t]#.*)?$", re.MULTILINE)

# Stack names: lowercase ASCII words joined by single hyphens, at most 31 characters, so that
# `<project>-<stack>` stays a valid ECR repository, Lambda function and IAM role name.
STACK_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
STACK_NAME_MAX = 31
STACK_NAME_RULE = (
    f"1–{STACK_NAME_MAX} lowercase letters and digits in words joined by single hyphens (e.g. dev, prod-eu)"
)


# Project names: the same words, every length checked by the names derived from it (infra/catalogue.py
# name_limit_problems). `<project>-…` must be a valid name everywhere AWS takes it: botocore's shapes allow
# ECR RepositoryName `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` (lowercase only), Lambda FunctionName `[a-zA-Z0-9-_]+`
# (no "."), IAM roleNameType `[\w+=,.@-]+`; S3 bucket names (the state bucket `<project>-state-…`, Amazon S3
# User Guide, "General purpose bucket naming rules") take lowercase letters, digits, "." and "-" only (no "_").
# The project's name is its config namespace (`<project>:<key>`), so it cannot be one the program reads as
# the providers' or the engine's (infra/config.py).
OTHER_NAMESPACES = frozenset({"aws", "docker", "pulumi"})
PROJECT_NAME_RULE = (
    "lowercase letters and digits in words joined by single hyphens (e.g. orders, orders-api), other than "
    f"{', '.join(sorted(OTHER_NAMESPACES))} (the config namespaces of the providers and the engine)"
)


def is_project_name(name: str) -> bool:
    """True when `name` is a project name every derived AWS name accepts and no other config namespace
    (ASCII only; lengths not checked)."""
    return name.isascii() and STACK_NAME.fullmatch(name) is not None and name not in OTHER_NAMESPACES


def project_name(path: Path = PROJECT_FILE) -> str:
    """The `name` of the Pulumi project in `path`. Raises ValueError when the file has no such line."""
    match = _NAME_LINE.search(path.read_text(encoding="utf-8"))
    if not match or not match.group(2):
        raise ValueError(f"{path}: no top-level `name:` line")
    return match.group(2)


PROJECT = project_name()


def is_stack_name(name: str) -> bool:
    """True when `name` follows the stack-name rule (ASCII only)."""
    return len(name) <= STACK_NAME_MAX and name.isascii() and STACK_NAME.fullmatch(name) is not None


def prefix_for(stack: str) -> str:
    """`<project>-<stack>`: the name of the stack's function, repository, role and log groups."""
    return f"{PROJECT}-{stack}"


def stack_setting(
    key: str, project_config: Mapping[str, object], stack_config: Mapping[str, object]
) -> object:
    """The value of the project's config `key` for a stack, as the CLI resolves it: `<project>:<key>` (or the
    bare `key`) of the stack's `config` map (Pulumi.<stack>.yaml), else the `default` of `key` in the project's
    `config` map (Pulumi.yaml); None when neither gives one."""
    for name in (f"{PROJECT}:{key}", key):
        if name in stack_config:
            return stack_config[name]
    declared = project_config.get(key)
    return declared.get("default") if isinstance(declared, Mapping) else declared


def link_library() -> Path:
    """Put the repository root, the platform's library (pyproject.toml), on the running interpreter's path: a
    .pth file in its site-packages, which `site` reads at start-up (Python docs, `site`: "path configuration
    files"), as an editable install writes one. For a venv filled by a hash-pinned install (policy/venv),
    which takes no local project. Returns the file written."""
    target = Path(sysconfig.get_paths()["purelib"]) / "platform-library.pth"
    target.write_text(f"{ROOT}\n", encoding="utf-8")
    return target


def main(argv: list[str]) -> int:
    if argv == ["name"]:
        print(PROJECT)
        return 0
    if argv == ["link-library"]:
        print(f"{link_library()}: {ROOT}")
        return 0
    if len(argv) == 2 and argv[0] == "prefix" and is_stack_name(argv[1]):
        print(prefix_for(argv[1]))
        return 0
    if len(argv) == 2 and argv[0] == "stack":
        if is_stack_name(argv[1]):
            return 0
        print(f"stack name {argv[1]!r} is not allowed: {STACK_NAME_RULE}", file=sys.stderr)
        return 2
    print("usage: python3 -m infra.project name | stack NAME | prefix NAME | link-library", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
