"""The stack itself, run under mocks for its default config and its variants, passes every mandatory policy
of the pack; its execution role policy passes parliament with zero findings. The variants include the two
runs that build no image (no docker Image resource): the content tag is already in ECR, or the image is
pinned.

The harness records each registration's inputs as the engine receives them (camelCase property names), which
is what the engine hands the analyzer during an update, when every value is known.
"""

import json
from pathlib import Path

import pytest
from parliament import analyze_policy_string

from infra.project import PROJECT
from policy.guardrails import ADVISORY
from policy.guardrails.tagging import TAGGABLE_TYPES
from tests.policy.support import (
    Resource,
    all_mandatory_violations,
    resource_violations,
    stack_violations,
    takes_tags,
)
from tests.support.pulumi_harness import ACCOUNT, REGION, HarnessMocks, run_program
from tests.support.second_dockerfile import SECOND, second_dockerfile

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pulumi_aws.s3 warns on import

ROOT = Path(__file__).resolve().parents[2]
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXTRA_POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/extra-read"
VARIANTS = {
    "default": {},
    "x86_64": {"architecture": "x86_64"},
    "provisioned-concurrency": {"reservedConcurrency": 5, "provisionedConcurrency": 2},
    "cors": {"corsAllowOrigins": ["https://app.example.com", "http://localhost:3000"]},
    "kms": {"kmsKeyArn": KEY_ARN},
    "extra-policies": {"extraPolicyArns": [EXTRA_POLICY_ARN]},
    "environment": {"environment": {"LOG_LEVEL": "DEBUG", "FEATURE_FLAGS": "batch"}},
    "retention-and-force-delete": {"logRetentionDays": 30, "forceDelete": True},
    "second-dockerfile": {"dockerfile": SECOND},
    "sizes-and-throttling": {
        "memorySize": 2048,
        "timeout": 15,
        "ephemeralStorage": 1024,
        "throttleRateLimit": 5,
        "throttleBurstLimit": 10,
    },
    "canary-with-alarm-email": {
        "deploymentPreference": "Canary10Percent5Minutes",
        "alarmEmail": "ops@example.org",
        "reservedConcurrency": 20,
        "warmUpSchedule": "rate(1 day)",
    },
    "day-two": {
        "customDomain": "api.example.com",
        "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab",
        "hostedZoneId": "Z0123456789ABCDEFGHIJ",
        "jwtIssuer": "https://issuer.example.com",
        "jwtAudiences": ["client"],
        "vpcSubnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
        "vpcSecurityGroupIds": ["sg-0123456789abcdef0"],
        "maxInitDurationMs": 3000,
    },
}
# Runs that reuse an image instead of building one: its tag is already in ECR, or it is pinned by digest.
IMAGE_VARIANTS = ("image-already-in-ecr", "pinned-image")
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
DOCKER_IMAGE = "docker:index/registryImage:RegistryImage"
REPOSITORY_URL = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{PROJECT}-dev"
DEPLOYED = "sha256:" + "cd" * 32


def run_stack(
    config: dict,
    stack: str = "dev",
    *,
    ecr_images: dict[str, dict[str, str]] | None = None,
    pinned_image: str | None = None,
) -> list[Resource]:
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    config = {"aws:region": REGION} | config
    run = run_program(
        ROOT,
        config,
        project=PROJECT,
        stack=stack,
        stack_file=stack_file if stack_file.exists() else None,
        mocks=HarnessMocks(ecr_images=ecr_images),
        env={"BUILD_CACHE_FROM": None, "PINNED_IMAGE_URI": pinned_image},
    )
    names = {record.urn: record.name for record in run.resources}
    return [
        Resource(
            record.typ,
            record.inputs,
            name=record.name,
            stack=stack,
            recorded_urn=record.urn,
            depends_on={
                prop: [names[u] for u in urns if u in names]
                for prop, urns in record.property_dependencies.items()
            },
        )
        for record in run.resources
        if record.custom
    ]


def built_tag(resources: list[Resource]) -> str:
    (image,) = [r for r in resources if r.typ == DOCKER_IMAGE]
    return image.props["name"].rsplit(":", 1)[1]


def run_variant(name: str, directory: Path) -> list[Resource]:
    if name == "second-dockerfile":
        with second_dockerfile(directory):
            return run_stack(VARIANTS[name])
    if name == "image-already-in-ecr":
        return run_stack({}, ecr_images={f"{PROJECT}-dev": {built_tag(run_stack({})): DEPLOYED}})
    if name == "pinned-image":
        return run_stack({}, pinned_image=f"{REPOSITORY_URL}@{DEPLOYED}")
    return run_stack(VARIANTS[name])


@pytest.fixture(scope="module", params=sorted(VARIANTS) + list(IMAGE_VARIANTS))
def variant(request, tmp_path_factory) -> tuple[str, list[Resource]]:
    return request.param, run_variant(request.param, tmp_path_factory.mktemp("project"))


def test_the_stack_passes_every_mandatory_policy(variant):
    _, resources = variant
    assert all_mandatory_violations(resources) == []


def test_the_policies_saw_the_resources_they_guard(variant):
    _, resources = variant
    types = {r.typ for r in resources}
    assert {
        "aws:ecr/repository:Repository",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:lambda/function:Function",
        "aws:lambda/permission:Permission",
        "aws:iam/role:Role",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:apigatewayv2/stage:Stage",
        "aws:apigatewayv2/api:Api",
    } <= types
    (function,) = [r for r in resources if r.typ == "aws:lambda/function:Function"]
    assert "@sha256:" in function.props["imageUri"]


def test_the_image_variants_build_no_image_and_run_the_reused_one(variant):
    name, resources = variant
    built = [r for r in resources if r.typ == DOCKER_IMAGE]
    (function,) = [r for r in resources if r.typ == "aws:lambda/function:Function"]
    if name in IMAGE_VARIANTS:
        # a pinned image registers no image resource; a tag already in ECR keeps the state's (no build)
        assert len(built) == (0 if name == "pinned-image" else 1)
        assert function.props["imageUri"] == f"{REPOSITORY_URL}@{DEPLOYED}"
    else:
        assert len(built) == 1


def test_no_policy_looks_for_the_image_build_resource():
    # the stack registers a docker Image only when it builds; policies must hold without it
    sources = {path.name: path.read_text() for path in (ROOT / "policy" / "guardrails").glob("*.py")}
    assert sources and not [name for name, text in sources.items() if "docker:" in text]


def execution_documents(resources: list[Resource]) -> list[str]:
    documents = [r.props["policy"] for r in resources if r.typ == ROLE_POLICY]
    documents += [
        inline["policy"]
        for r in resources
        if r.typ == "aws:iam/role:Role"
        for inline in r.props.get("inlinePolicies") or []
        if inline.get("policy")
    ]
    return [d if isinstance(d, str) else json.dumps(d) for d in documents]


def test_the_execution_role_policy_passes_parliament_with_zero_findings(variant):
    _, resources = variant
    documents = execution_documents(resources)
    assert documents
    for document in documents:
        for community in (False, True):
            findings = analyze_policy_string(document, include_community_auditors=community).findings
            assert [(f.issue, f.detail) for f in findings] == []


def test_the_role_trust_policies_get_only_parliaments_documented_exception(variant):
    # parliament audits identity policies; a trust policy has no Resource by design, which it calls MALFORMED
    # (the execution role, and CodeDeploy's service role when a deployment preference shifts traffic)
    _, resources = variant
    roles = [r for r in resources if r.typ == "aws:iam/role:Role"]
    assert roles
    for role in roles:
        for community in (False, True):
            findings = analyze_policy_string(
                role.props["assumeRolePolicy"], include_community_auditors=community
            )
            assert {(f.issue, str(f.detail)) for f in findings.findings} == {
                ("MALFORMED", "Statement contains neither Resource nor NotResource")
            }, role.name


def test_taggable_types_the_stack_registers_are_known_to_the_tag_policy(variant):
    _, resources = variant
    registered = {r.typ for r in resources if r.typ.startswith("aws:")}
    assert {typ for typ in registered if takes_tags(typ)} <= TAGGABLE_TYPES


# --- the same program, made insecure by config, is stopped --------------------------------------------------


def test_a_production_stack_with_cors_star_is_blocked():
    resources = run_stack({"corsAllowOrigins": ["*"], "environmentClass": "production"}, stack="eu")
    found = [text for r in resources for text in resource_violations("cors-no-wildcard-in-production", r)]
    assert len(found) == 1 and "production stack 'eu'" in found[0]
    named_production = run_stack({"corsAllowOrigins": ["*"]}, stack="production")
    assert [
        text for r in named_production for text in resource_violations("cors-no-wildcard-in-production", r)
    ] == []


def test_tracing_turned_off_in_config_is_blocked_by_the_pack():
    resources = run_stack({"tracing": False})
    found = [text for r in resources for text in resource_violations("lambda-active-tracing", r)]
    assert len(found) == 1 and "tracing mode PassThrough" in found[0]


def test_a_production_stack_with_listed_origins_passes():
    resources = run_stack(
        {
            "corsAllowOrigins": ["https://app.example.com"],
            "logRetentionDays": 365,
            "environmentClass": "production",
        },
        stack="production",
    )
    assert all_mandatory_violations(resources) == []
    assert [text for r in resources for text in resource_violations("log-retention-production", r)] == []


def test_the_stack_policies_find_each_repository_and_function_pair():
    resources = run_stack({})
    assert stack_violations("ecr-lifecycle-policy", resources) == []
    without_lifecycle = [r for r in resources if r.typ != "aws:ecr/lifecyclePolicy:LifecyclePolicy"]
    assert len(stack_violations("ecr-lifecycle-policy", without_lifecycle)) == 1
    without_log_groups = [r for r in resources if r.typ != "aws:cloudwatch/logGroup:LogGroup"]
    assert len(stack_violations("lambda-log-group", without_log_groups)) == 1


# --- what a preview of the stack warns about (advisory policies) -------------------------------------------


def advisories(resources: list[Resource]) -> set[tuple[str, str]]:
    return {
        (policy.name, r.typ.split(":")[-1])
        for policy in ADVISORY
        for r in resources
        if resource_violations(policy.name, r)
    }


def test_the_default_stack_gets_exactly_the_documented_advisories():
    assert advisories(run_stack({})) == {
        ("kms-customer-managed-key", "Repository"),
        ("kms-customer-managed-key", "LogGroup"),
        ("lambda-reserved-concurrency", "Function"),
    }


def test_config_answers_the_ecr_key_and_concurrency_advisories():
    found = advisories(run_stack({"kmsKeyArn": KEY_ARN, "reservedConcurrency": 5}))
    assert found == {("kms-customer-managed-key", "LogGroup")}


def test_secret_references_pass_and_a_password_in_the_environment_is_blocked():
    secret = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{PROJECT}/dev/db-AbCdEf"
    references = {"secretEnvironment": {"DB_PASSWORD_ARN": secret}}
    assert all_mandatory_violations(run_stack(references)) == []
    leaked = run_stack({"environment": {"DATABASE_URL": "postgres://app:hunter2@db.internal/orders"}})
    found = [text for r in leaked for text in resource_violations("lambda-no-secrets-in-environment", r)]
    assert len(found) == 1 and "['DATABASE_URL']" in found[0] and "secretEnvironment" in found[0]
