"""A random forest held as plain arrays, evaluated with numpy: the pickle-free form of a fitted forest.

Saved forests are rebuilt from these arrays, so loading one never runs code from the file and
does not depend on scikit-learn's private tree classes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TREE_FIELDS: tuple[str, ...] = ("children_left", "children_right", "feature", "threshold", "value")


@dataclass(frozen=True)
class TreeArrays:
    """One decision tree: node links, split feature/threshold and per-leaf class-1 probability."""

    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray  # probability of success at each node

    def leaf_values(self, X32: np.ndarray) -> np.ndarray:
        """Walk all rows down the tree at once (``x <= threshold`` goes left, as in scikit-learn)."""
        node = np.zeros(len(X32), dtype=np.int64)
        rows = np.arange(len(X32))
        active = self.children_left[node] >= 0
        while active.any():
            at = node[active]
            go_left = X32[rows[active], self.feature[at]] <= self.threshold[at]
            node[active] = np.where(go_left, self.children_left[at], self.children_right[at])
            active = self.children_left[node] >= 0
        return self.value[node]


@dataclass(frozen=True)
class ForestArrays:
    """A fitted binary random forest as arrays; ``predict_proba`` matches scikit-learn's."""

    trees: tuple[TreeArrays, ...]
    n_features: int

    @classmethod
    def from_sklearn(cls, forest) -> "ForestArrays":
        """Copy the arrays out of a fitted ``RandomForestClassifier`` with classes [0, 1]."""
        trees = []
        for estimator in forest.estimators_:
            tree = estimator.tree_
            counts = tree.value[:, 0, :]
            trees.append(TreeArrays(tree.children_left.astype(np.int64), tree.children_right.astype(np.int64),
                                    tree.feature.astype(np.int64), tree.threshold.astype(np.float64),
                                    counts[:, 1] / counts.sum(axis=1)))
        return cls(tuple(trees), int(forest.n_features_in_))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, 2) class probabilities: the mean of the trees' leaf probabilities."""
        X32 = np.asarray(X, dtype=np.float32)
        success = np.mean([tree.leaf_values(X32) for tree in self.trees], axis=0)
        return np.column_stack([1.0 - success, success])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat name → array mapping for ``np.savez``."""
        return {f"tree{i}_{name}": getattr(tree, name) for i, tree in enumerate(self.trees) for name in TREE_FIELDS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_trees: int, n_features: int) -> "ForestArrays":
        """Rebuild from :meth:`to_arrays` output, checking that node indices and features are in range."""
        trees = []
        for i in range(n_trees):
            tree = TreeArrays(*(np.asarray(arrays[f"tree{i}_{name}"]) for name in TREE_FIELDS))
            if not all(np.issubdtype(getattr(tree, f).dtype, np.number) for f in TREE_FIELDS):
                raise ValueError(f"tree {i} has non-numeric node arrays")
            n_nodes = len(tree.value)
            links = np.concatenate([tree.children_left, tree.children_right])
            internal = tree.children_left >= 0
            own = np.arange(n_nodes)[internal]
            forward = (tree.children_left[internal] > own).all() and (tree.children_right[internal] > own).all()
            if not forward or (links >= n_nodes).any() or (tree.feature[internal] >= n_features).any() or \
                    (tree.feature[internal] < 0).any() or len({len(getattr(tree, f)) for f in TREE_FIELDS}) != 1:
                raise ValueError(f"tree {i} has inconsistent node arrays")
            trees.append(tree)
        return cls(tuple(trees), n_features)
