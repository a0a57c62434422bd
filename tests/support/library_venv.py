"""Venvs that hold the platform's library as bootstrap/venv and policy/venv hold it.

- bootstrap/venv: pip runs in bootstrap/, as `pulumi install` runs it (pulumi/pulumi,
  sdk/python/toolchain/pip.go: `pip install -r requirements.txt` with the project directory as working
  directory), and installs the `-e ..` line of its requirements.txt: the repository root, editable
  (pyproject.toml), built in isolation as there.
- policy/venv: filled from hash-pinned requirements; `python -m infra.project link-library`, run by its own
  interpreter from the repository root (scripts/pipeline.sh prepare, scripts/deploy.sh), links the library.

The third-party packages of the requirements files come from the test venv through a .pth file, so that only
the build backend is fetched. Each venv is kept in the temporary directory under a key of everything it is
built from, so that the test workers and later runs share it.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def editable_lines(requirements: Path) -> list[str]:
    return [line for line in requirements.read_text().splitlines() if line.startswith("-e ")]


def _link_the_library(python: Path, project: str) -> None:
    if project == "policy":
        subprocess.run(  # noqa: S603
            [python, "-m", "infra.project", "link-library"], cwd=ROOT, check=True, capture_output=True
        )
        return
    for line in editable_lines(ROOT / project / "requirements.txt"):
        subprocess.run(  # noqa: S603  the test venv's pip, installing into the new venv
            [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", *line.split()],
            cwd=ROOT / project,
            check=True,
            capture_output=True,
        )


@functools.cache
def library_python(project: str) -> Path:
    """The interpreter of a venv holding the platform's library as `<project>/venv` does."""
    sources = [ROOT / "pyproject.toml", ROOT / "infra" / "project.py", ROOT / project / "requirements.txt"]
    key = hashlib.sha256(
        "\0".join([str(ROOT), project, sys.executable, *(path.read_text() for path in sources)]).encode()
    ).hexdigest()[:16]
    venv = Path(tempfile.gettempdir()) / f"library-venv-{project}-{key}"
    python, done = venv / "bin" / "python", venv / "built"
    with open(f"{venv}.lock", "w") as lock:  # one build at a time (pytest-xdist workers)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)  # noqa: S603
        site = subprocess.run(  # noqa: S603
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        (Path(site) / "test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        _link_the_library(python, project)
        done.touch()
    return python
