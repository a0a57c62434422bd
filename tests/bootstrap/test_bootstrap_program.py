"""The bootstrap program under Pulumi mocks: what it registers, how it is wired, what it exports."""

import json
import shlex

import pytest

from bootstrap import policies
from bootstrap.program import (
    DEPLOY_ENVIRONMENT_VARIABLES,
    DRIFT_ENVIRONMENT_VARIABLES,
    OUTPUT_NAMES,
    REPOSITORY_VARIABLES,
)
from bootstrap.settings import BootstrapConfigError
from infra.iam_rules import boundary_arn
from infra.project import PROJECT, is_stack_name
from tests.bootstrap.harness import ACCOUNT, BUCKET, CREATED_PROVIDER_ARN, REGION, REPOSITORY, run_bootstrap

BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
DEPLOY_ROLES = {env: f"{PROJECT}.deploy.{env}" for env in ("dev", "production")}
PREVIEW_ROLE = f"{PROJECT}.preview"
DRIFT_ROLES = {env: f"{PROJECT}.drift.{env}" for env in DEPLOY_ROLES}
DRIFT_ROLE = DRIFT_ROLES["dev"]
ROLES = [*DEPLOY_ROLES.values(), PREVIEW_ROLE, *DRIFT_ROLES.values()]
EXISTING_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
TAGGABLE = {
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:kms/key:Key",
    "aws:s3/bucket:Bucket",
    "aws:iam/role:Role",
    "aws:iam/policy:Policy",
}


def trust(run, role_name) -> dict:
    (statement,) = json.loads(run.role(role_name)["assumeRolePolicy"])["Statement"]
    return statement


def subjects(run, role_name) -> list[str]:
    return trust(run, role_name)["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-ci/{name}"


# --- outputs -----------------------------------------------------------------------------------------------


def test_outputs_say_which_variable_goes_where(default_run):
    assert tuple(default_run.outputs) == OUTPUT_NAMES
    assert default_run.outputs["buildingStack"] == "dev"
    assert default_run.outputs["repositoryVariables"] == {
        "AWS_REGION": REGION,
        "AWS_PREVIEW_ROLE_ARN": role_arn(PREVIEW_ROLE),
        "PULUMI_BACKEND_URL": f"s3://{BUCKET}?region={REGION}",
        "DEPLOY_STACKS": '["dev","production"]',
    }
    assert default_run.outputs["environmentVariables"] == {
        env: {
            "AWS_DEPLOY_ROLE_ARN": role_arn(name),
            "PULUMI_SECRETS_PROVIDER": f"awskms://alias/{PROJECT}-secrets-{env}?region={REGION}",
        }
        for env, name in DEPLOY_ROLES.items()
    } | {f"drift-{env}": {"AWS_DRIFT_ROLE_ARN": role_arn(name)} for env, name in DRIFT_ROLES.items()}


def test_deploy_stacks_is_the_deploy_environments_in_their_order():
    run = run_bootstrap({"deployEnvironments": json.dumps(["dev", "staging", "production"])})
    assert json.loads(run.outputs["repositoryVariables"]["DEPLOY_STACKS"]) == ["dev", "staging", "production"]
    commands = run.outputs["ghVariableCommands"].splitlines()
    (command,) = [line for line in commands if " DEPLOY_STACKS " in line]
    assert shlex.split(command)[-1] == '["dev","staging","production"]'


def test_the_output_variables_are_the_declared_ones(default_run):
    assert tuple(default_run.outputs["repositoryVariables"]) == REPOSITORY_VARIABLES
    for env, variables in default_run.outputs["environmentVariables"].items():
        assert tuple(variables) == (
            DRIFT_ENVIRONMENT_VARIABLES if env.startswith("drift-") else DEPLOY_ENVIRONMENT_VARIABLES
        ), env


def test_the_gh_commands_set_exactly_the_output_variables_where_they_belong(default_run):
    expected = {(None, name, value) for name, value in default_run.outputs["repositoryVariables"].items()}
    expected |= {
        (env, name, value)
        for env, variables in default_run.outputs["environmentVariables"].items()
        for name, value in variables.items()
    }
    commands = set()
    for line in default_run.outputs["ghVariableCommands"].splitlines():
        words = shlex.split(line)
        assert words[:3] == ["gh", "variable", "set"], line
        options = dict(zip(words[4::2], words[5::2], strict=True))
        assert options.pop("--repo") == REPOSITORY
        commands.add((options.pop("--env", None), words[3], options.pop("--body")))
        assert options == {}, line
    assert commands == expected


def test_gh_commands_name_the_repository_as_owner_slash_repo_in_the_immutable_form_too():
    run = run_bootstrap({"githubRepository": "example-org@1234567/container-lambda@89012345"})
    for line in run.outputs["ghVariableCommands"].splitlines():
        assert shlex.split(line)[5] == "example-org/container-lambda", line


# --- identity provider -------------------------------------------------------------------------------------


def test_creates_the_github_oidc_provider_for_sts_without_thumbprints(default_run):
    provider = default_run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider


def test_reuses_an_existing_provider_instead_of_creating_one():
    run = run_bootstrap({"existingOidcProviderArn": EXISTING_PROVIDER})
    assert run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    for role in (f"{PROJECT}.deploy.dev", PREVIEW_ROLE, DRIFT_ROLE):
        assert trust(run, role)["Principal"] == {"Federated": EXISTING_PROVIDER}


def test_existing_provider_without_the_sts_audience_is_rejected_before_anything_is_created():
    with pytest.raises(BootstrapConfigError, match="does not list 'sts.amazonaws.com'") as error:
        run_bootstrap(
            {"existingOidcProviderArn": EXISTING_PROVIDER},
            existing_provider_audiences=["https://github.com/example-org"],
        )
    assert error.value.registered == []


def test_existing_provider_of_another_account_is_rejected_before_anything_is_created():
    with pytest.raises(BootstrapConfigError, match="belongs to account 210987654321") as error:
        run_bootstrap({"existingOidcProviderArn": EXISTING_PROVIDER.replace(ACCOUNT, "210987654321")})
    assert error.value.registered == []


def test_bad_config_reports_every_key_and_creates_nothing():
    with pytest.raises(BootstrapConfigError) as error:
        run_bootstrap(
            {
                "githubRepository": "example-org/*",
                "deployEnvironments": '["prod*"]',
                "existingOidcProviderArn": "arn:aws:iam::123:oidc-provider/x",
            },
            aws_region=None,
        )
    assert len(error.value.problems) == 4
    assert error.value.registered == []


# --- roles -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_roles_trust_the_created_provider_with_exact_conditions(default_run, role):
    statement = trust(default_run, role)
    assert statement["Principal"] == {"Federated": CREATED_PROVIDER_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert list(statement["Condition"]) == ["StringEquals"]
    equals = statement["Condition"]["StringEquals"]
    assert equals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        (DEPLOY_ROLES["dev"], f"repo:{REPOSITORY}:environment:dev"),
        (DEPLOY_ROLES["production"], f"repo:{REPOSITORY}:environment:production"),
        (PREVIEW_ROLE, f"repo:{REPOSITORY}:pull_request"),
        (DRIFT_ROLES["dev"], f"repo:{REPOSITORY}:environment:drift-dev"),
        (DRIFT_ROLES["production"], f"repo:{REPOSITORY}:environment:drift-production"),
    ],
)
def test_each_role_trusts_exactly_one_subject(default_run, role, subject):
    assert subjects(default_run, role) == [subject]


def test_by_default_the_dev_environment_is_the_only_deploy_environment():
    run = run_bootstrap()
    assert [r["name"] for r in run.of_type("aws:iam/role:Role") if ".deploy." in r["name"]] == [
        f"{PROJECT}.deploy.dev"
    ]


def test_the_immutable_repository_form_is_used_exactly_as_given():
    immutable = "example-org@1234567/container-lambda@89012345"
    run = run_bootstrap({"githubRepository": immutable})
    assert subjects(run, f"{PROJECT}.deploy.dev") == [f"repo:{immutable}:environment:dev"]
    assert subjects(run, PREVIEW_ROLE) == [f"repo:{immutable}:pull_request"]


@pytest.mark.parametrize("role", ROLES)
def test_pipeline_roles_live_outside_every_stack_role_path(default_run, role):
    assert default_run.role(role)["path"] == f"/{PROJECT}-ci/"


@pytest.mark.parametrize("role", ROLES)
def test_pipeline_role_names_cannot_collide_with_a_stack_role(role):
    # IAM role names are unique per account whatever the path; a stack's roles are named <project>-<stack>...
    assert not role.startswith(f"{PROJECT}-") and not is_stack_name(role)


def test_role_policies_are_scoped_to_the_created_bucket_and_keys(default_run):
    scope = policies.Scope(partition="aws", region=REGION, account_id=ACCOUNT)
    state_key = default_run.key_arn()
    secrets = {env: default_run.key_arn(f"secrets-{env}-key") for env in DEPLOY_ROLES}
    for env, name in DEPLOY_ROLES.items():
        assert default_run.role_policy(name) == policies.deploy_permissions(
            scope, env, "dev", BUCKET_ARN, state_key, secrets[env]
        )
    assert default_run.role_policy(PREVIEW_ROLE) == policies.preview_permissions(
        scope, "dev", BUCKET_ARN, state_key, secrets["dev"]
    )
    for env, name in DRIFT_ROLES.items():
        assert default_run.role_policy(name) == policies.drift_permissions(
            scope, env, BUCKET_ARN, state_key, secrets[env]
        )


def test_each_deploy_environment_gets_its_boundary_before_its_role(default_run):
    boundaries = {r.inputs["name"]: r for r in default_run.program.of_type("aws:iam/policy:Policy")}
    for env in DEPLOY_ROLES:
        boundary = boundaries[f"{PROJECT}.boundary.{env}"]
        assert boundary.state["arn"] == boundary_arn("aws", ACCOUNT, env)
        assert json.loads(boundary.inputs["policy"]) == policies.boundary_policy(
            policies.Scope(partition="aws", region=REGION, account_id=ACCOUNT), env
        )
        (component,) = [
            r
            for r in default_run.program.records
            if r.name == f"deploy-{env}" and r.typ.endswith(":PipelineRole")
        ]
        assert boundary.urn in component.depends_on


# --- state backend -----------------------------------------------------------------------------------------


def test_state_bucket_is_versioned(default_run):
    versioning = default_run.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["bucket"] == BUCKET
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}


def test_state_bucket_is_encrypted_with_the_key(default_run):
    encryption = default_run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption["bucket"] == BUCKET
    (rule,) = encryption["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": default_run.key_arn(),
    }
    assert rule["bucketKeyEnabled"] is True


def test_state_bucket_blocks_all_public_access(default_run):
    block = default_run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block == {
        "bucket": BUCKET,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }


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


def test_every_key_rotates(default_run):
    keys = default_run.of_type("aws:kms/key:Key")
    assert len(keys) == 1 + len(DEPLOY_ROLES)  # the state key and one secrets key per deploy environment
    for key in keys:
        assert key["enableKeyRotation"] is True
        assert key["deletionWindowInDays"] == 30


def test_aliases_name_the_keys(default_run):
    keys = {r.name: r.state["keyId"] for r in default_run.program.of_type("aws:kms/key:Key")}
    aliases = {alias["name"]: alias["targetKeyId"] for alias in default_run.of_type("aws:kms/alias:Alias")}
    assert aliases == {f"alias/{PROJECT}-state": keys["pulumi-state-key"]} | {
        f"alias/{PROJECT}-secrets-{env}": keys[f"secrets-{env}-key"] for env in DEPLOY_ROLES
    }


def test_the_backend_layout_file_is_written_for_project_scoped_stacks(default_run):
    meta = default_run.one("aws:s3/bucketObjectv2:BucketObjectv2")
    assert meta["bucket"] == BUCKET and meta["key"] == ".pulumi/meta.yaml"
    assert meta["content"] == "version: 1\n"


def test_the_state_its_protective_settings_and_the_keys_are_protected(default_run):
    assert default_run.protected == {
        "pulumi-state-bucket",
        "pulumi-state-key",
        "pulumi-state-key-alias",
        "pulumi-state-ownership",
        "pulumi-state-public-access-block",
        "pulumi-state-versioning",
        "pulumi-state-encryption",
        "pulumi-state-lifecycle",
        "pulumi-state-tls-only",
        *[f"secrets-{env}-{part}" for env in DEPLOY_ROLES for part in ("key", "alias")],
    }


# --- tags --------------------------------------------------------------------------------------------------


def test_every_taggable_resource_has_the_standard_tags(default_run):
    tagged = [r for r in default_run.resources if r.typ in TAGGABLE]
    assert {r.typ for r in tagged} == TAGGABLE
    for resource in tagged:
        assert resource.inputs["tags"] == {"Project": PROJECT, "Stack": "github", "ManagedBy": "pulumi"}


def test_the_github_settings_command_checks_the_repository_and_every_deploy_environment(default_run):
    command = shlex.split(default_run.outputs["githubSettingsCommand"])
    assert command[:3] == ["python3", "-m", "scripts.github_settings"]
    assert command[3:] == [REPOSITORY, '["dev","production"]']
