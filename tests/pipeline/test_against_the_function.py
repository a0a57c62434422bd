"""The pipeline's checks against the function in the repository (in-process), as the deployed API and the
emulator would see it: whatever function keeps the contract passes them."""

from __future__ import annotations

import json
from http.server import ThreadingHTTPServer

import pytest

from infra.function_contract import load_cases
from tests.pipeline.helpers import ROOT, http_server, run_script
from tests.support.http import serving

INVOCATIONS = "/2015-03-31/functions/function/invocations"


@pytest.fixture(scope="module")
def local():
    from scripts import local as module

    return module


def test_the_smoke_test_passes_against_the_function(local):
    handler = local.load_handler(local.handler_name())
    server = ThreadingHTTPServer(("127.0.0.1", 0), local.make_request_handler(handler))
    with serving(server) as base:
        result = run_script(ROOT / "scripts" / "smoke_test.py", "--base-url", base)
    assert result.returncode == 0, result.stderr
    sent = [case for case in load_cases() if case.request() is not None]
    assert result.stdout.count(": ok)") == len(sent), result.stdout


def test_every_event_gets_its_expected_answer_from_the_function(local):
    handler = local.load_handler(local.handler_name())

    def emulator(method, path, body):
        return 200, handler(json.loads(body), local.LocalContext())

    with http_server(emulator) as base:
        result = run_script(ROOT / "scripts" / "invoke_events.py", "--url", base + INVOCATIONS, "--wait", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("(expected ") == len(load_cases())
