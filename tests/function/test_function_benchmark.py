"""The benchmark's own set-up logic (the benchmark itself is a script, run with `make bench`)."""

from __future__ import annotations

import ast

import benchmark


def test_floor_has_the_handlers_imports_but_no_model():
    source = benchmark.floor_module()
    tree = ast.parse(source)
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert "aws_lambda_powertools.event_handler" in imported
    assert "aws_lambda_powertools.logging" in imported
    assert "model" not in imported
    compile(source, "floor_app.py", "exec")


def test_baseline_pins_come_from_the_project_requirements():
    requirements = dict(r.split("==") for r in benchmark.baseline_requirements())
    dev = benchmark.pins(benchmark.ROOT / "requirements-dev.txt")
    assert requirements["scikit-learn"] == dev["scikit-learn"]
    assert requirements["pandas"] == dev["pandas"]
    assert requirements["joblib"] == dev["joblib"]
    assert set(requirements) == {"scikit-learn", "joblib", "pandas", "numpy", "aws-lambda-powertools"}


def test_baseline_module_is_valid_python():
    compile(benchmark.BASELINE_MODULE.format(classes=["a", "b", "c"]), "naive_app.py", "exec")


def test_probes_each_time_one_powertools_import(tmp_path):
    probes = benchmark.build_probes(tmp_path)
    assert set(probes) == set(benchmark.PROBES)
    for directory, module in probes.values():
        [node] = ast.parse((directory / f"{module}.py").read_text(encoding="utf-8")).body
        assert isinstance(node, ast.Import)
        assert node.names[0].name.startswith("aws_lambda_powertools")
