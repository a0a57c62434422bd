"""An attacker's view of the rendered bootstrap: code running in a deploy job, a pull request or the drift
job tries every path named in docs/bootstrap.md, and IAM's evaluation (tests/support/iam.py) of the
documents the bootstrap really registers under mocks says no. The legitimate calls of a full `pulumi up` /
`destroy` stay allowed (test_bootstrap_covers_stack.py evaluates those against the real stack).

Three deploy environments: `dev` (building), `dev-eu` (a name that starts with `dev`) and `production`.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from infra.iam_rules import boundary_arn
from infra.project import PROJECT
from tests.bootstrap.harness import ACCOUNT, BUCKET, REGION, REPOSITORY, run_bootstrap
from tests.pipeline.helpers import WORKFLOWS, load_workflow
from tests.support.iam import ALLOWED, EXPLICIT_DENY, Request, trust_allows
from tests.support.iam import evaluate as decide

ENVIRONMENTS = ["dev", "dev-eu", "production"]
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
STATE = f"{BUCKET_ARN}/.pulumi"
APIS = f"arn:aws:apigateway:{REGION}::/apis"


def arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def function(stack: str) -> str:
    return arn("lambda", f"function:{PROJECT}-{stack}")


def role(stack: str, name: str | None = None) -> str:
    return arn("iam", f"role/{PROJECT}/{stack}/{name or f'{PROJECT}-{stack}'}", region="")


def boundary(stack: str) -> str:
    return boundary_arn("aws", ACCOUNT, stack)


def owner_tags(kind: str, project: str, stack: str) -> dict[str, str]:
    return {f"aws:{kind}/Project": project, f"aws:{kind}/Stack": stack}


class Rendered:
    """The documents of one bootstrap run, by role."""

    def __init__(self, run):
        self.run = run
        policies = {r["name"]: json.loads(r["policy"]) for r in run.of_type("aws:iam/policy:Policy")}
        self.boundary = {env: policies[f"{PROJECT}.boundary.{env}"] for env in ENVIRONMENTS}
        # each deploy role's identity policies as one document: its inline policy and its managed ones
        self.deploy = {
            env: {
                "Version": "2012-10-17",
                "Statement": [
                    statement
                    for document in [run.role_policy(f"{PROJECT}.deploy.{env}")]
                    + [
                        policy
                        for name, policy in policies.items()
                        if name.startswith(f"{PROJECT}.deploy.{env}.")
                    ]
                    for statement in document["Statement"]
                ],
            }
            for env in ENVIRONMENTS
        }
        self.preview = run.role_policy(f"{PROJECT}.preview")
        self.drift = {env: run.role_policy(f"{PROJECT}.drift.{env}") for env in ENVIRONMENTS}
        keys = {r.name: r.state["arn"] for r in run.program.of_type("aws:kms/key:Key")}
        self.secrets_key = {env: keys[f"secrets-{env}-key"] for env in ENVIRONMENTS}
        self.state_key = keys["pulumi-state-key"]

    def trust(self, role_name: str) -> dict:
        return json.loads(self.run.role(role_name)["assumeRolePolicy"])


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    return Rendered(run_bootstrap({"deployEnvironments": json.dumps(ENVIRONMENTS)}))


def deploy_dev(rendered: Rendered, action: str, resource: str, **context) -> str:
    return decide(Request(action, resource, context), [rendered.deploy["dev"]])


# --- 1. a deploy job makes itself administrator ------------------------------------------------------------

ADMIN_LIKE = [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/AdministratorAccess-Amplify",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    f"arn:aws:iam::{ACCOUNT}:policy/OrgAdmin",
    "arn:aws:iam::aws:policy/administratoraccess",
    "arn:aws:iam::aws:policy/\u0410dministratorAccess",  # Cyrillic А
    "arn:aws:iam::aws:policy/ReadOnlyAccess",  # not on the allow-list either
    f"arn:aws:iam::{ACCOUNT}:policy/team/reads-everything",
]


def test_no_role_without_the_stacks_boundary(rendered):
    assert deploy_dev(rendered, "iam:CreateRole", role("dev")) != ALLOWED
    assert (
        deploy_dev(rendered, "iam:CreateRole", role("dev"), **{"iam:PermissionsBoundary": boundary("dev")})
        == ALLOWED
    )


# IAM role names are unique in the account whatever the path: a role `<project>-production` created under
# dev's path would make production's own CreateRole fail (EntityAlreadyExists), with a trust of dev's choice.
@pytest.mark.parametrize(
    "squatted",
    [
        role("dev", f"{PROJECT}-production"),
        role("dev", f"{PROJECT}-dev-eu"),
        role("dev", "backdoor"),
        role("dev", f"{PROJECT}-dev-x"),
        role("dev", f"{PROJECT}-dev.other"),
        role("dev", f"{PROJECT}-PRODUCTION"),  # names are unique regardless of case
    ],
)
@pytest.mark.parametrize("action", ["iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole", "iam:DeleteRole"])
def test_only_the_stacks_exact_role_names(rendered, squatted, action):
    with_boundary = {"iam:PermissionsBoundary": boundary("dev")}
    assert deploy_dev(rendered, action, squatted, **with_boundary) != ALLOWED
    assert deploy_dev(rendered, action, role("dev"), **with_boundary) == ALLOWED


@pytest.mark.parametrize(
    "other", ["arn:aws:iam::aws:policy/AdministratorAccess", boundary("production"), boundary("dev-eu")]
)
def test_no_role_bounded_by_another_policy(rendered, other):
    assert (
        deploy_dev(rendered, "iam:CreateRole", role("dev", "backdoor"), **{"iam:PermissionsBoundary": other})
        != ALLOWED
    )


@pytest.mark.parametrize(
    "action", ["iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"]
)
def test_no_permission_change_on_a_role_without_the_boundary(rendered, action):
    # e.g. a role created before the boundary existed, or by someone else under the stack's path
    assert (
        deploy_dev(
            rendered,
            action,
            role("dev"),
            **{"iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/dev/x"},
        )
        != ALLOWED
    )


@pytest.mark.parametrize("policy_arn", ADMIN_LIKE)
def test_no_admin_like_or_foreign_policy_can_be_attached(rendered, policy_arn):
    assert (
        deploy_dev(
            rendered,
            "iam:AttachRolePolicy",
            role("dev"),
            **{"iam:PermissionsBoundary": boundary("dev"), "iam:PolicyARN": policy_arn},
        )
        != ALLOWED
    )


def test_allow_listed_policies_may_be_attached_within_the_boundary(rendered):
    # customer-managed policies under /<project>/ (extraPolicyArns); the boundary still caps what they grant
    listed = f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/reads-the-bucket"
    assert (
        deploy_dev(
            rendered,
            "iam:AttachRolePolicy",
            role("dev"),
            **{"iam:PermissionsBoundary": boundary("dev"), "iam:PolicyARN": listed},
        )
        == ALLOWED
    )


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("iam:DeleteRolePermissionsBoundary", role("dev"), {"iam:PermissionsBoundary": boundary("dev")}),
        ("iam:PutRolePermissionsBoundary", role("dev"), {"iam:PermissionsBoundary": boundary("production")}),
        (
            "iam:PutRolePermissionsBoundary",
            role("dev"),
            {"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        ("iam:CreatePolicyVersion", boundary("dev"), {}),
        ("iam:SetDefaultPolicyVersion", boundary("dev"), {}),
        ("iam:DeletePolicyVersion", boundary("dev"), {}),
        ("iam:DeletePolicy", boundary("dev"), {}),
        ("iam:CreatePolicy", arn("iam", f"policy/{PROJECT}/dev/mine", region=""), {}),
        ("iam:UpdateAssumeRolePolicy", role("dev"), {}),
    ],
)
def test_the_boundary_cannot_be_removed_swapped_or_edited(rendered, action, resource, context):
    assert deploy_dev(rendered, action, resource, **context) != ALLOWED


@pytest.mark.parametrize(
    "target",
    [
        arn("iam", f"role/{PROJECT}-ci/{PROJECT}.deploy.dev", region=""),  # its own role
        arn("iam", f"role/{PROJECT}-ci/{PROJECT}.deploy.production", region=""),
        arn("iam", "role/OrganizationAccountAccessRole", region=""),
    ],
)
@pytest.mark.parametrize(
    "action",
    [
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:PassRole",
        "sts:AssumeRole",
    ],
)
def test_no_pipeline_or_account_role_is_reachable(rendered, target, action):
    assert (
        deploy_dev(
            rendered,
            action,
            target,
            **{"iam:PermissionsBoundary": boundary("dev"), "iam:PassedToService": "lambda.amazonaws.com"},
        )
        != ALLOWED
    )


def test_own_roles_may_be_passed_to_lambda_only(rendered):
    assert (
        deploy_dev(rendered, "iam:PassRole", role("dev"), **{"iam:PassedToService": "lambda.amazonaws.com"})
        == ALLOWED
    )
    for service in ("ec2.amazonaws.com", "codebuild.amazonaws.com", "ecs-tasks.amazonaws.com"):
        assert (
            deploy_dev(rendered, "iam:PassRole", role("dev"), **{"iam:PassedToService": service}) != ALLOWED
        )


class TestABoundedRoleWithInlineStar:
    """What the deploy role *can* do — create a role under its path with its boundary and an inline
    `"Action": "*", "Resource": "*"` — yields nothing beyond what the stack's own function needs, and
    nothing at all to a principal other than that function (the role's trust is the attacker's choice)."""

    STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    FROM_DEV = {"lambda:SourceFunctionArn": function("dev")}

    def test_the_deploy_role_may_create_it(self, rendered):
        # under the stack's own role name (after deleting the role), with a trust of its choosing
        assert (
            deploy_dev(
                rendered, "iam:CreateRole", role("dev"), **{"iam:PermissionsBoundary": boundary("dev")}
            )
            == ALLOWED
        )
        assert (
            deploy_dev(
                rendered, "iam:PutRolePolicy", role("dev"), **{"iam:PermissionsBoundary": boundary("dev")}
            )
            == ALLOWED
        )

    @pytest.mark.parametrize(
        ("action", "resource", "context"),
        [
            ("iam:CreateUser", arn("iam", "user/backdoor", region=""), FROM_DEV),
            ("iam:AttachRolePolicy", role("dev"), FROM_DEV),
            (
                "sts:AssumeRole",
                arn("iam", f"role/{PROJECT}-ci/{PROJECT}.deploy.production", region=""),
                FROM_DEV,
            ),
            ("s3:GetObject", f"{STATE}/stacks/{PROJECT}/production.json", FROM_DEV),
            ("lambda:UpdateFunctionCode", function("production"), FROM_DEV),
            ("ssm:GetParameter", arn("ssm", f"parameter/{PROJECT}/production/db"), FROM_DEV),
            (
                "secretsmanager:GetSecretValue",
                arn("secretsmanager", f"secret:{PROJECT}/dev-eu/db-AbCdEf"),
                FROM_DEV,
            ),
            (
                "kms:Decrypt",
                arn("kms", "key/state"),
                FROM_DEV | {"kms:ViaService": f"s3.{REGION}.amazonaws.com"},
            ),
            # the same role assumed by anyone but the dev function: its own parameters and logs are closed too
            ("ssm:GetParameter", arn("ssm", f"parameter/{PROJECT}/dev/db"), {}),
            ("secretsmanager:GetSecretValue", arn("secretsmanager", f"secret:{PROJECT}/dev/db-AbCdEf"), {}),
            ("logs:PutLogEvents", arn("logs", f"log-group:/aws/lambda/{PROJECT}-dev:log-stream:x"), {}),
            (
                "ssm:GetParameter",
                arn("ssm", f"parameter/{PROJECT}/dev/db"),
                {"lambda:SourceFunctionArn": function("dev-eu")},
            ),
        ],
    )
    def test_it_gets_nothing_outside_its_function(self, rendered, action, resource, context):
        assert decide(Request(action, resource, context), [self.STAR], rendered.boundary["dev"]) != ALLOWED

    @pytest.mark.parametrize(
        ("action", "resource"),
        [
            ("logs:CreateLogStream", arn("logs", f"log-group:/aws/lambda/{PROJECT}-dev:log-stream:x")),
            ("logs:PutLogEvents", arn("logs", f"log-group:/aws/lambda/{PROJECT}-dev:log-stream:x")),
            ("ssm:GetParameter", arn("ssm", f"parameter/{PROJECT}/dev/db")),
            ("secretsmanager:GetSecretValue", arn("secretsmanager", f"secret:{PROJECT}/dev/db-AbCdEf")),
            ("xray:PutTraceSegments", "*"),
        ],
    )
    def test_the_function_keeps_what_it_needs(self, rendered, action, resource):
        request = Request(action, resource, self.FROM_DEV)
        assert decide(request, [self.STAR], rendered.boundary["dev"]) == ALLOWED


# --- 2. the dev job reaches another stack ------------------------------------------------------------------


@pytest.mark.parametrize("other", ["production", "dev-eu"])
@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("lambda:UpdateFunctionCode", lambda s: function(s), {}),
        ("lambda:UpdateFunctionConfiguration", lambda s: function(s), {}),
        ("lambda:UpdateAlias", lambda s: f"{function(s)}:live", {}),
        ("lambda:AddPermission", lambda s: function(s), {"lambda:Principal": "apigateway.amazonaws.com"}),
        ("ecr:PutImage", lambda s: arn("ecr", f"repository/{PROJECT}-{s}"), {}),
        ("ecr:InitiateLayerUpload", lambda s: arn("ecr", f"repository/{PROJECT}-{s}"), {}),
        ("ecr:BatchDeleteImage", lambda s: arn("ecr", f"repository/{PROJECT}-{s}"), {}),
        ("s3:PutObject", lambda s: f"{STATE}/stacks/{PROJECT}/{s}.json", {}),
        ("s3:GetObject", lambda s: f"{STATE}/stacks/{PROJECT}/{s}.json", {}),
        ("s3:DeleteObject", lambda s: f"{STATE}/stacks/{PROJECT}/{s}.json.bak", {}),
        ("s3:PutObject", lambda s: f"{STATE}/locks/organization/{PROJECT}/{s}/lock.json", {}),
        ("s3:DeleteObject", lambda s: f"{STATE}/locks/organization/{PROJECT}/{s}/theirs.json", {}),
        ("s3:PutObject", lambda s: f"{STATE}/history/{PROJECT}/{s}/{s}-1.history.json", {}),
        ("s3:PutObject", lambda s: f"{STATE}/backups/{PROJECT}/{s}/{s}.1.json", {}),
        ("iam:PassRole", lambda s: role(s), {"iam:PassedToService": "lambda.amazonaws.com"}),
        ("iam:PutRolePolicy", lambda s: role(s), {"iam:PermissionsBoundary": boundary("dev")}),
        ("iam:DeleteRole", lambda s: role(s), {}),
        ("logs:DeleteLogGroup", lambda s: arn("logs", f"log-group:/aws/lambda/{PROJECT}-{s}"), {}),
        ("logs:PutRetentionPolicy", lambda s: arn("logs", f"log-group:/aws/apigateway/{PROJECT}-{s}"), {}),
        ("apigateway:PATCH", lambda s: f"{APIS}/api0{s}", owner_tags("ResourceTag", PROJECT, "{s}")),
        (
            "apigateway:DELETE",
            lambda s: f"{APIS}/api0{s}/routes/r1",
            owner_tags("ResourceTag", PROJECT, "{s}"),
        ),
        ("apigateway:POST", lambda s: APIS, owner_tags("RequestTag", PROJECT, "{s}")),
    ],
)
def test_dev_cannot_change_another_stack(rendered, other, action, resource, context):
    context = {key: value.format(s=other) for key, value in context.items()}
    assert deploy_dev(rendered, action, resource(other), **context) != ALLOWED


@pytest.mark.parametrize("other", ["production", "dev-eu"])
@pytest.mark.parametrize("action", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"])
def test_dev_cannot_use_another_stacks_secrets_key(rendered, other, action):
    assert deploy_dev(rendered, action, rendered.secrets_key[other]) != ALLOWED


def test_dev_may_use_the_state_key_only_through_s3(rendered):
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    assert deploy_dev(rendered, "kms:Decrypt", rendered.state_key, **via_s3) == ALLOWED
    assert deploy_dev(rendered, "kms:Decrypt", rendered.state_key) != ALLOWED


def test_further_stacks_pull_promoted_images_but_push_only_to_their_own(rendered):
    production = [rendered.deploy["production"]]
    building = arn("ecr", f"repository/{PROJECT}-dev")
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImageScanFindings"):
        assert decide(Request(action, building), production) == ALLOWED, action
    for action in (
        "ecr:PutImage",
        "ecr:InitiateLayerUpload",
        "ecr:BatchDeleteImage",
        "ecr:SetRepositoryPolicy",
    ):
        assert decide(Request(action, building), production) != ALLOWED, action
    own = arn("ecr", f"repository/{PROJECT}-production")
    assert decide(Request("ecr:PutImage", own), production) == ALLOWED
    # the building stack reads no further stack's repository
    assert deploy_dev(rendered, "ecr:BatchGetImage", own) != ALLOWED


# --- 3. a pull request reads production or pushes an image -------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("s3:GetObject", f"{STATE}/stacks/{PROJECT}/production.json", {}),
        ("s3:GetObject", f"{STATE}/stacks/{PROJECT}/dev-eu.json", {}),
        ("s3:GetObject", f"{STATE}/history/{PROJECT}/dev/dev-1.history.json", {}),
        ("s3:PutObject", f"{STATE}/stacks/{PROJECT}/dev.json", {}),
        ("s3:PutObject", f"{STATE}/locks/organization/{PROJECT}/dev/planted.json", {}),
        ("s3:DeleteObject", f"{STATE}/locks/organization/{PROJECT}/dev/x.json", {}),
        ("ecr:PutImage", arn("ecr", f"repository/{PROJECT}-dev"), {}),
        ("ecr:InitiateLayerUpload", arn("ecr", f"repository/{PROJECT}-dev"), {}),
        ("ecr:BatchGetImage", arn("ecr", f"repository/{PROJECT}-production"), {}),
        ("lambda:UpdateFunctionCode", function("dev"), {}),
        ("lambda:GetFunction", function("production"), {}),
        ("apigateway:PATCH", f"{APIS}/api0dev", owner_tags("ResourceTag", PROJECT, "dev")),
        ("kms:Encrypt", "SECRETS_dev", {}),
        ("kms:Decrypt", "SECRETS_production", {}),
    ],
)
def test_preview_reads_only_the_building_stack_and_writes_nothing(rendered, action, resource, context):
    if resource.startswith("SECRETS_"):
        resource = rendered.secrets_key[resource.removeprefix("SECRETS_")]
    assert decide(Request(action, resource, context), [rendered.preview]) != ALLOWED


def test_preview_may_preview_the_building_stack(rendered):
    for action, resource in [
        ("s3:GetObject", f"{STATE}/stacks/{PROJECT}/dev.json"),
        ("s3:GetObject", f"{STATE}/meta.yaml"),
        ("kms:Decrypt", rendered.secrets_key["dev"]),
        ("lambda:GetFunction", function("dev")),
        ("ecr:BatchGetImage", arn("ecr", f"repository/{PROJECT}-dev")),
    ]:
        assert decide(Request(action, resource), [rendered.preview]) == ALLOWED, (action, resource)


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("s3:PutObject", f"{STATE}/stacks/{PROJECT}/production.json"),
        ("s3:DeleteObject", f"{STATE}/locks/organization/{PROJECT}/production/x.json"),
        ("kms:Encrypt", "SECRETS_production"),
        ("lambda:UpdateFunctionCode", function("production")),
        ("ecr:PutImage", arn("ecr", f"repository/{PROJECT}-production")),
        ("iam:PutRolePolicy", role("production")),
    ],
)
def test_no_drift_role_writes_anything(rendered, action, resource):
    if resource.startswith("SECRETS_"):
        resource = rendered.secrets_key[resource.removeprefix("SECRETS_")]
    for env in ENVIRONMENTS:
        assert decide(Request(action, resource), [rendered.drift[env]]) != ALLOWED, env


def test_each_drift_role_reads_its_own_stack_only(rendered):
    for env in ENVIRONMENTS:
        for stack in ENVIRONMENTS:
            for action, resource in [
                ("s3:GetObject", f"{STATE}/stacks/{PROJECT}/{stack}.json"),
                ("kms:Decrypt", rendered.secrets_key[stack]),
                ("lambda:GetFunction", function(stack)),
                ("iam:GetRole", role(stack)),
                ("ecr:StartImageScan", arn("ecr", f"repository/{PROJECT}-{stack}")),
            ]:
                verdict = decide(Request(action, resource), [rendered.drift[env]])
                assert (verdict == ALLOWED) is (stack == env), (env, stack, action)


# --- state poisoning: a state file a lower environment's job can write never meets a higher environment's
# secrets. A job of environment E may write E's checkpoint (a provider entry naming a plugin to download);
# whichever role then reads that checkpoint must not decrypt the secrets of a stack promoted after E.


def roles_of(rendered: Rendered) -> dict[str, list[dict]]:
    """Every pipeline role's identity policies, by role (the deploy roles' managed policies included)."""
    return (
        {f"deploy.{env}": [rendered.deploy[env]] for env in ENVIRONMENTS}
        | {f"drift.{env}": [rendered.drift[env]] for env in ENVIRONMENTS}
        | {"preview": [rendered.preview]}
    )


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        (ENVIRONMENTS[i], ENVIRONMENTS[j])
        for i in range(len(ENVIRONMENTS))
        for j in range(i + 1, len(ENVIRONMENTS))
    ],
)
def test_no_role_reads_a_lower_environments_state_and_decrypts_a_higher_ones_secrets(rendered, lower, higher):
    state_reads = [
        f"{STATE}/stacks/{PROJECT}/{lower}.json",
        f"{STATE}/stacks/{PROJECT}/{lower}.json.bak",
        f"{STATE}/journal/{PROJECT}/{lower}/entry-1.json",
        f"{STATE}/history/{PROJECT}/{lower}/{lower}-1.checkpoint.json",
    ]
    for name, documents in roles_of(rendered).items():
        reads = [key for key in state_reads if decide(Request("s3:GetObject", key), documents) == ALLOWED]
        decrypts = decide(Request("kms:Decrypt", rendered.secrets_key[higher]), documents) == ALLOWED
        assert not (reads and decrypts), f"{name} reads {reads} and decrypts {higher}'s secrets"


def test_every_role_reads_and_decrypts_exactly_one_stack(rendered):
    for name, documents in roles_of(rendered).items():
        readable = {
            env
            for env in ENVIRONMENTS
            if decide(Request("s3:GetObject", f"{STATE}/stacks/{PROJECT}/{env}.json"), documents) == ALLOWED
        }
        decryptable = {
            env
            for env in ENVIRONMENTS
            if decide(Request("kms:Decrypt", rendered.secrets_key[env]), documents) == ALLOWED
        }
        assert readable == decryptable and len(readable) == 1, (name, readable, decryptable)


# --- 4. another team's HTTP API ----------------------------------------------------------------------------

# another team's project: any name but this project's (the suite holds whatever Pulumi.yaml names)
OTHER_PROJECT = f"other-{PROJECT}"
OTHER_TEAM = owner_tags("ResourceTag", OTHER_PROJECT, "dev")


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("apigateway:PATCH", f"{APIS}/pay123", OTHER_TEAM),  # repoint the API
        ("apigateway:DELETE", f"{APIS}/pay123/authorizers/a1", OTHER_TEAM),  # strip its authorizer
        ("apigateway:PATCH", f"{APIS}/pay123/routes/r1", OTHER_TEAM),
        ("apigateway:PATCH", f"{APIS}/pay123/integrations/i1", OTHER_TEAM),
        ("apigateway:DELETE", f"{APIS}/pay123", OTHER_TEAM),
        ("apigateway:PATCH", f"{APIS}/untagged1", {}),  # an API without tags
        # claim it: tag it as ours, then change it
        (
            "apigateway:POST",
            f"arn:aws:apigateway:{REGION}::/tags/{quote(f'{APIS}/pay123', safe='')}",
            {
                "aws:TagKeys": ["Project", "Stack"],
                "aws:RequestTag/Project": PROJECT,
                "aws:RequestTag/Stack": "dev",
            },
        ),
        (
            "apigateway:DELETE",
            f"arn:aws:apigateway:{REGION}::/tags/{quote(f'{APIS}/pay123', safe='')}",
            {"aws:TagKeys": ["Stack"]},
        ),
    ],
)
def test_no_deploy_role_touches_another_teams_api(rendered, action, resource, context):
    for env in ENVIRONMENTS:
        assert decide(Request(action, resource, context), [rendered.deploy[env]]) != ALLOWED, env


OTHER_API_TAGS = f"arn:aws:apigateway:{REGION}::/tags/{quote(f'{APIS}/pay123', safe='')}"


@pytest.mark.parametrize(
    "context",
    [
        # tag keys are case-insensitive in aws:ResourceTag/ lookups: `project`/`stack` would claim the API
        {
            "aws:TagKeys": ["project", "stack"],
            "aws:RequestTag/project": PROJECT,
            "aws:RequestTag/stack": "dev",
        },
        {"aws:TagKeys": ["PROJECT"]},
        {"aws:TagKeys": ["CostCenter", "sTaCk"]},
        {},  # a request that names no keys (ForAllValues alone is true when aws:TagKeys is missing)
    ],
)
@pytest.mark.parametrize("action", ["apigateway:POST", "apigateway:DELETE"])
def test_owner_tags_cannot_be_changed_in_any_case(rendered, action, context):
    for env in ENVIRONMENTS:
        assert decide(Request(action, OTHER_API_TAGS, context), [rendered.deploy[env]]) != ALLOWED, env
    assert deploy_dev(rendered, action, OTHER_API_TAGS, **{"aws:TagKeys": ["CostCenter"]}) == ALLOWED


def test_image_tags_cannot_be_made_mutable(rendered):
    for env in ENVIRONMENTS:
        own = arn("ecr", f"repository/{PROJECT}-{env}")
        verdict = decide(Request("ecr:PutImageTagMutability", own), [rendered.deploy[env]])
        assert verdict == EXPLICIT_DENY, env
        assert decide(Request("ecr:PutImage", own), [rendered.deploy[env]]) == ALLOWED, env


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"lambda:Principal": "apigateway.amazonaws.com"}, True),
        ({"lambda:Principal": "*"}, False),
        ({"lambda:Principal": "123456789012"}, False),
        ({}, False),
        # the stacks have no function URL: no grant for one (a public URL with AuthType NONE)
        ({"lambda:Principal": "apigateway.amazonaws.com", "lambda:FunctionUrlAuthType": "NONE"}, False),
        ({"lambda:Principal": "apigateway.amazonaws.com", "lambda:FunctionUrlAuthType": "AWS_IAM"}, False),
    ],
)
def test_invoke_grants_for_api_gateway_only(rendered, context, expected):
    assert (deploy_dev(rendered, "lambda:AddPermission", function("dev"), **context) == ALLOWED) is expected


def test_an_api_is_created_only_with_the_stacks_owner_tags(rendered):
    ours = owner_tags("RequestTag", PROJECT, "dev")
    assert deploy_dev(rendered, "apigateway:POST", APIS, **ours) == ALLOWED
    assert deploy_dev(rendered, "apigateway:POST", APIS) != ALLOWED
    theirs = owner_tags("RequestTag", OTHER_PROJECT, "dev")
    assert deploy_dev(rendered, "apigateway:POST", APIS, **theirs) != ALLOWED


def test_what_stays_allowed_outside_the_stack_is_the_documented_residue(rendered):
    # docs/bootstrap.md, "What a deploy job can still do": the region's API list, tags other than the owner
    # tags (the Tags resource type takes no condition key), access-log delivery actions (no resource type),
    # the account's SNS subscriptions (no resource type, no condition key) and invoke grants to API Gateway
    # without a source ARN (lambda:AddPermission takes no key for it).
    other = f"arn:aws:apigateway:{REGION}::/tags/{quote(f'{APIS}/pay123', safe='')}"
    assert deploy_dev(rendered, "apigateway:GET", APIS) == ALLOWED
    assert deploy_dev(rendered, "apigateway:POST", other, **{"aws:TagKeys": ["CostCenter"]}) == ALLOWED
    # IAM authorizes the subscription calls on "*" only: any subscription of the region, production's too
    for action in ("sns:Unsubscribe", "sns:SetSubscriptionAttributes"):
        assert (
            decide(Request(action, "*", {"aws:RequestedRegion": REGION}), roles_of(rendered)["deploy.dev"])
            == ALLOWED
        )
    assert (
        deploy_dev(
            rendered,
            "lambda:AddPermission",
            function("dev"),
            **{"lambda:Principal": "apigateway.amazonaws.com"},
        )
        == ALLOWED
    )
    assert deploy_dev(rendered, "logs:DeleteLogDelivery", "*", **{"aws:RequestedRegion": REGION}) == ALLOWED
    assert (
        deploy_dev(rendered, "logs:DeleteLogDelivery", "*", **{"aws:RequestedRegion": "us-east-1"}) != ALLOWED
    )


# --- 5. who may assume which role --------------------------------------------------------------------------


def claims(subject: str) -> dict[str, str]:
    return {
        "token.actions.githubusercontent.com:sub": subject,
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
    }


@pytest.mark.parametrize(
    ("role_name", "subject", "expected"),
    [
        (f"{PROJECT}.deploy.dev", f"repo:{REPOSITORY}:environment:dev", True),
        (f"{PROJECT}.deploy.dev", f"repo:{REPOSITORY}:pull_request", False),
        (f"{PROJECT}.deploy.dev", f"repo:{REPOSITORY}:ref:refs/heads/main", False),
        (f"{PROJECT}.deploy.dev", f"repo:{REPOSITORY}:environment:production", False),
        (f"{PROJECT}.deploy.dev", f"repo:{REPOSITORY}:environment:dev-eu", False),
        (f"{PROJECT}.deploy.dev", "repo:example-org/fork:environment:dev", False),
        (f"{PROJECT}.deploy.production", f"repo:{REPOSITORY}:environment:production", True),
        (f"{PROJECT}.deploy.production", f"repo:{REPOSITORY}:environment:dev", False),
        (f"{PROJECT}.drift.dev", f"repo:{REPOSITORY}:environment:drift-dev", True),
        (f"{PROJECT}.drift.dev", f"repo:{REPOSITORY}:environment:drift-production", False),
        (f"{PROJECT}.drift.dev", f"repo:{REPOSITORY}:environment:dev", False),
        (f"{PROJECT}.drift.dev", f"repo:{REPOSITORY}:pull_request", False),
        (f"{PROJECT}.drift.dev", f"repo:{REPOSITORY}:ref:refs/heads/main", False),
        (f"{PROJECT}.drift.production", f"repo:{REPOSITORY}:environment:drift-production", True),
        (f"{PROJECT}.drift.production", f"repo:{REPOSITORY}:environment:drift-dev", False),
        (f"{PROJECT}.preview", f"repo:{REPOSITORY}:pull_request", True),
        (f"{PROJECT}.preview", f"repo:{REPOSITORY}:ref:refs/heads/main", False),
        (f"{PROJECT}.preview", "repo:example-org/fork:pull_request", False),
    ],
)
def test_each_role_is_assumed_only_by_its_jobs(rendered, role_name, subject, expected):
    assert trust_allows(rendered.trust(role_name), federated=PROVIDER, context=claims(subject)) is expected


@pytest.mark.parametrize(
    "subject",
    [
        # GitHub's OIDC `sub` of a job without an environment on a push to main (GitHub Docs, "OpenID Connect
        # reference", example subject claims: "Filtering for a specific branch"), in both forms
        f"repo:{REPOSITORY}:ref:refs/heads/main",
        f"repo:example-org@1234567/{PROJECT}@89012345:ref:refs/heads/main",
    ],
)
def test_no_role_trusts_the_job_that_signs(rendered, subject):
    """deploy.yml's attest job, the one job that may write attestations, has no GitHub environment (and the
    build job, which runs the function's build, gets no OIDC token at all): no role of the bootstrap trusts
    its token, so whatever it runs reaches no cloud resource (tests/pipeline/test_workflows.py checks the
    jobs)."""
    attest = load_workflow(WORKFLOWS / "deploy.yml")["jobs"]["attest"]
    assert "environment" not in attest
    roles = [role["name"] for role in rendered.run.of_type("aws:iam/role:Role")]
    assert len(roles) >= 2 * len(ENVIRONMENTS) + 1, roles
    trusting = [
        name
        for name in roles
        if trust_allows(rendered.trust(name), federated=PROVIDER, context=claims(subject))
    ]
    assert trusting == []


def test_immutable_subjects_are_trusted_exactly_as_configured():
    immutable = f"example-org@1234567/{PROJECT}@89012345"
    run = run_bootstrap({"githubRepository": immutable})
    trust = json.loads(run.role(f"{PROJECT}.deploy.dev")["assumeRolePolicy"])
    assert trust_allows(trust, federated=PROVIDER, context=claims(f"repo:{immutable}:environment:dev"))
    assert not trust_allows(trust, federated=PROVIDER, context=claims(f"repo:{REPOSITORY}:environment:dev"))
    assert not trust_allows(
        trust,
        federated=PROVIDER,
        context=claims(f"repo:example-org@1234567/{PROJECT}@99999999:environment:dev"),
    )


# --- the smaller routes of a deploy job out of its stack (docs/bootstrap.md) ---------------------------------

API_LOGS = f"log-group:/aws/apigateway/{PROJECT}"


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        (arn("logs", f"{API_LOGS}-dev"), True),
        (arn("logs", f"{API_LOGS}-dev:*"), True),
        (arn("logs", f"{API_LOGS}-production"), False),  # forged lines in production's access log
        (arn("logs", f"/aws/lambda/{PROJECT}-production"), False),
        (arn("logs", f"{API_LOGS}-dev-eu"), False),
        (arn("firehose", "deliverystream/amazon-apigateway-exfil"), False),
    ],
)
@pytest.mark.parametrize("action", ["apigateway:POST", "apigateway:PATCH"])
def test_a_stage_logs_only_to_its_own_api_log_group(rendered, destination, action, expected):
    stage = f"{APIS}/api0dev/stages/$default" if action == "apigateway:PATCH" else f"{APIS}/api0dev/stages"
    context = owner_tags("ResourceTag", PROJECT, "dev") | {
        "apigateway:Request/AccessLoggingDestination": destination
    }
    assert (deploy_dev(rendered, action, stage, **context) == ALLOWED) is expected


def test_other_api_writes_need_no_log_destination(rendered):
    route = f"{APIS}/api0dev/routes/r1"
    assert (
        deploy_dev(rendered, "apigateway:PATCH", route, **owner_tags("ResourceTag", PROJECT, "dev"))
        == ALLOWED
    )


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        # the tap of issue 16: a rule turned into an event pattern on the default bus, with targets outside
        # the stack; the warm-up is a schedule now, and no pipeline role holds any EventBridge action
        ("events:PutRule", arn("events", f"rule/{PROJECT}-dev.warm-up"), {}),
        ("events:PutRule", arn("events", "rule/tap"), {}),
        (
            "events:PutTargets",
            arn("events", f"rule/{PROJECT}-dev.warm-up"),
            {"events:TargetArn": [function("dev")]},
        ),
        # nor an invoke grant for EventBridge (the schedule invokes through its own role)
        ("lambda:AddPermission", function("dev"), {"lambda:Principal": "events.amazonaws.com"}),
        ("lambda:AddPermission", function("dev"), {"lambda:Principal": "scheduler.amazonaws.com"}),
    ],
)
def test_no_event_tap_and_no_invoke_grant_for_eventbridge(rendered, action, resource, context):
    for name, documents in roles_of(rendered).items():
        assert decide(Request(action, resource, context), documents) != ALLOWED, (name, action)


SCHEDULES = f"schedule/default/{PROJECT}"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (arn("scheduler", f"{SCHEDULES}-dev.warm-up"), True),
        (arn("scheduler", f"{SCHEDULES}-production.warm-up"), False),
        (arn("scheduler", f"{SCHEDULES}-dev-eu.warm-up"), False),
        (arn("scheduler", f"schedule/other/{PROJECT}-dev.warm-up"), False),
        (arn("scheduler", f"{SCHEDULES}-dev.other"), False),
    ],
)
def test_the_deploy_role_changes_only_its_own_warm_up_schedule(rendered, resource, expected):
    for action in ("scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"):
        verdict = decide(Request(action, resource, {}), roles_of(rendered)["deploy.dev"])
        assert (verdict == ALLOWED) is expected, action


@pytest.mark.parametrize(
    ("passed", "expected"),
    [
        (role("dev", f"{PROJECT}-dev.scheduler"), True),
        (role("dev"), False),  # the function's role (its permissions are the function's)
        (role("dev", f"{PROJECT}-dev.codedeploy"), False),
        (role("production", f"{PROJECT}-production.scheduler"), False),
        (arn("iam", "role/admin", region=""), False),
    ],
)
def test_a_schedule_gets_only_the_stacks_warm_up_role(rendered, passed, expected):
    context = {"iam:PassedToService": "scheduler.amazonaws.com"}
    verdict = decide(Request("iam:PassRole", passed, context), roles_of(rendered)["deploy.dev"])
    assert (verdict == ALLOWED) is expected


def test_the_warm_up_role_invokes_nothing_outside_its_stack(rendered):
    # whatever a deploy job puts in the scheduler role's inline policy, the boundary caps it
    anything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    invoke = "lambda:InvokeFunction"
    bounded = rendered.boundary["dev"]
    assert decide(Request(invoke, f"{function('dev')}:live", {}), [anything], bounded) == ALLOWED
    for other in (function("production"), f"{function('dev-eu')}:live"):
        assert decide(Request(invoke, other, {}), [anything], bounded) != ALLOWED, other


@pytest.mark.parametrize("role_name", ["deploy.dev", "preview", "drift.dev", "drift.production"])
@pytest.mark.parametrize(
    "part",
    [
        "pay123",
        "pay123/stages/$default",
        "pay123/integrations/i1",
        "pay123/routes/r1",
        "pay123/authorizers/a1",
    ],
)
def test_no_role_reads_another_teams_api(rendered, role_name, part):
    # another team's stage variables and integration parameters; an API without tags likewise
    for context in (OTHER_TEAM, {}):
        verdict = decide(Request("apigateway:GET", f"{APIS}/{part}", context), roles_of(rendered)[role_name])
        assert verdict != ALLOWED, (role_name, part, context)


@pytest.mark.parametrize(
    ("role_name", "stack"), [("deploy.dev", "dev"), ("preview", "dev"), ("drift.production", "production")]
)
def test_each_role_reads_its_own_stacks_api(rendered, role_name, stack):
    context = owner_tags("ResourceTag", PROJECT, stack)
    for part in ("api0", "api0/stages/$default", "api0/integrations/i1"):
        assert (
            decide(Request("apigateway:GET", f"{APIS}/{part}", context), roles_of(rendered)[role_name])
            == ALLOWED
        )
    other = owner_tags("ResourceTag", PROJECT, "dev-eu")
    assert decide(Request("apigateway:GET", f"{APIS}/api0", other), roles_of(rendered)[role_name]) != ALLOWED


def test_a_codedeploy_role_created_with_any_trust_gets_only_its_stacks_alias_and_alarms(rendered):
    # iam:CreateRole takes no condition key on the trust policy, so a deploy job may create the stack's
    # CodeDeploy role name with a trust of its choosing while no stack manages it; the boundary is the cap
    star = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    name = f"{PROJECT}-dev.codedeploy"
    assert (
        deploy_dev(
            rendered, "iam:CreateRole", role("dev", name), **{"iam:PermissionsBoundary": boundary("dev")}
        )
        == ALLOWED
    )
    capped = rendered.boundary["dev"]
    assert decide(Request("lambda:UpdateAlias", f"{function('dev')}:live"), [star], capped) == ALLOWED
    for action, resource in [
        ("lambda:UpdateAlias", f"{function('production')}:live"),
        ("lambda:UpdateFunctionCode", function("dev")),
        ("cloudwatch:DescribeAlarms", arn("cloudwatch", f"alarm:{PROJECT}-production.errors")),
        ("iam:PassRole", role("dev")),
        ("s3:GetObject", f"{STATE}/stacks/{PROJECT}/dev.json"),
    ]:
        assert decide(Request(action, resource), [star], capped) != ALLOWED, action


# --- the repository's customer-managed KMS key (kmsKeyArn) ----------------------------------------------

DEV_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
PRODUCTION_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/66666666-7777-8888-9999-000000000000"
THROUGH_ECR = {"kms:ViaService": f"ecr.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}


def dev_with_delivery(rendered: Rendered, action: str, resource: str, context: dict) -> str:
    """The verdict for dev's deploy role with both its policies (the key statements are in the managed one)."""
    return decide(Request(action, resource, context), roles_of(rendered)["deploy.dev"])


@pytest.fixture(scope="module")
def with_keys() -> Rendered:
    keys = {"dev": DEV_KEY, "production": PRODUCTION_KEY}
    return Rendered(
        run_bootstrap(
            {"deployEnvironments": json.dumps(ENVIRONMENTS), "repositoryKmsKeyArns": json.dumps(keys)}
        )
    )


@pytest.mark.parametrize(
    ("action", "context"),
    [
        ("kms:DescribeKey", THROUGH_ECR),
        ("kms:CreateGrant", THROUGH_ECR | {"kms:GrantIsForAWSResource": "true"}),
        ("kms:RetireGrant", THROUGH_ECR),
    ],
)
def test_ecr_may_use_the_stacks_configured_key_for_its_repository(with_keys, rendered, action, context):
    assert dev_with_delivery(with_keys, action, DEV_KEY, context) == ALLOWED
    assert dev_with_delivery(rendered, action, DEV_KEY, context) != ALLOWED  # no key configured: no key use


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        # directly, not through ECR
        ("kms:CreateGrant", DEV_KEY, {"kms:CallerAccount": ACCOUNT, "kms:GrantIsForAWSResource": "true"}),
        ("kms:DescribeKey", DEV_KEY, {"kms:CallerAccount": ACCOUNT}),
        # a grant for anything but an AWS resource (a grant to the attacker's own principal)
        ("kms:CreateGrant", DEV_KEY, THROUGH_ECR | {"kms:GrantIsForAWSResource": "false"}),
        # another stack's key, or a key of no stack
        ("kms:CreateGrant", PRODUCTION_KEY, THROUGH_ECR | {"kms:GrantIsForAWSResource": "true"}),
        (
            "kms:DescribeKey",
            f"arn:aws:kms:{REGION}:{ACCOUNT}:key/abcdefab-1111-2222-3333-444444444444",
            THROUGH_ECR,
        ),
        # what the key protects
        ("kms:Decrypt", DEV_KEY, THROUGH_ECR),
        ("kms:GenerateDataKey", DEV_KEY, THROUGH_ECR),
        ("kms:PutKeyPolicy", DEV_KEY, {}),
        ("kms:ScheduleKeyDeletion", DEV_KEY, {}),
    ],
)
def test_the_repository_key_gives_nothing_else(with_keys, action, resource, context):
    assert dev_with_delivery(with_keys, action, resource, context) != ALLOWED


# --- the custom domain (customDomains) and its Route 53 record ----------------------------------------------

DOMAINS = {
    "dev": {"domainName": "api.dev.example.com", "hostedZoneId": "ZDEV0123456789"},
    "production": {"domainName": "api.example.com", "hostedZoneId": "ZPROD0123456789"},
}
DOMAIN_NAMES = f"arn:aws:apigateway:{REGION}::/domainnames"


def domain(name: str) -> str:
    return f"{DOMAIN_NAMES}/{name}"


def zone(zone_id: str) -> str:
    return f"arn:aws:route53:::hostedzone/{zone_id}"


def record_change(names: list[str], types: list[str]) -> dict:
    """What ChangeResourceRecordSets carries for a batch of changes (normalized names, types)."""
    return {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
        "route53:ChangeResourceRecordSetsRecordTypes": types,
        "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
    }


@pytest.fixture(scope="module")
def with_domains() -> Rendered:
    return Rendered(
        run_bootstrap({"deployEnvironments": json.dumps(ENVIRONMENTS), "customDomains": json.dumps(DOMAINS)})
    )


def dev_deploys(rendered: Rendered, action: str, resource: str, context: dict | None = None) -> bool:
    return decide(Request(action, resource, context or {}), roles_of(rendered)["deploy.dev"]) == ALLOWED


def test_a_stack_manages_its_assigned_domain_its_mappings_and_its_record(with_domains):
    own = domain("api.dev.example.com")
    assert dev_deploys(
        with_domains, "apigateway:POST", DOMAIN_NAMES, owner_tags("RequestTag", PROJECT, "dev")
    )
    for action in ("apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"):
        assert dev_deploys(with_domains, action, own), action
        assert dev_deploys(with_domains, action, f"{own}/apimappings/abc123"), action
    assert dev_deploys(with_domains, "apigateway:POST", f"{own}/apimappings")
    change = record_change(["api.dev.example.com"], ["A"])
    assert dev_deploys(with_domains, "route53:ChangeResourceRecordSets", zone("ZDEV0123456789"), change)
    for action in ("route53:GetHostedZone", "route53:ListResourceRecordSets"):
        assert dev_deploys(with_domains, action, zone("ZDEV0123456789")), action
    assert dev_deploys(with_domains, "route53:GetChange", "arn:aws:route53:::change/C0123456789")


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        # production's domain, its mappings, and a domain of no stack
        ("apigateway:PATCH", domain("api.example.com"), {}),
        ("apigateway:DELETE", domain("api.example.com"), {}),
        ("apigateway:POST", f"{domain('api.example.com')}/apimappings", {}),
        ("apigateway:DELETE", f"{domain('api.example.com')}/apimappings/abc123", {}),
        ("apigateway:PATCH", domain("www.example.com"), {}),
        # a name that merely starts with the stack's
        ("apigateway:DELETE", domain("api.dev.example.com.evil.example"), {}),
        # a domain created without the stack's owner tags
        ("apigateway:POST", DOMAIN_NAMES, owner_tags("RequestTag", PROJECT, "production")),
        ("apigateway:POST", DOMAIN_NAMES, {}),
        # another name, another type, a batch that also changes another name, another zone
        (
            "route53:ChangeResourceRecordSets",
            zone("ZDEV0123456789"),
            record_change(["api.example.com"], ["A"]),
        ),
        (
            "route53:ChangeResourceRecordSets",
            zone("ZDEV0123456789"),
            record_change(["api.dev.example.com"], ["NS"]),
        ),
        (
            "route53:ChangeResourceRecordSets",
            zone("ZDEV0123456789"),
            record_change(["api.dev.example.com", "www.dev.example.com"], ["A"]),
        ),
        ("route53:ChangeResourceRecordSets", zone("ZDEV0123456789"), {}),
        (
            "route53:ChangeResourceRecordSets",
            zone("ZPROD0123456789"),
            record_change(["api.dev.example.com"], ["A"]),
        ),
        ("route53:ListResourceRecordSets", zone("ZPROD0123456789"), {}),
        # the zone itself
        ("route53:DeleteHostedZone", zone("ZDEV0123456789"), {}),
        ("route53:ChangeTagsForResource", zone("ZDEV0123456789"), {}),
    ],
)
def test_a_stack_reaches_no_other_domain_name_or_record(with_domains, action, resource, context):
    assert not dev_deploys(with_domains, action, resource, context)


def test_a_stack_without_an_assigned_domain_manages_none(rendered, with_domains):
    tags = owner_tags("RequestTag", PROJECT, "dev")
    assert not dev_deploys(rendered, "apigateway:POST", DOMAIN_NAMES, tags)
    assert not dev_deploys(rendered, "apigateway:GET", domain("api.dev.example.com"))
    assert not dev_deploys(rendered, "route53:GetChange", "arn:aws:route53:::change/C0123456789")
    # dev-eu has no domain in with_domains either
    dev_eu = roles_of(with_domains)["deploy.dev-eu"]
    assert (
        decide(Request("apigateway:POST", DOMAIN_NAMES, owner_tags("RequestTag", PROJECT, "dev-eu")), dev_eu)
        != ALLOWED
    )


def test_the_read_roles_read_their_stacks_domain_only(with_domains):
    preview, drift = [with_domains.preview], [with_domains.drift["production"]]
    assert decide(Request("apigateway:GET", domain("api.dev.example.com")), preview) == ALLOWED
    assert decide(Request("apigateway:GET", domain("api.example.com")), preview) != ALLOWED
    assert decide(Request("apigateway:GET", domain("api.example.com")), drift) == ALLOWED
    assert decide(Request("route53:ListResourceRecordSets", zone("ZPROD0123456789")), drift) == ALLOWED
    change = record_change(["api.example.com"], ["A"])
    assert (
        decide(Request("route53:ChangeResourceRecordSets", zone("ZPROD0123456789"), change), drift) != ALLOWED
    )


# --- a function in a VPC: Lambda's network interfaces under the boundary ---------------------------------------

NETWORK_INTERFACE = arn("ec2", "network-interface/eni-0123456789abcdef0")


class TestTheBoundaryAndNetworkInterfaces:
    """Lambda creates a VPC function's network interfaces with the execution role, without
    lambda:SourceFunctionArn: the boundary lets exactly those calls through, in the stacks' account and
    region, and never from the function's code."""

    STAR = TestABoundedRoleWithInlineStar.STAR
    FROM_DEV = TestABoundedRoleWithInlineStar.FROM_DEV

    @pytest.mark.parametrize(
        ("action", "resource", "context"),
        [
            ("ec2:CreateNetworkInterface", arn("ec2", "subnet/subnet-0123456789abcdef0"), {}),
            ("ec2:CreateNetworkInterface", arn("ec2", "security-group/sg-0123456789abcdef0"), {}),
            ("ec2:CreateNetworkInterface", arn("ec2", "network-interface/*"), {}),
            ("ec2:DeleteNetworkInterface", NETWORK_INTERFACE, {}),
            ("ec2:AssignPrivateIpAddresses", NETWORK_INTERFACE, {}),
            ("ec2:DescribeNetworkInterfaces", "*", {"aws:RequestedRegion": REGION}),
        ],
    )
    def test_lambda_may_manage_the_functions_interfaces(self, rendered, action, resource, context):
        assert decide(Request(action, resource, context), [self.STAR], rendered.boundary["dev"]) == ALLOWED

    @pytest.mark.parametrize(
        ("action", "resource", "context"),
        [
            # from the function's own code
            ("ec2:CreateNetworkInterface", arn("ec2", "subnet/subnet-0123456789abcdef0"), FROM_DEV),
            ("ec2:DeleteNetworkInterface", NETWORK_INTERFACE, FROM_DEV),
            ("ec2:DescribeSubnets", "*", FROM_DEV | {"aws:RequestedRegion": REGION}),
            # another region or account
            (
                "ec2:DeleteNetworkInterface",
                arn("ec2", "network-interface/eni-0123456789abcdef0", region="us-east-1"),
                {},
            ),
            ("ec2:CreateNetworkInterface", arn("ec2", "subnet/subnet-1", account="999999999999"), {}),
            ("ec2:DescribeNetworkInterfaces", "*", {"aws:RequestedRegion": "us-east-1"}),
            # anything else of EC2: no instance, no opened security group, no interface attached or lent
            ("ec2:RunInstances", arn("ec2", "instance/*"), {}),
            ("ec2:AuthorizeSecurityGroupIngress", arn("ec2", "security-group/sg-0123456789abcdef0"), {}),
            ("ec2:AttachNetworkInterface", NETWORK_INTERFACE, {}),
            ("ec2:ModifyNetworkInterfaceAttribute", NETWORK_INTERFACE, {}),
            ("ec2:CreateNetworkInterfacePermission", NETWORK_INTERFACE, {}),
        ],
    )
    def test_nothing_else_of_ec2(self, rendered, action, resource, context):
        assert decide(Request(action, resource, context), [self.STAR], rendered.boundary["dev"]) != ALLOWED

    def test_no_pipeline_role_manages_network_interfaces(self, rendered):
        for name, documents in roles_of(rendered).items():
            for action in ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"):
                assert decide(Request(action, NETWORK_INTERFACE), documents) != ALLOWED, (name, action)


# --- the function's network (functionNetworks): no deploy role puts its function in another stack's ---------

NETWORKS = {
    "dev": {
        "subnetIds": ["subnet-0de0000000000000a", "subnet-0de0000000000000b"],
        "securityGroupIds": ["sg-0de00001"],
    },
    "production": {"subnetIds": ["subnet-0aa0000000000000a"], "securityGroupIds": ["sg-0aa00001"]},
}


def vpc(network: dict) -> dict:
    """What CreateFunction / UpdateFunctionConfiguration carry for a VpcConfig (Lambda Developer Guide, "Using
    IAM condition keys for VPC settings")."""
    return {"lambda:SubnetIds": network["subnetIds"], "lambda:SecurityGroupIds": network["securityGroupIds"]}


@pytest.fixture(scope="module")
def with_networks() -> Rendered:
    return Rendered(
        run_bootstrap(
            {"deployEnvironments": json.dumps(ENVIRONMENTS), "functionNetworks": json.dumps(NETWORKS)}
        )
    )


@pytest.mark.parametrize("action", ["lambda:CreateFunction", "lambda:UpdateFunctionConfiguration"])
@pytest.mark.parametrize(
    ("network", "expected"),
    [
        (None, True),  # no VpcConfig in the request
        (NETWORKS["dev"], True),
        ({"subnetIds": NETWORKS["dev"]["subnetIds"][:1], "securityGroupIds": ["sg-0de00001"]}, True),
        (NETWORKS["production"], False),  # production's network
        ({"subnetIds": NETWORKS["dev"]["subnetIds"], "securityGroupIds": ["sg-0aa00001"]}, False),
        (
            {
                "subnetIds": ["subnet-0de0000000000000a", "subnet-0aa0000000000000a"],
                "securityGroupIds": ["sg-0de00001"],
            },
            False,
        ),
    ],
    ids=["no-vpc", "own", "own-subset", "production", "production-security-group", "one-production-subnet"],
)
def test_a_function_gets_only_its_stacks_assigned_network(with_networks, action, network, expected):
    context = vpc(network) if network else {}
    assert dev_deploys(with_networks, action, function("dev"), context) is expected


@pytest.mark.parametrize("action", ["lambda:CreateFunction", "lambda:UpdateFunctionConfiguration"])
def test_a_stack_without_an_assigned_network_puts_its_function_in_none(with_networks, rendered, action):
    # dev-eu has no entry in functionNetworks; without the setting no stack has one
    assert (
        decide(
            Request(action, function("dev-eu"), vpc(NETWORKS["dev"])),
            roles_of(with_networks)["deploy.dev-eu"],
        )
        != ALLOWED
    )
    assert not dev_deploys(rendered, action, function("dev"), vpc(NETWORKS["dev"]))
    assert dev_deploys(rendered, action, function("dev"))


def test_what_stays_allowed_with_a_domain_or_a_vpc_is_the_documented_residue(rendered, with_domains):
    # docs/bootstrap.md, "What a deploy job can still do": CreateDomainName is authorized on the collection,
    # which names no domain (a stack with an assigned domain may create a domain name of another name, with its
    # own owner tags, and then neither read nor change it); Lambda's network-interface calls name no function,
    # so a role under the boundary may delete or renumber any detached interface of the stacks' region.
    tags = owner_tags("RequestTag", PROJECT, "dev")
    assert dev_deploys(with_domains, "apigateway:POST", DOMAIN_NAMES, tags)
    other = arn("ec2", "network-interface/eni-0fedcba9876543210")
    star = TestABoundedRoleWithInlineStar.STAR
    assert decide(Request("ec2:DeleteNetworkInterface", other), [star], rendered.boundary["dev"]) == ALLOWED
