"""Shared helpers of the pipeline tests: the workflow files, local HTTP fakes and fake CLI tools."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from tests.support.http import serving

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def load_workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def all_jobs() -> Iterator[tuple[str, str, dict]]:
    for path in workflow_files():
        for job_id, job in load_workflow(path)["jobs"].items():
            yield path.name, job_id, job


def all_steps() -> Iterator[tuple[str, str, dict]]:
    for workflow, job_id, job in all_jobs():
        for step in job.get("steps", []):
            yield workflow, job_id, step


def uses_action(step: dict, action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def run_script(
    script: Path, *args: str, env: dict | None = None, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """Run a script: `scripts/x.py` or `infra/x.py` as the module `python3 -m scripts.x` from the root of the
    tree it lies in (how the workflows and make run them), anything else as an executable."""
    if script.suffix == ".py":
        command = [sys.executable, "-m", f"{script.parent.name}.{script.stem}", *args]
        cwd = cwd or script.parents[1]
    else:
        command = [str(script), *args]
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=cwd or ROOT,
    )


Handler = Callable[[str, str, bytes], tuple[int, object]]


@contextmanager
def http_server(handle: Handler) -> Iterator[str]:
    """A local HTTP server on 127.0.0.1; `handle(method, path, body)` returns (status, JSON body)."""

    class RequestHandler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if isinstance(getattr(handle, "headers_seen", None), list):  # opt-in: the request headers
                handle.headers_seen.append({key.lower(): value for key, value in self.headers.items()})
            status, body = handle(self.command, self.path, self.rfile.read(length))
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _answer  # noqa: N815 - http.server's naming
        do_POST = _answer  # noqa: N815
        do_PUT = _answer  # noqa: N815
        do_PATCH = _answer  # noqa: N815
        do_DELETE = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)) as base:
        yield base


def write_tool(directory: Path, name: str, body: str) -> None:
    """An executable bash stand-in for a CLI tool (pulumi, aws, docker, curl)."""
    path = directory / name
    path.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def copy_scripts(target: Path) -> Path:
    """The repository's scripts/ in a scratch tree, so a script's `cd "$(dirname "$0")/.."` lands there."""
    shutil.copytree(ROOT / "scripts", target / "scripts")
    return target / "scripts"


def tool_env(bin_dir: Path, **extra: str) -> dict:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "AWS_", "PULUMI_"))
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def oci_layout(path: Path, manifests: list[bytes], blobs: list[bytes]) -> str:
    """An OCI layout tar whose index.json lists `manifests`; every manifest and blob is stored by digest."""
    entries = []
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode()}
    for manifest in manifests:
        digest = hashlib.sha256(manifest).hexdigest()
        media_type = json.loads(manifest).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
        entries.append({"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(manifest)})
        files[f"blobs/sha256/{digest}"] = manifest
    for blob in blobs:
        files[f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"] = blob
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": entries}).encode()
    with tarfile.open(path, "w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return str(path)
