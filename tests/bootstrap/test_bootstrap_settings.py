"""Bootstrap config validation: every bad key reported at once; nothing accepted that could widen trust."""

import json

import pytest

from bootstrap import policies
from bootstrap.names import stack_name_problems
from bootstrap.policies import CustomDomain
from bootstrap.settings import (
    BootstrapConfigError,
    check_account,
    gh_repository,
    load_settings,
)
from infra.catalogue import longest_stack_name
from infra.project import PROJECT

GOOD = {"githubRepository": f"example-org/{PROJECT}", "deployEnvironments": '["production"]'}
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def load(overrides=None, region="eu-west-1"):
    values = GOOD | (overrides or {})
    return load_settings(values.get, {"region": region}.get)


def problems(overrides=None, region="eu-west-1") -> list[str]:
    with pytest.raises(BootstrapConfigError) as error:
        load(overrides, region)
    return error.value.problems


def test_valid_config_is_read():
    settings = load({"existingOidcProviderArn": PROVIDER})
    assert settings.github_repository == f"example-org/{PROJECT}"
    assert settings.deploy_environments == ("production",)
    assert settings.existing_oidc_provider_arn == PROVIDER
    assert settings.region == "eu-west-1"


def test_the_existing_provider_is_optional():
    assert load({"existingOidcProviderArn": ""}).existing_oidc_provider_arn is None


@pytest.mark.parametrize("raw", ["[]", "", None])
def test_at_least_one_deploy_environment_is_required(raw):
    (problem,) = problems({"deployEnvironments": raw})
    assert "deployEnvironments must list at least one GitHub environment" in problem


def test_repository_is_required():
    (problem,) = problems({"githubRepository": None})
    assert "githubRepository is required" in problem


@pytest.mark.parametrize(
    "repository",
    [
        f"{PROJECT}",  # no owner
        "example-org/container/lambda",  # extra segment
        "example-org/*",  # wildcard
        f"example-*/{PROJECT}",
        "example-org/container-lambd?",
        f"-example/{PROJECT}",  # owner cannot start with a hyphen
        f"example--org/{PROJECT}",  # nor hold a double hyphen
        "a" * 40 + f"/{PROJECT}",  # owner longer than 39
        "example-org/" + "r" * 101,  # repository longer than 100
        "example-org/..",
        "example-org/",
        f"example org/{PROJECT}",
        f"example-org/{PROJECT}\n",  # `$` alone would accept a trailing newline
    ],
)
def test_malformed_repository_is_rejected(repository):
    (problem,) = problems({"githubRepository": repository})
    assert "githubRepository" in problem and repr(repository) in problem


@pytest.mark.parametrize(
    "repository",
    [
        f"example-org@1234567/{PROJECT}@89012345",
        "Example-Org@1/container.lambda_x@2",
    ],
)
def test_the_immutable_repository_form_is_accepted_as_given(repository):
    assert load({"githubRepository": repository}).github_repository == repository


@pytest.mark.parametrize(
    "repository",
    [
        f"example-org@1234567/{PROJECT}",  # both ids or neither
        f"example-org/{PROJECT}@89012345",
        f"example-org@/{PROJECT}@1",
        f"example-org@12a/{PROJECT}@1",
        f"example-org@0123/{PROJECT}@1",  # ids have no leading zero
        f"example-org@*/{PROJECT}@*",
        f"example-org@\u0661\u0662/{PROJECT}@1",  # Arabic-Indic digits
    ],
)
def test_malformed_immutable_repository_is_rejected(repository):
    (problem,) = problems({"githubRepository": repository})
    assert "githubRepository" in problem and repr(repository) in problem


def test_the_gh_cli_gets_owner_slash_repo_from_either_form():
    assert gh_repository(f"example-org@1234567/{PROJECT}@89012345") == f"example-org/{PROJECT}"
    assert gh_repository(f"example-org/{PROJECT}") == f"example-org/{PROJECT}"


def test_repository_with_git_suffix_is_rejected():
    (problem,) = problems({"githubRepository": f"example-org/{PROJECT}.git"})
    assert "'.git'" in problem


@pytest.mark.parametrize("raw", ['"production"', "production", "[1]", '{"name": "production"}'])
def test_environments_must_be_a_list_of_names(raw):
    (problem,) = problems({"deployEnvironments": raw})
    assert "deployEnvironments must be a list" in problem


@pytest.mark.parametrize(
    "name",
    [
        "prod*",
        "prod?",
        "",
        "-prod",
        "prod uction",
        "a" * 32,
        "prod:x",
        "prod\n",
        "Production",
        "prod-",
        "a--b",
        "dev.eu",
    ],
)
def test_environment_names_are_stack_names(name):
    (problem,) = problems({"deployEnvironments": json.dumps([name])})
    assert "deployEnvironments entry" in problem and "not a stack name" in problem


@pytest.mark.parametrize("name", ["drift", "drift-dev", "drift-production"])
def test_drift_environment_names_are_not_deploy_environments(name):
    # a deploy environment `drift-dev` would be the environment whose jobs dev's drift role trusts
    (problem,) = problems({"deployEnvironments": json.dumps(["dev", name])})
    assert f"entry {name!r} is reserved for the nightly drift check" in problem


def test_duplicate_environments_are_rejected():
    (problem,) = problems({"deployEnvironments": json.dumps(["production", "production"])})
    assert "twice" in problem


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:oidc-provider/gitlab.com",
        "arn:aws:iam::12345678901:oidc-provider/token.actions.githubusercontent.com",
        "arn:aws:iam::*:oidc-provider/token.actions.githubusercontent.com",
        "token.actions.githubusercontent.com",
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com\n",
    ],
)
def test_existing_provider_must_be_a_github_provider_arn(arn):
    (problem,) = problems({"existingOidcProviderArn": arn})
    assert "existingOidcProviderArn" in problem


def test_region_is_required():
    (problem,) = problems(region=None)
    assert "aws:region is required" in problem


def test_region_must_be_a_region_name():
    (problem,) = problems(region="Europe")
    assert "aws:region 'Europe'" in problem


def test_every_bad_key_is_reported_in_one_message():
    with pytest.raises(BootstrapConfigError) as error:
        load(
            {
                "githubRepository": "nope",
                "deployEnvironments": '["a*"]',
                "existingOidcProviderArn": "arn:aws:iam::1:oidc-provider/x",
            },
            region="",
        )
    message = str(error.value)
    assert len(error.value.problems) == 4
    for key in ("aws:region", "githubRepository", "deployEnvironments", "existingOidcProviderArn"):
        assert key in message
    assert "nothing was created" in message


def test_existing_provider_of_another_account_is_rejected():
    settings = load({"existingOidcProviderArn": PROVIDER})
    with pytest.raises(BootstrapConfigError, match="belongs to account 123456789012"):
        check_account(settings, "210987654321", "aws")


def test_existing_provider_of_the_same_account_is_accepted():
    settings = load({"existingOidcProviderArn": PROVIDER})
    assert check_account(settings, "123456789012", "aws") is None


KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def test_a_repository_key_is_read_per_deploy_environment():
    settings = load({"repositoryKmsKeyArns": json.dumps({"production": KEY})})
    assert dict(settings.repository_kms_key_arns) == {"production": KEY}
    assert dict(load().repository_kms_key_arns) == {}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"staging": KEY}, "'staging', which is not a deploy environment"),
        ({"production": "alias/ecr"}, "is not a KMS key ARN"),
        ({"production": KEY.replace("eu-west-1", "us-east-1")}, "ECR uses a key of its own region"),
        (["production"], "must map deploy environments to KMS key ARNs"),
    ],
)
def test_a_bad_repository_key_is_refused(keys, message):
    (problem,) = problems({"repositoryKmsKeyArns": json.dumps(keys)})
    assert message in problem


def test_custom_domains_are_assigned_per_deploy_environment():
    domains = {"production": {"domainName": "api.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}}
    settings = load({"customDomains": json.dumps(domains)})
    assert dict(settings.custom_domains) == {
        "production": CustomDomain("api.example.com", "Z0123456789ABCDEFGHIJ")
    }
    assert settings.scope("123456789012", "aws").stack("production").custom_domain == CustomDomain(
        "api.example.com", "Z0123456789ABCDEFGHIJ"
    )
    assert load(
        {"customDomains": json.dumps({"production": {"domainName": "api.example.com"}})}
    ).custom_domains["production"] == CustomDomain("api.example.com")
    assert dict(load().custom_domains) == {}


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        ({"staging": {"domainName": "api.example.com"}}, "'staging', which is not a deploy environment"),
        ({"production": {"domainName": "API.example.com"}}, "is not a DNS name in lower case"),
        ({"production": {"domainName": "localhost"}}, "is not a DNS name in lower case"),
        ({"production": {}}, "is not a DNS name in lower case"),
        (
            {"production": {"domainName": "api.example.com", "hostedZoneId": "/hostedzone/Z1"}},
            "is not a Route 53 hosted zone ID",
        ),
        ({"production": {"domainName": "api.example.com", "zone": "Z1"}}, "unknown keys ['zone']"),
        ({"production": "api.example.com"}, "must map deploy environments to {domainName, hostedZoneId}"),
    ],
)
def test_a_bad_custom_domain_is_refused(domains, message):
    (problem,) = problems({"customDomains": json.dumps(domains)})
    assert message in problem


SUBNETS, GROUPS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"], ["sg-0123456789abcdef0"]


def test_function_networks_are_assigned_per_deploy_environment():
    settings = load(
        {"functionNetworks": json.dumps({"production": {"subnetIds": SUBNETS, "securityGroupIds": GROUPS}})}
    )
    network = settings.scope("123456789012", "aws").function_networks["production"]
    assert (network.subnet_ids, network.security_group_ids) == (tuple(SUBNETS), tuple(GROUPS))
    assert dict(load().function_networks) == {}


@pytest.mark.parametrize(
    ("networks", "message"),
    [
        (
            {"staging": {"subnetIds": SUBNETS, "securityGroupIds": GROUPS}},
            "'staging', which is not a deploy environment",
        ),
        ({"production": {"subnetIds": SUBNETS}}, "exactly the keys subnetIds and securityGroupIds"),
        (
            {"production": {"subnetIds": [], "securityGroupIds": GROUPS}},
            "subnetIds [] must be 1 to 16 unique IDs",
        ),
        ({"production": {"subnetIds": ["subnet-*"], "securityGroupIds": GROUPS}}, "subnetIds ['subnet-*']"),
        ({"production": {"subnetIds": SUBNETS, "securityGroupIds": ["sg-1"]}}, "securityGroupIds ['sg-1']"),
        ({"production": {"subnetIds": SUBNETS * 2, "securityGroupIds": GROUPS}}, "unique IDs"),
        ({"production": SUBNETS}, "must map deploy environments to {subnetIds, securityGroupIds}"),
    ],
)
def test_a_bad_function_network_is_refused(networks, message):
    (problem,) = problems({"functionNetworks": json.dumps(networks)})
    assert message in problem


def test_a_repository_key_of_another_account_is_refused():
    settings = load({"repositoryKmsKeyArns": json.dumps({"production": KEY})})
    with pytest.raises(BootstrapConfigError, match="repositoryKmsKeyArns.production belongs to account"):
        check_account(settings, "210987654321", "aws")


def settings_problems_of_a_project(tmp_path, project: str, environments: list[str]) -> list[str]:
    """The bootstrap's config validation in a copy of the platform whose Pulumi.yaml names `project` (the
    project name is read once, at import: infra/project.py)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for package in ("infra", "bootstrap"):
        shutil.copytree(root / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n", encoding="utf-8")
    code = (
        "import json, sys\n"
        "from bootstrap.settings import BootstrapConfigError, load_settings\n"
        "values = {'githubRepository': 'example-org/x', 'deployEnvironments': sys.argv[1]}\n"
        "try:\n    load_settings(values.get, {'region': 'eu-west-1'}.get)\n    print('[]')\n"
        "except BootstrapConfigError as error:\n    print(json.dumps(error.problems))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(environments)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout)


def test_names_and_policies_over_their_aws_limits_are_refused_naming_the_limit(tmp_path):
    found = " ".join(settings_problems_of_a_project(tmp_path, "p" * 31, ["s" * 31]))
    for limit in (
        "deploy role name",
        "IAM role name (CodeDeploy's)",
        "EventBridge Scheduler schedule name",
        "state bucket prefix",
    ):
        assert f"the {limit} " in found, limit
    assert "over AWS's 64" in found and "over AWS's 37" in found


def test_a_project_name_aws_would_refuse_in_a_derived_name_is_refused(tmp_path):
    (problem,) = settings_problems_of_a_project(tmp_path, "Orders_API-2", ["dev"])
    assert "'Orders_API-2'" in problem and "lowercase letters and digits" in problem


def test_a_name_derived_from_the_project_alone_is_blamed_on_the_project_once(tmp_path):
    # `<project>-state-` (the state bucket prefix, 37) holds no environment: 31 characters are too many
    # whatever the deploy environments are called
    found = settings_problems_of_a_project(tmp_path, "p" * 31, ["dev", "prod"])
    assert len(found) == 1 and "state bucket prefix" in found[0], found
    assert f"'{'p' * 31}'" in found[0] and "'dev'" not in found[0] and "shorten it" in found[0], found


def test_a_name_too_long_is_blamed_on_the_project_and_the_environment_together(tmp_path):
    # `<project>-<stack>.codedeploy` (an IAM role name, 64): 30 + 1 + 23 + 11 characters
    found = settings_problems_of_a_project(tmp_path, "p" * 30, ["dev", "s" * 23])
    assert found and all(f"'{'p' * 30}'" in problem and f"'{'s' * 23}'" in problem for problem in found), (
        found
    )
    assert "shorten either" in found[0]


@pytest.mark.parametrize(("project", "longest"), [("p" * 21, 31), ("p" * 30, 22), ("p" * 51, 0)])
def test_the_longest_stack_name_a_project_admits(project, longest):
    assert longest_stack_name(project, stack_name_problems) == longest
    if longest:
        assert stack_name_problems(project, "s" * longest) == []
    if longest < 31:
        assert stack_name_problems(project, "s" * (longest + 1)) != []


@pytest.mark.parametrize(
    ("project", "problem"),
    [("p" * 31, "state bucket prefix"), ("Orders", "lowercase letters"), ("aws", "other than aws")],
)
def test_the_project_check_refuses_a_project_name_no_stack_can_use(tmp_path, project, problem):
    result = check_project_in_a_copy(tmp_path, project)
    assert result.returncode == 1 and problem in result.stderr, result.stderr
    assert result.stdout == ""


def test_the_project_check_says_the_longest_stack_name_the_project_admits(tmp_path):
    result = check_project_in_a_copy(tmp_path, "p" * 30)
    assert result.returncode == 0, result.stderr
    assert "up to 22 characters" in result.stdout


@pytest.mark.parametrize(
    ("stack", "problem"),
    [("s" * 23, "is too long for the project"), ("Prod", "is not allowed"), ("dev", None)],
)
def test_the_project_check_refuses_a_stack_file_whose_stack_the_project_cannot_hold(tmp_path, stack, problem):
    # a project of 30 characters leaves 22 for a stack name (`<project>-<stack>.codedeploy`, 64)
    result = check_project_in_a_copy(tmp_path, "p" * 30, stacks=[stack])
    if problem is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 1, result.stdout
        assert f"Pulumi.{stack}.yaml: the stack name {stack!r} {problem}" in result.stderr, result.stderr


def check_project_in_a_copy(tmp_path, project: str, stacks: tuple[str, ...] | list[str] = ()):
    """`python3 -m scripts.check_project` (make check's first step) in a copy of the platform named `project`,
    with an empty stack file `Pulumi.<stack>.yaml` for each of `stacks`."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for package in ("infra", "bootstrap", "scripts"):
        shutil.copytree(root / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n", encoding="utf-8")
    for stack in stacks:
        (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "scripts.check_project"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


# this project's longest deploy environment name (31 characters for a project of at most 21)
LONGEST_STACK = "s" * longest_stack_name(PROJECT, stack_name_problems)


def test_a_policy_over_its_iam_quota_is_refused(monkeypatch):
    # checked with the credentials' partition, before any resource, naming the policy, its size and the quota
    settings = load({"deployEnvironments": json.dumps(["dev", LONGEST_STACK])})
    check_account(settings, "123456789012", "aws-us-gov")
    monkeypatch.setattr(policies, "MANAGED_POLICY_MAX", 2_000)
    with pytest.raises(BootstrapConfigError) as error:
        check_account(settings, "123456789012", "aws-us-gov")
    found = " ".join(error.value.problems)
    assert f"the managed policy {PROJECT}.deploy.{LONGEST_STACK}.function would hold" in found
    assert "over IAM's 2000" in found


# The longest names the limits admit (a project of at most 30 characters: the state bucket prefix; a project
# and a stack of at most 52 together: `<project>-<stack>.codedeploy` is a role name of at most 64).
LONGEST = [("p" * 30, "s" * 22), ("p" * 21, "s" * 31)]


def quota_problems_of_a_project(tmp_path, project: str, environments: list[str]) -> dict[str, list[str]]:
    """Per partition (botocore's endpoints data, each with its longest region name): the name-limit and
    IAM-quota problems of every pipeline policy for these deploy environments, the last with a repository
    key, in a copy of the platform whose Pulumi.yaml names `project`."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for package in ("infra", "bootstrap"):
        shutil.copytree(root / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n", encoding="utf-8")
    code = (
        "import json, sys\n"
        "import botocore.loaders\n"
        "from bootstrap.policies import Scope, size_problems\n"
        "from bootstrap.names import pipeline_name_problems\n"
        "from infra.catalogue import name_limit_problems\n"
        "from infra.project import PROJECT\n"
        "environments = tuple(json.loads(sys.argv[1]))\n"
        "found = {}\n"
        "for partition in botocore.loaders.Loader().load_data('endpoints')['partitions']:\n"
        "    region = max(partition['regions'], key=len)\n"
        "    scope = Scope(partition['partition'], region, '123456789012')\n"
        "    keys = {environments[-1]: 'key'}\n"
        "    names = [p for e in environments for p in name_limit_problems(PROJECT, e)"
        " + pipeline_name_problems(PROJECT, e)]\n"
        "    found[partition['partition']] = names + size_problems(scope, environments, keys)\n"
        "print(json.dumps(found))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(environments)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(("project", "stack"), LONGEST)
def test_every_pipeline_policy_fits_its_iam_quota_with_the_longest_names_in_every_partition(
    tmp_path, project, stack
):
    # IAM User Guide, "IAM and AWS STS quotas": inline policies 10,240 characters per role, a managed policy
    # 6,144, 10 managed policies per role (bootstrap/policies.py size_problems); the name limits of
    # infra/iam_rules.py and bootstrap/names.py hold for these names
    found = quota_problems_of_a_project(tmp_path, project, ["dev", stack])
    assert len(found) >= 8, found  # aws, aws-cn, aws-us-gov and the isolated partitions
    assert found == {partition: [] for partition in found}
