"""Move the alias `live` to a newly published version, safely; run by `pulumi up` (infra/delivery.py).

    python -m infra.deployment_runner < spec.json

The spec (JSON on standard input, written by infra/delivery.py) holds: region, functionName, alias,
targetVersion, repositoryName, protectedTagPrefix, keepVersions, functionTimeout (the function's timeout in
seconds), maxInitDurationMs (the cold-start budget, 0 = none), smokeCases (each {name, event, status,
contains}: the function contract, infra/function_contract.py), and codeDeploy ({application, deploymentGroup,
timeoutSeconds}) or null. The commit that deploys is read from GITHUB_SHA, else `git rev-parse HEAD`.

Steps, each of which stops the run with exit status 1 and the alias untouched unless said otherwise:
1. protect the target version's image: tag its digest `<protectedTagPrefix><version>` in ECR (a lifecycle rule
   of higher priority keeps every image with that prefix; infra/registry.py), and `lambda-deployed-<version>-
   <commit>` when the commit is known (`make versions` lists it);
2. smoke: invoke the target version directly (qualifier = the version number, not the alias) with each of the
   function's own events and compare the status (and the `contains` text) with the contract; with a cold-start
   budget, the first invocation also returns its log tail, whose REPORT gives the version's Init Duration
   (Restore Duration with SnapStart), refused above the budget;
3. shift: with CodeDeploy, create a deployment of the alias from its current to the target version and wait
   for it; CodeDeploy shifts traffic step by step watching the alarms and rolls back on failure or alarm, so a
   failed or stopped deployment leaves the previous version serving (and fails this run). Without CodeDeploy
   (`AllAtOnce`), update the alias to the target version;
4. prune: delete published versions beyond the newest `keepVersions` (never one the alias points to), then
   the protected tag of each deleted version, so that ECR may expire images no version runs any more.

Re-running with the alias already on the target version only re-protects and prunes (idempotent).

Every way the run can end is a plain message on standard error and exit status 1, never a traceback: a new
version Lambda could not make Active (its StateReasonCode and StateReason), an AWS error (its code and what
the run had done by then), and credentials that expired. Before a CodeDeploy traffic shift the runner
refuses to start one that could outlive credentials whose expiry the SDK knows and cannot renew (botocore's
environment credentials with AWS_CREDENTIAL_EXPIRATION); an expiry during the shift ends the run with the
deployment's id, what CodeDeploy does without the runner, and the command that shows how it ends.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from infra import function_contract, lambda_response

POLL_SECONDS = 15
ACTIVE_WAIT_SECONDS = 900  # a new image version is usually Active within minutes (Lambda's optimisation)
# Beyond the function's timeout: the invocation's own latency (cold start of an image, the response's way back).
INVOKE_READ_MARGIN_S = 60
# Error codes that mean the credentials expired (aws-sdk-go's credsExpiredCodes, aws/request/retryer.go:
# ExpiredToken, ExpiredTokenException, RequestExpired; botocore keeps no such list).
EXPIRED_CREDENTIAL_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
# Credential methods botocore cannot renew by itself: keys handed over in the environment (what
# aws-actions/configure-aws-credentials exports) or in code; others (assume-role, sso, container-role, …)
# refresh before they expire.
NON_RENEWABLE_METHODS = frozenset({"env", "explicit"})
# Tag of the commit that deployed a version: `lambda-deployed-<version>-<commit>` on the version's image (not
# under the protected prefix, so the lifecycle policy treats it as any other tag once the version is gone).
DEPLOYED_TAG_PREFIX = "lambda-deployed-"
COMMIT = re.compile(r"[0-9a-f]{40}")
# The cold start of a version, from its first invocation's log tail (Invoke with LogType Tail: LogResult, "The
# last 4 KB of the execution log, which is base64-encoded"; Lambda API reference, Invoke). In the text log
# format the REPORT line reads `REPORT RequestId: <id>\tDuration: 15.74 ms\tBilled Duration: 147 ms\tMemory
# Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms` (Lambda Developer Guide, "Log and monitor
# Python Lambda functions"; "Init Duration – For the first request served, the amount of time it took the
# runtime to load the function and run code outside of the handler method": C# logging page), and a SnapStart
# version's first request reports `Restore Duration: <ms> ms` instead (Developer Guide, "Monitoring for Lambda
# SnapStart"). In the JSON log format (infra/function.py sets it) the same report is the system log record
# {"type": "platform.report", "record": {"metrics": {"initDurationMs": 130.49, ...}}} (Lambda Telemetry API
# `Event` schema reference, platform.report / ReportMetrics).
TEXT_COLD_START = re.compile(r"\b(?P<what>Init|Restore) Duration: (?P<ms>[0-9]+(?:\.[0-9]+)?) ms")
MANIFEST_MEDIA_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]


class DeploymentFailed(Exception):
    """The new version did not go live; the message says what serves."""


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a ClientError, or of the last response a WaiterError saw."""
    code: object = None
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code")
    elif isinstance(error, WaiterError):
        code = ((error.last_response or {}).get("Error") or {}).get("Code")
    return str(code) if code is not None else None


def credentials_expired(error: BaseException) -> bool:
    return error_code(error) in EXPIRED_CREDENTIAL_CODES or (
        isinstance(error, RuntimeError)
        and "credentials are still expired" in str(error)  # botocore's refresh
    )


@dataclass(frozen=True)
class Spec:
    region: str
    function_name: str
    alias: str
    target_version: str
    repository_name: str
    protected_tag_prefix: str
    keep_versions: int
    smoke_cases: tuple[function_contract.Case, ...]
    function_timeout: int = 900
    application: str | None = None
    deployment_group: str | None = None
    timeout_seconds: int = 3600
    max_init_duration_ms: int = 0  # the cold-start budget (0: none)
    commit: str | None = None  # the commit that deploys (40 hex), tagged on the version's image

    @classmethod
    def from_json(cls, text: str) -> Spec:
        data = json.loads(text)
        code_deploy = data.get("codeDeploy") or {}
        return cls(
            region=data["region"],
            function_name=data["functionName"],
            alias=data["alias"],
            target_version=str(data["targetVersion"]),
            repository_name=data["repositoryName"],
            protected_tag_prefix=data["protectedTagPrefix"],
            keep_versions=int(data["keepVersions"]),
            smoke_cases=tuple(case_from_json(c) for c in data["smokeCases"]),
            function_timeout=int(data.get("functionTimeout", 900)),
            application=code_deploy.get("application"),
            deployment_group=code_deploy.get("deploymentGroup"),
            timeout_seconds=int(code_deploy.get("timeoutSeconds", 3600)),
            max_init_duration_ms=int(data.get("maxInitDurationMs", 0)),
        )


def case_to_json(case: function_contract.Case) -> dict[str, Any]:
    return {
        "name": case.name,
        "event": case.event,
        "status": case.expected.status,
        "contains": case.expected.contains,
    }


def case_from_json(data: Mapping[str, Any]) -> function_contract.Case:
    return function_contract.Case(
        data["name"],
        Path(data["name"]),
        dict(data["event"]),
        function_contract.Expected(int(data["status"]), data.get("contains")),
    )


def appspec(function_name: str, alias: str, current: str, target: str) -> str:
    """The AppSpec of a Lambda deployment (CodeDeploy User Guide, "AppSpec 'resources' section (AWS Lambda
    deployments only)": Type AWS::Lambda::Function with Name, Alias, CurrentVersion, TargetVersion)."""
    return json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    function_name: {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": function_name,
                            "Alias": alias,
                            "CurrentVersion": current,
                            "TargetVersion": target,
                        },
                    }
                }
            ],
        },
        sort_keys=True,
    )


def _log(message: str) -> None:
    print(message, flush=True)


def version_digest(lambda_client: Any, function_name: str, version: str) -> str:
    """The image digest (sha256:...) version `version` of the function runs (GetFunction's
    Code.ResolvedImageUri is `<repository uri>@sha256:<digest>`)."""
    code = lambda_client.get_function(FunctionName=function_name, Qualifier=version)["Code"]
    uri: str = code.get("ResolvedImageUri") or code.get("ImageUri", "")
    if "@" not in uri:
        raise DeploymentFailed(f"version {version} of {function_name} runs {uri!r}, not an image by digest")
    return uri.split("@", 1)[1]


def protect_image(ecr: Any, repository: str, digest: str, tag: str) -> None:
    """Tag the image `digest` with `tag` (PutImage with the image's own manifest: the digest is unchanged)."""
    # Asking for every manifest type makes ECR return the manifest as stored (no conversion, same digest);
    # PutImage with imageDigest refuses a manifest of another digest (Amazon ECR User Guide, "Retagging an
    # image"; ECR API Reference, BatchGetImage acceptedMediaTypes and PutImage imageDigest).
    images = ecr.batch_get_image(
        repositoryName=repository, imageIds=[{"imageDigest": digest}], acceptedMediaTypes=MANIFEST_MEDIA_TYPES
    )["images"]
    if not images:
        raise DeploymentFailed(f"image {digest} is not in the repository {repository}")
    image = images[0]
    media_type = (
        {"imageManifestMediaType": image["imageManifestMediaType"]}
        if "imageManifestMediaType" in image
        else {}
    )
    try:
        ecr.put_image(
            repositoryName=repository,
            imageManifest=image["imageManifest"],
            imageTag=tag,
            imageDigest=digest,
            **media_type,
        )
    except ecr.exceptions.ImageAlreadyExistsException:
        pass  # a re-run: this image already has this tag
    except ecr.exceptions.ImageTagAlreadyExistsException:
        # An immutable repository refuses an existing tag (ECR API Reference, PutImage): fine when it is on
        # this digest (a re-run), a failure when another image holds it.
        holders = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
        held = [detail.get("imageDigest") for detail in holders]
        if held != [digest]:
            raise DeploymentFailed(
                f"the tag {tag} in {repository} is on {', '.join(map(str, held)) or 'another image'}, not on "
                f"{digest}: a version's image cannot be protected; no traffic moved"
            ) from None
    _log(f"protected {repository}@{digest} with the tag {tag}")


def cold_start(log_result: str | None) -> tuple[str, float] | None:
    """("Init Duration" or "Restore Duration", milliseconds) from an invocation's base64 log tail (its REPORT
    line, or the JSON format's platform.report record), or None when it reports neither."""
    try:
        text = base64.b64decode(log_result or "", validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    for line in reversed(text.splitlines()):
        match = TEXT_COLD_START.search(line)
        if match:
            return f"{match['what']} Duration", float(match["ms"])
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("record"), dict):
            continue
        metrics = record["record"].get("metrics")
        if record.get("type") == "platform.report" and isinstance(metrics, dict):
            value = metrics.get("initDurationMs")
            return ("Init Duration", float(value)) if isinstance(value, (int, float)) else None
    return None


def budget_problem(log_result: str | None, budget_ms: int, version: str) -> str | None:
    """Why version `version`'s cold start breaks the budget (naming both figures), or None. A tail without
    the figure (an environment Lambda initialised before the request) is said, not refused."""
    found = cold_start(log_result)
    if found is None:
        _log(
            f"version {version}: its first invocation's REPORT gives no Init Duration (the environment was "
            f"initialised before the request); the cold-start budget of {budget_ms} ms was not judged"
        )
        return None
    what, milliseconds = found
    if milliseconds > budget_ms:
        return (
            f"cold start: {what} {milliseconds:g} ms exceeds the budget maxInitDurationMs {budget_ms} ms "
            f"(first invocation of version {version})"
        )
    _log(f"version {version}: {what} {milliseconds:g} ms, within the budget of {budget_ms} ms")
    return None


def smoke(
    lambda_client: Any,
    function_name: str,
    version: str,
    cases: Sequence[function_contract.Case],
    budget_ms: int = 0,
) -> None:
    """Invoke version `version` with every case of the function contract; raise DeploymentFailed listing each
    answer that misses its expectation. Each output is judged as API Gateway answers it
    (infra/lambda_response.py: a payload 2.0 response object, plain JSON as 200, a function error or an
    unreadable response as 500 saying why), as the container test and the local tools judge it. With a
    `budget_ms`, the first invocation's cold start must be within it (budget_problem)."""
    problems = []
    for index, case in enumerate(cases):
        tail = {"LogType": "Tail"} if budget_ms and index == 0 else {}
        try:
            result = lambda_client.invoke(
                FunctionName=function_name,
                Qualifier=version,
                InvocationType="RequestResponse",
                Payload=json.dumps(case.event).encode(),
                **tail,
            )
            payload = result["Payload"].read()
            if tail:
                problem = budget_problem(result.get("LogResult"), budget_ms, version)
                problems += [problem] if problem else []
        except (ClientError, BotoCoreError) as error:  # refused, or no answer within the read timeout
            if credentials_expired(error):
                raise
            problems.append(f"{case.name}: no answer: {error}")
            continue
        answer = lambda_response.http_answer(payload, result.get("FunctionError"))
        problems += function_contract.check_answer(case, answer)
    if problems:
        raise DeploymentFailed(
            f"version {version} failed {len(problems)} check(s) of {len(cases)} smoke "
            "requests; no traffic moved:\n  " + "\n  ".join(problems)
        )
    _log(f"version {version} answered all {len(cases)} smoke requests")


def look_command(deployment_id: str) -> str:
    return f"aws deploy get-deployment --deployment-id {deployment_id}"


def shift_with_codedeploy(
    codedeploy: Any,
    spec: Spec,
    current: str,
    poll_seconds: int = POLL_SECONDS,
    expires_within: Callable[[float], bool] = lambda _seconds: False,
) -> str:
    """Create a deployment of the alias from `current` to the target version and wait for its end.

    `expires_within(seconds)` tells whether the credentials expire, beyond renewal, within that many seconds:
    a shift that could outlive them is not started."""
    if expires_within(spec.timeout_seconds):
        raise DeploymentFailed(
            f"the AWS credentials expire within {spec.timeout_seconds} s, the longest this traffic shift may "
            f"take; no deployment started, the alias {spec.alias} serves version {current}. Ask for longer "
            "sessions (the workflows' role-duration-seconds, within the deploy role's MaxSessionDuration: "
            "docs/operations.md) and run `pulumi up` again"
        )
    content = appspec(spec.function_name, spec.alias, current, spec.target_version)
    deployment_id: str = codedeploy.create_deployment(
        applicationName=spec.application,
        deploymentGroupName=spec.deployment_group,
        description=f"{spec.function_name}:{spec.alias} {current} -> {spec.target_version}",
        revision={
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
        },
    )["deploymentId"]
    _log(f"CodeDeploy deployment {deployment_id}: {spec.alias} {current} -> {spec.target_version}")
    waiter = codedeploy.get_waiter("deployment_successful")
    try:
        waiter.wait(
            deploymentId=deployment_id,
            WaiterConfig={
                "Delay": poll_seconds,
                "MaxAttempts": max(1, spec.timeout_seconds // max(1, poll_seconds)),
            },
        )
    except WaiterError as error:  # Failed, Stopped, an AWS error, or still running at the timeout
        if error_code(error):
            code = error_code(error)
            cause = "the AWS credentials expired" if credentials_expired(error) else f"AWS answered {code}"
            raise DeploymentFailed(
                f"{cause} while CodeDeploy deployment {deployment_id} shifts {spec.alias} from version "
                f"{current} to {spec.target_version}. CodeDeploy goes on without this run: it completes the "
                f"shift, or rolls back to version {current} on an alarm or a failure. See how it ends: "
                f"`{look_command(deployment_id)}` (or scripts/delivery_report.py), then run `pulumi up` again"
            ) from None
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        status = info.get("status")
        if status in ("Failed", "Stopped"):  # CodeDeploy rolled the alias back (auto-rollback is on)
            reason = (info.get("errorInformation") or {}).get("message") or str(error)
            raise DeploymentFailed(
                f"CodeDeploy deployment {deployment_id} ended {status}: {reason}; the alias {spec.alias} "
                f"serves version {current}"
            ) from None
        raise DeploymentFailed(
            f"CodeDeploy deployment {deployment_id} is still {status} after {spec.timeout_seconds} s; "
            f"CodeDeploy goes on without this run and the alias {spec.alias} serves version {current} and "
            f"maybe a share of {spec.target_version}: see how it ends with `{look_command(deployment_id)}`"
        ) from None
    _log(
        f"CodeDeploy deployment {deployment_id} succeeded: {spec.alias} serves version {spec.target_version}"
    )
    return deployment_id


def wait_until_active(lambda_client: Any, spec: Spec, poll_seconds: int) -> None:
    """Wait for the target version to be Active (botocore's function_active_v2 waiter: GetFunction's
    Configuration.State); a version that ends Failed, or is still Pending at the end of the wait, fails the run
    with Lambda's own reason."""
    delay = max(1, poll_seconds)
    try:
        lambda_client.get_waiter("function_active_v2").wait(
            FunctionName=spec.function_name,
            Qualifier=spec.target_version,
            WaiterConfig={"Delay": delay, "MaxAttempts": max(1, ACTIVE_WAIT_SECONDS // delay)},
        )
    except WaiterError as error:
        if error_code(error):
            raise ClientError(error.last_response, "GetFunction") from None
        configuration = (error.last_response or {}).get("Configuration") or {}
        fields = (
            "State",
            "StateReasonCode",
            "StateReason",
            "LastUpdateStatus",
            "LastUpdateStatusReasonCode",
            "LastUpdateStatusReason",
        )
        details = "; ".join(f"{name} {configuration[name]}" for name in fields if configuration.get(name))
        raise DeploymentFailed(
            f"version {spec.target_version} of {spec.function_name} is not Active "
            f"({details or error}); no traffic moved"
        ) from None


def alias_versions(alias: Mapping[str, Any]) -> set[str]:
    """Every version an alias routes traffic to (its version and any weighted additional version)."""
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return {alias["FunctionVersion"], *weights}


def prune(lambda_client: Any, ecr: Any, spec: Spec) -> list[str]:
    """Delete the published versions beyond the newest `keep_versions` that the alias does not route to, and
    then their protected tags. Returns the deleted version numbers."""
    live = alias_versions(lambda_client.get_alias(FunctionName=spec.function_name, Name=spec.alias))
    versions = []
    for page in lambda_client.get_paginator("list_versions_by_function").paginate(
        FunctionName=spec.function_name
    ):
        versions += [v["Version"] for v in page["Versions"] if v["Version"].isdigit()]
    newest_first = sorted(versions, key=int, reverse=True)
    doomed = [v for v in newest_first[spec.keep_versions :] if v not in live]
    for version in doomed:
        lambda_client.delete_function(FunctionName=spec.function_name, Qualifier=version)
        ecr.batch_delete_image(
            repositoryName=spec.repository_name,
            imageIds=[{"imageTag": f"{spec.protected_tag_prefix}{version}"}],
        )
    if doomed:
        _log(
            f"deleted versions {', '.join(doomed)} (keeping the newest {spec.keep_versions} and the alias's)"
        )
    return doomed


class Progress:
    """What the run has done so far, for the message of a failure that is not a DeploymentFailed."""

    def __init__(self) -> None:
        self.where = "before any change"

    def __call__(self, where: str) -> None:
        self.where = where


def run(
    spec: Spec,
    lambda_client: Any,
    ecr: Any,
    codedeploy: Any | None,
    poll_seconds: int = POLL_SECONDS,
    invoke_client: Any | None = None,
    expires_within: Callable[[float], bool] = lambda _seconds: False,
    progress: Callable[[str], None] = lambda _where: None,
) -> None:
    """Protect, smoke, shift, prune (see the module's docstring). `invoke_client` sends the smoke requests
    (default: `lambda_client`); `expires_within` and `progress`: see shift_with_codedeploy and Progress."""
    alias = lambda_client.get_alias(FunctionName=spec.function_name, Name=spec.alias)
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    if weights:
        raise DeploymentFailed(
            f"the alias {spec.alias} is mid-shift ({alias['FunctionVersion']} plus {weights}): "
            "another deployment is running; retry when it has ended"
        )
    current = alias["FunctionVersion"]
    serving = f"the alias {spec.alias} serves version {current}"
    progress(f"waiting for version {spec.target_version} to be Active; {serving}")
    # a new version is Pending while Lambda prepares it, and invocations of a Pending version fail (Lambda
    # Developer Guide, "Lambda function states")
    wait_until_active(lambda_client, spec, poll_seconds)
    digest = version_digest(lambda_client, spec.function_name, spec.target_version)
    progress(f"protecting the image of version {spec.target_version}; {serving}")
    protect_image(ecr, spec.repository_name, digest, f"{spec.protected_tag_prefix}{spec.target_version}")
    if spec.commit:
        protect_image(
            ecr, spec.repository_name, digest, f"{DEPLOYED_TAG_PREFIX}{spec.target_version}-{spec.commit}"
        )
    invoker = invoke_client if invoke_client is not None else lambda_client
    if current != spec.target_version:
        progress(f"smoke requests to version {spec.target_version}; {serving}")
        smoke(invoker, spec.function_name, spec.target_version, spec.smoke_cases, spec.max_init_duration_ms)
        if spec.application and codedeploy is not None:
            progress(f"starting the CodeDeploy deployment; {serving}")
            shift_with_codedeploy(codedeploy, spec, current, poll_seconds, expires_within)
        else:
            progress(f"moving the alias {spec.alias} to version {spec.target_version}; it served {current}")
            lambda_client.update_alias(
                FunctionName=spec.function_name,
                Name=spec.alias,
                FunctionVersion=spec.target_version,
                RoutingConfig={},
            )
            _log(f"{spec.alias} serves version {spec.target_version} (all at once; was {current})")
    else:
        _log(f"{spec.alias} already serves version {current}")
        progress(f"smoke requests to version {current}; {serving}")
        smoke(invoker, spec.function_name, current, spec.smoke_cases)
    progress(f"deleting old versions; the alias {spec.alias} serves version {spec.target_version}")
    prune(lambda_client, ecr, spec)


def invoke_config(function_timeout: int) -> Config:
    """The smoke requests' client settings: a read timeout beyond the function's own timeout (botocore's
    default is 60 s, a function's up to 900 s), and no automatic retry (botocore retries a read timeout, which
    would send a slow event again; botocore Config: retries total_max_attempts 1 = the first attempt only)."""
    return Config(read_timeout=function_timeout + INVOKE_READ_MARGIN_S, retries={"total_max_attempts": 1})


def expiry_check(credentials: Any) -> Callable[[float], bool]:
    """`expires_within(seconds)` for botocore credentials: True when they cannot renew themselves and expire
    (per the expiry the SDK knows) within `seconds`."""

    def expires_within(seconds: float) -> bool:
        if credentials is None or getattr(credentials, "method", None) not in NON_RENEWABLE_METHODS:
            return False
        refresh_needed = getattr(credentials, "refresh_needed", None)  # RefreshableCredentials only
        return bool(refresh_needed(seconds)) if refresh_needed else False

    return expires_within


def deploying_commit(
    environ: Mapping[str, str] = os.environ, checkout: Path = Path(__file__).parents[1]
) -> str | None:
    """The commit that deploys: GITHUB_SHA in a workflow (GitHub Actions' default variable), else the HEAD of
    `checkout`; None when neither gives a full commit hash."""
    commit = environ.get("GITHUB_SHA", "")
    if not commit:
        try:
            commit = subprocess.run(  # noqa: S603 - git on PATH, arguments of our own
                ["git", "rev-parse", "HEAD"],  # noqa: S607
                capture_output=True,
                text=True,
                check=True,
                cwd=checkout,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    return commit if COMMIT.fullmatch(commit) else None


def main(stdin: Any = sys.stdin) -> int:
    import boto3  # the program's own dependency (requirements.txt); imported here so tests can pass fakes

    spec = dataclasses.replace(Spec.from_json(stdin.read()), commit=deploying_commit())
    session = boto3.session.Session(region_name=spec.region)
    progress = Progress()
    try:
        run(
            spec,
            session.client("lambda"),
            session.client("ecr"),
            session.client("codedeploy") if spec.application else None,
            invoke_client=session.client("lambda", config=invoke_config(spec.function_timeout)),
            expires_within=expiry_check(session.get_credentials()),
            progress=progress,
        )
    except DeploymentFailed as failure:
        print(f"deployment failed: {failure}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError, RuntimeError) as error:
        if not isinstance(error, (ClientError, BotoCoreError)) and not credentials_expired(error):
            raise
        cause = (
            "the AWS credentials expired" if credentials_expired(error) else f"AWS refused a call: {error}"
        )
        print(
            f"deployment failed: {cause}, while {progress.where}. Run `pulumi up` again with valid "
            "credentials (it resumes from here)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
