"""The pipeline roles against the real stack: the calls that create, read, update and delete every resource
the main program registers are allowed to the stack's deploy role (the preview role: read), as IAM evaluates
them (tests/support/iam.py) with the condition values the program's own inputs give (the role's
permissions boundary, the policies it attaches, the API's tags, ...).

The actions per resource type are the AWS API calls of the provider (terraform-provider-aws, which
pulumi-aws wraps) for that resource; a resource type not listed here fails the test until it is added to
both this table and bootstrap/policies.py. The same holds for the invokes (data sources) the program calls:
they run in `pulumi preview` and `pulumi up` alike, so both roles must allow them. So do the AWS CLI calls of
the checks around `pulumi up` (scripts/pipeline.sh, with the deploy role).
"""

import ast
import fnmatch
import re
from pathlib import Path

import pytest

from bootstrap import policies
from infra import catalogue
from infra.project import PROJECT
from tests.support.iam import Request
from tests.support.iam import allowed as permitted
from tests.support.pulumi_harness import ACCOUNT, REGION, HarnessMocks, Registered, run_program

ROOT = Path(__file__).resolve().parents[2]
STACK = "dev"
DOMAIN = "api.dev.example.com"
HOSTED_ZONE = "Z0123456789ABCDEFGHIJ"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SECURITY_GROUPS = ["sg-0123456789abcdef0"]
# the custom domain and the function network the bootstrap assigns the stack (customDomains,
# functionNetworks), which the `day-two` variant configures
SCOPE = policies.Scope(
    partition="aws",
    region=REGION,
    account_id=ACCOUNT,
    custom_domains={STACK: policies.CustomDomain(DOMAIN, HOSTED_ZONE)},
    function_networks={STACK: policies.FunctionNetwork(tuple(SUBNETS), tuple(SECURITY_GROUPS))},
)
BUCKET_ARN = f"arn:aws:s3:::{PROJECT}-state-20261123072400000000000001"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRETS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/5678abcd-12ab-34cd-56ef-1234567890ab"
# the deploy role's inline policy and its managed ones (identity policies: their union)
DEPLOY = {
    "Version": "2012-10-17",
    "Statement": [
        statement
        for document in policies.deploy_role_documents(
            SCOPE, STACK, STACK, BUCKET_ARN, KEY_ARN, SECRETS_KEY_ARN
        )
        for statement in document["Statement"]
    ],
}
PREVIEW = policies.preview_permissions(SCOPE, STACK, BUCKET_ARN, KEY_ARN, SECRETS_KEY_ARN)
APIS = f"arn:aws:apigateway:{REGION}::/apis"

# Resources of other providers make no AWS call of their own; the deployment command's calls are checked by
# test_deploy_role_may_make_every_call_of_the_deployment.
NOT_AWS = {"command:local:Command"}
# The calls of each resource type, per step, and the resource each is authorized on: the resource catalogue
# (infra/catalogue.py); a resource type the stack registers without an entry fails the tests below.
WRITES = tuple(step for step in catalogue.STEPS if step != "read")
READS = {action for entry in catalogue.CATALOGUE for action in entry.actions("read")}
# The tags API takes the API's ARN, URL-encoded; changes of tags after creation name the changed keys (the
# owner tags never change).
TAGS = f"arn:aws:apigateway:{REGION}::/tags/arn%3Aaws%3Aapigateway"
IN_REGION = {"aws:RequestedRegion": REGION}
# What the diy backend reads and writes for the stack (pkg/backend/diy: store.go, lock.go, meta.go);
# `up`/`destroy` lock, write the checkpoint, its .bak, history and backups; a preview only reads.
STATE = f"{BUCKET_ARN}/.pulumi"
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
STATE_CALLS = {
    # a read of a missing key answers 404 only with s3:ListBucket, checked without a prefix (S3 API
    # reference, GetObject/HeadObject permissions); the backend probes keys that may not exist
    "deploy": [
        ("s3:ListBucket", BUCKET_ARN, {}),
        ("s3:ListBucket", BUCKET_ARN, {"s3:prefix": f".pulumi/locks/organization/{PROJECT}/{STACK}/"}),
        ("s3:ListBucket", BUCKET_ARN, {"s3:prefix": f".pulumi/history/{PROJECT}/{STACK}/"}),
        ("s3:GetObject", f"{STATE}/meta.yaml", {}),
        *[
            (action, f"{STATE}/{key}", {})
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
            for key in (
                f"stacks/{PROJECT}/{STACK}.json",
                f"stacks/{PROJECT}/{STACK}.json.bak",
                f"locks/organization/{PROJECT}/{STACK}/0b1c.json",
                f"history/{PROJECT}/{STACK}/{STACK}-1764536400.history.json",
                f"history/{PROJECT}/{STACK}/{STACK}-1764536400.checkpoint.json",
                f"backups/{PROJECT}/{STACK}/{STACK}.1764536400.json",
                f"journal/{PROJECT}/{STACK}/entry-1.json",
            )
        ],
        ("kms:GenerateDataKey", KEY_ARN, VIA_S3),
        ("kms:Decrypt", KEY_ARN, VIA_S3),
        ("kms:Encrypt", SECRETS_KEY_ARN, {}),
        ("kms:Decrypt", SECRETS_KEY_ARN, {}),
    ],
    "preview": [
        ("s3:ListBucket", BUCKET_ARN, {}),
        ("s3:ListBucket", BUCKET_ARN, {"s3:prefix": f".pulumi/stacks/{PROJECT}/"}),
        ("s3:GetObject", f"{STATE}/meta.yaml", {}),
        ("s3:GetObject", f"{STATE}/stacks/{PROJECT}/{STACK}.json", {}),
        ("kms:Decrypt", KEY_ARN, VIA_S3),
        ("kms:Decrypt", SECRETS_KEY_ARN, {}),
    ],
}
# invoke token -> (IAM action, the ARN it is authorized on, from the invoke's arguments); None: no AWS call
# that needs a permission (sts:GetCallerIdentity never does; region and partition come from the provider).
INVOKES = {
    # aws_ecr_images data source: ListImages of the repository (the content tag already pushed?)
    "aws:ecr/getImages:getImages": lambda args: (
        "ecr:ListImages",
        f"arn:aws:ecr:{REGION}:{args.get('registryId', ACCOUNT)}:repository/{args['repositoryName']}",
    ),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda args: ("ecr:GetAuthorizationToken", "*"),
    "aws:index/getCallerIdentity:getCallerIdentity": lambda args: None,
    "aws:index/getRegion:getRegion": lambda args: None,
    "aws:index/getPartition:getPartition": lambda args: None,
    # aws_iam_policy data source: GetPolicy, then GetPolicyVersion of its default version (infra/function.py
    # looks the stack's boundary up); GetPolicyVersion is authorized on the policy's ARN too
    "aws:iam/getPolicy:getPolicy": lambda args: [
        ("iam:GetPolicy", args["arn"]),
        ("iam:GetPolicyVersion", args["arn"]),
    ],
}
# environment variables that change what the program builds or looks up (the workflows set them)
NO_IMAGE_ENV = {"BUILD_CACHE_FROM": None, "PINNED_IMAGE_URI": None}
VARIANTS = {
    "dev": {},
    "provisioned": {
        "provisionedConcurrency": 2,
        "reservedConcurrency": 5,
        "extraPolicyArns": [f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}/extra"],
    },
    "canary": {
        "deploymentPreference": "Canary10Percent5Minutes",
        "alarmEmail": "ops@example.org",
        "reservedConcurrency": 10,
    },
    # a custom domain with its Route 53 record, a JWT authorizer, a VPC
    "day-two": {
        "customDomain": DOMAIN,
        "certificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/1234abcd-12ab-34cd-56ef-1234567890ab",
        "hostedZoneId": HOSTED_ZONE,
        "jwtIssuer": "https://issuer.example.com",
        "jwtAudiences": ["client-1"],
        "vpcSubnetIds": SUBNETS,
        "vpcSecurityGroupIds": SECURITY_GROUPS,
    },
}


def allowed(document: dict, action: str, arn: str, context: dict | None = None) -> bool:
    """Does IAM allow `action` on `arn` with this condition context to a role with `document`?"""
    return permitted(Request(action, arn, context or {}), [document])


def role_of(resource: Registered, run) -> Registered:
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.state["name"] == resource.state["role"]]
    return role


def boundary_context(role: Registered) -> dict:
    """iam:PermissionsBoundary as AWS sees it for a role (none: a role without a boundary)."""
    boundary = role.inputs.get("permissionsBoundary")
    return {"iam:PermissionsBoundary": boundary} if boundary else {}


def context_of(resource: Registered, access: catalogue.Access, run) -> dict:
    """The condition values AWS sees when the provider makes the calls of `access` for `resource` (from its
    inputs), per condition the catalogue names."""
    condition = access.condition
    if access.on == catalogue.REGION:
        return IN_REGION
    if condition == catalogue.PERMISSIONS_BOUNDARY:
        return boundary_context(resource if resource.typ == "aws:iam/role:Role" else role_of(resource, run))
    if condition == catalogue.ATTACHABLE_POLICY:
        return boundary_context(role_of(resource, run)) | {"iam:PolicyARN": resource.inputs["policyArn"]}
    if condition == catalogue.PASSED_TO_LAMBDA:
        return {"iam:PassedToService": "lambda.amazonaws.com"}
    if condition == catalogue.PASSED_TO_CODEDEPLOY:
        return {"iam:PassedToService": "codedeploy.amazonaws.com"}
    if condition == catalogue.PASSED_TO_SCHEDULER:
        return {"iam:PassedToService": "scheduler.amazonaws.com"}
    if condition == catalogue.INVOKE_GRANTEE:
        return {"lambda:Principal": resource.inputs["principal"]}
    if condition == catalogue.OTHER_TAG_KEYS:
        return {"aws:TagKeys": ["ManagedBy"]}
    if (
        condition == catalogue.FUNCTION_NETWORK
    ):  # the VpcConfig CreateFunction / UpdateFunctionConfiguration set
        vpc = resource.inputs.get("vpcConfig") or {}
        return (
            {"lambda:SubnetIds": vpc["subnetIds"], "lambda:SecurityGroupIds": vpc["securityGroupIds"]}
            if vpc.get("subnetIds")
            else {}
        )
    if condition == catalogue.DNS_RECORD:  # the record's change batch (CREATE, UPSERT or DELETE of it)
        return {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [resource.inputs["name"]],
            "route53:ChangeResourceRecordSetsRecordTypes": [resource.inputs["type"]],
            "route53:ChangeResourceRecordSetsActions": ["CREATE"],
        }
    tags = resource.inputs.get("tags") or run.one("aws:apigatewayv2/api:Api").inputs["tags"]
    if condition == catalogue.OWNER_REQUEST_TAGS:
        return {f"aws:RequestTag/{key}": value for key, value in tags.items()}
    if condition == catalogue.OWNER_TAGS:
        return {f"aws:ResourceTag/{key}": value for key, value in tags.items()}
    if condition == catalogue.OWNER_TAGS_ACCESS_LOG:
        context = {f"aws:ResourceTag/{key}": value for key, value in tags.items()}
        logging = resource.state.get("accessLogSettings") or {}
        if logging.get("destinationArn"):  # CreateStage / UpdateStage name the access-log destination
            context["apigateway:Request/AccessLoggingDestination"] = logging["destinationArn"]
        return context
    assert condition is None, f"no context known for the condition {condition!r}"
    return {}


def arn_of(resource: Registered, run) -> str:
    """The ARN IAM authorizes the resource's calls against (its catalogue entry's `state_arn`)."""
    state_arn = catalogue.BY_TOKEN[resource.typ].state_arn
    if state_arn:
        return catalogue.render(
            state_arn, {"partition": "aws", "region": REGION, "account": ACCOUNT} | resource.state
        )
    if resource.typ == "docker:index/registryImage:RegistryImage":
        return run.one("aws:ecr/repository:Repository").state["arn"]
    assert resource.typ.startswith("aws:iam/rolePolicy"), resource.typ
    return role_of(resource, run).state["arn"]


def matches(kind: catalogue.Arn, arn: str) -> bool:
    """Is `arn` of this kind (its format with every name a wildcard)?"""
    return fnmatch.fnmatchcase(
        arn, catalogue.render(kind.format, dict.fromkeys(catalogue.fields(kind.format), "*"))
    )


# Where a call on another kind of resource than the resource's own goes, from the resource and the run.
ELSEWHERE = {
    catalogue.HTTP_API_LIST.kind: lambda resource, run: APIS,
    catalogue.HTTP_API_TAGS.kind: lambda resource, run: TAGS,
    catalogue.ROLES.kind: lambda resource, run: resource.inputs["role"],
    catalogue.CODEDEPLOY_ROLE.kind: lambda resource, run: resource.inputs["serviceRoleArn"],
    catalogue.SCHEDULER_ROLE.kind: lambda resource, run: resource.inputs["target"]["roleArn"],
    catalogue.DOMAIN_NAME_LIST.kind: lambda resource, run: f"arn:aws:apigateway:{REGION}::/domainnames",
    catalogue.DNS_CHANGES.kind: lambda resource, run: "arn:aws:route53:::change/C0123456789ABCDEFGHIJ",
    catalogue.DEPLOYMENT_CONFIGS.kind: lambda resource, run: (
        f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentconfig:{resource.inputs['deploymentConfigName']}"
    ),
}


def calls(resource: Registered, run, steps=catalogue.STEPS) -> list[tuple[str, str, dict]]:
    """(action, ARN, condition context) of every call the catalogue lists for `resource` in `steps`."""
    own = arn_of(resource, run)
    found = []
    for access in catalogue.BY_TOKEN[resource.typ].access:
        if access.step not in steps:
            continue
        if access.on == catalogue.REGION:
            arn = "*"
        elif matches(access.on, own):
            arn = own
        else:
            assert access.on.kind in ELSEWHERE, f"{resource.typ}: where is its {access.on.kind} call?"
            arn = ELSEWHERE[access.on.kind](resource, run)
        found += [(action, arn, context_of(resource, access, run)) for action in access.actions]
    return found


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def stack_run(request):
    return run_program(
        ROOT,
        VARIANTS[request.param],
        project=PROJECT,
        stack=STACK,
        stack_file=ROOT / "Pulumi.dev.yaml",
        env=NO_IMAGE_ENV,
    )


def test_no_deploy_role_may_create_the_role_without_the_boundary():
    # an account without the bootstrap: the program creates the role without a boundary (infra/function.py),
    # which the deploy role refuses, so a deploy job never ships an unbounded role
    boundary = policies.Scope("aws", REGION, ACCOUNT).stack(STACK).boundary
    run = run_program(
        ROOT,
        VARIANTS["dev"],
        project=PROJECT,
        stack=STACK,
        stack_file=ROOT / "Pulumi.dev.yaml",
        env=NO_IMAGE_ENV,
        mocks=HarnessMocks(missing_policies=[boundary]),
    )
    roles = run.of_type("aws:iam/role:Role")
    assert roles
    for role in roles:
        assert "permissionsBoundary" not in role.inputs, "the role names a boundary the account does not hold"
        assert not allowed(DEPLOY, "iam:CreateRole", arn_of(role, run), boundary_context(role)), role.name


def managed(run) -> list[Registered]:
    return [r for r in run.resources if r.custom and r.typ not in NOT_AWS]


def test_every_resource_type_of_the_stack_is_covered(stack_run):
    stack_types = {entry.token for entry in catalogue.STACK_TYPES}
    assert {r.typ for r in stack_run.resources if r.custom} - NOT_AWS <= stack_types


def test_deploy_role_may_run_the_whole_lifecycle_of_every_resource(stack_run):
    for resource in managed(stack_run):
        for action, arn, context in calls(resource, stack_run, catalogue.ROLE_STEPS["deploy"]):
            assert allowed(DEPLOY, action, arn, context), (resource.name, action, arn, context)
    for action, arn, context in STATE_CALLS["deploy"]:
        assert allowed(DEPLOY, action, arn, context), (action, arn, context)


def test_the_stage_logs_to_the_stacks_api_log_group_which_the_deploy_role_requires(stack_run):
    stage = stack_run.one("aws:apigatewayv2/stage:Stage")
    destination = stage.state["accessLogSettings"]["destinationArn"]
    assert destination.startswith(
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/apigateway/{PROJECT}-{STACK}"
    )
    (update,) = [a for a in catalogue.BY_TOKEN[stage.typ].on("update") if "apigateway:PATCH" in a.actions]
    context = context_of(stage, update, stack_run)
    assert context["apigateway:Request/AccessLoggingDestination"] == destination
    assert allowed(DEPLOY, "apigateway:PATCH", arn_of(stage, stack_run), context)


def test_the_http_api_is_created_with_the_tags_the_deploy_role_requires(stack_run):
    tags = stack_run.one("aws:apigatewayv2/api:Api").inputs["tags"]
    assert allowed(
        DEPLOY, "apigateway:POST", APIS, {f"aws:RequestTag/{key}": value for key, value in tags.items()}
    )


def test_deploy_role_may_pass_the_function_role_to_lambda(stack_run):
    role = stack_run.named("function-role").state["arn"]
    assert allowed(DEPLOY, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})


def test_deploy_role_may_pass_only_the_codedeploy_role_to_codedeploy(stack_run):
    for role in stack_run.of_type("aws:iam/role:Role"):
        codedeploy = role.name == "delivery-codedeploy-role"
        assert (
            allowed(
                DEPLOY, "iam:PassRole", role.state["arn"], {"iam:PassedToService": "codedeploy.amazonaws.com"}
            )
            == codedeploy
        ), role.name


def runner_calls(run) -> list[tuple[str, str]]:
    """The AWS calls of the deployment inside `pulumi up` (infra/deployment_runner.py; tests/infra/
    test_deployment_runner.py checks them against botocore's models) and of scripts/delivery_report.py, as
    (action, the resource it is authorized on)."""
    function = run.one("aws:lambda/function:Function").state["arn"]
    repository = run.one("aws:ecr/repository:Repository").state["arn"]
    calls = [
        ("lambda:GetAlias", f"{function}:live"),
        ("lambda:GetFunction", f"{function}:7"),
        ("lambda:InvokeFunction", f"{function}:7"),
        ("lambda:UpdateAlias", f"{function}:live"),
        ("lambda:ListVersionsByFunction", function),
        ("lambda:DeleteFunction", f"{function}:3"),
        ("ecr:BatchGetImage", repository),
        ("ecr:PutImage", repository),
        ("ecr:BatchDeleteImage", repository),
    ]
    for group in run.of_type("aws:codedeploy/deploymentGroup:DeploymentGroup"):
        application = run.one("aws:codedeploy/application:Application").state["arn"]
        config = group.inputs["deploymentConfigName"]
        calls += [
            ("codedeploy:CreateDeployment", group.state["arn"]),
            ("codedeploy:GetDeployment", group.state["arn"]),
            ("codedeploy:GetDeploymentGroup", group.state["arn"]),
            ("codedeploy:RegisterApplicationRevision", application),
            ("codedeploy:GetApplicationRevision", application),
            (
                "codedeploy:GetDeploymentConfig",
                f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentconfig:{config}",
            ),
        ]
    return calls


def test_deploy_role_may_make_every_call_of_the_deployment(stack_run):
    for action, arn in runner_calls(stack_run):
        assert allowed(DEPLOY, action, arn, IN_REGION), (action, arn)
    writes = [
        (action, arn)
        for action, arn in runner_calls(stack_run)
        if not action.split(":")[1].startswith(("Get", "List", "BatchGet"))
    ]
    for action, arn in writes:
        assert not allowed(PREVIEW, action, arn, IN_REGION), ("the preview role must not", action)


def test_preview_role_may_read_every_resource_and_nothing_more(stack_run):
    for resource in managed(stack_run):
        for action, arn, context in calls(resource, stack_run, ("read",)):
            assert allowed(PREVIEW, action, arn, context), (resource.name, action)
        for action, arn, context in calls(resource, stack_run, WRITES):
            if action not in READS:  # the deployment's and the rollback's reads are reads
                assert not allowed(PREVIEW, action, arn, context), (resource.name, action)
    for action, arn, context in STATE_CALLS["preview"]:
        assert allowed(PREVIEW, action, arn, context), (action, arn)


@pytest.mark.parametrize("role", ["deploy", "preview", "drift"])
def test_every_role_running_the_program_may_make_its_invokes(stack_run, role):
    document = {
        "deploy": DEPLOY,
        "preview": PREVIEW,
        "drift": policies.drift_permissions(SCOPE, STACK, BUCKET_ARN, KEY_ARN, SECRETS_KEY_ARN),
    }[role]
    tokens = {token for token, _ in stack_run.calls}
    assert {"aws:ecr/getImages:getImages", "aws:iam/getPolicy:getPolicy"} <= tokens, (
        "the program looks up the content tag in ECR and the stack's boundary in IAM"
    )
    assert tokens <= set(INVOKES), f"invokes without a known IAM action: {tokens - set(INVOKES)}"
    for token, args in stack_run.calls:
        needed = INVOKES[token](args)
        for action, arn in [needed] if isinstance(needed, tuple) else needed or []:
            assert allowed(document, action, arn, IN_REGION), (role, token, action, arn)


# `aws <service> <command> [<waiter>]` of scripts/pipeline.sh and of the Python scripts' `aws(...)` calls
# (scripts/aws_cli.py), run by deploy.yml with the deploy role around `pulumi up` -> the IAM action it needs;
# waiters poll the read call named in the AWS CLI's waiter model. start-image-scan is the weekly rescan's (the
# drift role, see docs/pipeline.md).
CLI_ACTIONS = {
    ("lambda", "wait", "function-active-v2"): "lambda:GetFunction",
    ("lambda", "wait", "function-updated-v2"): "lambda:GetFunction",
    ("lambda", "get-function-configuration", None): "lambda:GetFunctionConfiguration",
    ("lambda", "get-function", None): "lambda:GetFunction",  # pipeline.sh rollback: the version's image
    ("lambda", "get-alias", None): "lambda:GetAlias",
    ("ecr", "describe-image-scan-findings", None): "ecr:DescribeImageScanFindings",
    ("ecr", "describe-images", None): "ecr:DescribeImages",
    ("ecr", "describe-repositories", None): "ecr:DescribeRepositories",  # pipeline.sh push-archive
    ("ecr", "batch-delete-image", None): "ecr:BatchDeleteImage",
    ("deploy", "get-deployment-group", None): "codedeploy:GetDeploymentGroup",
    ("deploy", "get-deployment", None): "codedeploy:GetDeployment",
}
RESCAN_ONLY = {("ecr", "start-image-scan", None)}
AWS_CALL = re.compile(r"(?:^|[\s($])aws\s+([a-z0-9-]+)\s+([a-z0-9-]+)(?:\s+([a-z0-9-]+))?", re.MULTILINE)


def python_aws_calls() -> set[tuple[str, str, None]]:
    """(service, command, None) of every `aws("<service>", "<command>", ...)` call in scripts/*.py."""
    calls = set()
    for path in (ROOT / "scripts").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "aws" and len(node.args) >= 2:
                service, command = node.args[0], node.args[1]
                if isinstance(service, ast.Constant) and isinstance(command, ast.Constant):
                    calls.add((service.value, command.value, None))
    return calls


def test_drift_role_may_rescan_the_image_its_stack_runs(stack_run):
    # scripts/pipeline.sh rescan (rescan.yml, environment drift-<stack>): start a scan, wait for its findings
    drift = policies.drift_permissions(SCOPE, STACK, BUCKET_ARN, KEY_ARN, SECRETS_KEY_ARN)
    repository = stack_run.one("aws:ecr/repository:Repository").state["arn"]
    for action in ("ecr:StartImageScan", "ecr:DescribeImageScanFindings"):
        assert allowed(drift, action, repository), action
    for action in ("ecr:PutImage", "ecr:BatchDeleteImage", "ecr:PutImageScanningConfiguration"):
        assert not allowed(drift, action, repository), action


def test_deploy_role_may_make_every_aws_cli_call_of_the_stack_checks(stack_run):
    script = (ROOT / "scripts" / "pipeline.sh").read_text(encoding="utf-8")
    calls = {
        (service, command, waiter if command == "wait" else None)
        for service, command, waiter in AWS_CALL.findall(script)
    }
    calls = (calls | python_aws_calls()) - RESCAN_ONLY
    assert calls == set(CLI_ACTIONS), f"calls without a known IAM action: {calls ^ set(CLI_ACTIONS)}"
    arns = {
        "lambda": stack_run.one("aws:lambda/function:Function").state["arn"],
        "ecr": stack_run.one("aws:ecr/repository:Repository").state["arn"],
        "deploy": SCOPE.stack(STACK).codedeploy[1],  # the deployment group (scripts/delivery_report.py)
    }
    for (service, command, waiter), action in CLI_ACTIONS.items():
        assert allowed(DEPLOY, action, arns[service], IN_REGION), (service, command, waiter, action)


# scripts/rollback.py (make versions, make rollback, the deploy workflow's rollback job, pipeline.sh promote's
# resolve) through boto3, with the stack's deploy role: the API operations it calls -> the IAM action.
ROLLBACK_ACTIONS = {
    "lambda": [
        "lambda:GetAlias",
        "lambda:ListVersionsByFunction",
        "lambda:GetFunction",
        "lambda:InvokeFunction",
        "lambda:UpdateAlias",
    ],
    "ecr": ["ecr:ListImages", "ecr:BatchGetImage", "ecr:PutImage", "ecr:BatchDeleteImage"],
}


def test_deploy_role_may_roll_its_stack_back_and_no_other(stack_run):
    arns = {
        "lambda": stack_run.one("aws:lambda/function:Function").state["arn"],
        "ecr": stack_run.one("aws:ecr/repository:Repository").state["arn"],
    }
    for service, actions in ROLLBACK_ACTIONS.items():
        for action in actions:
            assert allowed(DEPLOY, action, arns[service], IN_REGION), action
            other = arns[service].replace(f"-{STACK}", f"-{STACK}x")
            assert not allowed(DEPLOY, action, other, IN_REGION), (action, other)


def test_the_rollbacks_calls_are_the_catalogues_deployment_calls():
    # the rollback is an operation of the catalogue (its `deploy` step), not a coincidence of the lifecycle
    deployment = {action for entry in catalogue.STACK_TYPES for action in entry.actions("deploy")}
    assert {action for actions in ROLLBACK_ACTIONS.values() for action in actions} <= deployment


# What a push through the registry API asks of IAM (`skopeo copy` in pipeline.sh push-archive; the Amazon ECR
# User Guide, "IAM permissions for pushing an image to an Amazon ECR private repository").
PUSH_ACTIONS = (
    "ecr:CompleteLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:InitiateLayerUpload",
    "ecr:BatchCheckLayerAvailability",
    "ecr:PutImage",
    "ecr:BatchGetImage",
)


def test_the_deploy_role_may_push_the_built_archive_into_its_own_repository_only(stack_run):
    repository = stack_run.one("aws:ecr/repository:Repository").state["arn"]
    other = repository.replace(f"repository/{PROJECT}-{STACK}", f"repository/{PROJECT}-production")
    assert other != repository
    assert allowed(DEPLOY, "ecr:GetAuthorizationToken", "*", IN_REGION)
    for action in PUSH_ACTIONS:
        assert allowed(DEPLOY, action, repository, IN_REGION), action
        if action != "ecr:BatchGetImage":  # pulling the building stack's image is how further stacks copy it
            assert not allowed(DEPLOY, action, other, IN_REGION), action
