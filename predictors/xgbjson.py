"""Check an XGBoost JSON model completely before XGBoost parses it, and hand XGBoost only what was checked.

XGBoost's own loader trusts node indices (an out-of-range or self-pointing child crashes ``predict``
with a segfault) and recurses on nesting. :func:`checked_model` accepts exactly the document a
binary ``binary:logistic`` gbtree writes — numeric features, no categorical splits, no feature
names — with every tree's arrays of the announced length, links forming one tree, split features
in range and finite values; it returns the document rebuilt from the checked values only.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .forest import check_links

#: Largest number of boosted trees and of nodes per tree accepted.
MAX_TREES = 10_000
MAX_NODES = 1_000_000
#: Largest magnitude of a leaf's contribution to the log-odds (real models stay well below 10).
MAX_LEAF = 1e3
#: Values XGBoost stores as float32 must stay finite there.
FLOAT32_MAX = float(np.finfo(np.float32).max)
NODE_ARRAYS = ("left_children", "right_children", "parents", "split_indices", "split_conditions", "split_type",
               "default_left", "base_weights", "loss_changes", "sum_hessian")
#: XGBoost's marker for "no parent" at the root.
ROOT_PARENT = 2 ** 31 - 1
CATEGORY_ARRAYS = ("categories", "categories_nodes", "categories_segments", "categories_sizes")


class ModelError(ValueError):
    """The document is not a model this loader accepts; the message names the offending key."""


def _get(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ModelError(f"{where}: missing key {key!r}")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ModelError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


def _int_text(obj: Any, key: str, where: str, low: int, high: int) -> int:
    text = _get(obj, key, str, where)
    try:
        value = int(text)
    except ValueError:
        raise ModelError(f"{where}.{key}: not an integer ({text[:40]!r})") from None
    if not low <= value <= high:
        raise ModelError(f"{where}.{key}: {value} outside {low}-{high}")
    return value


def _float_text(text: str, where: str) -> float:
    """XGBoost writes floats as text, sometimes as a one-element list (``"[5E-1]"``)."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    try:
        value = float(inner)
    except ValueError:
        raise ModelError(f"{where}: not a number ({text[:40]!r})") from None
    if not math.isfinite(value):
        raise ModelError(f"{where}: not finite")
    return value


def _numbers(tree: dict, key: str, n_nodes: int, where: str, integer: bool) -> np.ndarray:
    values = _get(tree, key, list, where)
    if len(values) != n_nodes:
        raise ModelError(f"{where}.{key}: {len(values)} entries for {n_nodes} nodes")
    allowed = (int,) if integer else (int, float)
    if not all(isinstance(v, allowed) and not isinstance(v, bool) for v in values):
        raise ModelError(f"{where}.{key}: entries must be {'integers' if integer else 'numbers'}")
    array = np.array(values, dtype=np.int64 if integer else np.float64) if values else np.zeros(0)
    if not integer and not (np.isfinite(array) & (np.abs(array) <= FLOAT32_MAX)).all():
        raise ModelError(f"{where}.{key}: non-finite value")
    return array


def _tree(tree: Any, index: int, n_features: int) -> dict[str, Any]:
    where = f"trees[{index}]"
    if not isinstance(tree, dict):
        raise ModelError(f"{where}: expected an object")
    param = _get(tree, "tree_param", dict, where)
    n_nodes = _int_text(param, "num_nodes", f"{where}.tree_param", 1, MAX_NODES)
    if _int_text(param, "num_deleted", f"{where}.tree_param", 0, 0) != 0 or \
            _int_text(param, "num_feature", f"{where}.tree_param", 0, 10 ** 6) != n_features:
        raise ModelError(f"{where}.tree_param: num_feature must be {n_features}")
    leaf_vector = _int_text(param, "size_leaf_vector", f"{where}.tree_param", 0, 1)
    arrays = {key: _numbers(tree, key, n_nodes, where,
                            key not in ("split_conditions", "base_weights", "loss_changes", "sum_hessian"))
              for key in NODE_ARRAYS}
    for key in CATEGORY_ARRAYS:
        if tree.get(key, []) != []:
            raise ModelError(f"{where}.{key}: categorical splits are not supported")
    if _get(tree, "id", int, where) != index:
        raise ModelError(f"{where}.id: expected {index}")
    try:
        internal = check_links(arrays["left_children"], arrays["right_children"], where)
    except ValueError as err:
        raise ModelError(str(err)) from None
    children = np.concatenate([arrays["left_children"][internal], arrays["right_children"][internal]])
    owners = np.concatenate([np.flatnonzero(internal)] * 2)
    if arrays["parents"][0] != ROOT_PARENT:
        raise ModelError(f"{where}.parents: the root's parent must be {ROOT_PARENT}")
    if not np.array_equal(arrays["parents"][children], owners):
        raise ModelError(f"{where}.parents: disagree with the child links")
    features = arrays["split_indices"]
    if ((features[internal] < 0) | (features[internal] >= n_features)).any() or (features < 0).any():
        raise ModelError(f"{where}.split_indices: feature index out of range 0-{n_features - 1}")
    if (arrays["split_type"] != 0).any() or not np.isin(arrays["default_left"], (0, 1)).all():
        raise ModelError(f"{where}: only numeric splits with 0/1 default_left are supported")
    if (np.abs(arrays["split_conditions"][~internal]) > MAX_LEAF).any():
        raise ModelError(f"{where}.split_conditions: leaf value beyond ±{MAX_LEAF:g}")
    checked = {key: arrays[key].tolist() for key in NODE_ARRAYS}
    checked["parents"][0] = ROOT_PARENT
    return {**checked, **{key: [] for key in CATEGORY_ARRAYS}, "id": index,
            "tree_param": {"num_deleted": "0", "num_feature": str(n_features), "num_nodes": str(n_nodes),
                           "size_leaf_vector": str(leaf_vector)}}


def _flag(params: dict) -> str:
    value = params.get("boost_from_average", "1")
    if value not in ("0", "1"):
        raise ModelError("learner.learner_model_param.boost_from_average: expected '0' or '1'")
    return value


def checked_model(doc: Any, n_features: int) -> dict[str, Any]:
    """The XGBoost model document ``doc`` rebuilt from checked values; raises :class:`ModelError`."""
    learner = _get(doc, "learner", dict, "document")
    version = _get(doc, "version", list, "document")
    if len(version) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1000 for v in version):
        raise ModelError("document.version: expected three small integers")
    for key in ("feature_names", "feature_types"):
        if learner.get(key, []) != []:
            raise ModelError(f"learner.{key}: must be empty (assessors are fitted on unnamed numeric features)")
    objective = _get(learner, "objective", dict, "learner")
    if _get(objective, "name", str, "learner.objective") != "binary:logistic":
        raise ModelError("learner.objective.name: only binary:logistic is supported")
    scale = _get(_get(objective, "reg_loss_param", dict, "learner.objective"), "scale_pos_weight", str,
                 "learner.objective.reg_loss_param")
    params = _get(learner, "learner_model_param", dict, "learner")
    base_score = _float_text(_get(params, "base_score", str, "learner.learner_model_param"),
                             "learner.learner_model_param.base_score")
    if not 0 < base_score < 1:
        raise ModelError("learner.learner_model_param.base_score: must lie strictly between 0 and 1")
    if _int_text(params, "num_feature", "learner.learner_model_param", 0, 10 ** 6) != n_features:
        raise ModelError(f"learner.learner_model_param.num_feature: expected {n_features}")
    if _int_text(params, "num_class", "learner.learner_model_param", 0, 0) != 0 or \
            _int_text(params, "num_target", "learner.learner_model_param", 1, 1) != 1:
        raise ModelError("learner.learner_model_param: only single-target binary models are supported")
    booster = _get(learner, "gradient_booster", dict, "learner")
    if _get(booster, "name", str, "learner.gradient_booster") != "gbtree":
        raise ModelError("learner.gradient_booster.name: only gbtree is supported")
    model = _get(booster, "model", dict, "learner.gradient_booster")
    trees = _get(model, "trees", list, "model")
    model_param = _get(model, "gbtree_model_param", dict, "model")
    n_trees = _int_text(model_param, "num_trees", "model.gbtree_model_param", 1, MAX_TREES)
    _int_text(model_param, "num_parallel_tree", "model.gbtree_model_param", 1, 1)
    if len(trees) != n_trees or _get(model, "tree_info", list, "model") != [0] * n_trees:
        raise ModelError(f"model: {len(trees)} trees and tree_info disagree with num_trees={n_trees}")
    rebuilt = {"gbtree_model_param": {"num_parallel_tree": "1", "num_trees": str(n_trees)},
               "tree_info": [0] * n_trees, "trees": [_tree(tree, i, n_features) for i, tree in enumerate(trees)]}
    cats = model.get("cats", {})
    if not isinstance(cats, dict) or any(value != [] for value in cats.values()) or \
            set(cats) - {"enc", "feature_segments", "sorted_idx"}:
        raise ModelError("model.cats: categorical features are not supported")
    if "cats" in model:
        rebuilt["cats"] = {key: [] for key in cats}
    if "iteration_indptr" in model:
        if model["iteration_indptr"] != list(range(n_trees + 1)):
            raise ModelError("model.iteration_indptr: expected one tree per iteration")
        rebuilt["iteration_indptr"] = list(range(n_trees + 1))
    return {"learner": {"attributes": {}, "feature_names": [], "feature_types": [],
                        "gradient_booster": {"model": rebuilt, "name": "gbtree"},
                        "learner_model_param": {"base_score": params["base_score"],
                                                "boost_from_average": _flag(params),
                                                "num_class": "0", "num_feature": str(n_features), "num_target": "1"},
                        "objective": {"name": "binary:logistic",
                                      "reg_loss_param": {"scale_pos_weight": str(_float_text(scale, "scale_pos_weight"))}}},
            "version": version}
