"""The project schema the tests validate Pulumi.yaml files with."""

import jsonschema
import pytest

from infra.project import PROJECT
from tests.support.project_schema import SCHEMA_PATH, SHARED_SCHEMA_PATH, validate_project


@pytest.mark.skipif(not SHARED_SCHEMA_PATH.exists(), reason="no ../shared/schemas beside this checkout")
def test_the_kept_schema_is_the_shared_one():
    assert SCHEMA_PATH.read_bytes() == SHARED_SCHEMA_PATH.read_bytes()


def test_the_schema_rejects_a_project_without_a_runtime():
    with pytest.raises(jsonschema.ValidationError, match="runtime"):
        validate_project({"name": f"{PROJECT}"})
