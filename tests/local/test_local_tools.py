"""The local tools (scripts/local.py): in-process invoke, the HTTP server, the emulator client.

They run any function that keeps the contract, so these tests use a function of their own, written into a
temporary directory: a handler that echoes what it received.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts import local
from tests.support.http import serving

ECHO = """
import base64, json

def handler(event, context):
    method = event["requestContext"]["http"]["method"]
    if event["rawPath"] != "/echo":
        return {"statusCode": 404, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "no such path"}), "isBase64Encoded": False}
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("latin-1")
    answer = {"method": method, "body": body, "base64": event["isBase64Encoded"],
              "query": event["rawQueryString"], "requestId": context.aws_request_id,
              "parameters": event.get("queryStringParameters"), "cookies": event.get("cookies"),
              "headers": event["headers"]}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json", "X-Echo": "1"},
            "body": json.dumps(answer), "isBase64Encoded": False}
"""


def event(method: str, path: str, body: str | None = None) -> dict:
    return local.http_event(method, path, {}, (body or "").encode())


@pytest.fixture
def function_dir(tmp_path: Path) -> Path:
    """A function that keeps the contract: Dockerfile CMD, handler module, events and expected statuses."""
    directory = tmp_path / "function"
    (directory / "events").mkdir(parents=True)
    (directory / "Dockerfile").write_text('FROM scratch\nCMD ["echo_app.handler"]\n', encoding="utf-8")
    (directory / "echo_app.py").write_text(ECHO, encoding="utf-8")
    events = {"echo.json": event("POST", "/echo", "hi"), "missing.json": event("GET", "/nope")}
    for name, content in events.items():
        (directory / "events" / name).write_text(json.dumps(content), encoding="utf-8")
    expected = {"echo.json": {"status": 200, "contains": '"body": "hi"'}, "missing.json": 404}
    (directory / "events" / "expected-status.json").write_text(json.dumps(expected), encoding="utf-8")
    yield directory
    sys.modules.pop("echo_app", None)
    if str(directory) in sys.path:
        sys.path.remove(str(directory))


@pytest.fixture
def echo(function_dir: Path):
    return local.load_handler(local.handler_name(function_dir / "Dockerfile"), function_dir)


def request(url: str, data: bytes | None = None, method: str | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def api(echo):
    server = ThreadingHTTPServer(("127.0.0.1", 0), local.make_request_handler(echo, max_bytes=1000))
    with serving(server) as base:
        yield base


def test_the_handler_is_the_dockerfile_cmd(function_dir):
    assert local.handler_name(function_dir / "Dockerfile") == "echo_app.handler"


def test_a_dockerfile_without_an_exec_form_cmd_is_a_clear_error(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCMD python app.py\n", encoding="utf-8")
    with pytest.raises(local.LocalError, match="pass --handler"):
        local.handler_name(tmp_path / "Dockerfile")


def test_server_turns_a_request_into_a_payload_v2_event(api):
    status, headers, body = request(f"{api}/echo?a=1", b"hello", headers={"Content-Type": "text/plain"})
    assert (status, headers["X-Echo"]) == (200, "1")
    answer = json.loads(body)
    assert (answer["method"], answer["body"], answer["query"], answer["base64"]) == (
        "POST",
        "hello",
        "a=1",
        False,
    )


def test_server_passes_repeated_headers_and_cookies_as_api_gateway_does(api):
    connection = http.client.HTTPConnection(api.removeprefix("http://"), timeout=10)
    connection.putrequest("GET", "/echo?tag=a&tag=b")
    for name, value in [
        ("Cookie", "session=1; theme=dark"),
        ("Cookie", "seen=yes"),
        ("X-Trace", "one"),
        ("X-Trace", "two"),
    ]:
        connection.putheader(name, value)
    connection.endheaders()
    answer = json.loads(connection.getresponse().read())
    connection.close()
    assert answer["cookies"] == ["session=1", "theme=dark", "seen=yes"]
    assert answer["parameters"] == {"tag": "a,b"}
    assert answer["headers"]["x-trace"] == "one,two"
    assert "cookie" not in answer["headers"], "API Gateway moves cookies out of the headers"


def test_server_sends_binary_bodies_base64_encoded(api):
    status, _, body = request(f"{api}/echo", b"\xff\xfe")
    assert (status, json.loads(body)["base64"]) == (200, True)


def test_server_passes_error_statuses_through(api):
    status, _, body = request(f"{api}/nope")
    assert (status, json.loads(body)) == (404, {"error": "no such path"})


def test_server_answers_head_like_get_without_a_body(api):
    get_status, get_headers, _ = request(f"{api}/echo")
    status, headers, body = request(f"{api}/echo", method="HEAD")
    assert (status, body) == (get_status, b"")
    assert headers["X-Echo"] == get_headers["X-Echo"]
    assert "Content-Length" not in headers  # the handler's empty HEAD body says nothing of GET's length


def raw_exchange(base: str, head: bytes) -> tuple[int, dict]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


def test_server_refuses_a_body_over_the_cap_before_reading_it(api):
    # the body is never sent: the answer comes from the declared length alone
    status, body = raw_exchange(api, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
    assert (status, body["error"]["code"]) == (413, "body_too_large")


@pytest.mark.parametrize("length", ["-1", "ten", "1e3", " "])
def test_server_refuses_a_bad_content_length(api, length):
    head = f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()
    status, body = raw_exchange(api, head)
    assert (status, body["error"]["code"]) == (400, "invalid_request")


def test_server_closes_an_idle_connection(echo):
    server = ThreadingHTTPServer(("127.0.0.1", 0), local.make_request_handler(echo, idle_timeout=0.2))
    with serving(server) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            assert connection.recv(1) == b""  # closed by the server, not by our 5 s timeout


def test_serve_says_the_port_is_in_use(function_dir, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = local.main(
            [
                "serve",
                "--port",
                str(port),
                "--function-dir",
                str(function_dir),
                "--handler",
                "echo_app.handler",
            ]
        )
    assert code == 2
    assert f"127.0.0.1:{port}: port in use" in capsys.readouterr().err


def test_invoke_checks_every_event_against_its_expected_status(function_dir, capsys):
    argv = [
        "invoke",
        "--function-dir",
        str(function_dir),
        "--events",
        str(function_dir / "events"),
        "--handler",
        "echo_app.handler",
    ]
    assert local.main(argv) == 0
    out = capsys.readouterr().out
    assert "== echo.json\n" in out and "== missing.json\n" in out


def test_invoke_fails_on_a_wrong_status_and_says_which(function_dir, capsys):
    (function_dir / "events" / "expected-status.json").write_text('{"echo.json": 201, "missing.json": 404}')
    argv = [
        "invoke",
        "--function-dir",
        str(function_dir),
        "--events",
        str(function_dir / "events"),
        "--handler",
        "echo_app.handler",
    ]
    assert local.main(argv) == 1
    assert "== echo.json: FAILED, echo.json: status 200, expected 201" in capsys.readouterr().out


def test_invoke_fails_when_the_body_misses_the_expected_text(function_dir, capsys):
    expected = '{"echo.json": {"status": 200, "contains": "bye"}, "missing.json": 404}'
    (function_dir / "events" / "expected-status.json").write_text(expected, encoding="utf-8")
    argv = ["invoke", "--function-dir", str(function_dir), "--events", str(function_dir / "events")]
    assert local.main(argv) == 1
    assert "== echo.json: FAILED, echo.json: body does not contain 'bye'" in capsys.readouterr().out


def test_invoke_one_event_prints_the_response(function_dir, capsys):
    argv = [
        "invoke",
        str(function_dir / "events" / "echo.json"),
        "--function-dir",
        str(function_dir),
        "--handler",
        "echo_app.handler",
    ]
    assert local.main(argv) == 0
    assert json.loads(capsys.readouterr().out.partition("\n")[2])["statusCode"] == 200


def test_invoke_reports_an_unreadable_event(function_dir, tmp_path, capsys):
    argv = [
        "invoke",
        str(tmp_path / "missing.json"),
        "--function-dir",
        str(function_dir),
        "--handler",
        "echo_app.handler",
    ]
    assert local.main(argv) == 2
    assert "cannot read the event" in capsys.readouterr().err


def test_a_function_that_breaks_the_contract_is_a_clear_error(function_dir, capsys):
    (function_dir / "events" / "expected-status.json").write_text('{"echo.json": "200"}', encoding="utf-8")
    argv = ["invoke", "--function-dir", str(function_dir), "--events", str(function_dir / "events")]
    assert local.main(argv) == 2
    assert "does not keep the function contract" in capsys.readouterr().err


def fake_emulator(echo, received: list):
    class FakeEmulator(BaseHTTPRequestHandler):
        def do_POST(self):
            invocation = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(self.path)
            answer = json.dumps(echo(invocation, local.LocalContext())).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), FakeEmulator)


def test_emulator_command_posts_every_event_and_checks_each_answer(echo, function_dir, capsys):
    received: list = []
    with serving(fake_emulator(echo, received)) as base:
        url = f"{base}/2015-03-31/functions/function/invocations"
        assert local.main(["emulator", "--url", url, "--events", str(function_dir / "events")]) == 0
    assert received == ["/2015-03-31/functions/function/invocations"] * 2
    out = capsys.readouterr().out
    assert "== echo.json\n" in out and "== missing.json\n" in out


def test_emulator_command_with_nothing_listening_says_to_run_local_run(function_dir, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    argv = ["emulator", "--url", f"http://127.0.0.1:{port}/x", "--events", str(function_dir / "events")]
    assert local.main(argv) == 2
    assert "make local-run" in capsys.readouterr().err


def test_emulator_url_is_the_port_local_run_publishes():
    recipe = subprocess.run(
        ["make", "--dry-run", "local-run", "PLATFORM=linux/amd64", "PY=python3"],
        cwd=local.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"--publish 127.0.0.1:{local.EMULATOR_PORT}:8080" in recipe
    assert local.EMULATOR_URL.startswith(f"http://127.0.0.1:{local.EMULATOR_PORT}/")


def test_platform_is_the_default_stacks_architecture(capsys):
    from scripts.stack_matrix import describe

    assert local.main(["platform"]) == 0
    assert capsys.readouterr().out.strip() == describe(local.ROOT, "dev").platform


def test_http_event_has_the_payload_v2_shape():
    built = local.http_event("POST", "/p?a=1", {"Content-Type": "application/json"}, b"{}")
    assert built["version"] == "2.0"
    assert (built["rawPath"], built["rawQueryString"]) == ("/p", "a=1")
    assert built["requestContext"]["http"]["method"] == "POST"
    assert built["headers"] == {"content-type": "application/json"}
    assert (built["body"], built["isBase64Encoded"]) == ("{}", False)
    assert "body" not in local.http_event("GET", "/", {}, b"")
    assert base64.b64decode(local.http_event("POST", "/", {}, b"\xff")["body"]) == b"\xff"


def test_http_event_decodes_the_query_and_joins_a_repeated_key_with_commas():
    built = local.http_event("GET", "/p?a=1&b=x%20y&a=2&flag", {}, b"")
    assert built["rawQueryString"] == "a=1&b=x%20y&a=2&flag"
    assert built["queryStringParameters"] == {"a": "1,2", "b": "x y", "flag": ""}
    assert "queryStringParameters" not in local.http_event("GET", "/p", {}, b"")


def test_http_event_lists_cookies_apart_from_the_headers():
    received = [("Cookie", "a=1; b=2"), ("Accept", "text/plain"), ("cookie", "c=3"), ("accept", "*/*")]
    built = local.http_event("GET", "/", received, b"")
    assert built["cookies"] == ["a=1", "b=2", "c=3"]
    assert built["headers"] == {"accept": "text/plain,*/*"}
    assert "cookies" not in local.http_event("GET", "/", {"Accept": "*/*"}, b"")
