"""Random-forest inference in plain Python, reading the JSON artifact written by `train.py`.

The arithmetic follows scikit-learn's `RandomForestClassifier.predict_proba` step by step, so that the
results are identical, not merely close:

* inputs are rounded to float32 first (scikit-learn converts `X` to float32 before walking a tree) and
  compared, as doubles, with the float64 thresholds: `x[feature] <= threshold` goes left;
* every tree contributes the class fractions stored in its leaf; the contributions are summed tree by tree
  in the forest's order, starting from 0.0, in float64, and the sum is divided by the number of trees;
* the predicted class is the first class with the highest probability (NumPy's `argmax`).

Standard library only: importing NumPy alone would cost more cold-start time than loading and running the
whole model.
"""

from __future__ import annotations

import json
import struct
from typing import Any

FORMAT = "container-lambda/random-forest-json"
FORMAT_VERSION = 1
_LEAF = -1


class ModelError(Exception):
    """The model artifact is missing, unreadable or inconsistent."""


class Forest:
    """A fitted forest: trees as tuples of parallel node arrays, plus the model's metadata."""

    __slots__ = ("classes", "feature_names", "metadata", "n_features", "trees", "version", "_pack")

    def __init__(self, document: dict[str, Any]) -> None:
        try:
            if document["format"] != FORMAT or document["formatVersion"] != FORMAT_VERSION:
                raise ModelError(
                    f"unsupported model format {document['format']!r} v{document['formatVersion']}"
                )
            self.metadata: dict[str, Any] = document["metadata"]
            self.version: str = self.metadata["version"]
            self.classes: tuple[str, ...] = tuple(self.metadata["classes"])
            self.feature_names: tuple[str, ...] = tuple(self.metadata["featureNames"])
            self.trees = tuple(
                _tree(raw, len(self.feature_names), len(self.classes)) for raw in document["trees"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"malformed model artifact: {exc!r}") from exc
        if not self.trees:
            raise ModelError("malformed model artifact: the forest has no trees")
        self.n_features = len(self.feature_names)
        self._pack = struct.Struct(f"<{self.n_features}f")

    @classmethod
    def load(cls, path: str) -> Forest:
        try:
            with open(path, "rb") as handle:
                document = json.loads(handle.read())
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read the model artifact {path}: {exc}") from exc
        if not isinstance(document, dict):
            raise ModelError(f"malformed model artifact {path}: not a JSON object")
        return cls(document)

    def as_float32(self, row: list[float] | tuple[float, ...]) -> tuple[float, ...]:
        """The row rounded to float32, as scikit-learn sees it. OverflowError beyond float32's range."""
        pack = self._pack
        return pack.unpack(pack.pack(*row))

    def predict_proba(self, row: list[float] | tuple[float, ...]) -> list[float]:
        """Mean class fractions of the trees for one row of `n_features` finite numbers."""
        x = self.as_float32(row)
        leaves = []
        for feature, threshold, left, right, value in self.trees:
            node = 0
            while (child := left[node]) != _LEAF:
                node = child if x[feature[node]] <= threshold[node] else right[node]
            leaves.append(value[node])
        n_trees = len(leaves)
        proba = []
        for fractions in zip(*leaves, strict=True):  # one class at a time, trees in forest order
            total = 0.0
            for fraction in fractions:  # not sum(): since Python 3.12 it compensates rounding errors
                total += fraction
            proba.append(total / n_trees)
        return proba

    def predict(self, row: list[float] | tuple[float, ...]) -> tuple[int, list[float]]:
        """(class index, probabilities); ties go to the lowest class index, like NumPy's argmax."""
        proba = self.predict_proba(row)
        best = 0
        for k in range(1, len(proba)):
            if proba[k] > proba[best]:
                best = k
        return best, proba


def _tree(raw: dict[str, Any], n_features: int, n_classes: int) -> tuple[tuple, ...]:
    feature = tuple(raw["feature"])
    threshold = tuple(float(t) for t in raw["threshold"])
    left = tuple(raw["left"])
    right = tuple(raw["right"])
    value = tuple(None if v is None else tuple(float(p) for p in v) for v in raw["value"])
    n_nodes = len(left)
    if not n_nodes or not all(len(column) == n_nodes for column in (feature, threshold, right, value)):
        raise ValueError("tree node arrays differ in length")
    for node in range(n_nodes):
        if left[node] == _LEAF:
            if right[node] != _LEAF or value[node] is None or len(value[node]) != n_classes:
                raise ValueError(f"leaf {node} is inconsistent")
        # children come after their parent in scikit-learn's depth-first layout, so a walk always ends
        elif not (
            node < left[node] < n_nodes and node < right[node] < n_nodes and 0 <= feature[node] < n_features
        ):
            raise ValueError(f"split node {node} is inconsistent")
    return feature, threshold, left, right, value
