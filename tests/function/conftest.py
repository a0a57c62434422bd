"""The function directory is not a package: put it on sys.path before the test modules import from it."""

import sys
from pathlib import Path

FUNCTION_DIR = str(Path(__file__).resolve().parents[2] / "function")
if FUNCTION_DIR not in sys.path:
    sys.path.insert(0, FUNCTION_DIR)
