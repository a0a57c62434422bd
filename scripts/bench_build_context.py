#!/usr/bin/env python3
"""Benchmark the content-tag hash (infra/build_context.py) against an earlier version of it, in one run.

The context is a copy of function/ plus what makes hashing slow or heavy: an ignored virtual environment of
--venv-files small files, and an included file of --large-mb megabytes. Each implementation hashes it
--repeat times; the best wall time and the Python peak memory (tracemalloc) are printed with the ratio
current / baseline. The baseline is infra/build_context.py as of the git revision --baseline.

usage: bench_build_context.py [--baseline REV] [--venv-files N] [--large-mb N] [--repeat N]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load(name: str, source: str, directory: Path) -> ModuleType:
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def make_context(directory: Path, venv_files: int, large_mb: int) -> Path:
    context = directory / "function"
    shutil.copytree(ROOT / "function", context, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    for index in range(venv_files):
        package = context / ".venv" / "lib" / f"pkg{index // 100}"
        package.mkdir(parents=True, exist_ok=True)
        (package / f"module{index}.py").write_text("x = 1\n")
    with (context / "large.bin").open("wb") as handle:
        block = bytes(range(256)) * 4096
        for _ in range(large_mb):
            handle.write(block)
    ignore = context / ".dockerignore"
    ignore.write_text(ignore.read_text() + "\n!large.bin\n")
    return context


def measure(module: ModuleType, context: Path, repeat: int) -> tuple[float, int, str]:
    """(best seconds, peak bytes, tag)."""
    best = float("inf")
    tag = ""
    for _ in range(repeat):
        start = time.perf_counter()
        tag = module.image_tag(context, context / "Dockerfile", "linux/arm64")
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    module.image_tag(context, context / "Dockerfile", "linux/arm64")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak, tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD", help="git revision of the baseline implementation")
    parser.add_argument("--venv-files", type=int, default=15000)
    parser.add_argument("--large-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    baseline_source = subprocess.run(  # noqa: S603 - fixed argv
        ["git", "show", f"{args.baseline}:infra/build_context.py"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        baseline = load("baseline_build_context", baseline_source, directory)
        current = load("current_build_context", (ROOT / "infra" / "build_context.py").read_text(), directory)
        empty = make_context(directory / "small", 0, 0)
        heavy = make_context(directory / "heavy", args.venv_files, args.large_mb)
        print(
            f"context: function/ + an ignored .venv of {args.venv_files} files + an included "
            f"{args.large_mb} MB file"
        )
        print(f"{'case':<34}{'baseline':>12}{'current':>12}{'ratio':>8}")
        for label, context in (("function/ alone", empty), ("with .venv and large file", heavy)):
            (b_time, b_peak, _), (c_time, c_peak, _) = (
                measure(m, context, args.repeat) for m in (baseline, current)
            )
            print(f"{label + ' (s)':<34}{b_time:>12.3f}{c_time:>12.3f}{c_time / b_time:>8.2f}")
            print(
                f"{label + ' (peak MB)':<34}{b_peak / 1e6:>12.1f}{c_peak / 1e6:>12.1f}"
                f"{c_peak / max(b_peak, 1):>8.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
