"""The project name checked before anything else (the first step of `make check`):

    python3 -m scripts.check_project

Exit status 0, printing the longest stack (and deploy environment) name the project admits, when the name of
Pulumi.yaml follows the project-name rule and leaves room for a stack name in every name AWS limits; 1 with each
problem on its own line otherwise. The program (infra/config.py) and the bootstrap (bootstrap/settings.py) refuse
the same names before any resource; this says it in a second instead of through the failures of the suite.
"""

from __future__ import annotations

import sys

from bootstrap.names import project_name_problems, stack_name_problems
from infra.catalogue import longest_stack_name
from infra.project import PROJECT


def main() -> int:
    problems = project_name_problems(PROJECT)
    for problem in problems:
        print(f"check_project: {problem}", file=sys.stderr)
    if problems:
        return 1
    longest = longest_stack_name(PROJECT, stack_name_problems)
    print(f"project {PROJECT!r}: stack and deploy environment names of up to {longest} characters fit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
