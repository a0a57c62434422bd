"""Shared runs of the stack for the read-only checks (each module re-runs what it changes)."""

import pytest

from tests.infra.support import run_stack
from tests.support.pulumi_harness import ProgramRun


@pytest.fixture(scope="module")
def default_run() -> ProgramRun:
    """The program with every default of Pulumi.yaml (and aws:region)."""
    return run_stack()
