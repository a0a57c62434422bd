"""The local tools (scripts/local.py): in-process invoke, the HTTP server, the emulator client.

They run any function that keeps the contract, so these tests use a function of their own, written into a
temporary directory: a handler that echoes what it received, run in its own process by infra/python_host.py
with this interpreter standing in for the function's own environment.
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
import base64, importlib.util, json, os, time

def handler(event, context):
    method = event["requestContext"]["http"]["method"]
    if event["rawPath"] == "/plain":
        return {"plain": True, "platformImportable": importlib.util.find_spec("infra") is not None}
    if event["rawPath"] == "/text":
        return "just text"
    if event["rawPath"] == "/raise":
        raise KeyError("boom")
    if event["rawPath"] == "/bad-status":
        return {"statusCode": "two hundred", "body": "x"}
    if event["rawPath"] == "/cookies":
        return {"statusCode": 204, "cookies": ["a=1", "b=2; Secure"]}
    if event["rawPath"] == "/sleep":
        time.sleep(5)
    if event["rawPath"] == "/exit":
        os._exit(3)
    if event["rawPath"] == "/print":
        print("a log line, not the answer")
    if event["rawPath"] not in ("/echo", "/print"):
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
    (directory / "function.json").write_text('{"inProcess": "python"}', encoding="utf-8")
    (directory / "echo_app.py").write_text(ECHO, encoding="utf-8")
    events = {"echo.json": event("POST", "/echo", "hi"), "missing.json": event("GET", "/nope")}
    for name, content in events.items():
        (directory / "events" / name).write_text(json.dumps(content), encoding="utf-8")
    expected = {"echo.json": {"status": 200, "contains": '"body": "hi"'}, "missing.json": 404}
    (directory / "events" / "expected-status.json").write_text(json.dumps(expected), encoding="utf-8")
    return directory


def run_local(*argv: str) -> int:
    """local.main with this interpreter as the function's own."""
    return local.main([*argv, "--python", sys.executable] if argv[0] in ("invoke", "serve") else list(argv))


@pytest.fixture
def echo(function_dir: Path):
    handler = local.handler_name(function_dir / "Dockerfile")
    with local.FunctionProcess(Path(sys.executable), handler, function_dir, timeout=2) as function:
        yield function


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
        code = run_local("serve", "--port", str(port), "--function-dir", str(function_dir))
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
    assert run_local(*argv) == 0
    out = capsys.readouterr().out
    assert "== echo.json: 200\n" in out and "== missing.json: 404\n" in out


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
    assert run_local(*argv) == 1
    assert "== echo.json: 200 FAILED, echo.json: status 200, expected 201" in capsys.readouterr().out


def test_invoke_fails_when_the_body_misses_the_expected_text(function_dir, capsys):
    expected = '{"echo.json": {"status": 200, "contains": "bye"}, "missing.json": 404}'
    (function_dir / "events" / "expected-status.json").write_text(expected, encoding="utf-8")
    argv = ["invoke", "--function-dir", str(function_dir), "--events", str(function_dir / "events")]
    assert run_local(*argv) == 1
    assert "== echo.json: 200 FAILED, echo.json: body does not contain 'bye'" in capsys.readouterr().out


def test_invoke_one_event_prints_the_response(function_dir, capsys):
    argv = [
        "invoke",
        str(function_dir / "events" / "echo.json"),
        "--function-dir",
        str(function_dir),
        "--handler",
        "echo_app.handler",
    ]
    assert run_local(*argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("== echo.json: 200\n") and '"body": "hi"' in out


def test_invoke_reports_an_unreadable_event(function_dir, tmp_path, capsys):
    argv = [
        "invoke",
        str(tmp_path / "missing.json"),
        "--function-dir",
        str(function_dir),
        "--handler",
        "echo_app.handler",
    ]
    assert run_local(*argv) == 2
    assert "cannot read the event" in capsys.readouterr().err


def test_a_function_that_breaks_the_contract_is_a_clear_error(function_dir, capsys):
    (function_dir / "events" / "expected-status.json").write_text('{"echo.json": "200"}', encoding="utf-8")
    argv = ["invoke", "--function-dir", str(function_dir), "--events", str(function_dir / "events")]
    assert run_local(*argv) == 2
    assert "does not keep the function contract" in capsys.readouterr().err


def fake_emulator(echo, received: list):
    """The Runtime Interface Emulator's invoke endpoint in front of the echo function: the handler's output
    with 200, or Lambda's error document with 502 for a function error (aws-lambda-runtime-interface-emulator,
    cmd/aws-lambda-rie/handlers.go)."""

    class FakeEmulator(BaseHTTPRequestHandler):
        def do_POST(self):
            invocation = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(self.path)
            answer, function_error = echo.output(invocation)
            self.send_response(502 if function_error else 200)
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
    assert "== echo.json: 200\n" in out and "== missing.json: 404\n" in out


def test_emulator_command_judges_a_function_error_as_api_gateway_does(echo, function_dir, capsys):
    events = function_dir / "events"
    (events / "echo.json").write_text(json.dumps(event("GET", "/raise")), encoding="utf-8")
    with serving(fake_emulator(echo, [])) as base:
        url = f"{base}/2015-03-31/functions/function/invocations"
        assert local.main(["emulator", "--url", url, "--events", str(events)]) == 1
    out = capsys.readouterr().out
    assert "== echo.json: 500 FAILED, echo.json: status 500, expected 200" in out
    assert "function error KeyError: 'boom'" in out


def test_emulator_command_with_nothing_listening_says_to_run_local_run(function_dir, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    argv = ["emulator", "--url", f"http://127.0.0.1:{port}/x", "--events", str(function_dir / "events")]
    assert run_local(*argv) == 2
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


# --- answers as API Gateway's HTTP API gives them (infra/lambda_response.py) ---------------------------


def test_server_answers_plain_json_as_200_json(api):
    status, headers, body = request(f"{api}/plain")
    assert (status, headers["content-type"]) == (200, "application/json")
    assert json.loads(body)["plain"] is True


def test_server_answers_a_json_string_as_its_text(api):
    assert request(f"{api}/text")[::2] == (200, b"just text")


@pytest.mark.parametrize("path", ["/raise", "/bad-status"])
def test_server_answers_500_json_when_the_handler_fails_and_keeps_serving(api, path):
    status, headers, body = request(f"{api}{path}")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert headers["content-type"] == "application/json"
    assert request(f"{api}/echo")[0] == 200


def test_server_sends_each_cookie_as_a_set_cookie_header(api):
    with urllib.request.urlopen(f"{api}/cookies", timeout=10) as answer:
        assert (answer.status, answer.headers.get_all("Set-Cookie")) == (204, ["a=1", "b=2; Secure"])


def test_server_reads_a_chunked_request_body(api):
    connection = http.client.HTTPConnection(api.removeprefix("http://"), timeout=10)
    connection.request("POST", "/echo", body=iter([b"hel", b"lo"]), encode_chunked=True)
    answer = connection.getresponse()
    assert (answer.status, json.loads(answer.read())["body"]) == (200, "hello")
    connection.close()


def test_server_refuses_a_chunked_body_over_the_cap(api):
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, body = raw_exchange(api, head + b"3e9\r\n" + b"x" * 1001 + b"\r\n0\r\n\r\n")
    assert (status, body["error"]["code"]) == (413, "body_too_large")


def test_server_refuses_a_malformed_chunk(api):
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, body = raw_exchange(api, head + b"zz\r\nabc\r\n0\r\n\r\n")
    assert (status, body["error"]["code"]) == (400, "invalid_request")


def test_what_the_handler_prints_is_a_log_line_not_the_answer(api):
    assert request(f"{api}/print")[0] == 200


@pytest.mark.parametrize(
    ("path", "problem"), [("/sleep", "Task timed out"), ("/exit", "exited with status 3")]
)
def test_an_overrun_or_a_dead_process_answers_500_and_the_next_request_gets_a_fresh_one(echo, path, problem):
    answer = echo.invoke(event("GET", path))
    assert answer.status == 500 and problem in answer.problem
    assert echo.invoke(event("POST", "/echo", "again")).status == 200


def test_the_function_runs_without_the_platform_on_its_path(echo):
    answer = echo.invoke(event("GET", "/plain"))
    assert json.loads(answer.body) == {"plain": True, "platformImportable": False}


# --- which functions run in-process ----------------------------------------------------------------------


def test_invoke_says_in_one_line_how_to_run_a_function_that_declares_no_in_process_runtime(
    function_dir, capsys
):
    (function_dir / "function.json").unlink()
    assert (
        run_local("invoke", "--function-dir", str(function_dir), "--events", str(function_dir / "events"))
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make local-run" in err and "make local-invoke" in err


def test_serve_refuses_an_unknown_in_process_runtime(function_dir, capsys):
    (function_dir / "function.json").write_text('{"inProcess": "node"}', encoding="utf-8")
    assert run_local("serve", "--function-dir", str(function_dir)) == 2
    assert "inProcess must be one of python" in capsys.readouterr().err


def test_invoke_without_the_functions_environment_says_how_to_build_it(function_dir, tmp_path, capsys):
    argv = ["invoke", "--function-dir", str(function_dir), "--events", str(function_dir / "events")]
    assert local.main([*argv, "--python", str(tmp_path / "missing" / "python")]) == 2
    assert "make invoke" in capsys.readouterr().err


def test_a_handler_that_cannot_be_imported_is_named_with_the_reason(function_dir, capsys):
    (function_dir / "Dockerfile").write_text('FROM scratch\nCMD ["index.handler"]\n', encoding="utf-8")
    assert (
        run_local("invoke", "--function-dir", str(function_dir), "--events", str(function_dir / "events"))
        == 2
    )
    assert "cannot load the handler index.handler" in capsys.readouterr().err


def test_invoke_quietly_prints_only_what_fails_and_a_count(function_dir, capsys):
    (function_dir / "events" / "expected-status.json").write_text('{"echo.json": 201, "missing.json": 404}')
    argv = [
        "invoke",
        "--quiet",
        "--function-dir",
        str(function_dir),
        "--events",
        str(function_dir / "events"),
    ]
    assert run_local(*argv) == 1
    out = capsys.readouterr().out
    assert "== echo.json: 200 FAILED" in out and "missing.json" not in out
    assert out.rstrip().endswith("1 of 2 events answered as expected")
