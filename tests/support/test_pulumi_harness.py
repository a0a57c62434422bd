"""The mock harness itself: config layering, recorded options, secrets, exports, invokes, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.pulumi_harness import ACCOUNT, REGION, run_program

PROGRAM = textwrap.dedent("""
    import os
    import pulumi
    import pulumi_aws as aws

    config = pulumi.Config()
    if config.get("fail"):
        raise ValueError("bad config: fail")


    class Box(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("test:index:Box", name, None, opts)
            self.group = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/test/{name}",
                                                 opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({})


    box = Box("box")
    token = aws.ecr.get_authorization_token_output()
    repo = aws.ecr.Repository("repo", name=config.require("repo"),
                              opts=pulumi.ResourceOptions(depends_on=[box.group]))
    secret_holder = aws.iam.Role("role", name="r", path="/p/", assume_role_policy="{}",
                                 description=pulumi.Output.secret(token.password))
    pulumi.export("repositoryUrl", repo.repository_url)
    pulumi.export("groupArn", box.group.arn)
    pulumi.export("size", config.get_int("size"))
    pulumi.export("env", os.environ.get("HARNESS_TEST_VAR"))
    pulumi.export("other", pulumi.StackReference("org/other/dev").get_output("answer"))
""")


@pytest.fixture()
def program(tmp_path: Path) -> Path:
    (tmp_path / "__main__.py").write_text(PROGRAM)
    (tmp_path / "Pulumi.yaml").write_text(
        textwrap.dedent("""
        name: demo
        runtime: python
        config:
          repo: {type: string, default: from-project}
          size: {type: integer, default: 3}
    """)
    )
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n  demo:size: 5\n")
    return tmp_path


def run(program: Path, config=None, **kwargs):
    return run_program(
        program,
        config,
        project="demo",
        stack_file=program / "Pulumi.dev.yaml",
        stack_references={"org/other/dev": {"answer": 42}},
        **kwargs,
    )


def test_config_layers_project_defaults_then_stack_file_then_overrides(program):
    assert run(program).outputs["size"] == 5
    assert run(program, {"size": 7}).outputs["size"] == 7
    assert run(program).outputs["repositoryUrl"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/from-project"


def test_a_none_override_unsets_the_key(program):
    assert run(program, {"size": None}).outputs["size"] is None


def test_records_parent_dependencies_and_computed_outputs(program):
    result = run(program)
    box = result.one("test:index:Box")
    group = result.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.parent == box.urn and result.children_of(box) == [group]
    assert group.urn in result.one("aws:ecr/repository:Repository").depends_on
    assert result.outputs["groupArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/test/box"


def test_secret_inputs_are_unwrapped_and_listed(program):
    role = run(program).one("aws:iam/role:Role")
    assert role.inputs["description"] == "mock-password"
    assert "description" in role.secret_paths


def test_environment_is_patched_for_the_run_only(program, monkeypatch):
    monkeypatch.setenv("HARNESS_TEST_VAR", "outer")
    assert run(program, env={"HARNESS_TEST_VAR": "inner"}).outputs["env"] == "inner"
    assert run(program, env={"HARNESS_TEST_VAR": None}).outputs["env"] is None
    assert run(program).outputs["env"] == "outer"


def test_invokes_and_stack_references_are_answered(program):
    result = run(program)
    assert [token for token, _ in result.calls] == ["aws:ecr/getAuthorizationToken:getAuthorizationToken"]
    assert result.outputs["other"] == 42


def test_an_error_carries_what_was_registered_before_it(program):
    with pytest.raises(ValueError, match="bad config") as caught:
        run(program, {"fail": "yes"})
    assert caught.value.registered == []


def test_the_sdk_still_offers_what_the_harness_hooks_into():
    """The harness's one reach past the public mocks API (RecordingMonitor): if a pulumi upgrade moves any of
    it, this test names what changed, instead of every infra test failing at once."""
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.proto import resource_pb2

    from tests.support.pulumi_harness import (
        MONITOR_METHODS,
        REQUEST_OPTION_FIELDS,
        SECRET_SIG,
        SIG_KEY,
    )

    problems = [
        f"MockMonitor.{method} is gone"
        for method in MONITOR_METHODS
        if not callable(getattr(MockMonitor, method, None))
    ]
    fields = resource_pb2.RegisterResourceRequest.DESCRIPTOR.fields_by_name
    problems += [
        f"RegisterResourceRequest.{name} is gone" for name in REQUEST_OPTION_FIELDS if name not in fields
    ]
    if (
        getattr(rpc, "_special_sig_key", SIG_KEY) != SIG_KEY
        or getattr(rpc, "_special_secret_sig", SECRET_SIG) != SECRET_SIG
    ):
        problems.append("the secret markers of property maps changed")
    assert not problems, (
        "the pulumi SDK changed what tests/support/pulumi_harness.py (RecordingMonitor) "
        "relies on: " + "; ".join(problems)
    )
