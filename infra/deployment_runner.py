"""Move the alias `live` to a newly published version, safely; run by `pulumi up` (infra/delivery.py).

    python -m infra.deployment_runner < spec.json

The spec (JSON on standard input, written by infra/delivery.py) holds: region, functionName, alias,
targetVersion, repositoryName, protectedTagPrefix, keepVersions, smokeCases (each {name, event, status,
contains}: the function contract, infra/function_contract.py), and codeDeploy ({application,
deploymentGroup, timeoutSeconds}) or null.

Steps, each of which stops the run with exit status 1 and the alias untouched unless said otherwise:
1. protect the target version's image: tag its digest `<protectedTagPrefix><version>` in ECR (a lifecycle rule
   of higher priority keeps every image with that prefix; infra/registry.py);
2. smoke: invoke the target version directly (qualifier = the version number, not the alias) with each of the
   function's own events and compare the status (and the `contains` text) with the contract;
3. shift: with CodeDeploy, create a deployment of the alias from its current to the target version and wait
   for it; CodeDeploy shifts traffic step by step watching the alarms and rolls back on failure or alarm, so a
   failed or stopped deployment leaves the previous version serving (and fails this run). Without CodeDeploy
   (`AllAtOnce`), update the alias to the target version;
4. prune: delete published versions beyond the newest `keepVersions` (never one the alias points to), then
   the protected tag of each deleted version, so that ECR may expire images no version runs any more.

Re-running with the alias already on the target version only re-protects and prunes (idempotent).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import function_contract, lambda_response

POLL_SECONDS = 15
MANIFEST_MEDIA_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]


class DeploymentFailed(Exception):
    """The new version did not go live; the previous one still serves."""


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
    application: str | None = None
    deployment_group: str | None = None
    timeout_seconds: int = 3600

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
            application=code_deploy.get("application"),
            deployment_group=code_deploy.get("deploymentGroup"),
            timeout_seconds=int(code_deploy.get("timeoutSeconds", 3600)),
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
    with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):  # a re-run: the tag is there
        ecr.put_image(
            repositoryName=repository,
            imageManifest=image["imageManifest"],
            imageTag=tag,
            imageDigest=digest,
            **media_type,
        )
    _log(f"protected {repository}@{digest} with the tag {tag}")


def _http_answer(payload: bytes) -> lambda_response.Answer:
    """What API Gateway would answer for the version's output (infra/lambda_response.py: a payload 2.0
    response object, plain JSON inferred as 200, an unreadable response as 500 saying why)."""
    return lambda_response.http_answer(payload)


def smoke(
    lambda_client: Any, function_name: str, version: str, cases: Sequence[function_contract.Case]
) -> None:
    """Invoke version `version` with every case of the function contract; raise DeploymentFailed listing each
    answer that misses its expectation (function_contract.check)."""
    problems = []
    for case in cases:
        result = lambda_client.invoke(
            FunctionName=function_name,
            Qualifier=version,
            InvocationType="RequestResponse",
            Payload=json.dumps(case.event).encode(),
        )
        payload = result["Payload"].read()
        if result.get("FunctionError"):
            problems.append(f"{case.name}: function error {result['FunctionError']}: {payload[:300]!r}")
            continue
        problems += function_contract.check_answer(case, _http_answer(payload))
    if problems:
        raise DeploymentFailed(
            f"version {version} failed {len(problems)} check(s) of {len(cases)} smoke "
            "requests; no traffic moved:\n  " + "\n  ".join(problems)
        )
    _log(f"version {version} answered all {len(cases)} smoke requests")


def shift_with_codedeploy(codedeploy: Any, spec: Spec, current: str, poll_seconds: int = POLL_SECONDS) -> str:
    """Create a deployment of the alias from `current` to the target version and wait for its end."""
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
    except Exception as error:  # botocore WaiterError: Failed, Stopped, or still running at the timeout
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        reason = (info.get("errorInformation") or {}).get("message", str(error))
        raise DeploymentFailed(
            f"CodeDeploy deployment {deployment_id} ended {info.get('status')}: {reason}; "
            f"the alias {spec.alias} serves version {current}"
        ) from error
    _log(
        f"CodeDeploy deployment {deployment_id} succeeded: {spec.alias} serves version {spec.target_version}"
    )
    return deployment_id


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


def run(
    spec: Spec, lambda_client: Any, ecr: Any, codedeploy: Any | None, poll_seconds: int = POLL_SECONDS
) -> None:
    """Protect, smoke, shift, prune (see the module's docstring)."""
    alias = lambda_client.get_alias(FunctionName=spec.function_name, Name=spec.alias)
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    if weights:
        raise DeploymentFailed(
            f"the alias {spec.alias} is mid-shift ({alias['FunctionVersion']} plus {weights}): "
            "another deployment is running; retry when it has ended"
        )
    current = alias["FunctionVersion"]
    # a new version is Pending while Lambda prepares it, and invocations of a Pending version fail (Lambda
    # Developer Guide, "Lambda function states"); the SDK's waiter polls GetFunction until it is Active
    lambda_client.get_waiter("function_active_v2").wait(
        FunctionName=spec.function_name,
        Qualifier=spec.target_version,
        WaiterConfig={"Delay": max(1, poll_seconds), "MaxAttempts": 60},
    )
    digest = version_digest(lambda_client, spec.function_name, spec.target_version)
    protect_image(ecr, spec.repository_name, digest, f"{spec.protected_tag_prefix}{spec.target_version}")
    if current != spec.target_version:
        smoke(lambda_client, spec.function_name, spec.target_version, spec.smoke_cases)
        if spec.application and codedeploy is not None:
            shift_with_codedeploy(codedeploy, spec, current, poll_seconds)
        else:
            lambda_client.update_alias(
                FunctionName=spec.function_name,
                Name=spec.alias,
                FunctionVersion=spec.target_version,
                RoutingConfig={},
            )
            _log(f"{spec.alias} serves version {spec.target_version} (all at once; was {current})")
    else:
        _log(f"{spec.alias} already serves version {current}")
        smoke(lambda_client, spec.function_name, current, spec.smoke_cases)
    prune(lambda_client, ecr, spec)


def main(stdin: Any = sys.stdin) -> int:
    import boto3  # the program's own dependency (requirements.txt); imported here so tests can pass fakes

    spec = Spec.from_json(stdin.read())
    session = boto3.session.Session(region_name=spec.region)
    try:
        run(
            spec,
            session.client("lambda"),
            session.client("ecr"),
            session.client("codedeploy") if spec.application else None,
        )
    except DeploymentFailed as failure:
        print(f"deployment failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
