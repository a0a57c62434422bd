"""Where `make check`'s time goes: the wall time of each of its stages and the five slowest tests, measured in
one run on this machine (run it from the repository root, after a first `make install`).

    python3 -m scripts.bench_check [--proof-baseline]

The stages are the ones `make check` runs, each timed on its own: `make preflight`, `make install` (up to
date: the check of the markers), `make docs`, `make lint`, then `make test` and the function's own checks as
`make check` runs them (side by side, `--jobs 2`). pytest's `--durations=5` names the slowest tests.

`--proof-baseline` also times the platform's suite once more with the contract proof's copy of the suite
(tests/contract) run on one core, as it was before it ran on every core, and prints the ratio of the two wall
times: the figure behind "the proof runs in parallel with the rest". Exit status: 1 when a stage fails.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLOWEST = 5
# pytest's --durations report: "12.34s call     tests/x.py::test_y"
DURATION = re.compile(r"^\s*(\d+\.\d+)s (call|setup|teardown)\s+(\S+)", re.MULTILINE)
# the knob of tests/contract/test_platform_without_example.py: pytest-xdist workers of the copy's suite
PROOF_WORKERS = "CONTRACT_PROOF_WORKERS"


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    output: str
    status: int


def timed(name: str, command: list[str], env: dict[str, str] | None = None) -> Stage:
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - make, with this script's own arguments
        command, cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )
    return Stage(name, time.monotonic() - started, result.stdout + result.stderr, result.returncode)


def make(*targets: str) -> list[str]:
    return ["make", "--no-print-directory", *targets]  # noqa: S607 - the make on PATH, as the README runs it


def function_checks() -> list[str]:
    """The targets function/function.mk adds to FUNCTION_CHECKS (none without that file)."""
    result = subprocess.run(  # noqa: S603
        [*make("--eval", "print-checks: ; @echo $(FUNCTION_CHECKS)"), "print-checks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.split()


def slowest(output: str, count: int = SLOWEST) -> list[tuple[float, str, str]]:
    """The `count` slowest test phases pytest's --durations report lists: (seconds, phase, test id)."""
    rows = [(float(seconds), phase, test) for seconds, phase, test in DURATION.findall(output)]
    return sorted(rows, reverse=True)[:count]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--proof-baseline", action="store_true", help="also time the proof on one core")
    args = parser.parse_args(argv)
    env = os.environ | {"PYTEST_ADDOPTS": f"--durations={SLOWEST}"}
    stages = [  # in make check's order
        timed("preflight", make("preflight")),
        timed("install (up to date)", make("install")),
        timed("docs", make("docs")),
        timed("lint", make("lint")),
        timed(
            "test + the function's checks",
            make("--jobs", "2", "--output-sync=target", "test", *function_checks()),
            env,
        ),
    ]
    test = stages[-1]
    total = sum(stage.seconds for stage in stages)
    if args.proof_baseline:
        stages.append(timed("test, proof on one core", make("test"), env | {PROOF_WORKERS: "0"}))
    print(f"{'stage':<34} {'wall s':>8}")
    for stage in stages:
        print(f"{stage.name:<34} {stage.seconds:>8.1f}{'' if stage.status == 0 else '  FAILED'}")
    print(f"{'make check (the stages above)':<34} {total:>8.1f}")
    if args.proof_baseline:
        ratio = test.seconds / stages[-1].seconds
        print(f"test stage, proof on every core / on one core: {ratio:.2f}")
    print(f"\nthe {SLOWEST} slowest tests (make test):")
    for seconds, phase, test_id in slowest(test.output):
        print(f"  {seconds:>7.1f} s  {phase:<8} {test_id}")
    failed = [stage for stage in stages if stage.status != 0]
    for stage in failed:
        print(f"\n--- {stage.name} failed ---\n{stage.output[-3000:]}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
