"""Train the iris random forest, export it as the JSON artifact and compile that into the module served.

    python function/train.py [--output function/model.json]      (what `make model` runs)

Writes model.json (the artifact: trees and metadata) and, beside it, model.py (the same forest as code,
written by compile_model.py from model.json), which is what the handler imports.

scikit-learn's bundled iris data set (no download), a stratified train/test split and a forest, all with
fixed seeds, so a rerun with the pinned scikit-learn writes the same bytes (tests/function checks it). Needs
scikit-learn, which only this script (and the tests) use: the runtime image never contains it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import sklearn
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compile_model  # noqa: E402 - the function directory is not a package

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "model.json"
SEED = 42
N_ESTIMATORS = 100
TEST_SIZE = 0.2
LEAF = -1


def train() -> tuple[RandomForestClassifier, dict[str, Any]]:
    """The fitted forest and the facts about its training that /model reports."""
    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=TEST_SIZE, stratify=iris.target, random_state=SEED
    )
    forest = RandomForestClassifier(n_estimators=N_ESTIMATORS, random_state=SEED, n_jobs=1)
    forest.fit(x_train, y_train)
    facts = {
        "featureNames": [str(name) for name in iris.feature_names],
        "classes": [str(name) for name in iris.target_names],
        "trainingAccuracy": round(float(forest.score(x_train, y_train)), 6),
        "testAccuracy": round(float(forest.score(x_test, y_test)), 6),
        "trainingSamples": int(len(x_train)),
        "testSamples": int(len(x_test)),
    }
    return forest, facts


def export_tree(estimator: Any) -> dict[str, list]:
    """Parallel node arrays of one fitted tree; leaves hold the class fractions scikit-learn sums."""
    tree = estimator.tree_
    left = [int(child) for child in tree.children_left]
    leaf = [child == LEAF for child in left]
    return {
        "feature": [-1 if is_leaf else int(f) for f, is_leaf in zip(tree.feature, leaf, strict=True)],
        "threshold": [0.0 if is_leaf else float(t) for t, is_leaf in zip(tree.threshold, leaf, strict=True)],
        "left": left,
        "right": [int(child) for child in tree.children_right],
        "value": [
            [float(p) for p in values[0]] if is_leaf else None
            for values, is_leaf in zip(tree.value, leaf, strict=True)
        ],
    }


def export(forest: RandomForestClassifier, facts: dict[str, Any]) -> dict[str, Any]:
    """The artifact document. Its version is derived from the trees, so it changes exactly when they do."""
    if list(forest.classes_) != list(range(len(facts["classes"]))):
        raise ValueError(f"expected classes 0..n-1, got {forest.classes_!r}")
    trees = [export_tree(estimator) for estimator in forest.estimators_]
    digest = hashlib.sha256(canonical_json(trees).encode()).hexdigest()
    metadata = {
        **facts,
        "version": f"iris-rf-{digest[:12]}",
        "algorithm": "RandomForestClassifier",
        "nEstimators": len(trees),
        "seed": SEED,
        "trainedWith": f"scikit-learn {sklearn.__version__}",
    }
    return {
        "format": compile_model.FORMAT,
        "formatVersion": compile_model.FORMAT_VERSION,
        "metadata": metadata,
        "trees": trees,
    }


def canonical_json(document: Any) -> str:
    """Deterministic text: sorted keys, no spaces; floats as Python's shortest round-trip repr."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)


def build_artifact() -> bytes:
    forest, facts = train()
    return (canonical_json(export(forest, facts)) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    artifact = build_artifact()
    document = json.loads(artifact)
    source = compile_model.generate(document)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    compile_model.write(args.output, artifact.decode())
    module = args.output.with_name("model.py")
    compile_model.write(module, source)
    meta = document["metadata"]
    print(
        f"wrote {args.output} ({len(artifact)} bytes): {meta['version']}, {meta['nEstimators']} trees, "
        f"training accuracy {meta['trainingAccuracy']}, test accuracy {meta['testAccuracy']}"
    )
    print(f"wrote {module} ({len(source.encode())} bytes): the forest as code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
