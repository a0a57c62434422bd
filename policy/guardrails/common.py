"""Helpers shared by the policies: reading the engine's property maps, IAM documents, stacks and config.

Resource properties arrive as the engine sends them: camelCase input names, maps and lists wrapped in the
SDK's read-only proxies (`Mapping` / `Sequence`, not `dict` / `list`), and values that are unknown during a
preview raise `UnknownValueError` when read. `lookup` turns such a value into `UNKNOWN`, so a policy can
pass it during the preview; the engine runs the policy again during the update, when every value is known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

# Re-exported to the policies: the admin-like rule shared with the config key extraPolicyArns and the
# project's name (infra/: standard library only), which
# policy/venv has on its path (`python -m infra.project link-library`, run by scripts/pipeline.sh prepare and
# scripts/deploy.sh after the pack's install).
from infra.iam_rules import admin_like_problem as admin_like_problem
from infra.project import PROJECT as PROJECT  # the one place: the `name` of Pulumi.yaml


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
"""A value the engine cannot know before the update (for example an ARN of a resource not created yet)."""

# Production is declared, not inferred from a stack's name: the stack config `environmentClass`
# (infra/config.py) becomes the tag EnvironmentClass on every taggable resource (infra/tags.py). For
# resources that take no tags (a Lambda function URL, which this program does not create), the pack's own
# config `environmentClass` says it (default non-production); neither the workflows nor scripts/deploy.sh
# pass one, so a stack that adds such a resource passes `--policy-pack-config` itself (docs/config.md).
ENVIRONMENT_CLASS_TAG = "EnvironmentClass"
PRODUCTION = "production"
ENVIRONMENT_CLASS_SCHEMA = {
    "environmentClass": {
        "type": "string",
        "enum": ["production", "non-production"],
        "default": "non-production",
        "description": "The stack's environmentClass, for resources without an EnvironmentClass tag.",
    },
}

_URN = re.compile(r"^urn:pulumi:(?P<stack>[^:]+)::(?P<project>[^:]+)::")


def lookup(props: Mapping[str, Any] | None, *path: str | int) -> Any:
    """The value at `path` in `props` as plain dicts and lists; None when a step is missing, UNKNOWN when the
    value, or any part of it, is unknown until the update."""
    value: Any = props
    try:
        for step in path:
            if isinstance(step, int):
                if not is_list(value) or step >= len(value):
                    return None
            elif not isinstance(value, Mapping) or step not in value:
                return None
            value = value[step]
    except UnknownValueError:
        return UNKNOWN
    return known_plain(value)


def number(value: Any) -> float | None:
    """A numeric property as a float (the engine sends every number as one), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_list(value: Any) -> list[Any]:
    """An IAM-style "one or many" value as a list (None -> [])."""
    if value is None:
        return []
    return list(value) if is_list(value) else [value]


def plain(value: Any) -> Any:
    """A deep copy of `value` with the SDK's proxies turned into dicts and lists (raises on unknowns)."""
    if isinstance(value, Mapping):
        return {key: plain(value[key]) for key in value}
    if is_list(value):
        return [plain(item) for item in value]
    return value


def known_plain(value: Any) -> Any:
    """`plain(value)`, or UNKNOWN when any part of it is unknown."""
    try:
        return plain(value)
    except UnknownValueError:
        return UNKNOWN


def stack_from_urn(urn: str) -> str | None:
    match = _URN.match(urn or "")
    return match.group("stack") if match else None


def stack_of(props: Mapping[str, Any], urn: str) -> str | None:
    """The stack a resource belongs to: its `Stack` tag, else the stack in its URN."""
    tag = lookup(props, "tags", "Stack")
    if isinstance(tag, str) and tag:
        return tag
    return stack_from_urn(urn)


def is_production(props: Mapping[str, Any], urn: str, config: Mapping[str, Any] | None) -> bool:
    """Whether the resource belongs to a production stack: its EnvironmentClass tag says so, or, when it has
    no such tag, the pack's `environmentClass` config does."""
    tag = lookup(props, "tags", ENVIRONMENT_CLASS_TAG)
    if isinstance(tag, str) and tag:
        return tag == PRODUCTION
    return (config or {}).get("environmentClass") == PRODUCTION


# --- IAM documents ------------------------------------------------------------------------------------------


class PolicyDocumentError(ValueError):
    """An IAM document that is not JSON or has no statements."""


def parse_document(value: Any) -> dict[str, Any] | None:
    """An IAM document given as a JSON string or a map; None when unknown or absent."""
    if value is None or value is UNKNOWN:
        return None
    value = known_plain(value)
    if value is UNKNOWN:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError as error:
            raise PolicyDocumentError(f"the policy document is not valid JSON ({error})") from error
    if not isinstance(value, dict) or "Statement" not in value:
        raise PolicyDocumentError("the policy document has no Statement")
    return value


def statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for statement in as_list(document.get("Statement")):
        if isinstance(statement, dict):
            yield statement


def allows(statement: dict[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def label(statement: dict[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if sid else f"statement #{index + 1}"


def principals(statement: dict[str, Any]) -> dict[str, list[str]]:
    """The statement's Principal as {kind: [values]}; the bare "*" principal is {"*": ["*"]}."""
    principal = statement.get("Principal")
    if principal is None:
        return {}
    if isinstance(principal, str):
        return {"*": [principal]} if principal == "*" else {"AWS": [principal]}
    return {kind: [str(value) for value in as_list(values)] for kind, values in principal.items()}


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def message(problem: str, fix: str) -> str:
    return f"{problem}. Fix: {fix}"
