"""`make versions` and `make rollback` (scripts/rollback.py) against botocore's Stubber: real clients whose
every request is checked against the service's model and answered in the order AWS would see it."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from infra import deployment_runner as runner
from infra import function_contract
from infra.project import prefix_for
from infra.rollback import record_tag
from scripts import rollback

STACK = "dev"
NAME = prefix_for(STACK)
BAD = "sha256:" + "a1" * 32  # what live (version 7) runs
GOOD = "sha256:" + "b2" * 32  # what version 5 runs
COMMIT = "0123456789abcdef0123456789abcdef01234567"
EVENT = {"version": "2.0", "rawPath": "/ok", "requestContext": {"http": {"method": "GET"}}}
CASES = [function_contract.Case("ok.json", Path("ok.json"), EVENT, function_contract.Expected(200))]
DIGESTS = {"5": GOOD, "7": BAD}


class Fakes:
    def __init__(self):
        session = boto3.session.Session(
            aws_access_key_id="t", aws_secret_access_key="t", region_name="eu-west-1"
        )
        self.lambda_, self.ecr = session.client("lambda"), session.client("ecr")
        self.lam, self.registry = Stubber(self.lambda_), Stubber(self.ecr)
        self.lam.activate()
        self.registry.activate()

    def alias(self, version: str = "7"):
        self.lam.add_response(
            "get_alias", {"Name": "live", "FunctionVersion": version}, {"FunctionName": NAME, "Name": "live"}
        )

    def digest(self, version: str):
        uri = f"1.dkr.ecr.eu-west-1.amazonaws.com/{NAME}@{DIGESTS[version]}"
        self.lam.add_response(
            "get_function",
            {"Code": {"ImageUri": uri, "ResolvedImageUri": uri}},
            {"FunctionName": NAME, "Qualifier": version},
        )

    def tags(self, tags: dict[str, str]):
        ids = [{"imageTag": tag, "imageDigest": digest} for tag, digest in tags.items()]
        self.registry.add_response(
            "list_images",
            {"imageIds": ids} if ids else {},  # ECR's model: imageIds has at least one member when present
            {"repositoryName": NAME, "filter": {"tagStatus": "TAGGED"}},
        )

    def versions(self, tags: dict[str, str], live: str = "7"):
        self.alias(live)
        self.tags(tags)
        self.lam.add_response(
            "list_versions_by_function",
            {
                "Versions": [
                    {"Version": "$LATEST"},
                    {"Version": "5", "LastModified": "2026-11-01T10:00:00.000+0000"},
                    {"Version": "7", "LastModified": "2026-11-02T10:00:00.000+0000"},
                ]
            },
            {"FunctionName": NAME},
        )
        self.digest("5")
        self.digest("7")

    def invoke(self, version: str, status: int, log_result: str | None = None):
        payload = json.dumps({"statusCode": status, "body": "x"}).encode()
        answer = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload))}
        params = {
            "FunctionName": NAME,
            "Qualifier": version,
            "InvocationType": "RequestResponse",
            "Payload": ANY,
        }
        if log_result is not None:
            answer["LogResult"] = log_result
            params["LogType"] = "Tail"
        self.lam.add_response("invoke", answer, params)

    def active(self, version: str):
        self.lam.add_response(
            "get_function",
            {"Configuration": {"State": "Active"}},
            {"FunctionName": NAME, "Qualifier": version},
        )

    def done(self):
        self.lam.assert_no_pending_responses()
        self.registry.assert_no_pending_responses()


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


def tail(init_ms: str) -> str:
    report = (
        "REPORT RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95\tDuration: 15.74 ms\tBilled Duration: 147 ms\t"
        f"Memory Size: 1024 MB\tMax Memory Used: 56 MB\tInit Duration: {init_ms} ms\t\n"
    )
    return base64.b64encode(report.encode()).decode()


def test_versions_lists_digest_date_commit_and_which_is_live(fakes):
    fakes.versions(
        {"0" * 32: GOOD, f"{runner.DEPLOYED_TAG_PREFIX}5-{COMMIT}": GOOD, "lambda-version-5": GOOD}
    )
    rows = rollback.kept_versions(fakes.lambda_, fakes.ecr, NAME, NAME)
    assert rows == [
        {"version": "7", "live": True, "digest": BAD, "date": "2026-11-02T10:00:00.000+0000", "commit": None},
        {
            "version": "5",
            "live": False,
            "digest": GOOD,
            "date": "2026-11-01T10:00:00.000+0000",
            "commit": COMMIT,
        },
    ]
    fakes.done()


def expect_record(fakes: Fakes, tags: dict[str, str], stale: list[str]):
    fakes.tags(tags)
    if stale:
        fakes.registry.add_response(
            "batch_delete_image",
            {"imageIds": [{"imageTag": tag} for tag in stale], "failures": []},
            {"repositoryName": NAME, "imageIds": [{"imageTag": tag} for tag in stale]},
        )
    fakes.registry.add_response(
        "batch_get_image",
        {"images": [{"imageId": {"imageDigest": GOOD}, "imageManifest": "{}"}]},
        {"repositoryName": NAME, "imageIds": [{"imageDigest": GOOD}], "acceptedMediaTypes": ANY},
    )
    fakes.registry.add_response(
        "put_image",
        {"image": {"imageId": {"imageDigest": GOOD, "imageTag": record_tag(BAD)}}},
        {"repositoryName": NAME, "imageManifest": "{}", "imageTag": record_tag(BAD), "imageDigest": GOOD},
    )


def test_a_rollback_checks_the_version_records_it_then_moves_live(fakes, capsys):
    fakes.alias("7")
    fakes.versions({})
    fakes.active("5")
    fakes.invoke("5", 200, tail("812.40"))
    fakes.digest("7")
    fakes.digest("5")
    # version 5's own image had been rolled back once: going back to it lifts that record
    expect_record(fakes, {record_tag(GOOD): "sha256:" + "c3" * 32}, stale=[record_tag(GOOD)])
    fakes.lam.add_response(
        "update_alias",
        {"Name": "live", "FunctionVersion": "5"},
        {"FunctionName": NAME, "Name": "live", "FunctionVersion": "5", "RoutingConfig": {}},
    )
    assert rollback.roll_back(fakes.lambda_, fakes.ecr, STACK, "5", CASES, budget_ms=1000) == GOOD
    fakes.done()
    assert "serves version 5" in capsys.readouterr().out


def test_a_version_that_fails_the_check_is_not_rolled_back_to(fakes):
    fakes.alias("7")
    fakes.versions({})
    fakes.active("5")
    fakes.invoke("5", 200, tail("4100.2"))
    with pytest.raises(
        rollback.RollbackFailed,
        match="Init Duration 4100.2 ms exceeds the budget maxInitDurationMs 1000 ms.*live serves version 7",
    ):
        rollback.roll_back(fakes.lambda_, fakes.ecr, STACK, "5", CASES, budget_ms=1000)
    fakes.done()  # no record, no alias update


def test_only_a_kept_version_other_than_live_and_never_mid_shift(fakes):
    fakes.alias("7")
    fakes.versions({})
    with pytest.raises(rollback.RollbackFailed, match="version 3 is not kept \\(kept: 7, 5\\)"):
        rollback.roll_back(fakes.lambda_, fakes.ecr, STACK, "3", CASES)
    fakes.alias("7")
    fakes.versions({})
    with pytest.raises(rollback.RollbackFailed, match="already serves version 7"):
        rollback.roll_back(fakes.lambda_, fakes.ecr, STACK, "7", CASES)
    fakes.lam.add_response(
        "get_alias",
        {"Name": "live", "FunctionVersion": "7", "RoutingConfig": {"AdditionalVersionWeights": {"8": 0.1}}},
        {"FunctionName": NAME, "Name": "live"},
    )
    with pytest.raises(rollback.RollbackFailed, match="mid-shift"):
        rollback.roll_back(fakes.lambda_, fakes.ecr, STACK, "5", CASES)
    fakes.done()


def test_resolve_names_the_image_a_deploy_runs_and_its_content_tag(fakes):
    fakes.tags({"0" * 32: GOOD, "1" * 32: BAD, record_tag(BAD): GOOD})
    assert rollback.resolve(fakes.ecr, STACK, BAD) == f"{GOOD} {'0' * 32}"
    fakes.done()


def test_the_budget_is_the_stacks_setting(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(
        "config:\n  maxInitDurationMs:\n    type: integer\n    default: 0\n"
    )
    (tmp_path / "Pulumi.dev.yaml").write_text(f"config:\n  {prefix_for('x')[:-2]}:maxInitDurationMs: 2500\n")
    assert rollback.budget("dev", tmp_path) == 2500
    assert rollback.budget("production", tmp_path) == 0


@pytest.mark.parametrize("argv", [["rollback", "dev", "latest"], ["versions", "Dev"]])
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as exited:
        rollback.main(argv, session=object())
    assert exited.value.code == 2
