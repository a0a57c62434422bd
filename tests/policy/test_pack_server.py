"""The pack as the Pulumi CLI runs it: `policy/__main__.py` starts the analyzer's gRPC server; the tests
speak the engine's side of the protocol to it (GetAnalyzerInfo, Analyze, AnalyzeStack)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from infra.project import PROJECT
from policy.guardrails import ADVISORY, MANDATORY, PACK_NAME
from tests.policy.support import function, log_group, repository, urn
from tests.support.library_venv import library_python

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policy"
FUNCTION = "aws:lambda/function:Function"


@pytest.fixture(scope="module")
def analyzer():
    # the interpreter of a venv holding the platform's library as policy/venv does (infra.project link-library)
    server = subprocess.Popen(
        [library_python("policy"), str(PACK / "__main__.py")],
        stdout=subprocess.PIPE,  # noqa: S603
        stderr=subprocess.PIPE,
        cwd=PACK,
    )
    try:
        port = server.stdout.readline().decode().strip()
        assert port.isdigit(), server.stderr.read().decode()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        server.terminate()
        server.wait(timeout=10)


def struct(props: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(props)
    return message


def analyze(analyzer, typ: str, props: dict, name: str = "function"):
    request = analyzer_pb2.AnalyzeRequest(type=typ, properties=struct(props), urn=urn(typ, name), name=name)
    return analyzer.Analyze(request)


def test_the_pack_describes_every_policy_with_its_enforcement_level(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME
    levels = {policy.name: policy.enforcementLevel for policy in info.policies}
    assert levels == {
        **{p.name: analyzer_pb2.MANDATORY for p in MANDATORY},
        **{p.name: analyzer_pb2.ADVISORY for p in ADVISORY},
    }


def test_a_compliant_function_passes_every_policy(analyzer):
    response = analyze(analyzer, FUNCTION, function())
    assert [d.policyName for d in response.diagnostics] == []


def test_a_function_by_tag_without_tracing_is_blocked(analyzer):
    bad = function(
        imageUri=f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{PROJECT}-dev:v1",
        tracingConfig={"mode": "PassThrough"},
    )
    response = analyze(analyzer, FUNCTION, bad)
    blocked = {d.policyName for d in response.diagnostics if d.enforcementLevel == analyzer_pb2.MANDATORY}
    assert blocked == {"lambda-image-digest", "lambda-active-tracing"}


def test_numbers_arrive_as_floats_and_still_pass(analyzer):
    response = analyze(analyzer, "aws:cloudwatch/logGroup:LogGroup", log_group(), name="log-group")
    assert {d.policyName for d in response.diagnostics} == {"kms-customer-managed-key"}  # advisory only


def test_the_stack_policies_run_over_the_whole_stack(analyzer):
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=FUNCTION, properties=struct(function()), urn=urn(FUNCTION, "fn"), name="fn"
        ),
        analyzer_pb2.AnalyzerResource(
            type="aws:ecr/repository:Repository",
            properties=struct(repository()),
            urn=urn("aws:ecr/repository:Repository", "repo"),
            name="repo",
        ),
    ]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    assert sorted(d.policyName for d in response.diagnostics) == ["ecr-lifecycle-policy", "lambda-log-group"]


def test_the_pack_project_file_runs_python_from_policy_venv():
    project = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    requirements = (PACK / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in requirements
    assert all(
        "==" in line
        for line in (PACK / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )


def imports(paths) -> set[str]:
    """Top-level names of the absolute imports of `paths` (`infra.iam_rules` for `from infra import ...`)."""
    imported = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                imported.add(node.module)
    return imported


def test_the_pack_imports_only_the_standard_library_its_requirements_and_the_shared_iam_rules():
    # the pack runs in policy/venv, which holds only policy/requirements.txt; it shares the admin-like rule
    # with the stack's config through infra/iam_rules.py, the rules of the function's permissions through
    # infra/function_permissions.py, its taggable types through infra/catalogue.py, and the name through
    # infra/project.py (all standard library only)
    stdlib = set(sys.stdlib_module_names)
    pack = [path for path in PACK.rglob("*.py") if "venv" not in path.relative_to(PACK).parts]
    shared = {"infra.iam_rules", "infra.project", "infra.function_permissions", "infra.catalogue"}
    assert {name.split(".")[0] for name in imports(pack) - shared} <= {"pulumi_policy", "guardrails"} | stdlib
    shared_files = [ROOT / f"{module.replace('.', '/')}.py" for module in shared]
    assert {name.split(".")[0] for name in imports(shared_files) - shared} <= stdlib


def test_the_guardrails_page_lists_every_policy_with_its_level():
    page = (ROOT / "docs" / "guardrails.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (mandatory|advisory) \|", page, flags=re.MULTILINE))
    assert rows == {**{p.name: "mandatory" for p in MANDATORY}, **{p.name: "advisory" for p in ADVISORY}}
