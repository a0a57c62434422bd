"""scripts/bench_check.py reads the slowest tests from pytest's own --durations report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts.bench_check import slowest


def test_the_slowest_tests_are_read_from_a_real_durations_report(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import time\n\n"
        "def test_slow():\n    time.sleep(0.05)\n\n"
        "def test_slower():\n    time.sleep(0.1)\n\n"
        "def test_quick():\n    pass\n",
        encoding="utf-8",
    )
    report = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--durations=2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = slowest(report, count=2)
    assert [test for _, phase, test in rows if phase == "call"] == [
        "test_sample.py::test_slower",
        "test_sample.py::test_slow",
    ], report
