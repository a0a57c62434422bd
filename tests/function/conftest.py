"""The function directory is not a package: put it on sys.path before the test modules import from it."""

import sys
from pathlib import Path

import pytest

# the helpers' assertions report their operands like the tests' own
pytest.register_assert_rewrite("tests.function.support")

FUNCTION_DIR = str(Path(__file__).resolve().parents[2] / "function")
if FUNCTION_DIR not in sys.path:
    sys.path.insert(0, FUNCTION_DIR)
