"""Static checks of the two Dockerfiles, the build context and the entry script (no Docker here)."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.function.support import EVENTS_DIR, FUNCTION_DIR

DOCKERFILES = ["Dockerfile", "Dockerfile.debian"]
HEAVY = re.compile(r"scikit-learn|sklearn|scipy|pandas|numpy|joblib", re.IGNORECASE)
PINNED_FROM = re.compile(r"^FROM\s+(\S+):(\S+)@sha256:[0-9a-f]{64}(\s+AS\s+\S+)?$", re.IGNORECASE)


def instructions(name: str) -> list[str]:
    """Instructions with continuation lines joined and comments dropped."""
    text = (FUNCTION_DIR / name).read_text(encoding="utf-8")
    text = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def stages(name: str) -> list[list[str]]:
    result: list[list[str]] = []
    for line in instructions(name):
        if line.upper().startswith("FROM "):
            result.append([])
        result[-1].append(line)
    return result


def context_sources(name: str) -> list[str]:
    sources = []
    for line in instructions(name):
        words = line.split()
        if words[0].upper() == "COPY" and not any(w.startswith("--from=") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def requirement_lines(name: str) -> list[str]:
    lines = (FUNCTION_DIR / name).read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def dockerignore_allows(path: str) -> bool:
    allowed = False
    for line in (FUNCTION_DIR / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if fnmatch.fnmatch(path, line.lstrip("!")):
            allowed = negated
    return allowed


@pytest.mark.parametrize("name", DOCKERFILES)
def test_every_base_image_is_pinned_by_tag_and_digest(name):
    froms = [line for line in instructions(name) if line.upper().startswith("FROM ")]
    assert froms
    for line in froms:
        assert PINNED_FROM.match(line), line


def test_aws_image_is_the_lambda_python_313_base():
    assert all(s[0].split()[1].startswith("public.ecr.aws/lambda/python:3.13.") for s in stages("Dockerfile"))


@pytest.mark.parametrize("name", DOCKERFILES)
def test_multi_stage_with_code_in_the_last_layer_and_the_handler_as_cmd(name):
    final = stages(name)[-1]
    assert len(stages(name)) >= 3
    copies = [line for line in final if line.upper().startswith("COPY ")]
    assert "--from=code" in copies[-1]
    assert "--from=deps" in copies[-2]
    assert final[-1] == 'CMD ["app.handler"]'
    assert not any(line.upper().startswith("RUN ") for line in final)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_a_code_change_touches_only_the_code_stage_and_the_last_layer(name):
    """The dependency stage sees only requirement files, and nothing but the code stage copies code."""
    by_stage = {stage[0].split()[-1]: stage for stage in stages(name)[:-1]}
    for stage_name, stage in by_stage.items():
        copied = [w for line in stage if line.upper().startswith("COPY ") for w in line.split()[1:-1]]
        if stage_name == "deps":
            assert copied and all(re.fullmatch(r"requirements(-debian)?\.txt", w) for w in copied), copied
        elif stage_name != "code":
            assert not copied, (stage_name, copied)
    code_files = {s for s in context_sources(name) if s.endswith(".py")}
    assert code_files == {"app.py", "model.py"}
    final_sources = [
        w for line in stages(name)[-1] if line.upper().startswith("COPY ") for w in line.split()[1:-1]
    ]
    assert not code_files & set(final_sources)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_no_scikit_learn_or_numpy_anywhere_in_the_images(name):
    assert not HEAVY.search("\n".join(instructions(name)))
    for requirements in ("requirements.txt", "requirements-debian.txt"):
        assert not any(HEAVY.search(line) for line in requirement_lines(requirements))


def test_runtime_dependencies_pull_in_nothing_heavy():
    """The closure of function/requirements.txt (as installed here, at the pinned versions) stays light."""
    pending = [Requirement(line) for line in requirement_lines("requirements.txt")]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        installed = importlib.metadata.version(name)
        if requirement.specifier:
            assert requirement.specifier.contains(installed, prereleases=True), (name, installed)
        for line in importlib.metadata.requires(name) or []:
            dependency = Requirement(line)
            if dependency.marker is None or dependency.marker.evaluate({"extra": ""}):
                pending.append(dependency)
    assert "aws-lambda-powertools" in seen
    assert not any(HEAVY.search(name) for name in seen), sorted(seen)


@pytest.mark.parametrize("requirements", ["requirements.txt", "requirements-debian.txt"])
def test_runtime_requirements_are_pinned(requirements):
    lines = requirement_lines(requirements)
    assert lines and all(re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.]*", line) for line in lines)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_build_context_holds_what_the_dockerfile_copies_and_nothing_else(name):
    for source in context_sources(name):
        assert (FUNCTION_DIR / source).is_file(), source
        assert dockerignore_allows(source), source
    for excluded in (
        "events/health.json",
        "train.py",
        "compile_model.py",
        "benchmark.py",
        "function.mk",
        "requirements-bench.txt",
        "model.json",
        "__pycache__/app.cpython-313.pyc",
        "tests",
        ".hypothesis/examples/x",
        ".pytest_cache/v/cache/nodeids",
        ".venv/bin/python",
        "model.json.tmp",
    ):
        assert not dockerignore_allows(excluded), excluded


def test_debian_image_runs_the_emulator_entry_script_with_pinned_awslambdaric():
    final = stages("Dockerfile.debian")[-1]
    assert 'ENTRYPOINT ["/bin/sh", "/usr/local/bin/entry.sh"]' in final
    assert any(line.startswith("USER ") and not line.startswith("USER 0") for line in final)
    assert "awslambdaric==" in (FUNCTION_DIR / "requirements-debian.txt").read_text(encoding="utf-8")
    emulator = stages("Dockerfile.debian")[0][0].split()[1]
    assert emulator in {s[0].split()[1] for s in stages("Dockerfile")}


def test_entry_script_chooses_the_emulator_only_without_a_runtime_api():
    text = (FUNCTION_DIR / "entry.sh").read_text(encoding="utf-8")
    assert text.startswith("#!/bin/sh\n")
    assert 'if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]' in text
    assert "exec /usr/local/bin/aws-lambda-rie /usr/local/bin/python -m awslambdaric" in text


def fake_entry(tmp_path: Path) -> Path:
    """entry.sh with its two programs replaced by recorders that print their arguments."""
    for program in ("aws-lambda-rie", "python"):
        fake = tmp_path / program
        fake.write_text(f'#!/bin/sh\necho "{program} $*"\n', encoding="utf-8")
        fake.chmod(0o755)
    script = (FUNCTION_DIR / "entry.sh").read_text(encoding="utf-8")
    assert script.count("/usr/local/bin/") == 3
    entry = tmp_path / "entry.sh"
    entry.write_text(script.replace("/usr/local/bin/", f"{tmp_path}/"), encoding="utf-8")
    return entry


@pytest.mark.parametrize(
    ("runtime_api", "expected"),
    [
        (None, "aws-lambda-rie {bin}/python -m awslambdaric app.handler"),
        ("", "aws-lambda-rie {bin}/python -m awslambdaric app.handler"),
        ("127.0.0.1:9001", "python -m awslambdaric app.handler"),
    ],
)
def test_entry_script_runs_the_emulator_only_without_a_runtime_api(tmp_path, runtime_api, expected):
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    if runtime_api is not None:
        env["AWS_LAMBDA_RUNTIME_API"] = runtime_api
    result = subprocess.run(
        ["sh", str(fake_entry(tmp_path)), "app.handler"], capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected.format(bin=tmp_path)


def test_entry_script_refuses_a_missing_handler():
    result = subprocess.run(
        ["sh", str(FUNCTION_DIR / "entry.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 64
    assert "expected exactly one argument" in result.stderr


def test_files_copied_into_the_image_are_enough_to_serve(tmp_path):
    """Only the copied files, in a directory of their own: the handler imports, loads the model, answers."""
    for source in context_sources("Dockerfile"):
        if source.endswith((".py", ".json")):
            shutil.copy(FUNCTION_DIR / source, tmp_path / source)
    code = (
        "import json, sys; sys.path.remove(sys.argv[2]) if sys.argv[2] in sys.path else None; "
        "sys.path.insert(0, sys.argv[1]); import app; "
        "sys.path.insert(0, sys.argv[2]); from scripts.local import LocalContext; "
        "event = json.load(open(sys.argv[3])); "
        "print(app.handler(event, LocalContext())['statusCode']); print(app.__file__)"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path),
            str(FUNCTION_DIR.parent),
            str(EVENTS_DIR / "predict-one.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    status, module_file = result.stdout.strip().splitlines()[-2:]
    assert json.loads(status) == 200
    assert Path(module_file).parent == tmp_path


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_code_stage_compiles_bytecode_that_a_cold_start_imports_without_the_source(name, tmp_path):
    """The code stage's RUN, run here: every module gets an unchecked-hash .pyc (PEP 552) that Python loads
    as it is, so the model module's source is never compiled at init, even when its file looks newer."""
    code_stage = next(stage for stage in stages(name) if stage[0].split()[-1] == "code")
    [run] = [line[4:] for line in code_stage if line.upper().startswith("RUN ")]
    copied = [w for line in code_stage if line.upper().startswith("COPY ") for w in line.split()[1:-1]]
    sources = [w for w in copied if not w.startswith("--")]
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    for source in sources:
        shutil.copy(FUNCTION_DIR / source, code_dir / source)
    command = run.replace("/opt/code", str(code_dir)).replace("${LAMBDA_TASK_ROOT}", "/var/task")
    assert command.startswith("python -m compileall "), command
    result = subprocess.run(
        [sys.executable, *command.split()[1:]], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for source in sources:
        pyc = Path(importlib.util.cache_from_source(str(code_dir / source)))
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc.name}: flags {flags:#b}, expected hash-based and unchecked"
    # a source that no longer matches its .pyc: an unchecked .pyc is still what gets imported
    with (code_dir / "model.py").open("a", encoding="utf-8") as handle:
        handle.write("\nraise SystemExit('the source was compiled at import')\n")
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import model; print(model.VERSION)",
            str(code_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
