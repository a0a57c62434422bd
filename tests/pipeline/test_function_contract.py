"""infra/function_contract.py: the one reader of function/events/ the platform's tools share."""

from __future__ import annotations

import base64
import json

import pytest

from infra.function_contract import (
    ContractError,
    Declarations,
    Expected,
    check,
    deployable_cases,
    dockerfiles,
    load_cases,
    load_declarations,
    public_routes,
    smoke_cases,
)
from tests.pipeline.helpers import ROOT, run_script


def http_event(method: str, path: str, **extra) -> dict:
    event = {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "requestContext": {"http": {"method": method, "path": path}},
    }
    event.update(extra)
    return event


def write_contract(directory, events: dict[str, object], expected: dict[str, object]):
    directory.mkdir(parents=True, exist_ok=True)
    for name, event in events.items():
        text = event if isinstance(event, str) else json.dumps(event)
        (directory / name).write_text(text, encoding="utf-8")
    (directory / "expected-status.json").write_text(json.dumps(expected), encoding="utf-8")
    return directory


def test_the_function_in_the_repository_keeps_the_contract():
    assert load_cases(ROOT / "function" / "events"), "function/events/ holds no event"
    load_declarations(ROOT / "function")


def test_a_function_without_declarations_runs_in_its_image(tmp_path):
    assert load_declarations(tmp_path) == Declarations(in_process=None)


def test_a_python_function_may_declare_that_it_runs_in_process(tmp_path):
    (tmp_path / "function.json").write_text('{"inProcess": "python"}', encoding="utf-8")
    assert load_declarations(tmp_path).in_process == "python"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"inProcess": "nodejs"}', "inProcess must be one of python"),
        ('{"inprocess": "python"}', "unknown key 'inprocess'"),
        ("[]", "not a JSON object"),
        ("{", "not a JSON object"),
    ],
)
def test_bad_declarations_are_refused_naming_the_problem(tmp_path, text, problem):
    (tmp_path / "function.json").write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match=problem):
        load_declarations(tmp_path)


def test_the_make_file_reads_the_declaration(tmp_path):
    (tmp_path / "function.json").write_text('{"inProcess": "python"}', encoding="utf-8")
    result = run_script(ROOT / "infra" / "function_contract.py", "--in-process", str(tmp_path))
    assert (result.returncode, result.stdout) == (0, "python\n")
    (tmp_path / "function.json").unlink()
    result = run_script(ROOT / "infra" / "function_contract.py", "--in-process", str(tmp_path))
    assert (result.returncode, result.stdout) == (0, "")


def test_a_status_or_a_status_with_text_is_read(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {"a.json": http_event("GET", "/a"), "b.json": http_event("POST", "/b")},
        {"a.json": 204, "b.json": {"status": 400, "contains": "bad input"}},
    )
    assert [(case.name, case.expected) for case in load_cases(events)] == [
        ("a.json", Expected(204)),
        ("b.json", Expected(400, "bad input")),
    ]


def test_every_problem_is_listed_at_once(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {
            "unlisted.json": http_event("GET", "/u"),
            "text.json": http_event("GET", "/t"),
            "flag.json": http_event("GET", "/f"),
            "odd.json": http_event("GET", "/o"),
            "broken.json": "{not json",
            "list.json": [1],
            "blank.json": http_event("GET", "/b"),
        },
        {
            "text.json": "200",
            "flag.json": True,
            "odd.json": {"status": 200, "body": "x"},
            "broken.json": 200,
            "list.json": 200,
            "blank.json": {"status": 200, "contains": ""},
            "gone.json": 404,
        },
    )
    with pytest.raises(ContractError) as raised:
        load_cases(events)
    message = str(raised.value)
    for problem in (
        "unlisted.json: no entry",
        "text.json: expected an HTTP status",
        "flag.json: expected",
        "odd.json: unknown keys body",
        "broken.json: not JSON",
        "list.json: an event must be",
        "blank.json: contains must be a non-empty string",
        "gone.json: listed in",
    ):
        assert problem in message, f"{problem!r} missing from:\n{message}"


def test_an_entry_may_keep_its_event_out_of_the_smoke_test(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {
            "read.json": http_event("GET", "/a"),
            "delete.json": http_event("DELETE", "/a/1"),
            "kept.json": http_event("POST", "/a"),
            "scheduled.json": {"source": "aws.events"},
        },
        {
            "read.json": 200,
            "delete.json": {"status": 204, "smoke": False},
            "kept.json": {"status": 201, "smoke": True},
            "scheduled.json": 200,
        },
    )
    cases = load_cases(events)
    assert [case.name for case in cases] == ["delete.json", "kept.json", "read.json", "scheduled.json"]
    assert cases[0].expected == Expected(204, None, smoke=False)
    assert [case.name for case in smoke_cases(cases)] == ["kept.json", "read.json"]
    assert [case.name for case in deployable_cases(cases)] == ["kept.json", "read.json", "scheduled.json"]


@pytest.mark.parametrize("smoke", ["false", 0, None])
def test_smoke_must_be_a_boolean(tmp_path, smoke):
    events = write_contract(
        tmp_path / "events", {"a.json": http_event("GET", "/a")}, {"a.json": {"status": 200, "smoke": smoke}}
    )
    with pytest.raises(ContractError, match="a.json: smoke must be true or false"):
        load_cases(events)


@pytest.mark.parametrize("auth", ["false", 0, None])
def test_auth_must_be_a_boolean(tmp_path, auth):
    events = write_contract(
        tmp_path / "events", {"a.json": http_event("GET", "/a")}, {"a.json": {"status": 200, "auth": auth}}
    )
    with pytest.raises(ContractError, match="a.json: auth must be true or false"):
        load_cases(events)


def test_events_marked_auth_false_name_the_public_routes(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {
            "health.json": http_event("GET", "/health", rawQueryString="verbose=1"),
            "health-again.json": http_event("get", "/health"),
            "head.json": http_event("HEAD", "/health"),
            "order.json": http_event("POST", "/orders"),
        },
        {
            "health.json": {"status": 200, "auth": False},
            "health-again.json": {"status": 200, "auth": False},
            "head.json": {"status": 200, "auth": False},
            "order.json": {"status": 201, "auth": True},
        },
    )
    cases = load_cases(events)
    assert public_routes(cases) == ["GET /health", "HEAD /health"]
    assert [case.expected.auth for case in cases] == [False, False, False, True]


def test_a_public_event_must_be_an_http_request(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {"health.json": http_event("GET", "/health"), "job.json": {"detail": {}}},
        {"health.json": 200, "job.json": {"status": 200, "auth": False}},
    )
    with pytest.raises(
        ContractError, match='job.json: "auth": false, but the event is not an HTTP API request'
    ):
        public_routes(load_cases(events))


@pytest.mark.parametrize("status", [99, 600, -1])
def test_a_status_outside_http_is_refused(tmp_path, status):
    events = write_contract(tmp_path / "events", {"a.json": http_event("GET", "/a")}, {"a.json": status})
    with pytest.raises(ContractError, match="status must be an HTTP status code"):
        load_cases(events)


def test_an_empty_events_directory_is_refused(tmp_path):
    events = write_contract(tmp_path / "events", {}, {})
    with pytest.raises(ContractError, match="no events"):
        load_cases(events)


def test_an_event_in_a_subfolder_is_refused_not_skipped(tmp_path):
    # only events/*.json are read: an event of a subfolder would go untested, so the contract says where it is
    events = write_contract(
        tmp_path / "events",
        {"health.json": http_event("GET", "/health")},
        {"health.json": 200, "v2/items.json": 200},
    )
    (events / "v2").mkdir()
    (events / "v2" / "items.json").write_text(json.dumps(http_event("GET", "/items")), encoding="utf-8")
    with pytest.raises(ContractError) as error:
        load_cases(events)
    assert "v2/items.json: events are read from events/ itself, not from its subfolders" in str(error.value)
    assert "v2/items.json: listed in expected-status.json but there is no such event (" in str(error.value)


def test_an_event_whose_extension_is_not_lowercase_json_is_refused_not_skipped(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {"health.json": http_event("GET", "/health")},
        {"health.json": 200, "Items.JSON": 200},
    )
    (events / "Items.JSON").write_text(json.dumps(http_event("GET", "/items")), encoding="utf-8")
    with pytest.raises(ContractError, match=r"Items.JSON: events are read from files named \*.json"):
        load_cases(events)


def test_a_base64_body_that_does_not_decode_is_refused(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {"a.json": http_event("POST", "/a", body="%%%", isBase64Encoded=True)},
        {"a.json": 200},
    )
    with pytest.raises(ContractError, match="a.json: isBase64Encoded is true but body is not base64"):
        load_cases(events)


def test_an_event_gives_the_http_request_it_records(tmp_path):
    event = http_event(
        "post",
        "/things",
        rawQueryString="page=2&size=1",
        cookies=["a=1", "b=2"],
        headers={
            "Content-Type": "application/json",
            "host": "id.example",
            "content-length": "99",
            "x-forwarded-proto": "https",
        },
        body=base64.b64encode(b'{"x": 1}').decode(),
        isBase64Encoded=True,
    )
    (case,) = load_cases(write_contract(tmp_path / "events", {"a.json": event}, {"a.json": 201}))
    request = case.request()
    assert (request.method, request.target, request.body) == ("POST", "/things?page=2&size=1", b'{"x": 1}')
    assert request.headers == {"content-type": "application/json", "cookie": "a=1; b=2"}


def test_an_event_that_is_not_an_http_request_gives_none(tmp_path):
    events = {
        "health.json": http_event("GET", "/health"),
        "scheduled.json": {"source": "aws.events", "detail": {}},
        "v1.json": {"version": "1.0", "httpMethod": "GET", "path": "/"},
    }
    expected = {"health.json": 200, "scheduled.json": 200, "v1.json": 200}
    cases = load_cases(write_contract(tmp_path / "events", events, expected))
    assert [case.request() is None for case in cases] == [False, True, True]


# the post-deploy smoke test sends the HTTP requests not marked "smoke": false: a contract without one could
# not be smoke-tested after a deploy, so it is refused before (make check, pulumi up)
@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ({"purge.json": http_event("DELETE", "/items")}, {"purge.json": {"status": 204, "smoke": False}}),
        ({"tick.json": {"source": "aws.events"}}, {"tick.json": 200}),
        (
            {"purge.json": http_event("DELETE", "/items"), "tick.json": {"source": "aws.events"}},
            {"purge.json": {"status": 204, "smoke": False}, "tick.json": 200},
        ),
    ],
    ids=["every-request-kept-out", "no-http-request", "neither"],
)
def test_a_contract_with_nothing_the_smoke_test_can_send_is_refused(tmp_path, events, expected):
    with pytest.raises(ContractError, match="no event is an HTTP API request a deployed stack may get"):
        load_cases(write_contract(tmp_path / "events", events, expected))


def test_an_answer_is_checked_for_status_and_text(tmp_path):
    events = write_contract(
        tmp_path / "events",
        {"a.json": http_event("GET", "/a")},
        {"a.json": {"status": 200, "contains": "ok"}},
    )
    (case,) = load_cases(events)
    assert check(case, 200, b'{"state": "ok"}') == []
    assert check(case, 200, '{"state": "ok"}') == []
    assert check(case, 500, b"ok") == ["a.json: status 500, expected 200"]
    assert check(case, 200, b"{}") == ["a.json: body does not contain 'ok': '{}'"]


def test_the_command_line_lists_the_cases_or_the_problems(tmp_path):
    good = write_contract(tmp_path / "good", {"a.json": http_event("GET", "/a")}, {"a.json": 200})
    listed = run_script(ROOT / "infra" / "function_contract.py", str(good))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "a.json: GET /a -> 200"
    quiet = write_contract(
        tmp_path / "quiet",
        {"a.json": http_event("DELETE", "/a"), "b.json": http_event("GET", "/a")},
        {"a.json": {"status": 204, "smoke": False}, "b.json": 200},
    )
    assert run_script(ROOT / "infra" / "function_contract.py", str(quiet)).stdout.splitlines() == [
        "a.json: DELETE /a -> 204 (not smoke-tested)",
        "b.json: GET /a -> 200",
    ]
    bad = write_contract(tmp_path / "bad", {"a.json": http_event("GET", "/a")}, {})
    refused = run_script(ROOT / "infra" / "function_contract.py", str(bad))
    assert refused.returncode == 1
    assert "a.json: no entry" in refused.stderr


def test_the_dockerfiles_are_the_ones_the_dockerfile_key_may_name(tmp_path):
    for name in ("Dockerfile", "Dockerfile.slim", "api.Dockerfile", "Dockerfile.dockerignore", "README.md"):
        (tmp_path / name).write_text("FROM scratch\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    assert dockerfiles(tmp_path) == ["Dockerfile", "Dockerfile.slim", "api.Dockerfile"]
    listed = run_script(ROOT / "infra" / "function_contract.py", "--dockerfiles", str(tmp_path))
    assert (listed.returncode, listed.stdout.strip()) == (
        0,
        '["Dockerfile","Dockerfile.slim","api.Dockerfile"]',
    )


@pytest.mark.parametrize(
    ("present", "said"), [((), "no Dockerfile"), (("dockerfile",), "dockerfile is not spelt")]
)
def test_a_function_without_its_dockerfile_is_refused_at_once(tmp_path, present, said):
    for name in (*present, "main.Dockerfile"):
        (tmp_path / name).write_text("FROM scratch\n", encoding="utf-8")
    with pytest.raises(ContractError, match=said):
        dockerfiles(tmp_path)
    refused = run_script(ROOT / "infra" / "function_contract.py", "--dockerfiles", str(tmp_path))
    assert refused.returncode == 1 and said in refused.stderr, refused.stderr
