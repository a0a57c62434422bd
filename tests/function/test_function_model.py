"""The exported forest: parity with scikit-learn, reproducible artifact, no heavy imports at run time."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import forest
import numpy as np
import pytest
import train
from sklearn.datasets import load_iris

from tests.function.support import FUNCTION_DIR, app

ARTIFACT = FUNCTION_DIR / "model.json"


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
    thresholds = sorted(
        {t for tree in app.MODEL.trees for t, f in zip(tree[1], tree[0], strict=True) if f >= 0}
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
        got_class, got_proba = app.MODEL.predict(row)
        assert got_class == want_class
        assert np.allclose(got_proba, want_proba, rtol=0, atol=1e-9)


def test_artifact_is_what_training_writes_byte_for_byte():
    assert train.build_artifact() == ARTIFACT.read_bytes()


def test_make_model_writes_the_artifact_where_the_handler_loads_it(tmp_path, capsys):
    assert train.DEFAULT_OUTPUT == ARTIFACT
    assert ARTIFACT.samefile(app.MODEL_PATH)
    output = tmp_path / "model.json"
    assert train.main(["--output", str(output)]) == 0
    assert output.read_bytes() == ARTIFACT.read_bytes()
    assert f"wrote {output}" in capsys.readouterr().out


def test_artifact_version_names_its_trees():
    document = json.loads(ARTIFACT.read_bytes())
    assert document["metadata"]["version"] == app.MODEL.version
    assert document["metadata"]["nEstimators"] == len(document["trees"]) == train.N_ESTIMATORS
    assert document["metadata"]["trainedWith"] == f"scikit-learn {train.sklearn.__version__}"


def test_ties_go_to_the_lowest_class_like_argmax():
    document = json.loads(ARTIFACT.read_bytes())
    leaf = [1 / 3, 1 / 3, 1 / 3]
    document["trees"] = [{"feature": [-1], "threshold": [0.0], "left": [-1], "right": [-1], "value": [leaf]}]
    index, proba = forest.Forest(document).predict([1.0, 2.0, 3.0, 4.0])
    assert index == int(np.argmax(proba)) == 0


def test_handler_module_imports_no_numpy_scipy_sklearn_or_pandas():
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import app; "
        "print(sorted(m for m in ('numpy', 'scipy', 'sklearn', 'pandas', 'joblib') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(FUNCTION_DIR)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]"


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
    ],
)
def test_malformed_artifact_is_refused_at_load(document):
    with pytest.raises(forest.ModelError):
        forest.Forest(document)


def test_missing_artifact_is_a_clear_error(tmp_path):
    with pytest.raises(forest.ModelError, match="cannot read the model artifact"):
        forest.Forest.load(str(tmp_path / "missing.json"))


def test_training_on_an_unexpected_label_encoding_is_refused(sklearn_forest):
    _, facts = train.train()
    relabelled = copy.deepcopy(sklearn_forest)
    relabelled.classes_ = np.array([1, 2, 3])
    with pytest.raises(ValueError, match="classes"):
        train.export(relabelled, facts)
