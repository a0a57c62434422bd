"""The bootstrap program under Pulumi mocks: what it registers, how it is wired, what it exports."""

import json

import pytest

from bootstrap import policies
from bootstrap.program import OUTPUT_NAMES
from bootstrap.settings import BootstrapConfigError
from infra.config import STACK_NAME, prefix_for
from tests.bootstrap.harness import ACCOUNT, BUCKET, CREATED_PROVIDER_ARN, REGION, run_bootstrap

BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
DEPLOY_ROLE = "github-actions-container-lambda-deploy"
PREVIEW_ROLE = "github-actions-container-lambda-preview"
EXISTING_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
TAGGABLE = {
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:kms/key:Key", "aws:s3/bucket:Bucket",
    "aws:iam/role:Role",
}


def trust(run, role_name) -> dict:
    (statement,) = json.loads(run.role(role_name)["assumeRolePolicy"])["Statement"]
    return statement


def subjects(run, role_name) -> list[str]:
    return trust(run, role_name)["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]


def audience(run, role_name) -> str:
    return trust(run, role_name)["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"]


# --- outputs -----------------------------------------------------------------------------------------------

def test_outputs_are_exactly_the_repository_variables(default_run):
    assert tuple(default_run.outputs) == OUTPUT_NAMES == (
        "AWS_REGION", "AWS_DEPLOY_ROLE_ARN", "AWS_PREVIEW_ROLE_ARN",
        "PULUMI_BACKEND_URL", "PULUMI_SECRETS_PROVIDER",
    )


def test_output_values(default_run):
    assert default_run.outputs == {
        "AWS_REGION": REGION,
        "AWS_DEPLOY_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/container-lambda-ci/{DEPLOY_ROLE}",
        "AWS_PREVIEW_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/container-lambda-ci/{PREVIEW_ROLE}",
        "PULUMI_BACKEND_URL": f"s3://{BUCKET}?region={REGION}",
        "PULUMI_SECRETS_PROVIDER": f"awskms://alias/container-lambda-pulumi-secrets?region={REGION}",
    }


# --- identity provider -------------------------------------------------------------------------------------

def test_creates_the_github_oidc_provider_for_sts_without_thumbprints(default_run):
    provider = default_run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider


def test_reuses_an_existing_provider_instead_of_creating_one():
    run = run_bootstrap({"existingOidcProviderArn": EXISTING_PROVIDER})
    assert run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    for role in (DEPLOY_ROLE, PREVIEW_ROLE):
        assert trust(run, role)["Principal"] == {"Federated": EXISTING_PROVIDER}


def test_existing_provider_without_the_sts_audience_is_rejected_before_anything_is_created():
    with pytest.raises(BootstrapConfigError, match="does not list 'sts.amazonaws.com'") as error:
        run_bootstrap({"existingOidcProviderArn": EXISTING_PROVIDER},
                      existing_provider_audiences=["https://github.com/example-org"])
    assert error.value.registered == []


def test_existing_provider_of_another_account_is_rejected_before_anything_is_created():
    with pytest.raises(BootstrapConfigError, match="belongs to account 210987654321") as error:
        run_bootstrap({"existingOidcProviderArn": EXISTING_PROVIDER.replace(ACCOUNT, "210987654321")})
    assert error.value.registered == []


def test_bad_config_reports_every_key_and_creates_nothing():
    with pytest.raises(BootstrapConfigError) as error:
        run_bootstrap({"githubRepository": "example-org/*", "deployEnvironments": '["prod*"]',
                       "existingOidcProviderArn": "arn:aws:iam::123:oidc-provider/x"}, aws_region=None)
    assert len(error.value.problems) == 4
    assert error.value.registered == []


# --- roles -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [DEPLOY_ROLE, PREVIEW_ROLE])
def test_roles_trust_the_created_provider_with_exact_conditions(default_run, role):
    statement = trust(default_run, role)
    assert statement["Principal"] == {"Federated": CREATED_PROVIDER_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert list(statement["Condition"]) == ["StringEquals"]
    assert audience(default_run, role) == "sts.amazonaws.com"


def test_deploy_role_subjects_come_from_the_config(default_run):
    assert subjects(default_run, DEPLOY_ROLE) == [
        "repo:example-org/container-lambda:environment:dev",
        "repo:example-org/container-lambda:environment:production",
    ]


def test_by_default_the_dev_environment_may_deploy():
    run = run_bootstrap()
    assert subjects(run, DEPLOY_ROLE) == [
        "repo:example-org/container-lambda:environment:dev",
    ]


def test_preview_role_subjects(default_run):
    assert subjects(default_run, PREVIEW_ROLE) == [
        "repo:example-org/container-lambda:pull_request",
        "repo:example-org/container-lambda:ref:refs/heads/main",
    ]


@pytest.mark.parametrize("role", [DEPLOY_ROLE, PREVIEW_ROLE])
def test_pipeline_roles_live_outside_the_stack_role_path(default_run, role):
    assert default_run.role(role)["path"] == "/container-lambda-ci/" != policies.STACK_ROLE_PATH


@pytest.mark.parametrize("role", [DEPLOY_ROLE, PREVIEW_ROLE])
def test_pipeline_role_names_cannot_collide_with_a_stack_role(role):
    # IAM role names are unique per account whatever the path; a stack's role is named prefix_for(<stack>).
    stack_part = role.removeprefix(prefix_for(""))
    assert stack_part == role or not STACK_NAME.fullmatch(stack_part)


def test_role_policies_are_scoped_to_the_created_bucket_and_key(default_run):
    scope = policies.Scope(partition="aws", region=REGION, account_id=ACCOUNT)
    key_arn = default_run.key_arn()
    assert default_run.role_policy(DEPLOY_ROLE) == policies.deploy_permissions(scope, BUCKET_ARN, key_arn)
    assert default_run.role_policy(PREVIEW_ROLE) == policies.preview_permissions(scope, BUCKET_ARN, key_arn)


# --- state backend -----------------------------------------------------------------------------------------

def test_state_bucket_is_versioned(default_run):
    versioning = default_run.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["bucket"] == BUCKET
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}


def test_state_bucket_is_encrypted_with_the_key(default_run):
    encryption = default_run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption["bucket"] == BUCKET
    (rule,) = encryption["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": default_run.key_arn()}
    assert rule["bucketKeyEnabled"] is True


def test_state_bucket_blocks_all_public_access(default_run):
    block = default_run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block == {"bucket": BUCKET, "blockPublicAcls": True, "blockPublicPolicy": True,
                     "ignorePublicAcls": True, "restrictPublicBuckets": True}


def test_state_bucket_disables_acls(default_run):
    ownership = default_run.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership == {"bucket": BUCKET, "rule": {"objectOwnership": "BucketOwnerEnforced"}}


def test_state_bucket_policy_is_tls_only(default_run):
    bucket_policy = default_run.one("aws:s3/bucketPolicy:BucketPolicy")
    assert bucket_policy["bucket"] == BUCKET
    assert json.loads(bucket_policy["policy"]) == policies.tls_only_bucket_policy(BUCKET_ARN)


def test_old_state_versions_expire_and_uploads_are_cleaned_up(default_run):
    (rule,) = default_run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_secrets_key_rotates(default_run):
    key = default_run.one("aws:kms/key:Key")
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] == 30


def test_secrets_key_alias_names_the_key(default_run):
    alias = default_run.one("aws:kms/alias:Alias")
    assert alias == {"name": "alias/container-lambda-pulumi-secrets", "targetKeyId": default_run.key_id()}


def test_state_bucket_and_key_are_protected_from_destroy(default_run):
    assert default_run.protected == {"pulumi-state-bucket", "pulumi-state-key"}


# --- tags --------------------------------------------------------------------------------------------------

def test_every_taggable_resource_has_the_standard_tags(default_run):
    tagged = [r for r in default_run.resources if r.typ in TAGGABLE]
    assert {r.typ for r in tagged} == TAGGABLE
    for resource in tagged:
        assert resource.inputs["tags"] == {
            "Project": "container-lambda", "Stack": "github", "ManagedBy": "pulumi"}
