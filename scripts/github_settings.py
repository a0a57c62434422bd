"""Read the GitHub settings the pipeline's trust chain depends on, and say which are missing.

    python3 -m scripts.github_settings OWNER/REPO '["dev","production"]'     (make github-settings)

The second argument is the bootstrap's deployEnvironments in promotion order (DEPLOY_STACKS; the bootstrap's
output `githubSettingsCommand` prints this command filled in). What no file of the repository can enforce,
and the roles rely on (docs/bootstrap.md):

- every deploy environment `<env>` and every drift environment `drift-<env>` exists (a workflow that names a
  missing environment makes GitHub create it without any protection rule), and may deploy from `main` only
  (deployment branch policy: custom policies, exactly the branch `main`);
- every environment promoted after the building one has required reviewers, and a deployment cannot be
  approved by the person who started it ("prevent self-review");
- `main` takes changes through pull requests with at least one approving review of the last push (a later
  push dismisses or requires a new approval) and refuses force pushes and deletion, by a ruleset or by branch
  protection.

Not readable here, so stated in docs/bootstrap.md for an administrator to set: that administrators cannot
bypass the environments' protection rules (GitHub's environment answer does not describe that setting) and
are not among a ruleset's bypass actors.

Reads with `gh api` (the GitHub CLI's authentication; the token needs read access to the repository's
administration settings): GET /repos/{owner}/{repo}/environments,
/environments/{name}/deployment-branch-policies, /rules/branches/main and /branches/main/protection (GitHub
REST API; the answers' shapes are those of GitHub's OpenAPI description, which the tests check the
recorded answers against). Exit 0 when nothing is missing, 1 listing every missing setting, 2 on bad
arguments or an API call that fails for another reason than "not found".
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from infra.project import is_stack_name

MAIN = "main"
DRIFT_PREFIX = "drift-"  # bootstrap/settings.py, drift_environment
REPOSITORY = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")

# (path) -> the parsed JSON answer, or None when GitHub answers 404
Api = Callable[[str], Any]


class ApiError(Exception):
    pass


def gh_api(path: str) -> Any:
    """`gh api <path>`; None on HTTP 404 (gh prints "... (HTTP 404)" and exits 1)."""
    result = subprocess.run(  # noqa: S603 - the GitHub CLI on PATH, a path of our own
        ["gh", "api", "-H", "Accept: application/vnd.github+json", path],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        if "(HTTP 404)" in result.stderr:
            return None
        raise ApiError(f"gh api {path}: {result.stderr.strip() or f'exit status {result.returncode}'}")
    return json.loads(result.stdout or "null")


def environment_problems(
    api: Api, repo: str, name: str, environment: Mapping[str, Any] | None, reviewed: bool
) -> list[str]:
    if environment is None:
        return [
            f"environment {name} does not exist: create it with its protection before the first run (a workflow "
            "that names a missing environment makes GitHub create it unprotected)"
        ]
    problems = []
    policy = environment.get("deployment_branch_policy")
    if not policy:
        problems.append(f"environment {name}: every branch may deploy; limit deployment branches to {MAIN}")
    elif policy.get("protected_branches") or not policy.get("custom_branch_policies"):
        problems.append(
            f"environment {name}: any protected branch may deploy; limit deployment branches to exactly {MAIN}"
        )
    else:
        answer = api(f"repos/{repo}/environments/{name}/deployment-branch-policies") or {}
        patterns = sorted(
            (entry.get("name"), entry.get("type", "branch")) for entry in answer.get("branch_policies", [])
        )
        if patterns != [(MAIN, "branch")]:
            shown = ", ".join(f"{kind} {pattern}" for pattern, kind in patterns) or "none"
            problems.append(
                f"environment {name}: deployment branch policies are {shown}; exactly branch {MAIN}"
            )
    if reviewed:
        rules = [
            rule
            for rule in environment.get("protection_rules") or []
            if rule.get("type") == "required_reviewers"
        ]
        if not rules or not any(rule.get("reviewers") for rule in rules):
            problems.append(
                f"environment {name}: no required reviewers (a promoted stack deploys only when approved)"
            )
        elif not any(rule.get("prevent_self_review") for rule in rules):
            problems.append(
                f"environment {name}: required reviewers may approve their own deployment; turn on "
                '"Prevent self-review"'
            )
    return problems


def main_problems(api: Api, repo: str) -> list[str]:
    """`main` needs reviewed pull requests and refuses force pushes and deletion (a ruleset or protection)."""
    rules = api(f"repos/{repo}/rules/branches/{MAIN}") or []
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for rule in rules:
        by_type.setdefault(rule.get("type", ""), []).append(rule)
    # (approving reviews required, whether an approval must be of the last push): a ruleset's pull_request
    # rule (require_last_push_approval, dismiss_stale_reviews_on_push) or branch protection's
    # required_pull_request_reviews (require_last_push_approval, dismiss_stale_reviews); GitHub's OpenAPI
    # description, repository-rule-pull-request and protected-branch-pull-request-review
    reviewed = [
        (
            int(parameters.get("required_approving_review_count", 0)),
            bool(
                parameters.get("require_last_push_approval")
                or parameters.get("dismiss_stale_reviews_on_push")
            ),
        )
        for parameters in ((rule.get("parameters") or {}) for rule in by_type.get("pull_request", []))
    ]
    no_force_push, no_deletion = "non_fast_forward" in by_type, "deletion" in by_type
    protection = api(f"repos/{repo}/branches/{MAIN}/protection")
    if protection:
        required = protection.get("required_pull_request_reviews") or {}
        reviewed.append(
            (
                int(required.get("required_approving_review_count", 0)),
                bool(required.get("require_last_push_approval") or required.get("dismiss_stale_reviews")),
            )
        )
        no_force_push |= not (protection.get("allow_force_pushes") or {}).get("enabled", False)
        no_deletion |= not (protection.get("allow_deletions") or {}).get("enabled", False)
    problems = []
    if not any(count >= 1 for count, _ in reviewed):
        problems.append(
            f"branch {MAIN}: changes need no approved pull request (a ruleset's pull_request rule or branch "
            "protection with at least one approving review)"
        )
    elif not any(count >= 1 and last_push for count, last_push in reviewed):
        problems.append(
            f"branch {MAIN}: an approval survives a later push, so what merges may be what nobody approved; "
            'turn on "Require approval of the most recent reviewable push" or "Dismiss stale pull request '
            'approvals when new commits are pushed"'
        )
    if not no_force_push:
        problems.append(f"branch {MAIN}: force pushes are allowed (a ruleset's non_fast_forward rule)")
    if not no_deletion:
        problems.append(f"branch {MAIN}: it may be deleted (a ruleset's deletion rule)")
    return problems


def check(api: Api, repo: str, environments: Sequence[str]) -> list[str]:
    """Every missing setting, one sentence each ([] when the repository is set up)."""
    answer = api(f"repos/{repo}/environments?per_page=100") or {}
    existing = {environment["name"]: environment for environment in answer.get("environments", [])}
    problems = []
    for index, name in enumerate(environments):
        problems += environment_problems(api, repo, name, existing.get(name), reviewed=index > 0)
    for name in environments:
        drift = f"{DRIFT_PREFIX}{name}"
        problems += environment_problems(api, repo, drift, existing.get(drift), reviewed=False)
    return problems + main_problems(api, repo)


def main(argv: Sequence[str] | None = None, api: Api = gh_api) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    usage = 'usage: python3 -m scripts.github_settings OWNER/REPO \'["dev","production"]\''
    if len(args) != 2 or not REPOSITORY.fullmatch(args[0]):
        print(usage, file=sys.stderr)
        return 2
    try:
        environments = json.loads(args[1])
    except json.JSONDecodeError:
        environments = None
    if (
        not isinstance(environments, list)
        or not environments
        or not all(isinstance(name, str) and is_stack_name(name) for name in environments)
    ):
        print(
            f"the deploy environments must be a JSON array of stack names, got {args[1]!r}\n{usage}",
            file=sys.stderr,
        )
        return 2
    try:
        problems = check(api, args[0], environments)
    except ApiError as error:
        print(f"github_settings: {error}", file=sys.stderr)
        return 2
    if problems:
        print(f"{args[0]} is missing {len(problems)} setting(s) the pipeline relies on (docs/bootstrap.md):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{args[0]}: environments limited to {MAIN}, reviewers on promoted stacks, {MAIN} protected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
