"""Kept versions, and the rollback of the alias `live` to one of them, without a build.

    python3 -m scripts.rollback versions STACK              every kept version: live, digest, date, commit
    python3 -m scripts.rollback rollback STACK VERSION      move `live` back to kept version VERSION
    python3 -m scripts.rollback resolve STACK DIGEST        the image a deploy of DIGEST runs, and its
                                                            content tag (`<digest> <tag>`; pipeline.sh)
    python3 -m scripts.rollback tag STACK DIGEST            the content tag of DIGEST (its attestation's)

The function and the repository are the stack's (`<project>-<stack>`, infra/project.py), in the region of the
AWS SDK's configuration (AWS_REGION). `make versions` and `make rollback VERSION=N` run the first two, and the
deploy workflow's `rollback-version` input the second after verifying the provenance of the version's image.

A rollback, in this order, each step stopping with exit status 1 and the alias untouched:
1. the alias must serve one version (not mid-shift), and VERSION must be a kept version other than it;
2. the pre-traffic check of a deploy, on VERSION (infra/deployment_runner.py): Active, every event of the
   function contract answered as expected, the cold-start budget (maxInitDurationMs of the stack) kept;
3. the record: the image VERSION runs gets the tag `rollback-from-<digest live runs>` (infra/rollback.py), and
   a record naming VERSION's own image is removed, so the next `pulumi up` runs VERSION's image;
4. `live` moves to VERSION at once (no CodeDeploy shift: a rollback is the way back from a bad version).
Exit status 0 when `live` serves VERSION, 1 on a failure (the message says what serves), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra import deployment_runner as runner
from infra import function_contract, rollback
from infra.function import ALIAS_NAME
from infra.function_contract import DEFAULT_EVENTS, deployable_cases, load_cases
from infra.project import PROJECT, ROOT, is_stack_name, prefix_for, stack_setting
from infra.registry import PROTECTED_TAG_PREFIX

__all__ = ["kept_versions", "main", "roll_back"]


class RollbackFailed(Exception):
    """The rollback did not happen; the message says what serves."""


def _config(path: Path) -> Mapping[str, object]:
    import yaml  # the program's dependency through pulumi; the stack files are YAML

    if not path.exists():
        return {}
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}


def budget(stack: str, root: Path = ROOT) -> int:
    """The stack's maxInitDurationMs as the CLI resolves it (Pulumi.<stack>.yaml, else Pulumi.yaml)."""
    value = stack_setting(
        "maxInitDurationMs", _config(root / "Pulumi.yaml"), _config(root / f"Pulumi.{stack}.yaml")
    )
    return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else 0


def region(stack: str, root: Path = ROOT) -> str | None:
    """The stack's aws:region (Pulumi.<stack>.yaml), else None: the SDK's own (AWS_REGION, the profile)."""
    value = _config(root / f"Pulumi.{stack}.yaml").get("aws:region")
    return value if isinstance(value, str) and value else None


def image_tags(ecr: Any, repository: str) -> dict[str, str]:
    """Every tag of `repository` and the digest it holds."""
    tags: dict[str, str] = {}
    for page in ecr.get_paginator("list_images").paginate(
        repositoryName=repository, filter={"tagStatus": "TAGGED"}
    ):
        tags |= {
            image["imageTag"]: image["imageDigest"]
            for image in page.get("imageIds", [])
            if image.get("imageTag")
        }
    return tags


def kept_versions(lambda_client: Any, ecr: Any, function: str, repository: str) -> list[dict[str, Any]]:
    """Each published version, newest first: {version, live, digest, date, commit} (commit: the deploy's
    `lambda-deployed-<version>-<commit>` tag, infra/deployment_runner.py; None when unknown)."""
    live = runner.alias_versions(lambda_client.get_alias(FunctionName=function, Name=ALIAS_NAME))
    tags = image_tags(ecr, repository)
    rows = []
    for page in lambda_client.get_paginator("list_versions_by_function").paginate(FunctionName=function):
        for configuration in page["Versions"]:
            version = configuration["Version"]
            if not version.isdigit():
                continue
            digest = runner.version_digest(lambda_client, function, version)
            prefix = f"{runner.DEPLOYED_TAG_PREFIX}{version}-"
            commit = next(
                (
                    tag[len(prefix) :]
                    for tag, held in tags.items()
                    if tag.startswith(prefix) and held == digest
                ),
                None,
            )
            rows.append(
                {
                    "version": version,
                    "live": version in live,
                    "digest": digest,
                    "date": configuration.get("LastModified"),
                    "commit": commit,
                }
            )
    return sorted(rows, key=lambda row: int(row["version"]), reverse=True)


def record(ecr: Any, repository: str, rolled_back: str, gone_back_to: str, tags: Mapping[str, str]) -> None:
    """Tag `gone_back_to` with the record of `rolled_back` (moving the record if another image holds it) and
    remove a record of `gone_back_to` itself (infra/rollback.py)."""
    name, own = rollback.record_tag(rolled_back), rollback.record_tag(gone_back_to)
    stale = [own] if own in tags else []
    if name in tags and tags[name] != gone_back_to:
        stale.append(name)  # immutable tags do not move: the record leaves the image it was on
    if stale:
        ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": tag} for tag in stale])
    if tags.get(name) != gone_back_to:
        runner.protect_image(ecr, repository, gone_back_to, name)


def roll_back(
    lambda_client: Any,
    ecr: Any,
    stack: str,
    version: str,
    cases: list[function_contract.Case],
    budget_ms: int = 0,
    poll_seconds: int = runner.POLL_SECONDS,
) -> str:
    """Steps 1-4 of the module's docstring; returns the digest `live` now runs."""
    function = repository = prefix_for(stack)
    alias = lambda_client.get_alias(FunctionName=function, Name=ALIAS_NAME)
    if (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights"):
        raise RollbackFailed(
            f"{ALIAS_NAME} is mid-shift ({alias}): a deployment is running; retry when it has ended"
        )
    current = alias["FunctionVersion"]
    kept = [row["version"] for row in kept_versions(lambda_client, ecr, function, repository)]
    if version == current:
        raise RollbackFailed(f"{ALIAS_NAME} already serves version {version}")
    if version not in kept:
        raise RollbackFailed(
            f"version {version} is not kept (kept: {', '.join(kept) or 'none'}); {ALIAS_NAME} serves {current}"
        )
    spec = runner.Spec(
        region="",
        function_name=function,
        alias=ALIAS_NAME,
        target_version=version,
        repository_name=repository,
        protected_tag_prefix=PROTECTED_TAG_PREFIX,
        keep_versions=len(kept),
        smoke_cases=tuple(cases),
        max_init_duration_ms=budget_ms,
    )
    runner.wait_until_active(lambda_client, spec, poll_seconds)
    try:
        runner.smoke(lambda_client, function, version, cases, budget_ms)
    except runner.DeploymentFailed as failed:
        raise RollbackFailed(f"{failed}; {ALIAS_NAME} serves version {current}") from None
    rolled_back = runner.version_digest(lambda_client, function, current)
    target = runner.version_digest(lambda_client, function, version)
    if rolled_back != target:
        record(ecr, repository, rolled_back, target, image_tags(ecr, repository))
    lambda_client.update_alias(
        FunctionName=function, Name=ALIAS_NAME, FunctionVersion=version, RoutingConfig={}
    )
    print(
        f"{ALIAS_NAME} of {function} serves version {version} ({target}); it served {current} ({rolled_back}). "
        f"The next `pulumi up` runs {target} while the sources are those of {rolled_back}; a change of function/ "
        "rolls forward (docs/operations.md)"
    )
    return target


def resolve(ecr: Any, stack: str, digest: str) -> str:
    """`<digest to run> <its content tag>` for a deploy of `digest` in the stack's repository."""
    tags = image_tags(ecr, prefix_for(stack))
    running, _ = rollback.resolve(digest, tags)
    return f"{running} {rollback.content_tag(running, tags) or ''}".strip()


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'version':>7}  {'live':4}  {'digest':71}  {'date':28}  commit"]
    for row in rows:
        lines.append(
            f"{row['version']:>7}  {'*' if row['live'] else '':4}  {row['digest']:71}  {row['date'] or '':28}  "
            f"{row['commit'] or '-'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None, session: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    versions = commands.add_parser("versions")
    versions.add_argument("stack")
    versions.add_argument("--json", action="store_true")
    back = commands.add_parser("rollback")
    back.add_argument("stack")
    back.add_argument("version")
    for name in ("resolve", "tag"):
        found = commands.add_parser(name)
        found.add_argument("stack")
        found.add_argument("digest")
    args = parser.parse_args(argv)
    if not is_stack_name(args.stack):
        parser.error(f"{args.stack!r} is not a stack name of {PROJECT}")
    if args.command == "rollback" and not args.version.isdigit():
        parser.error(f"VERSION must be a published version number, got {args.version!r}")
    if session is None:
        import boto3  # the program's own dependency (requirements.txt)

        session = boto3.session.Session(region_name=region(args.stack))
    lambda_client, ecr = session.client("lambda"), session.client("ecr")
    function = prefix_for(args.stack)
    try:
        if args.command == "versions":
            rows = kept_versions(lambda_client, ecr, function, function)
            print(json.dumps(rows, indent=2) if args.json else table(rows))
        elif args.command == "resolve":
            print(resolve(ecr, args.stack, args.digest))
        elif args.command == "tag":
            print(rollback.content_tag(args.digest, image_tags(ecr, function)) or "")
        else:
            cases = deployable_cases(load_cases(DEFAULT_EVENTS))
            roll_back(lambda_client, ecr, args.stack, args.version, cases, budget(args.stack))
    except (RollbackFailed, runner.DeploymentFailed, function_contract.ContractError) as failure:
        print(f"rollback: {failure}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"rollback: AWS refused a call: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
