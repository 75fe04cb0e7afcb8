"""Several annotators on the same instances: pairwise agreement per scale, and one final level per cell.

Agreement, for each scale and pair of annotators, over instances both rated: quadratic-weighted
Cohen's kappa, Spearman's rho, exact agreement and agreement within one level. UG percentages
are compared on their rubric levels (:func:`assess.rubrics.ug_level`) so every scale is on 0-5.
Aggregation takes the median (default) or mean over the annotators that rated a cell; a cell
nobody rated stays NaN.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score

from ..errors import InputError
from ..rubrics import ug_level
from ..scales import ANNOTATED, LEVEL_MAX, LEVEL_MIN, UG

AGGREGATIONS = ("median", "mean")
REPORT_COLUMNS = ("scale", "annotator_a", "annotator_b", "n", "qwk", "spearman", "exact", "within_one")


def _aligned(tables: Mapping[str, pd.DataFrame], code: str) -> pd.DataFrame:
    """One column per annotator holding ``code``'s levels, indexed by instance id."""
    return pd.DataFrame({name: table.set_index("instance_id")[code] for name, table in tables.items()})


def _on_levels(values: pd.Series, code: str) -> np.ndarray:
    return np.array([ug_level(v) for v in values]) if code == UG else values.to_numpy(dtype=int)


def agreement_report(tables: Mapping[str, pd.DataFrame], scales: Sequence[str] = ANNOTATED) -> pd.DataFrame:
    """Rows (scale, annotator_a, annotator_b, n, qwk, spearman, exact, within_one); NaN where undefined."""
    if len(tables) < 2:
        raise InputError("agreement needs at least two annotated batteries")
    rows = []
    for code in scales:
        aligned = _aligned(tables, code)
        for first, second in itertools.combinations(tables, 2):
            both = aligned[[first, second]].dropna()
            row = {"scale": code, "annotator_a": first, "annotator_b": second, "n": len(both),
                   "qwk": np.nan, "spearman": np.nan, "exact": np.nan, "within_one": np.nan}
            if len(both):
                a, b = _on_levels(both[first], code), _on_levels(both[second], code)
                distinct = len(set(a)) > 1 and len(set(b)) > 1
                row.update(exact=float(np.mean(a == b)), within_one=float(np.mean(np.abs(a - b) <= 1)),
                           qwk=_kappa(a, b), spearman=float(spearmanr(a, b).statistic) if distinct else np.nan)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(REPORT_COLUMNS))


def _kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Quadratic-weighted kappa on levels 0-5; NaN when undefined (both annotators constant and equal)."""
    if len(set(a) | set(b)) < 2:
        return np.nan
    return float(cohen_kappa_score(a, b, weights="quadratic", labels=list(range(LEVEL_MIN, LEVEL_MAX + 1))))


def aggregate(tables: Mapping[str, pd.DataFrame], scales: Sequence[str] = ANNOTATED,
              method: str = "median") -> pd.DataFrame:
    """The first battery with each scale replaced by the ``method`` over annotators; provenance says so."""
    if method not in AGGREGATIONS:
        raise InputError(f"unknown aggregation {method!r}; use one of {', '.join(AGGREGATIONS)}", column="--method")
    base = next(iter(tables.values())).copy()
    for code in scales:
        aligned = _aligned(tables, code).reindex(base["instance_id"])
        base[code] = (aligned.median(axis=1) if method == "median" else aligned.mean(axis=1)).to_numpy()
    base["annotator"] = f"{method}({','.join(tables)})"
    for column in ("annotation_protocol", "rubric_hash"):
        base[column] = "+".join(dict.fromkeys(v for t in tables.values() for v in t[column].unique() if v))
    return base
