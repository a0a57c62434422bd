"""A second Dockerfile for the tests of the `dockerfile` key, whatever function/ holds.

The program reads function/ through `infra.config.ROOT`; `second_dockerfile` points it at a copy of the
project's function/ that also holds `function/Dockerfile.alt` (function/Dockerfile plus a comment line, so
that its content tag differs), the form of the key's documented example. The real function/ is never
touched, and no test depends on which Dockerfiles the function ships.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import infra.config

ROOT = Path(__file__).resolve().parents[2]
SECOND = "function/Dockerfile.alt"


@contextmanager
def second_dockerfile(directory: Path) -> Iterator[str]:
    """Within the block, the program sees `directory`/function (a copy of function/ plus Dockerfile.alt);
    yields the config value naming the second Dockerfile ("function/Dockerfile.alt")."""
    copy = directory / "function"
    shutil.copytree(
        ROOT / "function", copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".venv*")
    )
    base = (ROOT / "function" / "Dockerfile").read_text(encoding="utf-8")
    (directory / SECOND).write_text(base + "\n# a second variant of the image\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra.config, "ROOT", directory)
        yield SECOND


@contextmanager
def snapstart_function(directory: Path) -> Iterator[None]:
    """Within the block, the program sees a copy of function/ whose Dockerfile's last stage also sets the
    label that lets Lambda snapshot any image (`LABEL com.amazonaws.lambda.feature.snapstart="Allow"`:
    Lambda Developer Guide, "Implementing SnapStart hooks for container images"), whatever its base image."""
    copy = directory / "function"
    shutil.copytree(
        ROOT / "function", copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".venv*")
    )
    dockerfile = copy / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    dockerfile.write_text(text + '\nLABEL com.amazonaws.lambda.feature.snapstart="Allow"\n', encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra.config, "ROOT", directory)
        yield
