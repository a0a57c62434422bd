"""The AWS permissions the function declares it needs, the rules they keep, and the copy a platform
administrator approved (standard library only: the program, the bootstrap and the policy pack share it).

`function/permissions.json` (optional) is an IAM policy document of the statements the function's code needs
beyond its logs, traces and secretEnvironment reads, for example reading one S3 bucket:

    {"Version": "2012-10-17", "Statement": [
      {"Sid": "ReadOrders", "Effect": "Allow", "Action": ["s3:GetObject"],
       "Resource": ["arn:{partition}:s3:::orders-{stack}/*"]}]}

`{partition}`, `{region}`, `{account}`, `{stack}` and `{project}` in a Resource or Condition value become the
stack's own. The program adds each statement to the execution role's inline policy (Sid `Declared<Sid>`),
under the stack's permissions boundary. The boundary, which the bootstrap creates, admits exactly the
statements of `bootstrap/function-permissions.json`, the reviewed copy a platform administrator approved: a
pull request that widens the function's permissions shows in that file's diff, and until it is approved the
policy pack's `function-permissions-approved` refuses the role (and the boundary would deny the calls).

Every statement must (each violation is named, all at once):
- be an Allow with a unique Sid of letters and digits, and only Sid, Effect, Action, Resource and Condition;
- name each action `service:Action` without a wildcard, none of IAM or STS, and of KMS only the use of a key
  (`KMS_USE_ACTIONS`), never its administration;
- name each resource by an ARN of the stack's partition, of its region or none, of its account or none,
  without a wildcard, except the objects of one S3 bucket (or under one prefix of it): `arn:...:s3:::bucket/*`.

    load_statements(path) -> list[dict]                  the statements as written (PermissionsError)
    render(statements, scope) -> list[dict]              placeholders filled, the scope checked (PermissionsError)
    unapproved(declared, approved, stack) -> list[str]   each declared statement (rendered) that the
                                                         approved ones (as written) do not cover
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.project import PROJECT

ROOT = Path(__file__).resolve().parents[1]
PERMISSIONS_FILE = "permissions.json"  # in the function's directory
DECLARED = ROOT / "function" / PERMISSIONS_FILE
APPROVED = ROOT / "bootstrap" / "function-permissions.json"
SID_PREFIX = "Declared"  # the Sid of a declared statement in the execution role's inline policy
STATEMENT_KEYS = ("Sid", "Effect", "Action", "Resource", "Condition")
SID = re.compile(r"[A-Za-z0-9]{1,100}")
ACTION = re.compile(r"(?P<service>[a-z0-9-]+):(?P<name>[A-Za-z0-9]+)")
# Services whose every action is refused: a function that can change identities or take another role's
# credentials can leave its boundary (IAM User Guide, "Permissions boundaries": a boundary does not limit the
# permissions of a role the function could assume).
REFUSED_SERVICES = ("iam", "sts")
# Of KMS, the cryptographic operations on an existing key only (AWS KMS Developer Guide, "Cryptographic
# operations", plus DescribeKey and GetPublicKey which read its metadata); creating, changing, scheduling the
# deletion of, granting or tagging keys is a key administrator's.
KMS_USE_ACTIONS = frozenset(
    {
        "Decrypt",
        "DescribeKey",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateMac",
        "GetPublicKey",
        "ReEncryptFrom",
        "ReEncryptTo",
        "Sign",
        "Verify",
        "VerifyMac",
    }
)
PLACEHOLDERS = ("partition", "region", "account", "stack", "project")
ARN = re.compile(
    r"arn:(?P<partition>[^:]*):(?P<service>[^:]*):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)"
)


class PermissionsError(ValueError):
    """The declared (or approved) permissions break the rules; the message lists every problem."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(
            f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''}:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


@dataclass(frozen=True)
class Scope:
    """Where the statements apply: the stack and its partition, region and account."""

    partition: str
    region: str
    account: str
    stack: str


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement_problems(index: int, statement: Any) -> list[str]:
    if not isinstance(statement, dict):
        return [f"Statement[{index}] must be an object"]
    where = f"Statement[{index}] ({statement.get('Sid', 'no Sid')})"
    problems = [
        f"{where}: {key} is not allowed (allowed: {', '.join(STATEMENT_KEYS)})"
        for key in sorted(statement)
        if key not in STATEMENT_KEYS
    ]
    if not isinstance(statement.get("Sid"), str) or not SID.fullmatch(statement["Sid"]):
        problems.append(f"{where}: Sid must be 1-100 letters and digits")
    if statement.get("Effect") != "Allow":
        problems.append(f"{where}: Effect must be Allow")
    actions = _list(statement.get("Action"))
    if not actions or not all(isinstance(action, str) for action in actions):
        problems.append(f"{where}: Action must be an action name or a list of them")
        actions = []
    for action in actions:
        match = ACTION.fullmatch(action)
        if not match:
            problems.append(f"{where}: action {action!r} is not service:Action without wildcards")
        elif match["service"] in REFUSED_SERVICES:
            problems.append(
                f"{where}: action {action!r}: no {match['service'].upper()} action may be declared"
            )
        elif match["service"] == "kms" and match["name"] not in KMS_USE_ACTIONS:
            problems.append(
                f"{where}: action {action!r}: of KMS only the use of a key may be declared "
                f"({', '.join(sorted(KMS_USE_ACTIONS))})"
            )
    resources = _list(statement.get("Resource"))
    if not resources or not all(isinstance(resource, str) for resource in resources):
        problems.append(f"{where}: Resource must be an ARN or a list of them")
    condition = statement.get("Condition")
    if condition is not None and not isinstance(condition, dict):
        problems.append(f"{where}: Condition must be an object")
    return problems


def load_statements(path: Path = DECLARED) -> list[dict[str, Any]]:
    """The statements of the policy document at `path`, as written ([] when there is no such file).
    Raises PermissionsError naming every problem of their form."""
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PermissionsError(str(path), [f"not a JSON policy document ({exc})"]) from exc
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), list):
        raise PermissionsError(str(path), ['expected {"Version": "2012-10-17", "Statement": [...]}'])
    problems = [
        f"{key} is not allowed (allowed: Version, Statement)"
        for key in document
        if key not in ("Version", "Statement")
    ]
    if document.get("Version", "2012-10-17") != "2012-10-17":
        problems.append("Version must be 2012-10-17")
    statements = document["Statement"]
    for index, statement in enumerate(statements):
        problems += _statement_problems(index, statement)
    sids = [str(statement.get("Sid")) for statement in statements if isinstance(statement, dict)]
    problems += [f"Sid {sid!r} is used twice" for sid in sorted({s for s in sids if sids.count(s) > 1})]
    if problems:
        raise PermissionsError(str(path), problems)
    checked: list[dict[str, Any]] = statements
    return checked


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in values.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    return value


def _resource_problem(arn: str, scope: Scope) -> str | None:
    match = ARN.fullmatch(arn)
    if not match:
        return "is not an ARN (arn:partition:service:region:account:resource)"
    if match["partition"] != scope.partition:
        return f"is not of the stack's partition {scope.partition}"
    if match["region"] not in ("", scope.region):
        return f"is not of the stack's region {scope.region}"
    if match["account"] not in ("", scope.account):
        return f"is not of the stack's account {scope.account}"
    if "{" in arn or "}" in arn:
        return f"holds an unknown placeholder (known: {', '.join('{' + name + '}' for name in PLACEHOLDERS)})"
    named = match["resource"].removesuffix("/*") if match["service"] == "s3" else match["resource"]
    if any(char in named for char in "*?") or not named or named.endswith("/"):
        return "holds a wildcard (the one allowed: the objects of one S3 bucket or prefix, arn:...:s3:::bucket/*)"
    return None


def render(
    statements: Sequence[Mapping[str, Any]], scope: Scope, source: str = str(DECLARED)
) -> list[dict[str, Any]]:
    """The statements for `scope`: placeholders filled, actions and resources as lists; raises
    PermissionsError naming each resource outside the stack's partition, region and account."""
    values = {
        "partition": scope.partition,
        "region": scope.region,
        "account": scope.account,
        "stack": scope.stack,
        "project": PROJECT,
    }
    rendered, problems = [], []
    for statement in statements:
        filled = {key: _fill(value, values) for key, value in statement.items()}
        filled["Action"] = _list(filled["Action"])
        filled["Resource"] = _list(filled["Resource"])
        for arn in filled["Resource"]:
            problem = _resource_problem(arn, scope)
            if problem:
                problems.append(f"{statement['Sid']}: resource {arn!r} {problem}")
        rendered.append(filled)
    if problems:
        raise PermissionsError(source, problems)
    return rendered


def _pattern(template: str, stack: str) -> re.Pattern[str]:
    """A template (placeholders and all) as the pattern of its rendered forms for `stack`."""
    values = {"stack": re.escape(stack), "project": re.escape(PROJECT)}
    parts = re.split(r"(\{[a-z]+\})", template)
    return re.compile(
        "".join(
            values.get(part[1:-1], "[A-Za-z0-9-]*") if part[1:-1] in PLACEHOLDERS else re.escape(part)
            for part in parts
        )
    )


def _covers(template: Any, value: Any, stack: str) -> bool:
    text = json.dumps(template, sort_keys=True)
    return _pattern(text, stack).fullmatch(json.dumps(value, sort_keys=True)) is not None


def unapproved(
    declared: Sequence[Mapping[str, Any]], approved: Sequence[Mapping[str, Any]], stack: str
) -> list[str]:
    """Each declared statement (rendered for `stack`) that no approved statement (as written, placeholders
    and all) of the same Sid covers: its actions must be among the approved one's, each of its resources a
    form of an approved resource, its Condition a form of the approved one (or the approved one has none)."""
    by_sid = {statement["Sid"]: statement for statement in approved}
    problems = []
    for statement in declared:
        sid = statement["Sid"]
        allowed = by_sid.get(sid)
        if allowed is None:
            problems.append(f"{sid}: not approved (no statement {sid} in {APPROVED.relative_to(ROOT)})")
            continue
        wider = []
        actions = set(_list(statement["Action"])) - set(_list(allowed["Action"]))
        if actions:
            wider.append(f"actions {sorted(actions)}")
        resources = [
            arn
            for arn in _list(statement["Resource"])
            if not any(_covers(template, arn, stack) for template in _list(allowed["Resource"]))
        ]
        if resources:
            wider.append(f"resources {resources}")
        if "Condition" in allowed and not _covers(allowed["Condition"], statement.get("Condition"), stack):
            wider.append("a Condition other than the approved one")
        if wider:
            problems.append(f"{sid}: wider than approved ({APPROVED.relative_to(ROOT)}): {'; '.join(wider)}")
    return problems
