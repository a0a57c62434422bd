"""Compile the forest artifact (model.json) into a Python module of nested `if`s: function/model.py.

    python function/compile_model.py [--model function/model.json] [--output function/model.py]

`train.py` (`make model`) runs it after writing model.json; the image compiles model.py to bytecode at build
time, so a cold start imports a `.pyc` and walks no data structure. Standard library only. The output is a
deterministic function of model.json (tests/function checks the committed file byte for byte).

The arithmetic follows scikit-learn's `RandomForestClassifier.predict_proba` step by step, so that the
results are identical to the last bit, not merely close:

* the caller rounds inputs to float32 (scikit-learn converts `X` to float32 before walking a tree); they are
  compared, as doubles, with the float64 thresholds: `x[feature] <= threshold` goes left;
* every tree adds the class fractions stored in its leaf, tree by tree in the forest's order, starting from
  0.0, in float64 (adding 0.0 to a non-negative sum changes no bit, so zero fractions are left out); the
  sums are divided by the number of trees;
* the predicted class is the first class with the highest probability (NumPy's `argmax`).

Raises ModelError (exit status 1 on the command line) for an artifact that is missing, unreadable or
inconsistent, before anything is written.
"""

from __future__ import annotations

import argparse
import json
import pprint
import sys
from pathlib import Path
from typing import Any

FORMAT = "iris-classifier/random-forest-json"
FORMAT_VERSION = 1
LEAF = -1
HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = HERE / "model.json"
DEFAULT_OUTPUT = HERE / "model.py"
# CPython's parser accepts at most 100 levels of indentation; a deeper tree would need another shape
MAX_DEPTH = 90


class ModelError(Exception):
    """The model artifact is missing, unreadable or inconsistent."""


def load(path: Path) -> dict[str, Any]:
    """The artifact document at `path`, checked (see `check`)."""
    try:
        document = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the model artifact {path}: {exc}") from exc
    check(document)
    return document


def check(document: Any) -> None:
    """Raise ModelError unless `document` is a well-formed forest artifact of this format."""
    try:
        if document["format"] != FORMAT or document["formatVersion"] != FORMAT_VERSION:
            raise ModelError(f"unsupported model format {document['format']!r} v{document['formatVersion']}")
        metadata = document["metadata"]
        n_features, n_classes = len(metadata["featureNames"]), len(metadata["classes"])
        if not isinstance(metadata["version"], str) or not n_features or not n_classes:
            raise ValueError("metadata needs a version, feature names and classes")
        if not document["trees"]:
            raise ValueError("the forest has no trees")
        for index, tree in enumerate(document["trees"]):
            _check_tree(tree, n_features, n_classes, index)
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        raise ModelError(f"malformed model artifact: {exc!r}") from exc


def _check_tree(tree: dict[str, Any], n_features: int, n_classes: int, index: int) -> None:
    feature, threshold, left, right, value = (
        tree[key] for key in ("feature", "threshold", "left", "right", "value")
    )
    n_nodes = len(left)
    if not n_nodes or not all(len(column) == n_nodes for column in (feature, threshold, right, value)):
        raise ValueError(f"tree {index}: node arrays differ in length")
    for node in range(n_nodes):
        if left[node] == LEAF:
            leaf = value[node]
            if right[node] != LEAF or not isinstance(leaf, list) or len(leaf) != n_classes:
                raise ValueError(f"tree {index}: leaf {node} is inconsistent")
            if not all(isinstance(p, float | int) and 0 <= p <= 1 for p in leaf):
                raise ValueError(f"tree {index}: leaf {node} holds values outside [0, 1]")
        # children come after their parent in scikit-learn's depth-first layout, so a walk always ends
        elif not (
            node < left[node] < n_nodes
            and node < right[node] < n_nodes
            and 0 <= feature[node] < n_features
            and isinstance(threshold[node], float | int)
        ):
            raise ValueError(f"tree {index}: split node {node} is inconsistent")


def generate(document: dict[str, Any]) -> str:
    """The source text of the model module for a checked artifact document (deterministic)."""
    check(document)
    metadata = document["metadata"]
    n_features, n_classes = len(metadata["featureNames"]), len(metadata["classes"])
    n_trees = len(document["trees"])
    features = ", ".join(f"x{j}" for j in range(n_features))
    sums = [f"p{k}" for k in range(n_classes)]
    lines = [
        f'"""The forest {metadata["version"]} as code: generated by compile_model.py from model.json.',
        "",
        "Do not edit: `make model` rewrites it. predict_proba(*row) takes one row of float32-rounded",
        "values and returns the class probabilities, bit-identical to scikit-learn's predict_proba.",
        '"""',
        "",
        f"VERSION = {metadata['version']!r}",
        f"CLASSES = {tuple(metadata['classes'])!r}",
        f"FEATURE_NAMES = {tuple(metadata['featureNames'])!r}",
        f"N_FEATURES = {n_features}",
        f"METADATA = {pprint.pformat(metadata, width=100, sort_dicts=True)}",
        "",
        "",
        f"def predict_proba({features}):",
        f"    {' = '.join(sums)} = 0.0",
    ]
    for index, tree in enumerate(document["trees"]):
        lines.append(f"    # tree {index}")
        _emit(tree, 0, 1, lines)
    lines.append(f"    return ({', '.join(f'{p} / {n_trees}' for p in sums)}{',' if n_classes == 1 else ''})")
    return "\n".join(lines) + "\n"


def _emit(tree: dict[str, Any], node: int, depth: int, lines: list[str]) -> None:
    pad = "    " * depth
    if depth > MAX_DEPTH:
        raise ModelError(f"a tree is deeper than {MAX_DEPTH} levels")
    if tree["left"][node] == LEAF:
        adds = [f"{pad}p{k} += {float(p)!r}" for k, p in enumerate(tree["value"][node]) if p != 0]
        lines.extend(adds or [f"{pad}pass"])
        return
    lines.append(f"{pad}if x{tree['feature'][node]} <= {float(tree['threshold'][node])!r}:")
    _emit(tree, tree["left"][node], depth + 1, lines)
    lines.append(f"{pad}else:")
    _emit(tree, tree["right"][node], depth + 1, lines)


def write(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically (a reader never sees half a file)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(text.encode("utf-8"))
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        source = generate(load(args.model))
    except ModelError as exc:
        print(f"compile_model.py: {exc}", file=sys.stderr)
        return 1
    write(args.output, source)
    print(f"wrote {args.output} ({len(source.encode())} bytes) from {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
