"""Validation of Pulumi.yaml files against Pulumi's own project schema.

The schema is sdk/go/common/workspace/project.json of pulumi/pulumi (its `$id`), kept here so the tests run
on any clone; `test_project_schema.py` checks it against the copy the CI workspace provides beside the
repository (`../shared/schemas/`), when there is one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).with_name("pulumi-project.schema.json")
SHARED_SCHEMA_PATH = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "pulumi-project.schema.json"


def validate_project(project: Any) -> None:
    """Raise jsonschema.ValidationError when `project` (a parsed Pulumi.yaml) breaks the schema."""
    jsonschema.validate(project, json.loads(SCHEMA_PATH.read_text()), cls=jsonschema.Draft202012Validator)
