"""The local runners: in-process invoke, the HTTP server, and the emulator client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import local
import pytest

from tests.function.support import EVENTS_DIR, app, captured_logs
from tests.support.http import serving


def request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None
):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture
def local_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), local.make_request_handler(app.handler))
    with captured_logs(), serving(server) as base:
        yield base


def test_local_server_serves_health(local_api):
    status, _, body = request(f"{local_api}/health")
    assert (status, body["status"]) == (200, "ok")


def test_local_server_turns_a_post_into_a_payload_v2_event(local_api):
    data = json.dumps({"features": [5.1, 3.5, 1.4, 0.2]}).encode()
    status, _, body = request(f"{local_api}/predict?debug=1", data, {"Content-Type": "application/json"})
    assert status == 200
    assert body["predictions"][0]["label"] == "setosa"


def test_local_server_passes_errors_and_headers_through(local_api):
    status, headers, body = request(f"{local_api}/predict", method="GET")
    assert (status, body["error"]["code"], headers["Allow"]) == (405, "method_not_allowed", "POST")


def test_local_server_sends_binary_bodies_base64_encoded(local_api):
    status, _, body = request(f"{local_api}/predict", b"\xff\xfe", {"Content-Type": "application/json"})
    assert (status, body["error"]["code"]) == (400, "invalid_json")


def test_http_event_has_the_payload_v2_shape():
    event = local.http_event("POST", "/predict?a=1", {"Content-Type": "application/json"}, b"{}")
    assert event["version"] == "2.0"
    assert (event["rawPath"], event["rawQueryString"]) == ("/predict", "a=1")
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["headers"] == {"content-type": "application/json"}
    assert (event["body"], event["isBase64Encoded"]) == ("{}", False)
    assert "body" not in local.http_event("GET", "/health", {}, b"")


def test_invoke_command_prints_the_response(capsys):
    with captured_logs():
        assert local.main(["invoke", str(EVENTS_DIR / "health.json")]) == 0
    response = json.loads(capsys.readouterr().out)
    assert response["statusCode"] == 200


def test_invoke_command_reports_an_unreadable_event(tmp_path, capsys):
    assert local.main(["invoke", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the event" in capsys.readouterr().err


def test_emulator_command_posts_every_event_and_prints_each_answer(capsys):
    received = []

    class FakeEmulator(BaseHTTPRequestHandler):
        def do_POST(self):
            event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(self.path)
            with captured_logs():
                answer = json.dumps(app.handler(event, local.LocalContext())).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), FakeEmulator)) as base:
        url = f"{base}/2015-03-31/functions/function/invocations"
        assert local.main(["emulator", "--url", url]) == 0
    expected = json.loads((EVENTS_DIR / "expected-status.json").read_text(encoding="utf-8"))
    out = capsys.readouterr().out
    assert len(received) == len(expected)
    assert set(received) == {"/2015-03-31/functions/function/invocations"}
    for name in expected:
        assert f"== {name}\n" in out


def test_emulator_command_fails_when_nothing_answers(capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    assert local.main(["emulator", "--url", f"http://127.0.0.1:{port}/x", "--timeout", "2"]) == 1
    assert "invocation failed" in capsys.readouterr().out


def make_recipes() -> dict[str, list[str]]:
    recipes: dict[str, list[str]] = {}
    target = None
    for line in (local.FUNCTION_DIR.parent / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("\t") and target is not None:
            recipes[target].append(line.strip())
        elif ":" in line and not line.startswith((" ", "#", ".")) and "=" not in line.split(":", 1)[0]:
            target = line.split(":", 1)[0].strip()
            recipes[target] = []
        else:
            target = None
    return recipes


@pytest.mark.parametrize(
    ("target", "command"),
    [
        ("model", "function/train.py"),
        ("bench", "scripts/benchmark.py"),
        ("serve", "function/local.py serve"),
        ("invoke", "function/local.py invoke $(EVENT)"),
        ("local-run", "docker run --rm --publish 127.0.0.1:9000:8080 $(FUNCTION_IMAGE)"),
        ("local-invoke", "function/local.py emulator"),
    ],
)
def test_one_make_target_per_local_workflow(target, command):
    assert any(command in line for line in make_recipes()[target])


def test_local_run_builds_the_selected_dockerfile_before_running_it():
    build, run = make_recipes()["local-run"]
    assert build.startswith("docker build --file $(FUNCTION_DOCKERFILE) --tag $(FUNCTION_IMAGE) function")
    assert run.startswith("docker run ")
    assert local.EMULATOR_URL == "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"
