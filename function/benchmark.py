#!/usr/bin/env python3
"""Benchmark the example function against the handlers a user would write instead, in one run.

    python function/benchmark.py [--runs 11] [--iterations 2000] [--python PATH] [--skip-size] [--json FILE]
    (what `make bench` runs)

Every number comes from this one run, on one interpreter: Python 3.13 (what the image runs) when the
machine has it, else this Python; the report says which. The handlers run in an environment of their own,
.venv-bench/ (function/requirements-bench.txt), built on first use: onnx and onnxruntime need a protobuf the
Pulumi SDK does not allow.

Handlers, each answering POST /predict with the same JSON as the function:
  ours        function/app.py: Powertools resolver and Logger, the forest as generated code (model.py)
  naive       scikit-learn, joblib and pandas imported at init, the same forest loaded with joblib,
              `predict` + `predict_proba` on a NumPy array, behind the same Powertools setup
  onnx-bare   the same forest converted with skl2onnx, run by onnxruntime (one thread, as on a Lambda of at
              most 1,769 MB, which has one vCPU), a bare handler without Powertools
  onnx-pt     the same ONNX session behind the same Powertools setup as ours
  floor       the function's imports and Powertools setup with one GET route and no model: the framework floor

Measured:
(a) cold init: a fresh interpreter imports the handler module (with its model); median of --runs, handlers
    interleaved, after one untimed import each (bytecode written, as the image ships it). What the function
    adds to the framework floor is also timed with the Powertools modules imported beforehand, in both: a
    full import varies by more than a millisecond from one interpreter to the next;
(b) warm latency through `handler` with payload v2 events of 1 and 100 rows: p50 and p99;
(c) pure inference per row, no HTTP layer: the generated forest, onnxruntime, scikit-learn, at 1 and 100 rows;
(d) what each Powertools piece costs per request: a bare handler, + the resolver, + the Logger's
    inject_lambda_context, + set_correlation_id, + one logger.info per request (GET route, no model);
(e) installed size of the runtime dependencies (pip install --target, CPython 3.13 manylinux x86_64, no
    bytecode). Needs the package index unless --wheels names a directory that already holds the wheels.

Prints the numbers, the ratios and the targets (see docs/function.md); exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import ast
import copy
import glob
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FUNCTION_DIR = Path(__file__).resolve().parent
ROOT = FUNCTION_DIR.parent
EVENTS_DIR = FUNCTION_DIR / "events"
BENCH_VENV = ROOT / ".venv-bench"
BENCH_REQUIREMENTS = FUNCTION_DIR / "requirements-bench.txt"
HEAVY_MODULES = ("numpy", "scipy", "sklearn", "pandas", "joblib", "onnxruntime")
HANDLERS = ("ours", "naive", "onnx-bare", "onnx-pt")
# imported before the timed import when measuring what the function adds to the floor
FRAMEWORK = "aws_lambda_powertools.event_handler,aws_lambda_powertools.logging"
PIECES = ("pt_bare", "pt_resolver", "pt_inject", "pt_correlation", "pt_info")
PIECE_LABELS = {
    "pt_bare": "bare handler (no Powertools)",
    "pt_resolver": "+ APIGatewayHttpResolver",
    "pt_inject": "+ Logger.inject_lambda_context",
    "pt_correlation": "+ Logger.set_correlation_id",
    "pt_info": "+ one logger.info per request",
}
SIZE_PLATFORM = ["--python-version", "3.13", "--implementation", "cp", "--only-binary=:all:"] + [
    arg
    for tag in ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
    for arg in ("--platform", tag)
]
# Timed in a fresh interpreter: nothing but sys and time is imported before the handler module.
COLD_CODE = """
import sys, time
sys.path.insert(0, sys.argv[1])
for name in filter(None, sys.argv[3].split(",")):
    __import__(name)
start = time.perf_counter()
__import__(sys.argv[2])
elapsed = time.perf_counter() - start
print(repr((elapsed * 1000.0, [name for name in {heavy!r} if name in sys.modules])))
"""

POWERTOOLS_SETUP = """
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import Logger

logger = Logger(service="bench")
app = APIGatewayHttpResolver()
"""

RESPONSE_CODE = """
def predictions(labels, proba):
    return [
        {{"classIndex": int(label), "label": CLASSES[int(label)],
          "probabilities": dict(zip(CLASSES, row))}}
        for label, row in zip(labels.tolist(), proba.tolist())
    ]
"""

NAIVE_MODULE = (
    '''"""The naive way: scikit-learn, joblib, pandas at init; joblib-loaded forest; Powertools."""
import json
import os

import joblib
import numpy as np
import pandas as pd  # noqa: F401 - imported at init, as the naive handler does
from sklearn.ensemble import RandomForestClassifier  # noqa: F401
'''
    + POWERTOOLS_SETUP
    + """
MODEL = joblib.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.joblib"))
CLASSES = {classes!r}
"""
    + RESPONSE_CODE
    + """

@app.post("/predict")
def predict():
    body = json.loads(app.current_event.decoded_body)
    rows = body["instances"] if "instances" in body else [body["features"]]
    x = np.array(rows, dtype=float).reshape(len(rows), -1)
    return {{"modelVersion": "naive", "predictions": predictions(MODEL.predict(x), MODEL.predict_proba(x))}}


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)
"""
)

ONNX_SESSION = """
import base64
import json
import os

import numpy as np
import onnxruntime

_options = onnxruntime.SessionOptions()
_options.intra_op_num_threads = 1
_options.inter_op_num_threads = 1
SESSION = onnxruntime.InferenceSession(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.onnx"), _options,
    providers=["CPUExecutionProvider"],
)
CLASSES = {classes!r}
"""

ONNX_BARE_MODULE = (
    '"""skl2onnx + onnxruntime, a bare handler."""'
    + ONNX_SESSION
    + RESPONSE_CODE
    + """

def handler(event, context):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body)
    payload = json.loads(body)
    rows = payload["instances"] if "instances" in payload else [payload["features"]]
    labels, proba = SESSION.run(None, {{"X": np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)}})
    answer = {{"modelVersion": "onnx", "predictions": predictions(labels, proba)}}
    return {{"statusCode": 200, "headers": {{"Content-Type": "application/json"}},
            "body": json.dumps(answer, separators=(",", ":")), "isBase64Encoded": False}}
"""
)

ONNX_POWERTOOLS_MODULE = (
    '"""skl2onnx + onnxruntime behind the same Powertools setup as the function."""'
    + ONNX_SESSION
    + POWERTOOLS_SETUP
    + RESPONSE_CODE
    + """

@app.post("/predict")
def predict():
    payload = app.current_event.json_body
    rows = payload["instances"] if "instances" in payload else [payload["features"]]
    labels, proba = SESSION.run(None, {{"X": np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)}})
    return {{"modelVersion": "onnx", "predictions": predictions(labels, proba)}}


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)
"""
)

# (d): one GET route, each module one piece more than the previous
PIECE_MODULES = {
    "pt_bare": """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"status": "ok"}), "isBase64Encoded": False}
""",
    "pt_resolver": POWERTOOLS_SETUP
    + """
@app.get("/health")
def health():
    return {"status": "ok"}

def handler(event, context):
    return app.resolve(event, context)
""",
    "pt_inject": POWERTOOLS_SETUP
    + """
@app.get("/health")
def health():
    return {"status": "ok"}

@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)
""",
    "pt_correlation": POWERTOOLS_SETUP
    + """
@app.get("/health")
def health():
    return {"status": "ok"}

@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    logger.set_correlation_id(event["requestContext"]["requestId"])
    return app.resolve(event, context)
""",
    "pt_info": POWERTOOLS_SETUP
    + """
@app.get("/health")
def health():
    logger.info("served")
    return {"status": "ok"}

@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    logger.set_correlation_id(event["requestContext"]["requestId"])
    return app.resolve(event, context)
""",
}

FLOOR_SETUP = """
logger = Logger(service="bench")
app = APIGatewayHttpResolver()


@app.get("/health")
def health():
    return {"status": "ok"}


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)
"""


class BenchError(Exception):
    """The benchmark could not be set up or run."""


# --- the environment ----------------------------------------------------------------------------------------


def find_python(explicit: str | None) -> str:
    """Python 3.13 if the machine has one (PATH, then pyenv's versions), else this interpreter."""
    candidates = [explicit] if explicit else []
    candidates += [shutil.which("python3.13") or ""]
    candidates += sorted(
        glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")), reverse=True
    )
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run(  # noqa: S603 - a Python interpreter found on this machine
                [candidate, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError:
            probe = None
        if probe is not None and probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
        if explicit:
            raise BenchError(f"--python {explicit} does not run Python >= 3.11")
    return sys.executable


def requirement_lines(path: Path) -> list[str]:
    """The pins of a requirements file, following -r includes."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            lines += requirement_lines(path.parent / line[3:].strip())
        elif line:
            lines.append(line)
    return lines


def bench_python(base: str) -> str:
    """.venv-bench/'s interpreter, (re)built from `base` when the requirements or the base changed."""
    stamp = hashlib.sha256(json.dumps([base, requirement_lines(BENCH_REQUIREMENTS)]).encode()).hexdigest()
    marker = BENCH_VENV / ".installed"
    python = BENCH_VENV / "bin" / "python"
    if marker.is_file() and marker.read_text(encoding="utf-8") == stamp and python.exists():
        return str(python)
    print(f"building {BENCH_VENV.name}/ with {base} (once) ...", file=sys.stderr)
    shutil.rmtree(BENCH_VENV, ignore_errors=True)
    created = subprocess.run(  # noqa: S603 - the chosen interpreter's venv module
        [base, "-m", "venv", str(BENCH_VENV)], capture_output=True, text=True, check=False
    )
    if created.returncode != 0:
        raise BenchError(f"creating {BENCH_VENV} failed:\n{created.stderr[-2000:]}")
    installed = subprocess.run(  # noqa: S603 - pip of the venv just made
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--requirement",
            str(BENCH_REQUIREMENTS),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if installed.returncode != 0:
        raise BenchError(f"installing {BENCH_REQUIREMENTS.name} failed:\n{installed.stderr[-2000:]}")
    marker.write_text(stamp, encoding="utf-8")
    return str(python)


def run_python(python: str, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603 - the bench interpreter running this script
        [python, *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=tempfile.gettempdir(),
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"{' '.join(args[:3])} failed:\n{result.stderr[-3000:]}")
    return result


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "PYTHON"))}
    env["POWERTOOLS_SERVICE_NAME"] = "bench"
    return env


# --- the handlers -------------------------------------------------------------------------------------------


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


def build(work: Path) -> None:
    """In the bench environment: train the forest, save it with joblib and as ONNX, write the modules."""
    import joblib
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    sys.path.insert(0, str(FUNCTION_DIR))
    import train

    forest, facts = train.train()
    classes = facts["classes"]
    naive, onnx, pieces = work / "naive", work / "onnx", work / "pieces"
    for directory in (naive, onnx, pieces, work / "floor"):
        directory.mkdir()
    joblib.dump(forest, naive / "model.joblib")
    (naive / "naive_app.py").write_text(NAIVE_MODULE.format(classes=classes), encoding="utf-8")
    converted = convert_sklearn(
        forest,
        initial_types=[("X", FloatTensorType([None, len(facts["featureNames"])]))],
        options={id(forest): {"zipmap": False}},
    )
    (onnx / "model.onnx").write_bytes(converted.SerializeToString())
    (onnx / "onnx_bare_app.py").write_text(ONNX_BARE_MODULE.format(classes=classes), encoding="utf-8")
    (onnx / "onnx_pt_app.py").write_text(ONNX_POWERTOOLS_MODULE.format(classes=classes), encoding="utf-8")
    for name, source in PIECE_MODULES.items():
        (pieces / f"{name}.py").write_text(source, encoding="utf-8")
    (work / "floor" / "floor_app.py").write_text(floor_module(), encoding="utf-8")


def modules(work: Path) -> dict[str, tuple[Path, str]]:
    """Directory and module name of every handler the benchmark imports."""
    return {
        "ours": (FUNCTION_DIR, "app"),
        "naive": (work / "naive", "naive_app"),
        "onnx-bare": (work / "onnx", "onnx_bare_app"),
        "onnx-pt": (work / "onnx", "onnx_pt_app"),
        "floor": (work / "floor", "floor_app"),
        **{name: (work / "pieces", name) for name in PIECES},
    }


def events(work: Path) -> dict[str, Path]:
    """The 1-row sample event, a 100-row event of the same shape (fixed seed) and a GET event."""
    one = json.loads((EVENTS_DIR / "predict-one.json").read_text(encoding="utf-8"))
    rng = random.Random(7)  # noqa: S311 - benchmark inputs, not secrets
    spans = ((4.3, 7.9), (2.0, 4.4), (1.0, 6.9), (0.1, 2.5))
    rows = [[round(rng.uniform(low, high), 1) for low, high in spans] for _ in range(100)]
    hundred = copy.deepcopy(one)
    hundred["body"] = json.dumps({"instances": rows})
    hundred["headers"]["content-length"] = str(len(hundred["body"]))
    health = json.loads((EVENTS_DIR / "health.json").read_text(encoding="utf-8"))
    paths = {"1 row": work / "one.json", "100 rows": work / "hundred.json", "GET": work / "get.json"}
    for label, event in (("1 row", one), ("100 rows", hundred), ("GET", health)):
        paths[label].write_text(json.dumps(event), encoding="utf-8")
    return paths


# --- measurements -------------------------------------------------------------------------------------------


def measure_cold(
    python: str, handlers: dict[str, tuple[Path, str, str]], runs: int
) -> dict[str, dict[str, Any]]:
    """Median import time of each (directory, module, modules imported before timing)."""

    def once(directory: Path, module: str, before: str) -> tuple[float, list[str]]:
        code = COLD_CODE.format(heavy=HEAVY_MODULES)
        result = run_python(python, "-c", code, str(directory), module, before)
        return ast.literal_eval(result.stdout.strip().splitlines()[-1])

    heavy = {name: once(*where)[1] for name, where in handlers.items()}  # untimed: writes bytecode
    samples: dict[str, list[float]] = {name: [] for name in handlers}
    for _ in range(runs):
        for name, where in handlers.items():
            samples[name].append(once(*where)[0])
    return {
        name: {"median_ms": statistics.median(values), "min_ms": min(values), "heavy_modules": heavy[name]}
        for name, values in samples.items()
    }


def measure_warm(
    python: str, directory: Path, module: str, event_files: dict[str, Path], iterations: int
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        run_python(
            python,
            __file__,
            "--warm-worker",
            str(directory),
            module,
            out.name,
            str(iterations),
            *[f"{label}={path}" for label, path in event_files.items()],
        )
        return json.loads(Path(out.name).read_text(encoding="utf-8"))


def percentiles(timings_ns: list[int]) -> dict[str, float]:
    timings = sorted(timings_ns)
    return {
        "p50_ms": statistics.median(timings) / 1e6,
        "p99_ms": timings[max(0, math.ceil(0.99 * len(timings)) - 1)] / 1e6,
    }


def warm_worker(directory: str, module: str, out: str, iterations: int, event_args: list[str]) -> None:
    """Runs in the bench interpreter (stdout and logs discarded)."""
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
        body = json.loads(response["body"])
        labels = [row["label"] for row in body.get("predictions", [])]
        report[label] = {**percentiles(timings), "iterations": iterations, "labels": labels}
    Path(out).write_text(json.dumps(report), encoding="utf-8")


def pure_worker(work: str, out: str, iterations: int, hundred_path: str) -> None:
    """Inference alone, per row, at 1 and 100 rows: the generated forest, onnxruntime, scikit-learn."""
    import struct

    import joblib
    import numpy as np
    import onnxruntime

    sys.path.insert(0, str(FUNCTION_DIR))
    import model

    rows = json.loads(json.loads(Path(hundred_path).read_text(encoding="utf-8"))["body"])["instances"]
    packer = struct.Struct(f"<{model.N_FEATURES}f")
    pack, unpack, predict_proba = packer.pack, packer.unpack, model.predict_proba

    def ours(batch):
        return [predict_proba(*unpack(pack(*row))) for row in batch]

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(Path(work) / "onnx" / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )
    forest = joblib.load(Path(work) / "naive" / "model.joblib")

    def onnx(batch):
        return session.run(None, {"X": np.asarray(batch, dtype=np.float32)})

    def sklearn(batch):
        x = np.asarray(batch, dtype=float)
        return forest.predict(x), forest.predict_proba(x)

    report: dict[str, Any] = {}
    for name, run, count in (
        ("ours", ours, iterations),
        ("onnx", onnx, iterations),
        ("sklearn", sklearn, 50),
    ):
        for label, batch in (("1 row", rows[:1]), ("100 rows", rows)):
            for _ in range(10):
                run(batch)
            timings = []
            for _ in range(max(count // len(batch) * 4, 20)):
                start = time.perf_counter_ns()
                run(batch)
                timings.append(time.perf_counter_ns() - start)
            report.setdefault(name, {})[label] = statistics.median(timings) / 1e3 / len(batch)  # µs per row
    Path(out).write_text(json.dumps(report), encoding="utf-8")


def measure_pure(python: str, work: Path, iterations: int, hundred: Path) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        run_python(python, __file__, "--pure-worker", str(work), out.name, str(iterations), str(hundred))
        return json.loads(Path(out.name).read_text(encoding="utf-8"))


def pip_in(python: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - pip of the bench interpreter
        [python, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def installed_size(python: str, requirements: list[str], target: Path, wheels: Path) -> int:
    """Bytes on disk after `pip install --target` (no bytecode), from the wheels directory if it can."""
    common = ["install", "--no-compile", "--target", str(target), *SIZE_PLATFORM]
    offline = pip_in(python, *common, "--no-index", "--find-links", str(wheels), *requirements)
    if offline.returncode != 0:
        download = pip_in(python, "download", "--dest", str(wheels), *SIZE_PLATFORM, *requirements)
        if download.returncode != 0:
            raise BenchError(f"pip download {' '.join(requirements)} failed:\n{download.stderr[-2000:]}")
        offline = pip_in(python, *common, "--no-index", "--find-links", str(wheels), *requirements)
        if offline.returncode != 0:
            raise BenchError(f"pip install {' '.join(requirements)} failed:\n{offline.stderr[-2000:]}")
    return sum(path.stat().st_size for path in target.rglob("*") if path.is_file() and not path.is_symlink())


def size_requirements() -> dict[str, list[str]]:
    """The runtime requirements of each handler, pinned as in function/requirements-bench.txt."""
    pins = {line.partition("==")[0].lower(): line for line in requirement_lines(BENCH_REQUIREMENTS)}
    powertools = pins["aws-lambda-powertools"]
    onnx = [pins["onnxruntime"], pins["numpy"]]
    return {
        "ours": [powertools],
        "naive": [pins[name] for name in ("scikit-learn", "numpy", "scipy", "joblib", "pandas")]
        + [powertools],
        "onnx-bare": onnx,
        "onnx-pt": onnx + [powertools],
    }


def measure_size(python: str, work: Path, wheels: Path) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "bytes": installed_size(python, requirements, work / f"deps-{name}", wheels),
            "requirements": requirements,
        }
        for name, requirements in size_requirements().items()
    }


# --- the report ---------------------------------------------------------------------------------------------


def check(label: str, ok: bool, detail: str) -> bool:
    print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {detail}")
    return ok


def report(python_version: str, cold: dict, warm: dict, pure: dict, size: dict | None) -> bool:
    print(f"\nhandlers on Python {python_version}")
    print(f"{'':10} {'cold init':>10} {'1 row p50':>10} {'p99':>9} {'100 p50':>9} {'p99':>9} {'deps':>9}")
    for name in HANDLERS:
        one, hundred = warm[name]["1 row"], warm[name]["100 rows"]
        deps = f"{size[name]['bytes'] / 1e6:7.1f}MB" if size else "       -"
        print(
            f"{name:10} {cold[name]['median_ms']:8.1f}ms {one['p50_ms'] * 1e3:8.1f}us"
            f" {one['p99_ms'] * 1e3:7.1f}us {hundred['p50_ms'] * 1e3:7.0f}us"
            f" {hundred['p99_ms'] * 1e3:7.0f}us {deps}"
        )
    print(
        f"{'floor':10} {cold['floor']['median_ms']:8.1f}ms   (the function's imports and Powertools setup, "
        "no model)"
    )
    print("\npure inference per row (no HTTP layer)")
    for name in ("ours", "onnx", "sklearn"):
        print(
            f"  {name:8} 1 row {pure[name]['1 row']:9.2f} us   100 rows {pure[name]['100 rows']:9.2f} us/row"
        )
    print("\nPowertools pieces, GET route, warm p50 per request")
    previous = None
    for name in PIECES:
        p50 = warm[name]["GET"]["p50_ms"] * 1e3
        step = "" if previous is None else f"   ({p50 - previous:+.1f} us)"
        print(f"  {PIECE_LABELS[name]:36} {p50:8.1f} us{step}")
        previous = p50
    if size:
        print("\nruntime dependencies (pip install --target, CPython 3.13 manylinux x86_64, no .pyc)")
        for name in HANDLERS:
            print(f"  {name:10} {size[name]['bytes'] / 1e6:7.1f} MB   {' '.join(size[name]['requirements'])}")

    p50 = {name: {label: warm[name][label]["p50_ms"] for label in ("1 row", "100 rows")} for name in HANDLERS}
    ours_cold, floor_cold = cold["ours+"]["median_ms"], cold["floor+"]["median_ms"]
    print("\nratios and targets (this run)")
    results = [
        check(
            "warm p50, 100 rows: >= 8x faster than naive",
            p50["naive"]["100 rows"] >= 8 * p50["ours"]["100 rows"],
            f"{p50['naive']['100 rows'] / p50['ours']['100 rows']:.1f}x",
        ),
        check(
            "warm p50, 1 row: >= 80x faster than naive",
            p50["naive"]["1 row"] >= 80 * p50["ours"]["1 row"],
            f"{p50['naive']['1 row'] / p50['ours']['1 row']:.1f}x",
        ),
        check(
            "warm p50, 100 rows: <= 3x the bare ONNX handler",
            p50["ours"]["100 rows"] <= 3 * p50["onnx-bare"]["100 rows"],
            f"{p50['ours']['100 rows'] / p50['onnx-bare']['100 rows']:.2f}x",
        ),
        check(
            "pure inference, 1 row: faster than onnxruntime",
            pure["ours"]["1 row"] < pure["onnx"]["1 row"],
            f"{pure['ours']['1 row']:.2f} us vs {pure['onnx']['1 row']:.2f} us "
            f"({pure['onnx']['1 row'] / pure['ours']['1 row']:.1f}x)",
        ),
        check(
            "cold init: <= 1 ms above the framework floor (Powertools imported first in both)",
            ours_cold - floor_cold <= 1.0,
            f"{ours_cold:.2f} - {floor_cold:.2f} = {ours_cold - floor_cold:+.2f} ms "
            f"(full imports: {cold['ours']['median_ms']:.1f} - {cold['floor']['median_ms']:.1f} ms)",
        ),
        check(
            "ours imports none of " + ", ".join(HEAVY_MODULES), not cold["ours"]["heavy_modules"], "checked"
        ),
        check(
            "same labels as the naive scikit-learn handler on both events",
            all(warm["ours"][k]["labels"] == warm["naive"][k]["labels"] for k in ("1 row", "100 rows")),
            "checked",
        ),
    ]
    ratio_pt = p50["ours"]["100 rows"] / p50["onnx-pt"]["100 rows"]
    print(
        f"  [info] warm p50, 100 rows: ours / ONNX behind Powertools = {ratio_pt:.2f}x; "
        f"1 row: ours / bare ONNX = {p50['ours']['1 row'] / p50['onnx-bare']['1 row']:.2f}x"
    )
    differ = sum(
        a != b
        for a, b in zip(
            warm["ours"]["100 rows"]["labels"], warm["onnx-bare"]["100 rows"]["labels"], strict=True
        )
    )
    print(f"  [info] labels differing from ONNX Runtime's (float32 probabilities) on the 100 rows: {differ}")
    return all(results)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--build"]:
        build(Path(argv[1]))
        return 0
    if argv[:1] == ["--warm-worker"]:
        directory, module, out, iterations, *event_args = argv[1:]
        warm_worker(directory, module, out, int(iterations), event_args)
        return 0
    if argv[:1] == ["--pure-worker"]:
        pure_worker(argv[1], argv[2], int(argv[3]), argv[4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="cold-init runs per handler (>= 7)")
    parser.add_argument("--iterations", type=int, default=2000, help="warm calls per event (naive: 1/8)")
    parser.add_argument("--python", help="interpreter to build .venv-bench/ from (default: 3.13 if found)")
    parser.add_argument("--wheels", type=Path, help="reusable wheel directory for (e) (filled on first use)")
    parser.add_argument("--skip-size", action="store_true", help="skip (e), which needs the package index")
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    args = parser.parse_args(argv)
    if args.runs < 7:
        parser.error("--runs must be at least 7")
    try:
        python = bench_python(find_python(args.python))
        version = run_python(python, "-c", "import sys; print(sys.version.split()[0])").stdout.strip()
        print(f"benchmark on {sys.platform}, {os.cpu_count()} CPUs, handlers on Python {version}")
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            work = Path(tmp)
            run_python(python, __file__, "--build", str(work))
            handlers = modules(work)
            cold = measure_cold(
                python,
                {
                    **{name: (*handlers[name], "") for name in (*HANDLERS, "floor")},
                    **{f"{name}+": (*handlers[name], FRAMEWORK) for name in ("ours", "floor")},
                },
                args.runs,
            )
            files = events(work)
            predict_events = {k: files[k] for k in ("1 row", "100 rows")}
            warm = {
                name: measure_warm(
                    python, *handlers[name], predict_events, args.iterations // (8 if name == "naive" else 1)
                )
                for name in HANDLERS
            }
            for name in PIECES:
                warm[name] = measure_warm(python, *handlers[name], {"GET": files["GET"]}, args.iterations * 2)
            pure = measure_pure(python, work, args.iterations, files["100 rows"])
            size = None
            if not args.skip_size:
                wheels = args.wheels or work / "wheels"
                wheels.mkdir(parents=True, exist_ok=True)
                size = measure_size(python, work, wheels)
    except BenchError as exc:
        print(f"benchmark: {exc}", file=sys.stderr)
        return 2
    ok = report(version, cold, warm, pure, size)
    if args.json:
        args.json.write_text(
            json.dumps({"python": version, "cold": cold, "warm": warm, "pure": pure, "size": size}, indent=2)
            + "\n"
        )
    print("\nall targets met" if ok else "\nsome targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
