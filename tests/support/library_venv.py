"""A venv that holds the platform's library as bootstrap/venv and policy/venv hold it.

pip runs in each project's directory, as `pulumi install` runs it (pulumi/pulumi, sdk/python/toolchain/pip.go:
`pip install -r requirements.txt` with the project directory as working directory), and installs the `-e`
lines of its requirements.txt: the repository root, editable (pyproject.toml), built in isolation as there.
The third-party packages of those requirements files come from the test venv through a .pth file, so that
only the build backend is fetched. The venv is kept in the temporary directory under a key of everything it
is built from, so that the test workers and later runs share it.
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
PROJECTS = ("bootstrap", "policy")  # the Pulumi projects that run outside the repository root


def editable_lines(requirements: Path) -> list[str]:
    return [line for line in requirements.read_text().splitlines() if line.startswith("-e ")]


@functools.cache
def library_python() -> Path:
    """The interpreter of a venv with the `-e` requirements of bootstrap/ and policy/ installed."""
    sources = [ROOT / "pyproject.toml", *(ROOT / project / "requirements.txt" for project in PROJECTS)]
    key = hashlib.sha256(
        "\0".join([str(ROOT), sys.executable, *(path.read_text() for path in sources)]).encode()
    ).hexdigest()[:16]
    venv = Path(tempfile.gettempdir()) / f"library-venv-{key}"
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
        for project in PROJECTS:
            for line in editable_lines(ROOT / project / "requirements.txt"):
                subprocess.run(  # noqa: S603  the test venv's pip, installing into the new venv
                    [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", *line.split()],
                    cwd=ROOT / project,
                    check=True,
                    capture_output=True,
                )
        done.touch()
    return python
