"""The benchmark's own set-up logic (the benchmark itself is a script, run with `make bench`)."""

from __future__ import annotations

import ast

import benchmark
import pytest

from tests.function.support import FUNCTION_DIR, ROOT


def imported_modules(source: str) -> set[str]:
    return {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }


def test_floor_has_the_handlers_imports_but_no_model():
    source = benchmark.floor_module()
    imported = imported_modules(source)
    assert {"aws_lambda_powertools.event_handler", "aws_lambda_powertools.logging"} <= imported
    assert "model" not in imported
    compile(source, "floor_app.py", "exec")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            benchmark.NAIVE_MODULE,
            {"joblib", "numpy", "pandas", "sklearn.ensemble", "aws_lambda_powertools.logging"},
        ),
        (benchmark.ONNX_BARE_MODULE, {"onnxruntime", "numpy"}),
        (benchmark.ONNX_POWERTOOLS_MODULE, {"onnxruntime", "aws_lambda_powertools.event_handler"}),
    ],
)
def test_peer_handlers_are_valid_python_with_their_stack(template, expected):
    source = template.format(classes=["a", "b", "c"])
    compile(source, "peer.py", "exec")
    assert expected <= imported_modules(source)


def test_the_bare_onnx_handler_does_without_powertools():
    assert not any(
        name.startswith("aws_lambda_powertools")
        for name in imported_modules(benchmark.ONNX_BARE_MODULE.format(classes=[]))
    )


def test_each_powertools_piece_adds_to_the_previous_one():
    sources = [benchmark.PIECE_MODULES[name] for name in benchmark.PIECES]
    for previous, current in zip(sources, sources[1:], strict=False):
        compile(current, "piece.py", "exec")
        assert len(current) > len(previous)
    assert "aws_lambda_powertools" not in sources[0]


def test_bench_pins_match_the_project_and_runtime_pins():
    bench = {
        line.partition("==")[0]: line for line in benchmark.requirement_lines(benchmark.BENCH_REQUIREMENTS)
    }
    for path in (ROOT / "requirements-dev.txt", FUNCTION_DIR / "requirements-dev.txt"):
        for line in benchmark.requirement_lines(path):
            name = line.partition("==")[0]
            if name in bench:
                assert bench[name] == line, f"{path.name} pins {line}, requirements-bench.txt {bench[name]}"
    assert all("==" in line for line in bench.values())
    assert {"skl2onnx", "onnx", "onnxruntime", "aws-lambda-powertools", "scikit-learn"} <= set(bench)


def test_size_requirements_are_the_pins_of_each_handler():
    sizes = benchmark.size_requirements()
    assert set(sizes) == set(benchmark.HANDLERS)
    assert [line.partition("==")[0] for line in sizes["ours"]] == ["aws-lambda-powertools"]
    assert set(sizes["onnx-bare"]) < set(sizes["onnx-pt"])


def test_an_explicit_python_that_does_not_run_is_refused(tmp_path):
    with pytest.raises(benchmark.BenchError, match="does not run"):
        benchmark.find_python(str(tmp_path / "python3.13"))
