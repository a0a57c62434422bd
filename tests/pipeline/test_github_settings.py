"""scripts/github_settings.py against recorded GitHub answers, each checked against GitHub's published OpenAPI
description (tests/support/github_openapi.py) before the script sees it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import ValidationError

from scripts import github_settings
from tests.pipeline.helpers import ROOT, run_script, tool_env, write_tool
from tests.support.github_openapi import check_answer

REPO = "octo-org/widgets"
ENVIRONMENTS = ["dev", "production"]
API = "https://api.github.com"


def user(login: str, number: int) -> dict[str, Any]:
    base = f"{API}/users/{login}"
    return {
        "login": login,
        "id": number,
        "node_id": f"MDQ6VXNlcj{number}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{number}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": "User",
        "site_admin": False,
    }


def environment(name: str, number: int, *, reviewers: bool, self_review: bool = False) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"id": number * 10 + 1, "node_id": f"GA_{number}b", "type": "branch_policy"}
    ]
    if reviewers:
        rules.append(
            {
                "id": number * 10 + 2,
                "node_id": f"GA_{number}r",
                "type": "required_reviewers",
                "prevent_self_review": not self_review,
                "reviewers": [{"type": "User", "reviewer": user("release-manager", 4201)}],
            }
        )
    return {
        "id": number,
        "node_id": f"EN_{number}",
        "name": name,
        "url": f"{API}/repos/{REPO}/environments/{name}",
        "html_url": f"https://github.com/{REPO}/deployments/activity_log?environments_filter={name}",
        "created_at": "2026-05-01T10:00:00Z",
        "updated_at": "2026-05-02T10:00:00Z",
        "protection_rules": rules,
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }


def branch_policies(*names: str) -> dict[str, Any]:
    return {
        "total_count": len(names),
        "branch_policies": [
            {"id": 361471 + i, "node_id": f"GBP_{i}", "name": name, "type": "branch"}
            for i, name in enumerate(names)
        ],
    }


def ruleset_rule(kind: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "type": kind,
        "ruleset_source_type": "Repository",
        "ruleset_source": REPO,
        "ruleset_id": 42,
    }
    if parameters is not None:
        rule["parameters"] = parameters
    return rule


PULL_REQUEST = {
    "dismiss_stale_reviews_on_push": True,
    "require_code_owner_review": False,
    "require_last_push_approval": True,
    "required_approving_review_count": 1,
    "required_review_thread_resolution": False,
}

# GET path (as requested) -> (the OpenAPI path template, the answer); None: GitHub answers 404
TEMPLATES = {
    "environments": "/repos/{owner}/{repo}/environments",
    "deployment-branch-policies": "/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies",
    "rules": "/repos/{owner}/{repo}/rules/branches/{branch}",
    "protection": "/repos/{owner}/{repo}/branches/{branch}/protection",
}


def set_up_repository() -> dict[str, Any]:
    """Answers of a repository with every setting the pipeline relies on."""
    names = ENVIRONMENTS + [f"drift-{name}" for name in ENVIRONMENTS]
    answers: dict[str, Any] = {
        f"repos/{REPO}/environments?per_page=100": {
            "total_count": len(names),
            "environments": [
                environment(name, 100 + i, reviewers=name == "production") for i, name in enumerate(names)
            ],
        },
        f"repos/{REPO}/rules/branches/main": [
            ruleset_rule("deletion"),
            ruleset_rule("non_fast_forward"),
            ruleset_rule("pull_request", PULL_REQUEST),
        ],
        f"repos/{REPO}/branches/main/protection": None,
    }
    for name in names:
        answers[f"repos/{REPO}/environments/{name}/deployment-branch-policies"] = branch_policies("main")
    return answers


def template_of(path: str) -> str:
    if path.endswith("deployment-branch-policies"):
        return TEMPLATES["deployment-branch-policies"]
    if "/rules/branches/" in path:
        return TEMPLATES["rules"]
    if path.endswith("/protection"):
        return TEMPLATES["protection"]
    return TEMPLATES["environments"]


def fake_api(answers: dict[str, Any]) -> Callable[[str], Any]:
    def api(path: str) -> Any:
        assert path in answers, f"unexpected GET {path}"
        answer = answers[path]
        if answer is not None:
            check_answer(template_of(path), answer)  # only shapes GitHub documents reach the script
        return copy.deepcopy(answer)

    return api


def check(answers: dict[str, Any], capsys) -> tuple[int, str]:
    code = github_settings.main([REPO, json.dumps(ENVIRONMENTS)], api=fake_api(answers))
    return code, capsys.readouterr().out


def test_a_repository_with_every_setting_passes(capsys):
    code, out = check(set_up_repository(), capsys)
    assert code == 0, out


def test_branch_protection_instead_of_a_ruleset_passes(capsys):
    answers = set_up_repository()
    answers[f"repos/{REPO}/rules/branches/main"] = []
    answers[f"repos/{REPO}/branches/main/protection"] = {
        "url": f"{API}/repos/{REPO}/branches/main/protection",
        "required_pull_request_reviews": {
            "url": f"{API}/repos/{REPO}/branches/main/protection/required_pull_request_reviews",
            "dismiss_stale_reviews": True,
            "require_code_owner_reviews": False,
            "required_approving_review_count": 1,
            "require_last_push_approval": True,
        },
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
    }
    code, out = check(answers, capsys)
    assert code == 0, out


def env_answer(answers: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [
        e for e in answers[f"repos/{REPO}/environments?per_page=100"]["environments"] if e["name"] == name
    ]
    return found


def missing(answers: dict[str, Any], name: str) -> None:
    listing = answers[f"repos/{REPO}/environments?per_page=100"]
    listing["environments"] = [e for e in listing["environments"] if e["name"] != name]
    listing["total_count"] -= 1


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "no production environment",
        lambda a: missing(a, "production"),
        "environment production does not exist",
    ),
    ("no drift environment", lambda a: missing(a, "drift-dev"), "environment drift-dev does not exist"),
    (
        "every branch deploys",
        lambda a: env_answer(a, "dev").update(deployment_branch_policy=None),
        "environment dev: every branch may deploy",
    ),
    (
        "protected branches deploy",
        lambda a: env_answer(a, "drift-production").update(
            deployment_branch_policy={"protected_branches": True, "custom_branch_policies": False}
        ),
        "environment drift-production: any protected branch may deploy",
    ),
    (
        "a release branch deploys too",
        lambda a: a.update(
            {
                f"repos/{REPO}/environments/production/deployment-branch-policies": branch_policies(
                    "main", "release/*"
                )
            }
        ),
        "environment production: deployment branch policies are branch main, branch release/*",
    ),
    (
        "no reviewers on production",
        lambda a: env_answer(a, "production").update(protection_rules=[]),
        "environment production: no required reviewers",
    ),
    (
        "self-review allowed",
        lambda a: env_answer(a, "production").update(
            protection_rules=environment("production", 7, reviewers=True, self_review=True)[
                "protection_rules"
            ]
        ),
        'turn on "Prevent self-review"',
    ),
    (
        "pull requests without approval",
        lambda a: a.update(
            {
                f"repos/{REPO}/rules/branches/main": [
                    ruleset_rule("deletion"),
                    ruleset_rule("non_fast_forward"),
                    ruleset_rule("pull_request", PULL_REQUEST | {"required_approving_review_count": 0}),
                ]
            }
        ),
        "branch main: changes need no approved pull request",
    ),
    (
        "an approval survives a later push",
        lambda a: a.update(
            {
                f"repos/{REPO}/rules/branches/main": [
                    ruleset_rule("deletion"),
                    ruleset_rule("non_fast_forward"),
                    ruleset_rule(
                        "pull_request",
                        PULL_REQUEST
                        | {"require_last_push_approval": False, "dismiss_stale_reviews_on_push": False},
                    ),
                ]
            }
        ),
        "branch main: an approval survives a later push",
    ),
]


@pytest.mark.parametrize(("change", "message"), [(c, m) for _, c, m in CASES], ids=[n for n, _, _ in CASES])
def test_each_missing_setting_is_named(capsys, change, message):
    answers = set_up_repository()
    change(answers)
    code, out = check(answers, capsys)
    assert code == 1
    assert message in out
    assert out.count("\n  - ") == 1, out  # that one setting, nothing else


def test_an_unprotected_main_lists_force_pushes_and_deletion(capsys):
    answers = set_up_repository()
    answers[f"repos/{REPO}/rules/branches/main"] = []
    code, out = check(answers, capsys)
    assert code == 1
    assert "force pushes are allowed" in out and "it may be deleted" in out


@pytest.mark.parametrize(
    "args", [[], [REPO], ["not a repo", '["dev"]'], [REPO, "dev"], [REPO, "[]"], [REPO, '["Prod_EU"]']]
)
def test_bad_arguments_are_refused(args, capsys):
    assert github_settings.main(args, api=fake_api({})) == 2


def test_gh_api_reads_404_as_absent_and_stops_on_other_errors(tmp_path):
    # the GitHub CLI prints "gh: Branch not protected (HTTP 404)" and exits 1 for a missing protection
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_tool(
        bin_dir,
        "gh",
        'case "$*" in\n'
        '  *protection*) echo "gh: Branch not protected (HTTP 404)" >&2; exit 1 ;;\n'
        '  *environments*) echo "gh: Resource not accessible by integration (HTTP 403)" >&2; exit 1 ;;\n'
        "esac\n",
    )
    result = run_script(ROOT / "scripts" / "github_settings.py", REPO, '["dev"]', env=tool_env(bin_dir))
    assert result.returncode == 2
    assert "Resource not accessible by integration (HTTP 403)" in result.stderr


def test_an_answer_of_another_shape_is_refused_before_the_script_sees_it():
    answers = set_up_repository()
    del env_answer(answers, "dev")["html_url"]  # a required field of GitHub's Environment
    with pytest.raises(ValidationError):
        fake_api(answers)(f"repos/{REPO}/environments?per_page=100")
