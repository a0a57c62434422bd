"""What the program reads from function/ besides its image: the events a deployed stack may receive and the
permissions the function declares. A problem in either stops the program before any resource is registered,
as a `pulumi.RunError`, which the Pulumi CLI prints as its message alone (pulumi/pulumi,
sdk/python/cmd/pulumi-language-python-exec: `except pulumi.RunError as e: pulumi.log.error(str(e))`), so the
list of problems is not buried in a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import function_contract, function_permissions


class FunctionInputError(pulumi.RunError):
    """function/ does not keep the contract, or declares permissions the rules refuse (every problem)."""


def deployable_events(function_dir: Path) -> list[function_contract.Case]:
    """The events a deployed stack may receive (not marked "smoke": false): the pre-traffic check of a new
    version and the warm-up send them."""
    try:
        return function_contract.deployable_cases(function_contract.load_cases(function_dir / "events"))
    except function_contract.ContractError as error:
        raise FunctionInputError(str(error)) from None


def public_routes(function_dir: Path) -> list[str]:
    """The route keys of the events marked "auth": false: they reach the function without a token when the
    stack requires one (config jwtIssuer)."""
    try:
        return function_contract.public_routes(function_contract.load_cases(function_dir / "events"))
    except function_contract.ContractError as error:
        raise FunctionInputError(str(error)) from None


def declared_permissions(function_dir: Path, stack: str) -> list[dict[str, Any]]:
    """The statements of `function_dir`/permissions.json for `stack`, in the caller's partition and account
    and the provider's region (infra/function_permissions.py)."""
    try:
        statements = function_permissions.load_statements(
            function_dir / function_permissions.PERMISSIONS_FILE
        )
        if not statements:
            return []
        scope = function_permissions.Scope(
            partition=aws.get_partition().partition,
            region=aws.get_region().region,
            account=aws.get_caller_identity().account_id,
            stack=stack,
        )
        return function_permissions.render(statements, scope)
    except function_permissions.PermissionsError as error:
        raise FunctionInputError(str(error)) from None
