"""After `pulumi up`: the version the alias `live` serves and the outcome of the CodeDeploy deployment.

    python3 -m scripts.delivery_report STACK [--wait SECONDS] [--poll SECONDS]

The stack's function, CodeDeploy application and deployment group are all named `<project>-<stack>`
(infra.project.prefix_for); the application and group exist with a deployment preference other than
AllAtOnce. The report takes the group's last attempted deployment (GetDeploymentGroup
`lastAttemptedDeployment`), waits while it is still running (GetDeployment every 15 s, at most --wait
seconds), and prints a Markdown summary (for $GITHUB_STEP_SUMMARY) of the deployment and the alias. Exit 1
when that deployment failed or was stopped (CodeDeploy then rolled the alias back), or is still running at
the end of the wait; 0 otherwise, also when the stack shifts all at once (no deployment group). AWS calls go
through the AWS CLI (the same credentials as `pulumi up`); only the standard library is used.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from infra.project import STACK_NAME_RULE, is_stack_name, prefix_for
from scripts.aws_cli import AwsError, aws

ALIAS = "live"
RUNNING = {"Created", "Queued", "InProgress", "Baking", "Ready"}
FAILED = {"Failed", "Stopped"}
POLL_SECONDS = 15


def alias_line(alias: dict[str, Any]) -> str:
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    if not weights:
        return f"`{ALIAS}` serves version {alias['FunctionVersion']} (all traffic)"
    shares = ", ".join(f"version {version}: {weight:.0%}" for version, weight in sorted(weights.items()))
    return f"`{ALIAS}` is shifting: version {alias['FunctionVersion']} plus {shares}"


def last_deployment_id(function_name: str) -> str | None:
    """The deployment group's last attempted deployment, or None (no group: the stack shifts all at once)."""
    try:
        group = aws(
            "deploy",
            "get-deployment-group",
            "--application-name",
            function_name,
            "--deployment-group-name",
            function_name,
        )
    except AwsError as error:
        if error.code in ("ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"):
            return None
        raise
    return ((group.get("deploymentGroupInfo") or {}).get("lastAttemptedDeployment") or {}).get("deploymentId")


def wait_for(deployment_id: str, wait_seconds: float, poll_seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + wait_seconds
    while True:
        info: dict[str, Any] = aws("deploy", "get-deployment", "--deployment-id", deployment_id)[
            "deploymentInfo"
        ]
        if info.get("status") not in RUNNING or time.monotonic() >= deadline:
            return info
        time.sleep(poll_seconds)


def report(function_name: str, alias: dict[str, Any], deployment: dict[str, Any] | None) -> tuple[str, bool]:
    """(Markdown, ok)."""
    lines = [f"### Delivery of {function_name}", "", f"- {alias_line(alias)}"]
    if deployment is None:
        lines.append("- no CodeDeploy deployment group: each deploy moves the alias all at once")
        return "\n".join(lines) + "\n", True
    status = deployment.get("status", "unknown")
    lines.append(
        f"- CodeDeploy deployment `{deployment.get('deploymentId')}` "
        f"({deployment.get('deploymentConfigName', '?')}): **{status}**"
    )
    error = deployment.get("errorInformation") or {}
    if error:
        lines.append(f"- error {error.get('code', '')}: {error.get('message', '')}")
    rollback = deployment.get("rollbackInfo") or {}
    if rollback.get("rollbackMessage"):
        lines.append(f"- rollback: {rollback['rollbackMessage']}")
    if status in RUNNING:
        lines.append("- still running at the end of the wait")
    return "\n".join(lines) + "\n", status not in FAILED | RUNNING


def main(argv: list[str] | None = None, poll_seconds: float = POLL_SECONDS) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stack")
    parser.add_argument("--wait", type=float, default=3600.0, help="seconds to wait for a running deployment")
    parser.add_argument("--poll", type=float, default=poll_seconds, help="seconds between two GetDeployment")
    args = parser.parse_args(argv)
    if not is_stack_name(args.stack):
        parser.error(f"stack name {args.stack!r}: {STACK_NAME_RULE}")
    function_name = prefix_for(args.stack)
    try:
        deployment_id = last_deployment_id(function_name)
        deployment = wait_for(deployment_id, args.wait, args.poll) if deployment_id else None
        alias = aws("lambda", "get-alias", "--function-name", function_name, "--name", ALIAS)
    except AwsError as error:
        hint = (
            " (the AWS credentials expired: run the report again with fresh ones)"
            if error.credentials_expired
            else ""
        )
        print(f"delivery_report: {error}{hint}", file=sys.stderr)
        return 1
    text, ok = report(function_name, alias, deployment)
    print(text, end="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
