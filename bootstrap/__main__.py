"""Entry point of the bootstrap Pulumi project (run by the Pulumi CLI from this directory)."""

import sys
from pathlib import Path

# The program lives in the `bootstrap` package and reuses `infra/` from the repository root.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bootstrap.program import run  # noqa: E402

run()
