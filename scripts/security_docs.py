"""SECURITY.md's control map, declared once, and docs/guardrails.md's table of the policy pack, generated.

    python -m scripts.security_docs      # rewrite both files' tables (`make docs`)

The map says, for each external rule (checkov's checks of the AWS resources the stack manages, GitHub's OIDC
hardening steps, zizmor's audits) and each control of the pipeline's trust chain, what enforces it here, or
why it is deliberately not enforced. A cell is Markdown with references, each written as the table shows it:

- `{policy:<name>}`: a policy of the pack (`policy.guardrails.POLICIES`), written `policy:<name>` and, when
  its enforcement level is advisory, `(advisory)`;
- `{file:<path>}`: a file of the repository, written as code;
- `{key:<name>}`: a config key (`infra.config.KEYS`), written as code;
- `{check:<id>}`: a checkov check (`CKV_AWS_50`); `{audit:<name>}`: a zizmor audit, written `zizmor <name>`.

Generating fails (ValueError, naming what is wrong) when a reference names no policy, file or key, when a
policy of the pack is in no row, when a row has an empty cell, or when the checks checkov skips
(`.checkov.yaml`, `skip-check`) and the reasons given here (`SKIPPED`) differ. tests/policy/
test_security_map.py checks every check and audit referenced against checkov's registries and zizmor's own
list. `make check` runs this module, then `git diff --exit-code` on the files, as for infra/config_docs.py.
The prose around the tables stays hand-written in the files.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from pulumi_policy import EnforcementLevel, StackValidationPolicy

from infra.config import KEYS_BY_NAME
from infra.config_docs import cell_text, inject, rewrite
from policy.guardrails import POLICIES

ROOT = Path(__file__).resolve().parents[1]
SECURITY = ROOT / "SECURITY.md"
GUARDRAILS = ROOT / "docs" / "guardrails.md"
CHECKOV_CONFIG = ROOT / ".checkov.yaml"
SOURCE = "scripts/security_docs.py"
POLICIES_BY_NAME = {policy.name: policy for policy in POLICIES}
REFERENCE = re.compile(r"\{(policy|file|key|check|audit):([^{}\s]+)\}")


@dataclass(frozen=True)
class Table:
    """One table of the map: its name (the marker of its block in SECURITY.md), header and rows (one Markdown
    cell with references per column); for an AWS section, the prefix of the Terraform resource types its
    checkov checks guard (`aws_lambda_`)."""

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    terraform: str = ""


def checks(*ids: str) -> str:
    """The first cell of a row answering checkov's checks `ids`."""
    return ", ".join(f"{{check:{id}}}" for id in ids)


def audits(*names: str) -> str:
    """The first cell of a row answering zizmor's audits `names`."""
    return ", ".join(f"{{audit:{name}}}" for name in names)


RULES = ("Rule", "What it asks", "Enforced here by")
PROJECT_RULE = "Project rule"  # a rule of this project's own, no external rule's
# The audits zizmor skips when it runs `--offline`, as the lint runs it (tests/policy/test_security_map.py
# checks the list against zizmor's own).
NOT_RUN_OFFLINE = (
    "impostor-commit",
    "known-vulnerable-actions",
    "ref-confusion",
    "ref-version-mismatch",
    "stale-action-refs",
)

# --- the map ----------------------------------------------------------------------------------------------------
# Rows as they read in SECURITY.md, one per line or a few (the formatter would give each cell lines of its own).
# fmt: off
LAMBDA = Table("lambda", RULES, terraform="aws_lambda_", rows=(
    (checks("CKV_AWS_50"), "X-Ray tracing is enabled", "{policy:lambda-active-tracing}"),
    (checks("CKV_AWS_115"), "function-level concurrency limit",
     "{policy:lambda-reserved-concurrency}: set {key:reservedConcurrency} in the stack config. Off by "
     "default, because a new account's concurrency quota can be as low as 10 and reserving from it can fail "
     "the deploy"),
    (checks("CKV_AWS_116"), "a dead-letter queue",
     "Not applicable: API Gateway invokes the function synchronously and the caller gets the error. A DLQ "
     "only receives failed asynchronous invocations"),
    (checks("CKV_AWS_117"), "the function runs inside a VPC",
     "Off by default: a function that reaches only public endpoints gains network interfaces and a NAT "
     "gateway or endpoints from a VPC, not protection. {key:vpcSubnetIds} and {key:vpcSecurityGroupIds} put "
     "it in one when it must reach private resources"),
    (checks("CKV_AWS_45"), "no hard-coded secrets in the environment",
     "{policy:lambda-no-secrets-in-environment} (secret-looking names such as `*_PASSWORD` or `*_TOKEN`, and"
     " values shaped like AWS access keys, private keys or GitHub tokens)"),
    (checks("CKV_AWS_173"), "environment variables encrypted with a customer KMS key",
     "Not applicable: Lambda encrypts the environment at rest with an AWS managed key, and it holds no "
     "secret ({policy:lambda-no-secrets-in-environment})"),
    (checks("CKV_AWS_272"), "code signing is validated",
     "Not applicable: Lambda code signing doesn't support container images. Integrity comes from the digest "
     "pin, {policy:lambda-image-digest}, and immutable tags, {policy:ecr-immutable-tags}"),
    (checks("CKV_AWS_363"), "the runtime is not deprecated",
     "Not applicable: an image function has no managed runtime. Dependabot proposes new base images for "
     "function/ ({file:.github/dependabot.yml}; pin the base by digest so that each change is reviewed) and "
     "{file:.github/workflows/rescan.yml} rescans the deployed images weekly"),
    (checks("CKV_AWS_258"), "function URLs require authentication",
     "{policy:lambda-function-url-auth} (the stack creates no function URL)"),
    (checks("CKV2_AWS_75"), "no open CORS policy on a function URL",
     "{policy:cors-no-wildcard-in-production} (function URLs and HTTP APIs)"),
    (checks("CKV_AWS_301"), "the function is not publicly accessible", "{policy:lambda-permission-scoped}"),
    (checks("CKV_AWS_364"), "service permissions are limited by SourceArn or SourceAccount",
     "{policy:lambda-permission-scoped}"),
    (PROJECT_RULE, "image package, pinned by `@sha256:` digest",
     "{policy:lambda-image-package}, {policy:lambda-image-digest}"),
    (PROJECT_RULE, "exactly one architecture", "{policy:lambda-single-architecture}"),
    (PROJECT_RULE, "the function's log group exists in the stack, with retention",
     "{policy:lambda-log-group}"),
))
ECR = Table("ecr", RULES, terraform="aws_ecr_", rows=(
    (checks("CKV_AWS_163"), "scan on push",
     "{policy:ecr-scan-on-push}, plus the scan gate of {file:.github/workflows/deploy.yml} (no function runs"
     " an image with CRITICAL findings) and the weekly {file:.github/workflows/rescan.yml}"),
    (checks("CKV_AWS_51"), "immutable image tags",
     "{policy:ecr-immutable-tags} (`IMMUTABLE` only: `IMMUTABLE_WITH_EXCLUSION` leaves the tags its filters "
     "match mutable)"),
    (checks("CKV_AWS_136"), "encrypted with KMS",
     "{policy:kms-customer-managed-key}. The default is AES256; set {key:kmsKeyArn} to use a "
     "customer-managed key"),
    (checks("CKV_AWS_32"), "the repository policy is not public", "{policy:ecr-no-public-repository-policy}"),
    (PROJECT_RULE, "a lifecycle policy expires old images", "{policy:ecr-lifecycle-policy}"),
))
API_GATEWAY = Table("api-gateway", RULES, terraform="aws_apigatewayv2_", rows=(
    (checks("CKV_AWS_76"), "access logging", "{policy:apigw-stage-access-logging}"),
    (PROJECT_RULE, "default throttling", "{policy:apigw-stage-default-throttling}"),
    (PROJECT_RULE, "no `*` CORS origin on production stacks", "{policy:cors-no-wildcard-in-production}"),
    (PROJECT_RULE, "a custom domain accepts TLS 1.2 or newer only", "{policy:apigw-domain-tls-1-2}"),
    (checks("CKV_AWS_309"), "routes specify an authorization type",
     "Every route has one: `NONE` by default (a public endpoint, bounded by throttling, "
     "{policy:apigw-stage-default-throttling}, and optionally reserved concurrency), `JWT` on every route but "
     "the contract's `\"auth\": false` ones when {key:jwtIssuer} is set ({file:infra/http_api.py})"),
    (checks("CKV2_AWS_51"), "client certificate authentication",
     "Not offered: mutual TLS needs a custom domain ({key:customDomain}) with a truststore and clients that "
     "hold certificates; callers authenticate with a JWT when {key:jwtIssuer} is set, else the API is public"),
    (checks("CKV2_AWS_77"), "WAFv2 web ACL with the Log4j rule set",
     "Not applicable: AWS WAF can't be associated with HTTP APIs (only REST APIs), and nothing here runs "
     "Java"),
))
LOGS = Table("logs", RULES, terraform="aws_cloudwatch_log_group", rows=(
    (checks("CKV_AWS_66"), "a retention period", "{policy:log-group-retention}, {policy:lambda-log-group}"),
    (checks("CKV_AWS_338"), "retention of at least a year",
     "{policy:log-retention-production} on production stacks only. Development stacks keep 14 days "
     "by default, for cost"),
    (checks("CKV_AWS_158"), "encrypted with KMS",
     "{policy:kms-customer-managed-key}. CloudWatch Logs encrypts every log group at rest with its own key"),
))
IAM = Table("iam", RULES, terraform="aws_iam_", rows=(
    (checks("CKV_AWS_1", "CKV_AWS_62"), "no full `*:*` administrative policy",
     "{policy:iam-no-wildcard-actions}, {policy:iam-no-service-wide-resources}"),
    (checks("CKV_AWS_49", "CKV_AWS_63"), "no `*` action",
     "{policy:iam-no-wildcard-actions} (any `*` or `?` inside an action name, `iam:P*` as much as `*`, and "
     "Allow with NotAction)"),
    (checks("CKV2_AWS_40"), "no full IAM privileges (`iam:*`)", "{policy:iam-no-wildcard-actions}"),
    (checks("CKV_AWS_274", "CKV_AWS_275"), "no AdministratorAccess",
     "{policy:iam-no-admin-policies} (every name containing `admin`, `fullaccess` or `poweruser` in any "
     "case, and any non-ASCII name; the rule is {file:infra/iam_rules.py}, shared with the config key "
     "{key:extraPolicyArns})"),
    (checks("CKV2_AWS_56"), "no IAMFullAccess", "{policy:iam-no-admin-policies}"),
    (checks("CKV_AWS_355", "CKV_AWS_356"), "no `*` resource for actions that can be scoped",
     "{policy:iam-resource-star-only-where-required} (`*` only for actions without resource-level "
     "permissions, such as X-Ray's writes. {file:tests/policy/test_pack_catalogues.py} checks that list "
     "against the Service Authorization Reference), {policy:iam-no-service-wide-resources} (`arn:aws:*`, "
     "`arn:aws:s3:::*`, `arn:aws:logs:*:*:*`, NotResource)"),
    (checks("CKV_AWS_107", "CKV_AWS_287"), "no credentials exposure without constraints",
     "{policy:iam-resource-star-only-where-required} (those checks flag such actions on `*`), parliament in "
     "{file:tests/policy/test_stack_under_policies.py} and {file:tests/bootstrap/test_bootstrap_policies.py}"),
    (checks("CKV_AWS_108", "CKV_AWS_288"), "no data exfiltration without constraints",
     "{policy:iam-resource-star-only-where-required}, parliament (as above)"),
    (checks("CKV_AWS_109", "CKV_AWS_289"), "no permissions management without constraints",
     "{policy:iam-resource-star-only-where-required}. Each deploy role changes only its own stack's roles "
     "(`/<project>/<stack>/`), only while they carry the stack's permissions boundary, attaches only "
     "allow-listed policies, and can neither remove, swap nor edit a boundary: "
     "{file:tests/bootstrap/test_bootstrap_escalation.py} evaluates each path"),
    (checks("CKV_AWS_110", "CKV_AWS_286"), "no privilege escalation without constraints",
     "{policy:iam-resource-star-only-where-required}. `iam:PassRole` of the stack's own roles to "
     "`lambda.amazonaws.com` only, every such role bounded "
     "({file:tests/bootstrap/test_bootstrap_escalation.py})"),
    (checks("CKV_AWS_111", "CKV_AWS_290"), "no write access without constraints",
     "{policy:iam-resource-star-only-where-required}, {policy:iam-no-service-wide-resources}"),
    (checks("CKV_AWS_60"), "a role is assumable only by specific principals",
     "{policy:iam-trust-specific-principals}"),
    (checks("CKV_AWS_61"), "no assume-role permission across all services",
     "{policy:iam-trust-specific-principals} (no whole-account principal: an account ID or its `:root` ARN)"),
    (checks("CKV_AWS_283"), "no policy document grants access to any AWS principal",
     "{policy:iam-trust-specific-principals}, {policy:ecr-no-public-repository-policy}, "
     "{policy:lambda-permission-scoped}"),
    (checks("CKV_AWS_358", "CKV_AWS_393"), "GitHub OIDC trust allows only safe claims",
     "{policy:iam-github-oidc-trust}, {file:tests/bootstrap/test_bootstrap_escalation.py} (which subjects "
     "assume which role)"),
    (PROJECT_RULE,
     "the function's own permissions are declared with it and approved by a platform administrator",
     "the function's `permissions.json` (no wildcard action or resource but one bucket's objects, no IAM, "
     "STS or KMS-administration action, only the stack's partition, region and account: "
     "{file:infra/function_permissions.py}); the stack's boundary admits exactly "
     "{file:bootstrap/function-permissions.json} (reviewed); {policy:function-permissions-approved} refuses "
     "a role whose declared statements are wider; {file:tests/infra/test_function_permissions.py} evaluates "
     "the role under its boundary"),
    (checks("CKV_AWS_40"), "policies attached only to groups or roles",
     "Not applicable: the project creates no IAM user"),
    (PROJECT_RULE, "every document passes parliament with zero findings",
     "{file:tests/policy/test_stack_under_policies.py} (execution role), "
     "{file:tests/bootstrap/test_bootstrap_policies.py} (deploy, preview and drift roles, boundaries, state "
     "bucket). Documented exceptions, asserted exactly: a trust policy has no `Resource`, which parliament "
     "reports as MALFORMED, and parliament doesn't know IAM OIDC providers (UNKNOWN_FEDERATION_SOURCE on the"
     " GitHub trust); the boundaries use `lambda:SourceFunctionArn`, which parliament does not list for "
     "other services' actions (UNKNOWN_CONDITION_FOR_ACTION). parliament's optional community auditors also "
     "report what the pipeline roles exist to do: CREDENTIALS_EXPOSURE for `ecr:GetAuthorizationToken` "
     "(every role), and on the deploy roles PERMISSIONS_MANAGEMENT_ACTIONS (the function's role, its "
     "resource policy, the repository policy) and PRIVILEGE_ESCALATION (updating a function that has a role)"),
    (PROJECT_RULE, "standard tags on every taggable resource", "{policy:standard-tags}"),
))
TRUST_CHAIN = Table("trust-chain", ("Control", "Enforced here by"), rows=(
    (
     "A deploy job reaches its own stack only (function, repository, roles, log groups, API, state objects "
     "and locks, secrets key), also when one stack name starts with another (`dev`, `dev-eu`)",
     "IAM: one deploy role per environment with exact names, "
     "{file:tests/bootstrap/test_bootstrap_escalation.py}"),
    (
     "A role a deploy job creates or changes gets no more than its stack's function needs, and nothing when "
     "another principal assumes it",
     "IAM: the stack's permissions boundary (`iam:PermissionsBoundary` conditions; its statements require "
     "`lambda:SourceFunctionArn`), {file:tests/bootstrap/test_bootstrap_escalation.py}"),
    ("Only administrator-reviewed managed policies can be attached",
     "IAM (`iam:PolicyARN` under `/<project>/`), the config's {key:extraPolicyArns} rule and "
     "{policy:iam-no-admin-policies}, all from {file:infra/iam_rules.py}"),
    ("Another team's HTTP API cannot be changed",
     "IAM: API Gateway writes only with the stack's `Project`/`Stack` resource tags, created only with them "
     "as request tags, owner tags never retagged ({file:tests/bootstrap/test_bootstrap_escalation.py})"),
    ("A stack cannot take another stack's role name",
     "IAM: role actions name the stack's exact roles (`stack_role_names`), as role names are unique in the "
     "account whatever the path ({file:tests/bootstrap/test_bootstrap_escalation.py})"),
    ("The `dev` job cannot change production, and production's reviewer protects something",
     "IAM (separate roles, {file:tests/bootstrap/test_bootstrap_escalation.py}) plus GitHub: the "
     "`production` environment's required reviewers (with self-review prevented) gate the only job whose "
     "token the production deploy role trusts, and what they approve runs only a digest main's deploy "
     "workflow attested: the promote job verifies the deploy job's digest itself "
     "({file:scripts/provenance.py}, {file:tests/pipeline/test_substitution_attack.py}), and no job that "
     "holds dev's role can sign ({file:tests/pipeline/test_workflows.py}). Not covered: what the build steps"
     " of main's sources put into the image (docs/pipeline.md, \"What provenance does not cover\")"),
    (
     "Every digest a function runs was built by {file:.github/workflows/deploy.yml} on main, for the sources"
     " it deploys",
     "The attest job attests each image the credential-less build job builds (GitHub artifact "
     "attestations, subject `<repository>:<content tag>`); before anything runs a digest (a fresh build, a reused content tag, "
     "each promotion, the copy a promoted stack runs), {file:scripts/provenance.py} verifies it with `gh "
     "attestation verify` and re-checks repository and ids, workflow, `refs/heads/main`, the commit (this "
     "run's, or a commit of main), a GitHub-hosted runner and the subject: "
     "{file:tests/pipeline/test_provenance.py}, {file:tests/pipeline/test_workflows.py} (order of the steps,"
     " only the attest job writes attestations)"),
    ("No job runs code named by state or a package index",
     "Every engine job sets `PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION` and installs the SDKs' exact "
     "plugin versions ({file:scripts/plugins.py}); every job with cloud credentials installs Python packages"
     " with `--require-hashes` from {file:requirements.hashes.txt} and "
     "{file:policy/requirements.hashes.txt}, which {file:tests/pipeline/test_lockfiles.py} keeps in step "
     "with the requirements files ({file:tests/pipeline/test_pipeline_script.py}). Right before every "
     "engine run of a state a deploy role may write, {file:scripts/state_guard.py} refuses any entry the "
     "program never writes: a command with a `delete`, a type unlike its URN's, a provider that reaches a host "
     "or downloads a plugin ({file:tests/pipeline/test_state_guard.py}, "
     "{file:tests/pipeline/test_workflows.py}); `make deploy` also downloads no plugin a state names. Not "
     "covered: a writer racing between that check and the "
     "engine's read of the state; plugin archives and the Pulumi CLI are not checked against published "
     "checksums (docs/pipeline.md, \"The jobs' supply chain\"); the function image installs what its own "
     "requirements name"),
    ("No role reads a lower environment's state and decrypts a higher environment's secrets",
     "IAM: one drift role per environment, each role reads and decrypts exactly one stack "
     "({file:tests/bootstrap/test_bootstrap_escalation.py})"),
    (
     "A deploy job cannot point its stage's access logs outside its stack, tap the account's events, nor "
     "read other teams' APIs",
     "IAM: `apigateway:Request/AccessLoggingDestination`, `aws:ResourceTag` on API reads; the warm-up is an "
     "EventBridge Scheduler schedule (matches no events) invoking through the stack's scheduler role, the "
     "only role a deploy job may pass to `scheduler.amazonaws.com`; no `events:` action, no invoke grant for"
     " EventBridge ({file:tests/bootstrap/test_bootstrap_escalation.py}). What AWS offers no condition key "
     "for (a schedule's target, SNS subscriptions, invoke grants without a source ARN, the CodeDeploy role's"
     " trust) is listed in docs/bootstrap.md with what bounds it"),
    ("Deploy and drift jobs run from `main` only",
     "GitHub: each environment's deployment branches restricted to `main` (`<env>` and `drift-<env>`); the "
     "roles trust `environment:<name>` subjects, which only jobs in that environment get. "
     "{file:scripts/github_settings.py} (`make github-settings`, printed by the bootstrap) reads these "
     "settings, the reviewers and the protection of `main` with `gh api` and lists what is missing "
     "({file:tests/pipeline/test_github_settings.py}, against answers checked with GitHub's OpenAPI "
     "description)"),
    ("A pull request writes nothing and reads only the building stack",
     "IAM: the preview role trusts `pull_request` subjects only and reads only the building stack's "
     "resources, state and secrets key ({file:tests/bootstrap/test_bootstrap_escalation.py}). Not a control:"
     " any same-repository or Dependabot pull request can decrypt the building stack's secrets, so keep "
     "production-grade secrets out of it and use {key:secretEnvironment} references, which put no secret "
     "value in the state (docs/bootstrap.md)"),
    ("Pull requests from forks get no AWS access",
     "GitHub: a workflow run triggered by a fork's pull request receives no secrets and no `id-token: write`"
     " token (unless a private repository's owner enables sending them); a fork's pull request runs the "
     "workflow files of its own merge commit, so the `if:` in {file:.github/workflows/preview.yml} only "
     "skips a job that would fail, it is not the control"),
    ("No registry credential in any state",
     "The program gives no registry credential to any resource; Docker logs in to ECR outside it "
     "({file:docs/bootstrap.md}), so no role needs to read one from state: the preview role reads only the "
     "building stack's state ({file:tests/bootstrap/test_bootstrap_escalation.py})"),
    ("An image swapped behind a content tag never runs",
     "A deploy role can delete the image under a tag and push another (tags are immutable only while they "
     "exist, {policy:ecr-immutable-tags}; `ecr:PutImageTagMutability` is denied), so the tag is not trusted:"
     " the provenance step refuses any digest main's deploy workflow did not attest for that content tag, "
     "before anything runs it, and the full `pulumi up` that follows runs that digest, by digest "
     "(`PINNED_IMAGE_URI`). {file:tests/pipeline/test_substitution_attack.py} replays the attack. What a "
     "deploy job can still do to its own repository (its policy, deleting and re-creating it) is listed in "
     "docs/bootstrap.md"),
    ("No job that holds a deploy role can sign, and no job that signs runs the function's code",
     "deploy.yml builds the image in a job with no cloud role, no OIDC token and no attestation right; the "
     "`attest` job signs the digest of that job's archive, runs none of the function's code and has no GitHub"
     " environment, which every deploy role's trust requires; the jobs that hold a deploy role may read "
     "attestations, never write one ({file:tests/pipeline/test_workflows.py}, "
     "{file:tests/pipeline/test_substitution_attack.py})"),
    ("The state bucket's protection cannot be removed by a `pulumi destroy` of the bootstrap",
     "`protect` on the bucket, its key and every setting that protects them, "
     "{file:tests/bootstrap/test_bootstrap_program.py}"),
    ("With Pulumi Cloud state, a pull request holds no token that can write a stack",
     "GitHub: `PULUMI_ACCESS_TOKEN` is an environment secret of the deploy environments and `drift`; "
     "pull-request previews need a team access token whose team may only read the building stack (Pulumi "
     "Cloud teams), or use the S3 backend"),
))
OIDC = Table("oidc", ("Step", "Enforced here by"), rows=(
    ("The trust policy requires `aud` = `sts.amazonaws.com`",
     "{policy:iam-github-oidc-trust}, {file:tests/bootstrap/test_bootstrap_policies.py}"),
    (
     "The trust policy requires an exact `sub` (repository plus environment, or pull request), never a "
     "wildcard, in exactly the repository form configured (`owner/repo` or the immutable `owner@id/repo@id`)",
     "{policy:iam-github-oidc-trust}, {file:tests/bootstrap/test_bootstrap_escalation.py}"),
    (
     "Deploy jobs run in protected GitHub environments, and each deploy role trusts only its environment's "
     "subject",
     "{file:tests/bootstrap/test_bootstrap_workflows.py}, "
     "{file:tests/bootstrap/test_bootstrap_escalation.py}. The protection rules (branch restriction, "
     "reviewers) are GitHub settings, listed in {file:docs/bootstrap.md}"),
    ("`id-token: write` only in jobs that assume a role", "{file:tests/pipeline/test_workflows.py}"),
    ("No long-lived cloud keys in the repository or its secrets", "{file:tests/pipeline/test_workflows.py}"),
    (
     "Least-privilege roles: a read-only role for pull-request previews, a read-only role for the drift "
     "check, a scoped role per deploy environment",
     "{file:tests/bootstrap/test_bootstrap_escalation.py}"),
    ("Pull requests from forks get no token",
     "GitHub (see \"The pipeline's trust chain\"); {file:.github/workflows/preview.yml} skips the AWS jobs for"
     " forks only to avoid a failing job"),
))
WORKFLOWS = Table("workflows", ("Audit", "Enforced here by"), rows=(
    (audits("artipacked"),
     "zizmor, {file:tests/pipeline/test_workflows.py} (no checkout persists credentials)"),
    (audits("template-injection"),
     "zizmor, {file:tests/pipeline/test_workflows.py} (no `${{ }}` inside `run:`), checkov {check:CKV_GHA_2}"),
    (audits("excessive-permissions"),
     "zizmor, {file:tests/pipeline/test_workflows.py} (`permissions: {}` at the top, each job its own), "
     "checkov {check:CKV2_GHA_1}"),
    (audits("unpinned-uses"),
     "zizmor, the `hash-pin` policy of {file:.github/zizmor.yml}, {file:tests/pipeline/test_workflows.py} (a"
     " version comment on every SHA)"),
    (audits("dangerous-triggers"),
     "zizmor, {file:tests/pipeline/test_workflows.py} (no `pull_request_target`, no `workflow_run`)"),
    (audits("cache-poisoning"), "zizmor"),
    (audits("secrets-inherit"), "zizmor"),
    (audits("github-env"), "zizmor"),
    (audits("insecure-commands"), "zizmor, checkov {check:CKV_GHA_1}"),
    (audits("hardcoded-container-credentials"), "zizmor"),
    (audits("overprovisioned-secrets"), "zizmor"),
    (audits("unredacted-secrets"), "zizmor"),
    (audits("bot-conditions"), "zizmor"),
    (audits("dependabot-cooldown"), "zizmor, {file:.github/dependabot.yml} (3 to 14 days of cooldown)"),
    (audits("self-repository"),
     "Ignored inline, with its reason, where {file:.github/workflows/deploy.yml} calls "
     "{file:.github/workflows/tests.yml}: actionlint rejects the form the audit suggests"),
    (audits(*NOT_RUN_OFFLINE),
     "Not run: these audits need the GitHub API and the lint runs `--offline`. Pins are full SHAs "
     "({file:.github/zizmor.yml}), and Dependabot proposes updates"),
))
# fmt: on
AWS = (LAMBDA, ECR, API_GATEWAY, LOGS, IAM)


# --- the checks checkov skips everywhere (.checkov.yaml) and why -------------------------------------------------

# Two checks of Docker's own practice do not hold for a Lambda image, so no Dockerfile is asked to skip them:
# (what the check asks, why it is skipped).
SKIPPED: dict[str, tuple[str, str]] = {
    "CKV_DOCKER_2": (
        "HEALTHCHECK",
        "Lambda ignores HEALTHCHECK. The smoke test sends the function's events to the API after every deploy",
    ),
    "CKV_DOCKER_3": (
        "a user is created",
        "Lambda ignores USER and runs every image as its own least-privileged Linux user (Lambda Developer "
        'Guide, "Create a Lambda function using a container image", requirements)',
    ),
}


def skipped_checks(config: Path = CHECKOV_CONFIG) -> tuple[str, ...]:
    """The checks checkov's config file skips (`skip-check`: a list of ids or comma-separated ids)."""
    listed = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("skip-check") or []
    items = [listed] if isinstance(listed, str) else listed
    return tuple(check.strip() for item in items for check in str(item).split(",") if check.strip())


def container_images(config: Path = CHECKOV_CONFIG) -> Table:
    """The table of the checks checkov skips for every Dockerfile, each with its reason (`SKIPPED`)."""
    skipped = skipped_checks(config)
    if unexplained := sorted(set(skipped) - set(SKIPPED)):
        raise ValueError(f"{config.name} skips {unexplained} without a reason in SKIPPED ({SOURCE})")
    if stale := sorted(set(SKIPPED) - set(skipped)):
        raise ValueError(f"SKIPPED ({SOURCE}) gives reasons for {stale}, which {config.name} does not skip")
    rows = tuple(
        (
            f"{{check:{check}}} ({SKIPPED[check][0]})",
            f"every Dockerfile ({{file:{config.name}}})",
            SKIPPED[check][1],
        )
        for check in skipped
    )
    return Table("container-images", ("Check", "Where", "Why it is skipped"), rows)


# --- rendering ---------------------------------------------------------------------------------------------------


def references(table: Table) -> Iterator[tuple[str, str]]:
    """Every reference of `table`'s cells, as (kind, value): ("policy", "lambda-log-group")."""
    for row in table.rows:
        for cell in row:
            for match in REFERENCE.finditer(cell):
                yield match[1], match[2]


def render_cell(cell: str, root: Path = ROOT) -> str:
    """`cell` with each reference written as the table shows it. ValueError for a reference to nothing."""

    def written(match: re.Match[str]) -> str:
        kind, value = match[1], match[2]
        if kind == "policy":
            if value not in POLICIES_BY_NAME:
                raise ValueError(f"{{policy:{value}}}: the pack has no such policy")
            advisory = POLICIES_BY_NAME[value].enforcement_level == EnforcementLevel.ADVISORY
            return f"policy:{value}" + (" (advisory)" if advisory else "")
        if kind == "file":
            if not (root / value).exists():
                raise ValueError(f"{{file:{value}}}: no such file in the repository")
            return f"`{value}`"
        if kind == "key":
            if value not in KEYS_BY_NAME:
                raise ValueError(f"{{key:{value}}}: infra/config.py has no such key")
            return f"`{value}`"
        return value if kind == "check" else f"zizmor {value}"

    return cell_text(REFERENCE.sub(written, cell))


def render(table: Table, root: Path = ROOT) -> str:
    """`table` as a Markdown table. ValueError for a row of the wrong width or with an empty cell."""
    lines = ["| " + " | ".join(table.header) + " |", "|" + " --- |" * len(table.header)]
    for row in table.rows:
        cells = [render_cell(cell, root) for cell in row]
        if len(cells) != len(table.header) or not all(cell.strip() for cell in cells):
            raise ValueError(
                f"table {table.name!r}: a row needs {len(table.header)} non-empty cells: {cells}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def tables() -> tuple[Table, ...]:
    """The map's tables, in the order of SECURITY.md. ValueError when a policy of the pack is in none."""
    found = (*AWS, TRUST_CHAIN, OIDC, WORKFLOWS, container_images())
    cited = {value for table in found for kind, value in references(table) if kind == "policy"}
    if missing := [policy.name for policy in POLICIES if policy.name not in cited]:
        raise ValueError(f"the control map ({SOURCE}) has no row for the policies {missing}")
    return found


def marker(name: str) -> str:
    """The line that opens the generated block `name` (it ends at infra.config_docs.END)."""
    return f"<!-- generated by `make docs` from {SOURCE} ({name}): do not edit below -->"


def policies_table() -> str:
    """docs/guardrails.md's table of the pack's policies: name, enforcement level and description."""
    rows = ["| Policy | Level | Rule |", "| --- | --- | --- |"]
    for policy in POLICIES:
        level = "advisory" if policy.enforcement_level == EnforcementLevel.ADVISORY else "mandatory"
        kind = (
            " A stack policy: it reads every resource of the stack."
            if isinstance(policy, StackValidationPolicy)
            else ""
        )
        rows.append(f"| `{policy.name}` | {level} | {cell_text(policy.description + kind)} |")
    return "\n".join(rows) + "\n"


def security_page(text: str) -> str:
    """SECURITY.md with the block of each table regenerated."""
    for table in tables():
        text = inject(text, render(table), SECURITY, begin=marker(table.name))
    return text


def main() -> int:
    return rewrite(
        {
            SECURITY: security_page,
            GUARDRAILS: lambda text: inject(text, policies_table(), GUARDRAILS, begin=marker("policies")),
        }
    )


if __name__ == "__main__":
    sys.exit(main())
