"""The policies of the project's pack, by concern. Mandatory ones block a preview or an update;
advisory ones print a warning."""

from . import apigateway, ecr, functions, iam, logs, tagging
from .common import PROJECT

PACK_NAME = f"{PROJECT}-guardrails"

MANDATORY = [
    *ecr.POLICIES,
    *functions.POLICIES,
    *iam.POLICIES,
    *apigateway.POLICIES,
    *logs.POLICIES,
    *tagging.POLICIES,
]
ADVISORY = [*logs.ADVISORY, *functions.ADVISORY]
POLICIES = MANDATORY + ADVISORY
