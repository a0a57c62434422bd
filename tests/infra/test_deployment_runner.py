"""The deployment runner against botocore's Stubber: real clients whose every request is checked against the
service's API model (operation names, parameter names and types) and answered in the order AWS would see it.
An unexpected call fails the test, so each test also proves what the runner does *not* call (e.g. no alias
update after a failed smoke request)."""

from __future__ import annotations

import base64
import datetime
import io
import json
import subprocess
from pathlib import Path

import boto3
import pytest
from botocore.credentials import EnvProvider
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from infra import deployment_runner as runner
from infra import function_contract

FUNCTION = "svc-dev"
REPOSITORY = "svc-dev"
DIGEST = "sha256:" + "ab" * 32
MANIFEST = '{"schemaVersion":2}'
PREFIX = "lambda-version-"
OK_EVENT = {"version": "2.0", "rawPath": "/ok", "requestContext": {"http": {"method": "GET"}}}
BAD_EVENT = {"version": "2.0", "rawPath": "/bad", "requestContext": {"http": {"method": "POST"}}}
CASES = (
    function_contract.Case("ok.json", Path("ok.json"), OK_EVENT, function_contract.Expected(200, "fine")),
    function_contract.Case("bad.json", Path("bad.json"), BAD_EVENT, function_contract.Expected(400)),
)


def spec(**changes) -> runner.Spec:
    values = dict(
        region="eu-west-1",
        function_name=FUNCTION,
        alias="live",
        target_version="4",
        repository_name=REPOSITORY,
        protected_tag_prefix=PREFIX,
        keep_versions=2,
        smoke_cases=CASES,
    )
    return runner.Spec(**(values | changes))


class Fakes:
    """Stubbed Lambda, ECR and CodeDeploy clients; `expect_*` queue the answers in call order."""

    def __init__(self):
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
        )
        self.lambda_ = session.client("lambda")
        self.ecr = session.client("ecr")
        self.codedeploy = session.client("codedeploy")
        self.stubs = [Stubber(self.lambda_), Stubber(self.ecr), Stubber(self.codedeploy)]
        for stub in self.stubs:
            stub.activate()
        self.lam, self.registry, self.deploy = self.stubs

    def expect_alias(self, version: str, weights: dict | None = None):
        answer = {"Name": "live", "FunctionVersion": version}
        if weights:
            answer["RoutingConfig"] = {"AdditionalVersionWeights": weights}
        self.lam.add_response("get_alias", answer, {"FunctionName": FUNCTION, "Name": "live"})

    def expect_protect(self, version: str):
        # the waiter for the version to be Active (GetFunction's Configuration.State), then its image
        self.lam.add_response(
            "get_function",
            {"Configuration": {"State": "Active"}},
            {"FunctionName": FUNCTION, "Qualifier": version},
        )
        self.lam.add_response(
            "get_function",
            {
                "Code": {
                    "RepositoryType": "ECR",
                    "ImageUri": f"1.dkr.ecr.eu-west-1.amazonaws.com/{REPOSITORY}@{DIGEST}",
                    "ResolvedImageUri": f"1.dkr.ecr.eu-west-1.amazonaws.com/{REPOSITORY}@{DIGEST}",
                }
            },
            {"FunctionName": FUNCTION, "Qualifier": version},
        )
        self.registry.add_response(
            "batch_get_image",
            {
                "images": [
                    {
                        "imageId": {"imageDigest": DIGEST},
                        "imageManifest": MANIFEST,
                        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                    }
                ]
            },
            {
                "repositoryName": REPOSITORY,
                "imageIds": [{"imageDigest": DIGEST}],
                "acceptedMediaTypes": runner.MANIFEST_MEDIA_TYPES,
            },
        )
        self.registry.add_response(
            "put_image",
            {"image": {"imageId": {"imageDigest": DIGEST, "imageTag": f"{PREFIX}{version}"}}},
            {
                "repositoryName": REPOSITORY,
                "imageManifest": MANIFEST,
                "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                "imageTag": f"{PREFIX}{version}",
                "imageDigest": DIGEST,
            },
        )

    def expect_invoke(
        self, version: str, event: dict, response: dict | None, function_error: str | None = None
    ):
        payload = json.dumps(response).encode()
        answer = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload))}
        if function_error:
            answer["FunctionError"] = function_error
        self.lam.add_response(
            "invoke",
            answer,
            {
                "FunctionName": FUNCTION,
                "Qualifier": version,
                "InvocationType": "RequestResponse",
                "Payload": json.dumps(event).encode(),
            },
        )

    def expect_good_smoke(self, version: str):
        self.expect_invoke(version, OK_EVENT, {"statusCode": 200, "body": "all fine"})
        self.expect_invoke(version, BAD_EVENT, {"statusCode": 400, "body": "{}"})

    def expect_prune(self, alias_version: str, versions: list[str], deleted: list[str]):
        self.expect_alias(alias_version)
        self.lam.add_response(
            "list_versions_by_function",
            {"Versions": [{"Version": v} for v in ["$LATEST", *versions]]},
            {"FunctionName": FUNCTION},
        )
        for version in deleted:
            self.lam.add_response("delete_function", {}, {"FunctionName": FUNCTION, "Qualifier": version})
            self.registry.add_response(
                "batch_delete_image",
                {"imageIds": [{"imageTag": f"{PREFIX}{version}"}], "failures": []},
                {"repositoryName": REPOSITORY, "imageIds": [{"imageTag": f"{PREFIX}{version}"}]},
            )

    def done(self):
        for stub in self.stubs:
            stub.assert_no_pending_responses()


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


def test_all_at_once_protects_smokes_moves_the_alias_and_prunes(fakes):
    fakes.expect_alias("3")
    fakes.expect_protect("4")
    fakes.expect_good_smoke("4")
    fakes.lam.add_response(
        "update_alias",
        {"Name": "live", "FunctionVersion": "4"},
        {"FunctionName": FUNCTION, "Name": "live", "FunctionVersion": "4", "RoutingConfig": {}},
    )
    fakes.expect_prune("4", ["1", "2", "3", "4"], deleted=["2", "1"])
    runner.run(spec(), fakes.lambda_, fakes.ecr, None)
    fakes.done()


@pytest.mark.parametrize(
    ("response", "error", "reported"),
    [
        ({"statusCode": 500, "body": "boom"}, None, "ok.json: status 500, expected 200"),
        ({"statusCode": 200, "body": "other"}, None, "ok.json: body does not contain 'fine'"),
        ({"errorMessage": "crash"}, "Unhandled", "ok.json: function error Unhandled: crash"),
        ({"statusCode": "200", "body": "all fine"}, None, "ok.json: status 500, expected 200"),
        ({"statusCode": 200, "body": {"all": "fine"}}, None, "body must be a string"),
        ({"plain": "json"}, None, "ok.json: body does not contain 'fine'"),
    ],
)
def test_a_failed_smoke_request_moves_no_traffic(fakes, response, error, reported):
    fakes.expect_alias("3")
    fakes.expect_protect("4")
    fakes.expect_invoke("4", OK_EVENT, response, error)
    fakes.expect_invoke("4", BAD_EVENT, {"statusCode": 400, "body": "{}"})
    # no update_alias, no CodeDeploy deployment, no pruning: the stubs would refuse any further call
    with pytest.raises(runner.DeploymentFailed, match="no traffic moved") as failure:
        runner.run(
            spec(application="app", deployment_group="group"), fakes.lambda_, fakes.ecr, fakes.codedeploy
        )
    assert reported in str(failure.value)
    fakes.done()


@pytest.mark.parametrize("answer", [{"status": "all fine"}, "all fine"])
def test_a_version_answering_plain_json_passes_as_api_gateway_infers_200(fakes, answer):
    fakes.expect_alias("3")
    fakes.expect_protect("4")
    fakes.expect_invoke("4", OK_EVENT, answer)
    fakes.expect_invoke("4", BAD_EVENT, {"statusCode": 400, "body": "{}"})
    fakes.lam.add_response(
        "update_alias",
        {"Name": "live", "FunctionVersion": "4"},
        {"FunctionName": FUNCTION, "Name": "live", "FunctionVersion": "4", "RoutingConfig": {}},
    )
    fakes.expect_prune("4", ["3", "4"], deleted=[])
    runner.run(spec(), fakes.lambda_, fakes.ecr, None)
    fakes.done()


def expect_deployment(fakes: Fakes, statuses: list[str], error: str | None = None):
    content = runner.appspec(FUNCTION, "live", "3", "4")
    fakes.deploy.add_response(
        "create_deployment",
        {"deploymentId": "d-ABC"},
        {
            "applicationName": "app",
            "deploymentGroupName": "group",
            "description": ANY,
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": content, "sha256": ANY},
            },
        },
    )
    for status in statuses:
        info = {"deploymentId": "d-ABC", "status": status}
        if error:
            info["errorInformation"] = {"code": "ALARM_ACTIVE", "message": error}
        fakes.deploy.add_response("get_deployment", {"deploymentInfo": info}, {"deploymentId": "d-ABC"})


def test_with_codedeploy_the_runner_waits_for_the_traffic_shift(fakes):
    fakes.expect_alias("3")
    fakes.expect_protect("4")
    fakes.expect_good_smoke("4")
    expect_deployment(fakes, ["Created", "InProgress", "Succeeded"])
    fakes.expect_prune("4", ["3", "4"], deleted=[])
    runner.run(
        spec(application="app", deployment_group="group"),
        fakes.lambda_,
        fakes.ecr,
        fakes.codedeploy,
        poll_seconds=0,
    )
    fakes.done()


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_a_rolled_back_deployment_fails_the_run_with_the_previous_version_serving(fakes, status):
    fakes.expect_alias("3")
    fakes.expect_protect("4")
    fakes.expect_good_smoke("4")
    expect_deployment(fakes, ["InProgress", status], error="alarm svc-dev-errors fired")
    fakes.deploy.add_response(
        "get_deployment",
        {
            "deploymentInfo": {
                "deploymentId": "d-ABC",
                "status": status,
                "errorInformation": {"code": "ALARM_ACTIVE", "message": "alarm svc-dev-errors fired"},
            }
        },
        {"deploymentId": "d-ABC"},
    )
    with pytest.raises(runner.DeploymentFailed) as failure:
        runner.run(
            spec(application="app", deployment_group="group"),
            fakes.lambda_,
            fakes.ecr,
            fakes.codedeploy,
            poll_seconds=0,
        )
    message = str(failure.value)
    assert f"ended {status}" in message and "alarm svc-dev-errors fired" in message
    assert "serves version 3" in message
    fakes.done()


def test_a_mid_shift_alias_is_left_alone(fakes):
    fakes.expect_alias("3", weights={"4": 0.1})
    with pytest.raises(runner.DeploymentFailed, match="mid-shift"):
        runner.run(
            spec(application="app", deployment_group="group"), fakes.lambda_, fakes.ecr, fakes.codedeploy
        )
    fakes.done()


def test_a_rerun_on_the_live_version_shifts_nothing(fakes):
    fakes.expect_alias("4")
    fakes.expect_protect("4")
    fakes.expect_good_smoke("4")
    fakes.expect_prune("4", ["4"], deleted=[])
    runner.run(spec(application="app", deployment_group="group"), fakes.lambda_, fakes.ecr, fakes.codedeploy)
    fakes.done()


def test_an_already_protected_image_is_fine(fakes):
    fakes.lam.add_response(
        "get_function",
        {"Code": {"ResolvedImageUri": f"r/{REPOSITORY}@{DIGEST}"}},
        {"FunctionName": FUNCTION, "Qualifier": "4"},
    )
    fakes.registry.add_response(
        "batch_get_image",
        {"images": [{"imageManifest": MANIFEST}]},
        {
            "repositoryName": REPOSITORY,
            "imageIds": [{"imageDigest": DIGEST}],
            "acceptedMediaTypes": runner.MANIFEST_MEDIA_TYPES,
        },
    )
    fakes.registry.add_client_error("put_image", service_error_code="ImageAlreadyExistsException")
    runner.protect_image(fakes.ecr, REPOSITORY, runner.version_digest(fakes.lambda_, FUNCTION, "4"), "t")
    fakes.done()


def test_pruning_never_deletes_a_version_the_alias_routes_to(fakes):
    fakes.lam.add_response(
        "get_alias",
        {"Name": "live", "FunctionVersion": "2", "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.5}}},
        {"FunctionName": FUNCTION, "Name": "live"},
    )
    fakes.lam.add_response(
        "list_versions_by_function",
        {"Versions": [{"Version": v} for v in ["$LATEST", "1", "2", "3", "4", "5", "10"]]},
        {"FunctionName": FUNCTION},
    )
    for version in ["4", "3"]:  # beyond the newest two (10, 5), newest first, except the alias's 2 and 1
        fakes.lam.add_response("delete_function", {}, {"FunctionName": FUNCTION, "Qualifier": version})
        fakes.registry.add_response(
            "batch_delete_image",
            {},
            {"repositoryName": REPOSITORY, "imageIds": [{"imageTag": f"{PREFIX}{version}"}]},
        )
    assert runner.prune(fakes.lambda_, fakes.ecr, spec()) == ["4", "3"]
    fakes.done()


def test_the_appspec_names_the_alias_and_both_versions():
    resource = json.loads(runner.appspec("fn", "live", "3", "4"))["Resources"][0]["fn"]
    assert resource == {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Name": "fn", "Alias": "live", "CurrentVersion": "3", "TargetVersion": "4"},
    }


def test_the_spec_carries_the_contract_cases_unchanged():
    text = json.dumps(
        {
            "region": "eu-west-1",
            "functionName": FUNCTION,
            "alias": "live",
            "targetVersion": 4,
            "repositoryName": REPOSITORY,
            "protectedTagPrefix": PREFIX,
            "keepVersions": 2,
            "smokeCases": [runner.case_to_json(case) for case in CASES],
            "codeDeploy": {"application": "app", "deploymentGroup": "group", "timeoutSeconds": 60},
        }
    )
    parsed = runner.Spec.from_json(text)
    assert [(c.name, c.event, c.expected) for c in parsed.smoke_cases] == [
        (c.name, c.event, c.expected) for c in CASES
    ]
    assert (parsed.target_version, parsed.application, parsed.deployment_group, parsed.timeout_seconds) == (
        "4",
        "app",
        "group",
        60,
    )


def test_main_exits_1_and_says_why_when_the_deployment_fails(monkeypatch, capsys):
    def failing(*_args, **_kwargs):
        raise runner.DeploymentFailed("version 4 failed 1 check(s)")

    monkeypatch.setattr(runner, "run", failing)
    text = json.dumps(
        {
            "region": "eu-west-1",
            "functionName": FUNCTION,
            "alias": "live",
            "targetVersion": "4",
            "repositoryName": REPOSITORY,
            "protectedTagPrefix": PREFIX,
            "keepVersions": 2,
            "smokeCases": [],
            "codeDeploy": None,
        }
    )
    assert runner.main(io.StringIO(text)) == 1
    assert "deployment failed: version 4 failed 1 check(s)" in capsys.readouterr().err


# --- what the real services answer besides success (issue: the first real deploy) --------------------------


def test_a_version_that_ends_failed_stops_the_run_with_lambdas_reason(fakes):
    fakes.expect_alias("3")
    reason = "Lambda does not have permission to access the ECR image."
    fakes.lam.add_response(
        "get_function",
        {"Configuration": {"State": "Failed", "StateReasonCode": "ImageAccessDenied", "StateReason": reason}},
        {"FunctionName": FUNCTION, "Qualifier": "4"},
    )
    with pytest.raises(runner.DeploymentFailed) as failure:
        runner.run(spec(), fakes.lambda_, fakes.ecr, None, poll_seconds=0)
    message = str(failure.value)
    assert "State Failed" in message and "StateReasonCode ImageAccessDenied" in message and reason in message
    assert "no traffic moved" in message
    fakes.done()


def test_a_version_still_pending_at_the_end_of_the_wait_stops_the_run(fakes, monkeypatch):
    monkeypatch.setattr(runner, "ACTIVE_WAIT_SECONDS", 2)  # two looks, one second apart
    fakes.expect_alias("3")
    for _ in range(2):
        fakes.lam.add_response(
            "get_function",
            {
                "Configuration": {
                    "State": "Pending",
                    "StateReasonCode": "Creating",
                    "StateReason": "optimising",
                }
            },
            {"FunctionName": FUNCTION, "Qualifier": "4"},
        )
    with pytest.raises(runner.DeploymentFailed, match="State Pending; StateReasonCode Creating"):
        runner.run(spec(), fakes.lambda_, fakes.ecr, None, poll_seconds=1)
    fakes.done()


def expect_tag_taken(fakes: Fakes, holder: str) -> None:
    fakes.registry.add_response(
        "batch_get_image",
        {"images": [{"imageManifest": MANIFEST}]},
        {
            "repositoryName": REPOSITORY,
            "imageIds": [{"imageDigest": DIGEST}],
            "acceptedMediaTypes": runner.MANIFEST_MEDIA_TYPES,
        },
    )
    # what ECR answers for an existing tag in an immutable repository (ECR API Reference, PutImage)
    fakes.registry.add_client_error("put_image", service_error_code="ImageTagAlreadyExistsException")
    fakes.registry.add_response(
        "describe_images",
        {"imageDetails": [{"imageDigest": holder, "imageTags": ["t"]}]},
        {"repositoryName": REPOSITORY, "imageIds": [{"imageTag": "t"}]},
    )


def test_a_tag_an_immutable_repository_already_has_on_this_image_is_fine(fakes):
    expect_tag_taken(fakes, DIGEST)
    runner.protect_image(fakes.ecr, REPOSITORY, DIGEST, "t")
    fakes.done()


def test_a_tag_another_image_holds_stops_the_run(fakes):
    other = "sha256:" + "cd" * 32
    expect_tag_taken(fakes, other)
    with pytest.raises(runner.DeploymentFailed, match=f"the tag t in {REPOSITORY} is on {other}"):
        runner.protect_image(fakes.ecr, REPOSITORY, DIGEST, "t")
    fakes.done()


def test_the_smoke_requests_wait_beyond_the_function_timeout_and_are_never_resent():
    config = runner.invoke_config(900)
    assert config.read_timeout > 900
    assert config.retries == {"total_max_attempts": 1}


def test_a_refused_smoke_request_is_sent_once_and_reported(tmp_path):
    """Over HTTP, through botocore's retry handler: a 503 (which botocore retries by default) reaches the
    stand-in once with the runner's settings."""
    from tests.support.aws import stand_in

    with stand_in() as lambda_:
        lambda_.fail("lambda", "Invoke", "ServiceException", "Lambda is unavailable", status=503)
        client = boto3.session.Session(
            aws_access_key_id="t", aws_secret_access_key="t", region_name="eu-west-1"
        ).client("lambda", endpoint_url=lambda_.url, config=runner.invoke_config(3))
        with pytest.raises(runner.DeploymentFailed, match="ok.json: no answer: .*ServiceException"):
            runner.smoke(client, FUNCTION, "4", CASES[:1])
        assert lambda_.operations() == ["Invoke"]
        lambda_.assert_done()


def env_credentials(expires_in: datetime.timedelta):
    """Credentials as botocore reads them from the environment that configure-aws-credentials sets, with the
    expiry the SDK knows (AWS_CREDENTIAL_EXPIRATION, botocore's EnvProvider)."""
    expiry = datetime.datetime.now(datetime.UTC) + expires_in
    environ = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_CREDENTIAL_EXPIRATION": expiry.isoformat(),
    }
    return EnvProvider(environ=environ).load()


def test_a_shift_that_could_outlive_the_credentials_is_not_started(fakes):
    fakes.expect_alias("3")
    fakes.expect_protect("4")
    fakes.expect_good_smoke("4")
    # no create_deployment: the stubs would refuse it
    expires_within = runner.expiry_check(env_credentials(datetime.timedelta(minutes=50)))
    with pytest.raises(runner.DeploymentFailed) as failure:
        runner.run(
            spec(application="app", deployment_group="group", timeout_seconds=6900),
            fakes.lambda_,
            fakes.ecr,
            fakes.codedeploy,
            expires_within=expires_within,
        )
    message = str(failure.value)
    assert "no deployment started" in message and "serves version 3" in message
    assert "role-duration-seconds" in message
    fakes.done()


def test_credentials_that_last_or_renew_themselves_start_the_shift():
    assert not runner.expiry_check(env_credentials(datetime.timedelta(hours=3)))(6900)
    assert not runner.expiry_check(None)(6900)
    renewing = env_credentials(datetime.timedelta(minutes=5))
    renewing.method = "assume-role"  # botocore refreshes these itself before they expire
    assert not runner.expiry_check(renewing)(6900)


def test_credentials_expiring_during_the_shift_end_the_run_saying_where_the_deployment_stands(fakes):
    fakes.expect_alias("3")
    fakes.expect_protect("4")
    fakes.expect_good_smoke("4")
    expect_deployment(fakes, ["InProgress"])
    fakes.deploy.add_client_error(
        "get_deployment",
        service_error_code="ExpiredTokenException",
        service_message="The security token expired",
    )
    # no further get_deployment: the error path makes no AWS call with the dead credentials
    with pytest.raises(runner.DeploymentFailed) as failure:
        runner.run(
            spec(application="app", deployment_group="group"),
            fakes.lambda_,
            fakes.ecr,
            fakes.codedeploy,
            poll_seconds=0,
        )
    message = str(failure.value)
    assert message.startswith("the AWS credentials expired while CodeDeploy deployment d-ABC shifts live")
    assert "rolls back to version 3 on an alarm" in message
    assert "`aws deploy get-deployment --deployment-id d-ABC`" in message
    fakes.done()


def test_main_ends_an_aws_error_as_a_plain_failure_saying_how_far_the_run_got(monkeypatch, capsys):
    def expiring(*_args, progress, **_kwargs):
        progress("deleting old versions; the alias live serves version 4")
        raise ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "DeleteFunction")

    monkeypatch.setattr(runner, "run", expiring)
    text = json.dumps(
        {
            "region": "eu-west-1",
            "functionName": FUNCTION,
            "alias": "live",
            "targetVersion": "4",
            "repositoryName": REPOSITORY,
            "protectedTagPrefix": PREFIX,
            "keepVersions": 2,
            "functionTimeout": 29,
            "smokeCases": [],
            "codeDeploy": None,
        }
    )
    assert runner.main(io.StringIO(text)) == 1
    err = capsys.readouterr().err
    assert "the AWS credentials expired, while deleting old versions; the alias live serves version 4" in err
    assert "Traceback" not in err


# --- the cold-start budget ----------------------------------------------------------------------------------

REQUEST_ID = "8f507cfc-xmpl-4697-b07a-ac58fc914c95"


def text_tail(init: str | None = "130.49", restore: str | None = None) -> str:
    """A LogResult as Lambda returns it in the text log format: START, the function's lines, END, and the
    REPORT line, tab-separated, with Init Duration on a cold start (Lambda Developer Guide, Python logging)."""
    report = (
        f"REPORT RequestId: {REQUEST_ID}\tDuration: 15.74 ms\tBilled Duration: 147 ms\tMemory Size: 1024 MB\t"
        "Max Memory Used: 56 MB\t"
    )
    if init:
        report += f"Init Duration: {init} ms\t"
    if restore:
        report += f"Restore Duration: {restore} ms\tBilled Restore Duration: 300 ms\t"
    lines = [
        f"START RequestId: {REQUEST_ID} Version: 4",
        "handler log line",
        f"END RequestId: {REQUEST_ID}",
        report,
    ]
    return base64.b64encode(("\n".join(lines) + "\n").encode()).decode()


def json_tail(init: float | None = 463.512) -> str:
    """A LogResult in the JSON log format: the platform.report record (Telemetry API schema reference)."""
    metrics = {"durationMs": 1233.96, "billedDurationMs": 1698, "memorySizeMB": 256, "maxMemoryUsedMB": 123}
    if init is not None:
        metrics["initDurationMs"] = init
    records = [
        {
            "time": "2026-10-08T07:30:29.443Z",
            "type": "platform.start",
            "record": {"requestId": REQUEST_ID, "version": "4"},
        },
        {
            "timestamp": "2026-10-08T07:30:29.450Z",
            "level": "INFO",
            "requestId": REQUEST_ID,
            "message": "hello",
        },
        {
            "time": "2026-10-08T07:30:29.470Z",
            "type": "platform.report",
            "record": {"requestId": REQUEST_ID, "metrics": metrics, "status": "success"},
        },
    ]
    return base64.b64encode("\n".join(json.dumps(r) for r in records).encode()).decode()


def expect_first_invoke_with_tail(fakes: Fakes, version: str, log_result: str) -> None:
    payload = json.dumps({"statusCode": 200, "body": "all fine"}).encode()
    fakes.lam.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "LogResult": log_result,
        },
        {
            "FunctionName": FUNCTION,
            "Qualifier": version,
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(OK_EVENT).encode(),
            "LogType": "Tail",
        },
    )
    fakes.expect_invoke(version, BAD_EVENT, {"statusCode": 400, "body": "{}"})


@pytest.mark.parametrize(
    ("log_result", "figure"),
    [(text_tail("2130.49"), "Init Duration 2130.49 ms"), (json_tail(2463.5), "Init Duration 2463.5 ms")],
    ids=["text", "json"],
)
def test_a_version_over_its_cold_start_budget_moves_no_traffic_naming_both_figures(fakes, log_result, figure):
    fakes.expect_alias("3")
    fakes.expect_protect("4")
    expect_first_invoke_with_tail(fakes, "4", log_result)
    with pytest.raises(runner.DeploymentFailed) as failed:
        runner.run(spec(max_init_duration_ms=2000), fakes.lambda_, fakes.ecr, None)
    assert f"{figure} exceeds the budget maxInitDurationMs 2000 ms" in str(failed.value)
    assert "no traffic moved" in str(failed.value)
    fakes.done()  # no update_alias, no pruning


@pytest.mark.parametrize(
    "log_result", [text_tail("130.49"), json_tail(463.512), text_tail(None, restore="250.1"), text_tail(None)]
)
def test_a_version_within_its_budget_or_without_a_cold_start_figure_goes_live(fakes, log_result, capsys):
    fakes.expect_alias("3")
    fakes.expect_protect("4")
    expect_first_invoke_with_tail(fakes, "4", log_result)
    fakes.lam.add_response(
        "update_alias",
        {"Name": "live", "FunctionVersion": "4"},
        {"FunctionName": FUNCTION, "Name": "live", "FunctionVersion": "4", "RoutingConfig": {}},
    )
    fakes.expect_prune("4", ["3", "4"], deleted=[])
    runner.run(spec(max_init_duration_ms=1000), fakes.lambda_, fakes.ecr, None)
    fakes.done()
    out = capsys.readouterr().out
    assert "within the budget of 1000 ms" in out or "was not judged" in out


def test_a_snapstart_version_is_judged_by_its_restore_duration():
    assert runner.cold_start(text_tail(None, restore="812.5")) == ("Restore Duration", 812.5)
    assert runner.budget_problem(text_tail(None, restore="812.5"), 500, "4") == (
        "cold start: Restore Duration 812.5 ms exceeds the budget maxInitDurationMs 500 ms (first invocation of "
        "version 4)"
    )


def test_the_commit_that_deploys_is_tagged_on_the_versions_image(fakes):
    commit = "0123456789abcdef0123456789abcdef01234567"
    fakes.expect_alias("4")
    fakes.expect_protect("4")
    tag = f"{runner.DEPLOYED_TAG_PREFIX}4-{commit}"
    fakes.registry.add_response(
        "batch_get_image",
        {"images": [{"imageId": {"imageDigest": DIGEST}, "imageManifest": MANIFEST}]},
        {"repositoryName": REPOSITORY, "imageIds": [{"imageDigest": DIGEST}], "acceptedMediaTypes": ANY},
    )
    fakes.registry.add_response(
        "put_image",
        {"image": {"imageId": {"imageDigest": DIGEST, "imageTag": tag}}},
        {"repositoryName": REPOSITORY, "imageManifest": MANIFEST, "imageTag": tag, "imageDigest": DIGEST},
    )
    fakes.expect_good_smoke("4")
    fakes.expect_prune("4", ["4"], deleted=[])
    runner.run(spec(commit=commit), fakes.lambda_, fakes.ecr, None)
    fakes.done()


def test_the_deploying_commit_is_githubs_else_the_checkouts(tmp_path):
    sha = "a" * 40
    assert runner.deploying_commit({"GITHUB_SHA": sha}) == sha
    assert runner.deploying_commit({"GITHUB_SHA": "not-a-sha"}) is None
    assert runner.deploying_commit({}, tmp_path) is None  # not a git checkout
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert runner.deploying_commit({}, tmp_path) == head
