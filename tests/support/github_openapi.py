"""GitHub's published OpenAPI description of its REST API (npm `@octokit/openapi`, installed pinned into
.tools/ by `make install`), as JSON Schema validators of the answers of GET endpoints.

The description is OpenAPI 3.0: its schemas are JSON Schema but for `nullable: true`, which is rewritten
here into the JSON Schema way of allowing null (a type list, or anyOf with {"type": "null"}). References
(`#/components/...`) resolve inside the document.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTION = ROOT / ".tools" / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json"
BASE = "urn:github-rest-api"


def _allow_null(node: Any) -> Any:
    if isinstance(node, list):
        return [_allow_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _allow_null(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        else:
            return {"anyOf": [node, {"type": "null"}]}
    return node


@cache
def _registry() -> Registry:
    document = _allow_null(json.loads(DESCRIPTION.read_text(encoding="utf-8")))
    return Registry().with_resource(BASE, Resource(contents=document, specification=DRAFT7))


def response_validator(path: str, status: str = "200") -> Draft7Validator:
    """A validator of the JSON answer of `GET <path>` (the description's path template) with `status`."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    schema = {"$ref": f"{BASE}#/paths/{pointer}/get/responses/{status}/content/application~1json/schema"}
    return Draft7Validator(schema, registry=_registry())


def check_answer(path: str, answer: Any) -> None:
    """Raise jsonschema.ValidationError when `answer` is not a 200 answer of `GET <path>`."""
    response_validator(path).validate(answer)
