#!/usr/bin/env python3
"""Benchmark the function against the naive way of serving the same forest, on this machine, in one run.

    scripts/benchmark.py [--runs 11] [--iterations 2000] [--baseline-iterations 300] [--wheels DIR]

Three handler modules, each with Powertools' APIGatewayHttpResolver and Logger behind `handler`:
  ours      function/app.py: the JSON forest, plain-Python inference
  floor     the same imports and Powertools setup as function/app.py, no model (the framework floor)
  baseline  scikit-learn, joblib and pandas imported at init, the same forest loaded with joblib,
            `predict` + `predict_proba` on a NumPy array (the seed's way); built in a temporary directory

(a) cold init: a fresh interpreter per run imports the handler module (with its model); median of --runs,
    variants interleaved, after one untimed run each so every variant starts from compiled bytecode;
    one-import probes (PROBES) show where the framework floor's time goes;
(b) warm latency through `handler` with real payload v2 events, 1 row and 100 rows: p50 and p99;
(c) installed size of the runtime dependencies for the Lambda image (CPython 3.13, manylinux x86_64),
    `pip install --target` into empty directories: function/requirements.txt vs the baseline's
    scikit-learn + joblib + pandas + NumPy + Powertools. Needs the package index unless --wheels names a
    directory that already holds the wheels (it is filled on first use, so later runs work offline).

Prints the numbers, the ratios and the targets; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.metadata
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "function"
EVENTS_DIR = FUNCTION_DIR / "events"
HEAVY_MODULES = ("numpy", "scipy", "sklearn", "pandas", "joblib")
TARGET_PLATFORM = ["--python-version", "3.13", "--implementation", "cp", "--only-binary=:all:"] + [
    arg
    for tag in ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
    for arg in ("--platform", tag)
]
# Timed in a fresh interpreter: nothing but sys and time is imported before the handler module.
COLD_CODE = """
import sys, time
sys.path.insert(0, sys.argv[1])
start = time.perf_counter()
__import__(sys.argv[2])
elapsed = time.perf_counter() - start
heavy = [name for name in {heavy!r} if name in sys.modules]
print(repr((elapsed * 1000.0, heavy)))
"""

BASELINE_MODULE = '''"""The naive way: scikit-learn, joblib, pandas at init; joblib-loaded forest."""
import json
import os

import joblib
import numpy as np
import pandas as pd  # noqa: F401 - imported at init, as the naive handler does
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import Logger
from sklearn.ensemble import RandomForestClassifier  # noqa: F401

MODEL = joblib.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.joblib"))
CLASSES = {classes!r}
logger = Logger(service="container-lambda")
app = APIGatewayHttpResolver()


@app.post("/predict")
def predict():
    body = json.loads(app.current_event.decoded_body)
    rows = body["instances"] if "instances" in body else [body["features"]]
    x = np.array(rows, dtype=float).reshape(len(rows), -1)
    labels = MODEL.predict(x)
    proba = MODEL.predict_proba(x)
    logger.info("predicted", extra={{"rows": len(rows)}})
    return {{
        "predictions": [
            {{"classIndex": int(label), "label": CLASSES[int(label)],
              "probabilities": dict(zip(CLASSES, map(float, row)))}}
            for label, row in zip(labels, proba)
        ]
    }}


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)
'''

FLOOR_SETUP = """
logger = Logger(service="container-lambda")
app = APIGatewayHttpResolver()


@app.get("/health")
def health():
    return {"status": "ok"}


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)
"""


# Where the framework floor's time goes: each probe is one import, timed like the handlers.
PROBES = {
    "probe_package": "import aws_lambda_powertools\n",
    "probe_logging": "import aws_lambda_powertools.logging\n",
    "probe_event_handler": "import aws_lambda_powertools.event_handler\n",
}


class BenchError(Exception):
    """The benchmark could not be set up or run."""


def floor_module() -> str:
    """function/app.py's own import statements (minus the model), then the same Powertools setup."""
    tree = ast.parse((FUNCTION_DIR / "app.py").read_text(encoding="utf-8"))
    imports = [
        ast.unparse(node)
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.Import) and [alias.name for alias in node.names] == ["model"])
    ]
    if not any("aws_lambda_powertools" in line for line in imports):
        raise BenchError("function/app.py no longer imports Powertools at module level; update the floor")
    return (
        '"""Framework floor: the handler\'s imports and setup, no model."""\n'
        + "\n".join(imports)
        + FLOOR_SETUP
    )


def build_variants(work: Path) -> dict[str, tuple[Path, str]]:
    """Directory and module name of each handler variant; the baseline's forest is trained here."""
    import joblib

    sys.path.insert(0, str(FUNCTION_DIR))
    import train

    floor_dir = work / "floor"
    floor_dir.mkdir()
    (floor_dir / "floor_app.py").write_text(floor_module(), encoding="utf-8")
    baseline_dir = work / "baseline"
    baseline_dir.mkdir()
    forest, facts = train.train()
    joblib.dump(forest, baseline_dir / "model.joblib")
    (baseline_dir / "naive_app.py").write_text(
        BASELINE_MODULE.format(classes=facts["classes"]), encoding="utf-8"
    )
    return {
        "ours": (FUNCTION_DIR, "app"),
        "floor": (floor_dir, "floor_app"),
        "baseline": (baseline_dir, "naive_app"),
    }


def build_probes(work: Path) -> dict[str, tuple[Path, str]]:
    probe_dir = work / "probes"
    probe_dir.mkdir()
    for module, source in PROBES.items():
        (probe_dir / f"{module}.py").write_text(source, encoding="utf-8")
    return {module: (probe_dir, module) for module in PROBES}


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "PYTHON"))}
    env["POWERTOOLS_SERVICE_NAME"] = "container-lambda"
    return env


def cold_once(directory: Path, module: str) -> tuple[float, list[str]]:
    result = subprocess.run(  # noqa: S603 - fixed argv: this interpreter and our own code
        [sys.executable, "-c", COLD_CODE.format(heavy=HEAVY_MODULES), str(directory), module],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=tempfile.gettempdir(),
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"importing {module} failed:\n{result.stderr[-2000:]}")
    elapsed, heavy = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    return elapsed, heavy


def measure_cold(variants: dict[str, tuple[Path, str]], runs: int) -> dict[str, dict[str, Any]]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    heavy: dict[str, list[str]] = {}
    for name, (directory, module) in variants.items():
        heavy[name] = cold_once(directory, module)[1]  # untimed: writes bytecode caches
    for _ in range(runs):
        for name, (directory, module) in variants.items():
            samples[name].append(cold_once(directory, module)[0])
    return {
        name: {"median_ms": statistics.median(values), "min_ms": min(values), "heavy_modules": heavy[name]}
        for name, values in samples.items()
    }


def events(work: Path) -> dict[str, Path]:
    """The 1-row sample event and a 100-row event of the same shape (fixed seed)."""
    one = json.loads((EVENTS_DIR / "predict-one.json").read_text(encoding="utf-8"))
    rng = random.Random(7)  # noqa: S311 - benchmark inputs, not secrets
    rows = [
        [round(rng.uniform(low, high), 1) for low, high in ((4.3, 7.9), (2.0, 4.4), (1.0, 6.9), (0.1, 2.5))]
    ]
    for _ in range(99):
        rows.append(
            [
                round(rng.uniform(low, high), 1)
                for low, high in ((4.3, 7.9), (2.0, 4.4), (1.0, 6.9), (0.1, 2.5))
            ]
        )
    hundred = copy.deepcopy(one)
    hundred["body"] = json.dumps({"instances": rows})
    hundred["headers"]["content-length"] = str(len(hundred["body"]))
    paths = {"1 row": work / "one.json", "100 rows": work / "hundred.json"}
    paths["1 row"].write_text(json.dumps(one), encoding="utf-8")
    paths["100 rows"].write_text(json.dumps(hundred), encoding="utf-8")
    return paths


def measure_warm(
    directory: Path, module: str, event_files: dict[str, Path], iterations: int
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        result = subprocess.run(  # noqa: S603 - fixed argv: this interpreter and this script
            [sys.executable, __file__, "--warm-worker", str(directory), module, out.name, str(iterations)]
            + [f"{label}={path}" for label, path in event_files.items()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            timeout=1800,
            check=False,
        )
        if result.returncode != 0:
            raise BenchError(f"warm latency of {module} failed:\n{result.stderr[-2000:]}")
        return json.loads(Path(out.name).read_text(encoding="utf-8"))


def warm_worker(directory: str, module: str, out: str, iterations: int, event_args: list[str]) -> None:
    """Runs in its own process (stdout discarded: the handlers log every request there)."""
    sys.path.insert(0, str(ROOT))
    from scripts.local import LocalContext

    sys.path.insert(0, directory)
    handler = __import__(module).handler
    report: dict[str, Any] = {}
    for arg in event_args:
        label, _, path = arg.partition("=")
        event = json.loads(Path(path).read_text(encoding="utf-8"))
        context = LocalContext()
        for _ in range(20):
            response = handler(event, context)
        if response["statusCode"] != 200:
            raise BenchError(
                f"{module} answered {response['statusCode']} to the {label} event: {response['body']}"
            )
        timings = []
        for _ in range(iterations):
            start = time.perf_counter_ns()
            handler(event, context)
            timings.append(time.perf_counter_ns() - start)
        timings.sort()
        labels = [row["label"] for row in json.loads(response["body"])["predictions"]]
        report[label] = {
            "p50_ms": statistics.median(timings) / 1e6,
            "p99_ms": timings[max(0, math.ceil(0.99 * len(timings)) - 1)] / 1e6,
            "iterations": iterations,
            "labels": labels,
        }
    Path(out).write_text(json.dumps(report), encoding="utf-8")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, _, version = line.partition("==")
            found[name.strip().lower()] = version.strip()
    return found


def baseline_requirements() -> list[str]:
    dev = pins(ROOT / "requirements-dev.txt")
    runtime = pins(FUNCTION_DIR / "requirements.txt")
    wanted = {
        "scikit-learn": dev["scikit-learn"],
        "joblib": dev["joblib"],
        "pandas": dev["pandas"],
        # NumPy is not pinned directly; use the version the pinned scikit-learn resolved to here
        "numpy": importlib.metadata.version("numpy"),
        "aws-lambda-powertools": runtime["aws-lambda-powertools"],
    }
    return [f"{name}=={version}" for name, version in wanted.items()]


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv: this interpreter's pip
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def installed_size(requirements: list[str], target: Path, wheels: Path) -> int:
    """Bytes on disk after `pip install --target` (no bytecode), from the wheels directory if it can."""
    common = ["install", "--no-compile", "--target", str(target), *TARGET_PLATFORM]
    offline = pip(*common, "--no-index", "--find-links", str(wheels), *requirements)
    if offline.returncode != 0:
        download = pip("download", "--dest", str(wheels), *TARGET_PLATFORM, *requirements)
        if download.returncode != 0:
            raise BenchError(f"pip download {' '.join(requirements)} failed:\n{download.stderr[-2000:]}")
        offline = pip(*common, "--no-index", "--find-links", str(wheels), *requirements)
        if offline.returncode != 0:
            raise BenchError(f"pip install {' '.join(requirements)} failed:\n{offline.stderr[-2000:]}")
    return sum(path.stat().st_size for path in target.rglob("*") if path.is_file() and not path.is_symlink())


def measure_size(work: Path, wheels: Path) -> dict[str, dict[str, Any]]:
    ours = [line for line in pins(FUNCTION_DIR / "requirements.txt").items()]
    ours_requirements = [f"{name}=={version}" for name, version in ours]
    baseline_requirements_ = baseline_requirements()
    return {
        "ours": {
            "bytes": installed_size(ours_requirements, work / "deps-ours", wheels),
            "requirements": ours_requirements,
        },
        "baseline": {
            "bytes": installed_size(baseline_requirements_, work / "deps-baseline", wheels),
            "requirements": baseline_requirements_,
        },
    }


def check(label: str, ok: bool, detail: str) -> bool:
    print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {detail}")
    return ok


def report(cold: dict, warm: dict, size: dict | None) -> bool:
    print("\n(a) cold init: import of the handler module in a fresh interpreter (median, ms)")
    for name in ("ours", "floor", "baseline"):
        entry = cold[name]
        heavy = ", ".join(entry["heavy_modules"]) or "none"
        print(f"  {name:9} {entry['median_ms']:8.1f}   (min {entry['min_ms']:.1f}; heavy modules: {heavy})")
    print("  where the floor's time goes (one import each, same method):")
    for module, source in PROBES.items():
        print(f"    {source.strip():45} {cold[module]['median_ms']:8.1f}")
    print("\n(b) warm latency through handler (ms)")
    for label in ("1 row", "100 rows"):
        for name in ("ours", "baseline"):
            entry = warm[name][label]
            print(f"  {label:8} {name:9} p50 {entry['p50_ms']:8.3f}   p99 {entry['p99_ms']:8.3f}")
    if size is not None:
        print("\n(c) runtime dependencies installed (pip --target; CPython 3.13 manylinux x86_64; no .pyc)")
        for name in ("ours", "baseline"):
            entry = size[name]
            print(f"  {name:9} {entry['bytes'] / 1e6:8.1f} MB   {' '.join(entry['requirements'])}")

    ours_cold, floor_cold, base_cold = (cold[n]["median_ms"] for n in ("ours", "floor", "baseline"))
    ours_p50, base_p50 = warm["ours"]["1 row"]["p50_ms"], warm["baseline"]["1 row"]["p50_ms"]
    print("\nratios and targets")
    results = [
        check(
            "cold init <= 1/6 of the baseline",
            ours_cold * 6 <= base_cold,
            f"{ours_cold:.1f} ms vs {base_cold:.1f} ms = 1/{base_cold / ours_cold:.1f}",
        ),
        check(
            "model adds <= 15 ms over the framework floor",
            ours_cold - floor_cold <= 15.0,
            f"{ours_cold:.1f} - {floor_cold:.1f} = {ours_cold - floor_cold:+.1f} ms",
        ),
        check(
            "warm 1-row p50 <= 1/20 of the baseline",
            ours_p50 * 20 <= base_p50,
            f"{ours_p50:.3f} ms vs {base_p50:.3f} ms = 1/{base_p50 / ours_p50:.0f}",
        ),
        check(
            "runtime imports no NumPy/SciPy/scikit-learn/pandas", not cold["ours"]["heavy_modules"], "checked"
        ),
        check(
            "same labels as the baseline on both events",
            all(warm["ours"][k]["labels"] == warm["baseline"][k]["labels"] for k in ("1 row", "100 rows")),
            "checked",
        ),
    ]
    hundred = warm["baseline"]["100 rows"]["p50_ms"] / warm["ours"]["100 rows"]["p50_ms"]
    print(f"  [info] warm 100-row p50: baseline / ours = {hundred:.1f}x")
    if size is not None:
        ours_b, base_b = size["ours"]["bytes"], size["baseline"]["bytes"]
        results.append(
            check(
                "runtime dependencies <= 1/4 of the baseline's size",
                ours_b * 4 <= base_b,
                f"{ours_b / 1e6:.1f} MB vs {base_b / 1e6:.1f} MB = 1/{base_b / ours_b:.0f}",
            )
        )
    return all(results)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--warm-worker"]:
        directory, module, out, iterations, *event_args = argv[1:]
        warm_worker(directory, module, out, int(iterations), event_args)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="cold-init runs per variant (>= 7)")
    parser.add_argument("--iterations", type=int, default=2000, help="warm calls per event for ours")
    parser.add_argument("--baseline-iterations", type=int, default=300, help="warm calls per event, baseline")
    parser.add_argument("--wheels", type=Path, help="reusable wheel directory (filled on first use)")
    parser.add_argument("--skip-size", action="store_true", help="skip (c), which needs the package index")
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    args = parser.parse_args(argv)
    if args.runs < 7:
        parser.error("--runs must be at least 7")
    print(f"benchmark on {sys.platform}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    try:
        with tempfile.TemporaryDirectory(prefix="container-lambda-bench-") as tmp:
            work = Path(tmp)
            variants = build_variants(work)
            cold = measure_cold({**variants, **build_probes(work)}, args.runs)
            event_files = events(work)
            warm = {
                "ours": measure_warm(*variants["ours"], event_files, args.iterations),
                "baseline": measure_warm(*variants["baseline"], event_files, args.baseline_iterations),
            }
            size = None
            if not args.skip_size:
                wheels = args.wheels or work / "wheels"
                wheels.mkdir(parents=True, exist_ok=True)
                size = measure_size(work, wheels)
    except BenchError as exc:
        print(f"benchmark: {exc}", file=sys.stderr)
        return 2
    ok = report(cold, warm, size)
    if args.json:
        args.json.write_text(json.dumps({"cold": cold, "warm": warm, "size": size}, indent=2) + "\n")
    print("\nall targets met" if ok else "\nsome targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
