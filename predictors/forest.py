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
        """Rebuild from :meth:`to_arrays` output; raises ValueError unless every tree is a well-formed tree.

        Checked per tree: the five arrays exist, are 1-D, equally long and of the right dtype; the links
        form one tree rooted at node 0 (every node reached exactly once, so no cycle and no index out of
        range); split features lie in ``[0, n_features)``, thresholds are finite, and leaf probabilities
        lie in [0, 1].
        """
        expected = {f"tree{i}_{name}" for i in range(n_trees) for name in TREE_FIELDS}
        if set(arrays) != expected:
            extra, missing = sorted(set(arrays) - expected), sorted(expected - set(arrays))
            raise ValueError(f"forest arrays do not match n_trees={n_trees}: "
                             f"missing {missing[:3]}, unexpected {extra[:3]}")
        trees = []
        for i in range(n_trees):
            tree = TreeArrays(*(arrays[f"tree{i}_{name}"] for name in TREE_FIELDS))
            check_tree(tree, n_features, f"tree {i}")
            trees.append(TreeArrays(*(getattr(tree, f).astype(np.float64 if f in ("threshold", "value") else np.int64)
                                      for f in TREE_FIELDS)))
        return cls(tuple(trees), n_features)


def check_links(left: np.ndarray, right: np.ndarray, where: str) -> np.ndarray:
    """Check that child links form one binary tree rooted at node 0; return the mask of internal nodes.

    Leaves have both children -1. Every other node must be reached exactly once walking from the root,
    which rules out cycles, shared children, self-links and indices out of range.
    """
    n_nodes = len(left)
    internal = left >= 0
    if n_nodes == 0 or not np.array_equal(internal, right >= 0) or ((left < 0) & (left != -1)).any() \
            or ((right < 0) & (right != -1)).any():
        raise ValueError(f"{where} has inconsistent node arrays (leaf and split links disagree)")
    if (left >= n_nodes).any() or (right >= n_nodes).any():
        raise ValueError(f"{where} has inconsistent node arrays (child index out of range)")
    children = np.concatenate([left[internal], right[internal]])
    if (children == 0).any() or len(np.unique(children)) != len(children) or len(children) != n_nodes - 1:
        raise ValueError(f"{where} has inconsistent node arrays (not a tree: a node has two parents or is the root)")
    reached = np.zeros(n_nodes, dtype=bool)
    frontier = np.array([0])
    while len(frontier):
        reached[frontier] = True
        inner = frontier[internal[frontier]]
        frontier = np.concatenate([left[inner], right[inner]])
        if reached[frontier].any():
            raise ValueError(f"{where} has inconsistent node arrays (a cycle)")
    if not reached.all():
        raise ValueError(f"{where} has inconsistent node arrays (unreachable nodes)")
    return internal


def check_tree(tree: TreeArrays, n_features: int, where: str) -> None:
    """Raise ValueError unless ``tree`` holds well-typed, in-range arrays that form a tree."""
    fields = {name: getattr(tree, name) for name in TREE_FIELDS}
    for name, array in fields.items():
        kinds = "f" if name in ("threshold", "value") else "iu"
        if array.ndim != 1 or array.dtype.kind not in kinds:
            raise ValueError(f"{where} has non-numeric or misshapen node array {name!r} ({array.dtype}, {array.shape})")
    if len({len(a) for a in fields.values()}) != 1:
        raise ValueError(f"{where} has inconsistent node arrays (lengths differ)")
    left, right = tree.children_left.astype(np.int64), tree.children_right.astype(np.int64)
    internal = check_links(left, right, where)
    feature = tree.feature.astype(np.int64)
    if ((feature[internal] < 0) | (feature[internal] >= n_features)).any():
        raise ValueError(f"{where} has inconsistent node arrays (split feature out of range)")
    if not np.isfinite(tree.threshold[internal]).all():
        raise ValueError(f"{where} has a non-finite split threshold")
    value = tree.value
    if not (np.isfinite(value) & (value >= 0) & (value <= 1)).all():
        raise ValueError(f"{where} has leaf probabilities outside [0, 1]")
