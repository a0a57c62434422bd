"""The forest as code: parity with scikit-learn, reproducible artifact and module, no heavy imports."""

from __future__ import annotations

import copy
import json
import struct
import subprocess
import sys

import compile_model
import numpy as np
import pytest
import train
from sklearn.datasets import load_iris

from tests.function.support import FUNCTION_DIR, app

ARTIFACT = FUNCTION_DIR / "model.json"
MODULE = FUNCTION_DIR / "model.py"


def served(row: list[float]) -> tuple[int, tuple[float, ...]]:
    """(class index, probabilities) as the handler computes them for one row."""
    packer = struct.Struct(f"<{app.model.N_FEATURES}f")
    proba = app.model.predict_proba(*packer.unpack(packer.pack(*row)))
    return proba.index(max(proba)), proba


def module_of(document: dict) -> dict:
    """The generated module for `document`, executed: its namespace."""
    namespace: dict = {}
    exec(compile(compile_model.generate(document), "model.py", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def sklearn_forest():
    fitted, _ = train.train()
    return fitted


def parity_inputs() -> np.ndarray:
    rng = np.random.default_rng(20261123)
    data = load_iris().data
    low, high = data.min(axis=0), data.max(axis=0)
    span = high - low
    uniform = rng.uniform(low - span, high + span, size=(700, 4))
    # near the split thresholds float32 rounding decides the branch: probe those exactly
    document = json.loads(ARTIFACT.read_bytes())
    thresholds = sorted(
        {
            t
            for tree in document["trees"]
            for t, f in zip(tree["threshold"], tree["feature"], strict=True)
            if f >= 0
        }
    )
    picks = rng.choice(len(thresholds), size=300)
    near = np.tile(data.mean(axis=0), (300, 1))
    for i, pick in enumerate(picks):
        near[i, rng.integers(4)] = np.nextafter(thresholds[pick], rng.choice([-np.inf, np.inf]))
    return np.vstack([uniform, near])


@pytest.mark.parametrize("dataset", ["iris", "random"])
def test_served_classes_and_probabilities_match_scikit_learn(sklearn_forest, dataset):
    x = load_iris().data if dataset == "iris" else parity_inputs()
    assert len(x) == (150 if dataset == "iris" else 1000)
    expected_proba = sklearn_forest.predict_proba(x)
    expected_class = sklearn_forest.predict(x)
    for row, want_proba, want_class in zip(x.tolist(), expected_proba, expected_class, strict=True):
        got_class, got_proba = served(row)
        assert got_class == want_class
        assert np.allclose(got_proba, want_proba, rtol=0, atol=1e-9)
        assert got_proba == tuple(want_proba.tolist()), "not bit-identical to scikit-learn"


def test_artifact_is_what_training_writes_byte_for_byte():
    assert train.build_artifact() == ARTIFACT.read_bytes()


def test_module_is_what_the_compiler_writes_from_the_artifact_byte_for_byte():
    assert compile_model.generate(compile_model.load(ARTIFACT)).encode() == MODULE.read_bytes()


def test_make_model_writes_the_artifact_and_the_module_the_handler_imports(tmp_path, capsys):
    assert train.DEFAULT_OUTPUT == ARTIFACT
    assert MODULE.samefile(app.model.__file__)
    output = tmp_path / "model.json"
    assert train.main(["--output", str(output)]) == 0
    assert output.read_bytes() == ARTIFACT.read_bytes()
    assert (tmp_path / "model.py").read_bytes() == MODULE.read_bytes()
    out = capsys.readouterr().out
    assert f"wrote {output}" in out and f"wrote {tmp_path / 'model.py'}" in out


def test_compile_command_writes_the_module(tmp_path):
    output = tmp_path / "model.py"
    assert compile_model.main(["--model", str(ARTIFACT), "--output", str(output)]) == 0
    assert output.read_bytes() == MODULE.read_bytes()


def test_compile_command_refuses_a_broken_artifact_and_writes_nothing(tmp_path, capsys):
    broken_artifact = tmp_path / "model.json"
    broken_artifact.write_text('{"format": "iris-classifier/random-forest-json"}', encoding="utf-8")
    output = tmp_path / "model.py"
    assert compile_model.main(["--model", str(broken_artifact), "--output", str(output)]) == 1
    assert "malformed model artifact" in capsys.readouterr().err
    assert not output.exists()


def test_artifact_version_names_its_trees():
    document = json.loads(ARTIFACT.read_bytes())
    assert document["metadata"]["version"] == app.model.VERSION
    assert document["metadata"]["nEstimators"] == len(document["trees"]) == train.N_ESTIMATORS
    assert document["metadata"]["trainedWith"] == f"scikit-learn {train.sklearn.__version__}"


def test_ties_go_to_the_lowest_class_like_argmax():
    document = json.loads(ARTIFACT.read_bytes())
    leaf = [1 / 3, 1 / 3, 1 / 3]
    document["trees"] = [{"feature": [-1], "threshold": [0.0], "left": [-1], "right": [-1], "value": [leaf]}]
    proba = module_of(document)["predict_proba"](1.0, 2.0, 3.0, 4.0)
    assert proba == (1 / 3, 1 / 3, 1 / 3)
    assert proba.index(max(proba)) == int(np.argmax(proba)) == 0


def test_handler_module_imports_no_numpy_scipy_sklearn_or_pandas_and_reads_no_file():
    code = (
        "import builtins, sys; sys.path.insert(0, sys.argv[1]); opened = []; real = builtins.open; "
        "builtins.open = lambda *a, **k: opened.append(a[0]) or real(*a, **k); import app; "
        "print(sorted(m for m in ('numpy', 'scipy', 'sklearn', 'pandas', 'joblib') if m in sys.modules), "
        "[name for name in opened if str(name).endswith('.json')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(FUNCTION_DIR)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[] []"


def broken(mutate):
    document = json.loads(ARTIFACT.read_bytes())
    mutate(document)
    return document


@pytest.mark.parametrize(
    "document",
    [
        broken(lambda d: d.update(format="something-else")),
        broken(lambda d: d.update(formatVersion=2)),
        broken(lambda d: d.update(trees=[])),
        broken(lambda d: d["metadata"].pop("classes")),
        broken(lambda d: d["trees"][0]["left"].pop()),
        broken(lambda d: d["trees"][0]["value"].__setitem__(-1, [1.0])),
        broken(lambda d: d["trees"][0]["left"].__setitem__(0, 0)),
        broken(lambda d: d["trees"][0]["feature"].__setitem__(0, 9)),
        broken(lambda d: d["trees"][0]["value"].__setitem__(-1, [2.0, 0.0, 0.0])),
        broken(lambda d: d["trees"][0]["threshold"].__setitem__(0, "1.0")),
    ],
)
def test_malformed_artifact_is_refused_before_any_code_is_generated(document):
    with pytest.raises(compile_model.ModelError):
        compile_model.generate(document)


def test_missing_artifact_is_a_clear_error(tmp_path):
    with pytest.raises(compile_model.ModelError, match="cannot read the model artifact"):
        compile_model.load(tmp_path / "missing.json")


def test_a_tree_too_deep_for_the_parser_is_refused():
    document = json.loads(ARTIFACT.read_bytes())
    depth = compile_model.MAX_DEPTH + 1
    document["trees"] = [
        {
            "feature": [0] * depth + [-1] * (depth + 1),
            "threshold": [1.0] * depth + [0.0] * (depth + 1),
            "left": [i + 1 if i < depth - 1 else depth for i in range(depth)] + [-1] * (depth + 1),
            "right": [depth + 1 + i for i in range(depth)] + [-1] * (depth + 1),
            "value": [None] * depth + [[1.0, 0.0, 0.0]] * (depth + 1),
        }
    ]
    with pytest.raises(compile_model.ModelError, match="deeper than"):
        compile_model.generate(document)


def test_training_on_an_unexpected_label_encoding_is_refused(sklearn_forest):
    _, facts = train.train()
    relabelled = copy.deepcopy(sklearn_forest)
    relabelled.classes_ = np.array([1, 2, 3])
    with pytest.raises(ValueError, match="classes"):
        train.export(relabelled, facts)
