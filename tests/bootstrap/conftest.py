"""Fixtures of the bootstrap tests."""

import json

import pytest

from tests.bootstrap.harness import BootstrapRun, run_bootstrap


@pytest.fixture(scope="module")
def default_run() -> BootstrapRun:
    """One program run with a deploy environment, shared by the read-only checks of a module."""
    return run_bootstrap({"deployEnvironments": json.dumps(["dev", "production"])})
