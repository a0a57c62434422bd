"""Evaluate IAM identity policies against concrete requests (action, resource ARN, condition context).

    decide(documents, "ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/app/token")
    -> "allow" | "deny" | "implicit deny"

The evaluation logic of the IAM User Guide ("Policy evaluation logic", single account, identity policies
only): an explicit Deny wins, then any Allow, else the implicit deny. Action, NotAction, Resource and
NotResource match with `*` and `?` wildcards (actions case-insensitively); conditions support the operators
the project's policies use (StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals, ArnLike,
ArnNotEquals, ArnNotLike, Bool, Null, and their ...IfExists forms); a key missing from the context fails
every operator but Null and the IfExists forms. Anything else raises, rather than guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _like(value: str, pattern: str) -> bool:
    return fnmatchcase(value, pattern.replace("[", "[[]"))


OPERATORS = {
    "StringEquals": lambda value, wanted: value == wanted,
    "StringLike": _like,
    "ArnEquals": _like,
    "ArnLike": _like,
    "Bool": lambda value, wanted: str(value).lower() == str(wanted).lower(),
}
NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals",
           "ArnNotLike": "ArnLike"}


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> bool:
    for operator, tests in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, wanted in tests.items():
            present = {k.lower(): v for k, v in context.items()}
            values = _list(present[key.lower()]) if key.lower() in present else None
            if base == "Null":
                if (values is None) != (str(wanted).lower() == "true"):
                    return False
                continue
            if values is None:
                if if_exists:
                    continue
                return False
            if base in NEGATED:
                test = OPERATORS[NEGATED[base]]
                if any(test(value, w) for value in values for w in _list(wanted)):
                    return False
            elif base in OPERATORS:
                if not any(OPERATORS[base](value, w) for value in values for w in _list(wanted)):
                    return False
            else:
                raise ValueError(f"condition operator {operator} is not supported by this evaluator")
    return True


def _matches(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, Any]) -> bool:
    if "Action" in statement:
        action_ok = any(fnmatchcase(action.lower(), p.lower()) for p in _list(statement["Action"]))
    else:
        action_ok = not any(fnmatchcase(action.lower(), p.lower()) for p in _list(statement["NotAction"]))
    if "Resource" in statement:
        resource_ok = any(_like(resource, pattern) for pattern in _list(statement["Resource"]))
    else:
        resource_ok = not any(_like(resource, pattern) for pattern in _list(statement["NotResource"]))
    return action_ok and resource_ok and _condition_holds(statement.get("Condition") or {}, context)


def decide(documents: Iterable[Mapping[str, Any]] | Mapping[str, Any], action: str, resource: str,
           context: Mapping[str, Any] | None = None) -> str:
    """"allow", "deny" (an explicit Deny matched) or "implicit deny" for `action` on `resource`."""
    documents = [documents] if isinstance(documents, Mapping) else list(documents)
    statements = [s for document in documents for s in _list(document["Statement"])]
    matching = [s for s in statements if _matches(s, action, resource, context or {})]
    if any(s["Effect"] == "Deny" for s in matching):
        return "deny"
    return "allow" if any(s["Effect"] == "Allow" for s in matching) else "implicit deny"
