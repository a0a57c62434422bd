"""Refuse a stack's state that would make the engine run a command the program never declared.

    pulumi stack export --stack STACK | python3 -m scripts.state_guard STACK

A `command:local:Command` runs its `delete` command, read from the state, when the engine deletes or replaces
it (pulumi-command `provider/pkg/provider/local/commandController.go`: `Delete` runs `props.Delete` of the
resource's state). Whoever can write a stack's state (its deploy role: the state bucket) could add such a
resource, or a `delete` to the program's own, and the next `pulumi up` or `destroy` of that stack would run it
with that job's credentials and tokens. The program declares no `delete` command (infra/delivery.py), so any in
the state was written by someone else. Checked before every `pulumi up` and `destroy` that reads a state a
deploy role may write (deploy.yml, scripts/deploy.sh).

Input: the JSON of `pulumi stack export` (an untyped deployment: {"version": 3, "deployment": {"resources":
[...]}}, resources as Pulumi's `apitype` ResourceV3, sdk/go/common/apitype/resources.json); a stack without
resources passes. Exit status 0 when no command resource of the state carries a `delete` (an encrypted secret
counts as one); 1 naming each one otherwise; 2 when the input is not an exported deployment.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

# pulumi-command's resources that run commands on the machine of the engine (`local`) or elsewhere (`remote`)
COMMAND_TYPES = ("command:local:Command", "command:remote:Command")


def problems(exported: Mapping[str, Any]) -> list[str]:
    """Each resource of the exported deployment that would run a state-declared `delete` command, as a
    sentence naming its URN. Raises ValueError when `exported` is not an exported deployment."""
    deployment = exported.get("deployment")
    if not isinstance(deployment, Mapping):
        raise ValueError("not the JSON of `pulumi stack export` (no `deployment` object)")
    resources = deployment.get("resources") or []
    if not isinstance(resources, list):
        raise ValueError("the deployment's `resources` is not a list")
    found = []
    for resource in resources:
        if not isinstance(resource, Mapping) or resource.get("type") not in COMMAND_TYPES:
            continue
        for part in ("outputs", "inputs"):
            properties = resource.get(part) or {}
            if properties.get("delete") not in (None, ""):
                found.append(
                    f"{resource.get('urn')}: its {part} carry a `delete` command, which the engine would run on "
                    "deleting or replacing it; the program declares none, so the state was written outside it"
                )
                break
    return found


def main(argv: list[str]) -> int:
    stack = argv[0] if argv else "the stack"
    try:
        found = problems(json.load(sys.stdin))
    except (ValueError, AttributeError) as exc:
        print(f"state_guard: {stack}: {exc}", file=sys.stderr)
        return 2
    for problem in found:
        print(f"state_guard: {stack}: {problem}", file=sys.stderr)
    if found:
        print(
            f"state_guard: {stack}: refused before the engine runs it: restore the state from a known-good "
            "version (the state bucket keeps versions) and find who wrote it (CloudTrail's S3 data events)",
            file=sys.stderr,
        )
        return 1
    print(f"state_guard: {stack}: no command in the state but the program's")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
