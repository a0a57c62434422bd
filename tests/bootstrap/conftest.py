"""Fixtures of the bootstrap tests."""

import json
import warnings

import pytest

from tests.bootstrap.harness import BootstrapRun, run_bootstrap

# pulumi_aws.s3 and pulumi_aws.lambda_ define deprecated aliases that warn when the (lazily imported) module
# loads; the programs use the current classes (Bucket, BucketVersioning, Function, ...). Load both here
# with exactly those warnings muted.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r".* deprecated in favor of ", category=DeprecationWarning)
    import pulumi_aws

    assert pulumi_aws.s3.Bucket and pulumi_aws.lambda_.Function


@pytest.fixture(scope="module")
def default_run() -> BootstrapRun:
    """One program run with two deploy environments, shared by the read-only checks of a module."""
    return run_bootstrap({"deployEnvironments": json.dumps(["dev", "production"])})
