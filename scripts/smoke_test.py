#!/usr/bin/env python3
"""Smoke-test a deployed container-lambda API: GET /health and POST /predict must give the right answers.

  GET  /health                                  -> 200, {"status": "ok", "modelVersion": ...}
  POST /predict {"features": [5.1,3.5,1.4,0.2]} -> 200, predicted label "setosa"

Connection errors, 429 and 5xx answers are retried until --timeout (a function that was just updated, or an
API that was just created, can need a few seconds); a wrong answer fails at once. The base URL must be https
(plain http is accepted for localhost only, for tests).

usage: smoke_test.py --base-url URL [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

PREDICT_FEATURES = [5.1, 3.5, 1.4, 0.2]  # the first iris sample: setosa
EXPECTED_LABEL = "setosa"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
RETRY_STATUSES = {429, 500, 502, 503, 504}


class SmokeFailure(Exception):
    """The API answered, and the answer is wrong."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self, what: str) -> dict:
        try:
            data = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SmokeFailure(f"{what}: body is not JSON: {self.body[:200]!r}") from exc
        if not isinstance(data, dict):
            raise SmokeFailure(f"{what}: body is not a JSON object: {data!r}")
        return data


def base_url(value: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in LOCAL_HOSTS):
        if not parsed.hostname:
            raise argparse.ArgumentTypeError(f"{value!r} has no host")
        return value.rstrip("/")
    raise argparse.ArgumentTypeError(f"{value!r} must be an https URL (http only for localhost)")


def request(url: str, body: dict | None, deadline: float) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    delay = 1.0
    while True:
        method = "GET" if data is None else "POST"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - scheme checked in base_url
                answer = Answer(response.status, response.read())
        except urllib.error.HTTPError as exc:
            answer = Answer(exc.code, exc.read())
        except OSError as exc:  # refused, reset, DNS not there yet, timeout
            answer = None
            reason = str(exc)
        if answer is not None and answer.status not in RETRY_STATUSES:
            return answer
        if answer is not None:
            reason = f"HTTP {answer.status} {answer.body[:200]!r}"
        if time.monotonic() + delay > deadline:
            raise SmokeFailure(f"{url}: no good answer before the deadline (last: {reason})")
        print(f"  {url}: {reason}; retrying in {delay:.0f}s", file=sys.stderr)
        time.sleep(delay)
        delay = min(delay * 2, 10.0)


def predicted_labels(body: dict) -> list[object]:
    """Labels of a /predict answer: `{"modelVersion": ..., "predictions": [{"label": ...}, ...]}`."""
    rows = body.get("predictions")
    if not isinstance(rows, list):
        return []
    return [row.get("label") if isinstance(row, dict) else None for row in rows]


def check_health(base: str, deadline: float) -> str:
    answer = request(f"{base}/health", None, deadline)
    if answer.status != 200:
        raise SmokeFailure(f"GET /health: status {answer.status}, expected 200: {answer.body[:200]!r}")
    body = answer.json("GET /health")
    if body.get("status") != "ok":
        raise SmokeFailure(f"GET /health: status field {body.get('status')!r}, expected 'ok'")
    if not body.get("modelVersion"):
        raise SmokeFailure("GET /health: no modelVersion in the answer")
    return f"GET /health -> 200 status ok, modelVersion {body['modelVersion']}"


def check_predict(base: str, deadline: float) -> str:
    answer = request(f"{base}/predict", {"features": PREDICT_FEATURES}, deadline)
    if answer.status != 200:
        raise SmokeFailure(f"POST /predict: status {answer.status}, expected 200: {answer.body[:200]!r}")
    labels = predicted_labels(answer.json("POST /predict"))
    if labels != [EXPECTED_LABEL]:
        raise SmokeFailure(
            f"POST /predict {PREDICT_FEATURES}: labels {labels!r}, expected [{EXPECTED_LABEL!r}]"
        )
    return f"POST /predict -> 200 label {EXPECTED_LABEL}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, type=base_url)
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds to keep retrying transient errors"
    )
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    try:
        for check in (check_health, check_predict):
            print(check(args.base_url, deadline))
    except SmokeFailure as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    print(f"OK: {args.base_url} passed the smoke test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
