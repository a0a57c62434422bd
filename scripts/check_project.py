"""The project name and the stack names checked before anything else (the first steps of `make check`):

    python3 -m scripts.check_project

Exit status 0, printing the longest stack (and deploy environment) name the project admits, when the name of
Pulumi.yaml follows the project-name rule and leaves room for a stack name in every name AWS limits, and every
stack file beside it (`Pulumi.<stack>.yaml`) names a stack that fits; 1 with each problem on its own line
otherwise. The program (infra/config.py) and the bootstrap (bootstrap/settings.py) refuse the same names before
any resource; this says it in a second instead of through the failures of the suite. Standard library only.
"""

from __future__ import annotations

import sys

from bootstrap.names import project_name_problems, stack_name_problems
from infra.catalogue import longest_stack_name
from infra.project import PROJECT, PROJECT_FILE, STACK_NAME_RULE, is_stack_name


def problems() -> list[str]:
    """What is wrong with the project name and the stack files' stack names, as sentences."""
    found = project_name_problems(PROJECT)
    if found:
        return found
    for path in sorted(PROJECT_FILE.parent.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if not is_stack_name(stack):
            found.append(f"{path.name}: the stack name {stack!r} is not allowed: {STACK_NAME_RULE}")
            continue
        found += [
            f"{path.name}: the stack name {stack!r} is too long for the project {PROJECT!r}: {problem}; "
            "shorten either"
            for problem in stack_name_problems(PROJECT, stack)
        ]
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(f"check_project: {problem}", file=sys.stderr)
    if found:
        return 1
    longest = longest_stack_name(PROJECT, stack_name_problems)
    print(f"project {PROJECT!r}: stack and deploy environment names of up to {longest} characters fit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
