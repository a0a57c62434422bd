"""The AWS CLI as the pipeline scripts call it: `aws <args> --output json`, its answer parsed, its error code
kept. Only the standard library (the scripts run on bare runners whose AWS CLI holds the credentials)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

# The AWS CLI reports a service error as "An error occurred (<Code>) when calling the <Operation> operation:
# <message>" (awscli/clidriver.py, ServiceOperation / botocore ClientError's message format).
_ERROR_CODE = re.compile(r"An error occurred \(([^)]+)\)")
# Error codes that mean the credentials expired (aws-sdk-go's credsExpiredCodes, aws/request/retryer.go).
EXPIRED_CREDENTIAL_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})


class AwsError(Exception):
    """The CLI failed; `code` is the service's error code when it gave one."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code

    @property
    def credentials_expired(self) -> bool:
        return self.code in EXPIRED_CREDENTIAL_CODES


def aws(*args: str) -> dict[str, Any]:
    """Run `aws <args> --output json` and parse its answer; AwsError carries the CLI's message and code."""
    # the AWS CLI found on PATH, as in every pipeline script; the arguments are the scripts' own
    result = subprocess.run(  # noqa: S603
        ["aws", *args, "--output", "json"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        message = result.stderr.strip() or f"aws {' '.join(args)} exited {result.returncode}"
        match = _ERROR_CODE.search(message)
        raise AwsError(message, match.group(1) if match else None)
    output: dict[str, Any] = json.loads(result.stdout or "{}")  # --output json of a read: an object
    return output
