"""Several annotators on the same instances: pairwise agreement per scale, and one final level per cell.

Agreement, for each scale and pair of annotators, over instances both rated: quadratic-weighted
Cohen's kappa, Spearman's rho, exact agreement and agreement within one level. Percentage scales
(UG) are compared on their rubric levels (:meth:`assess.rubrics.Rubric.level_of`, by band) so every
scale is on 0-5. The scales come from the active :class:`~assess.scaleset.ScaleSet`.
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
from ..rubrics import LEVEL_MAX, LEVEL_MIN
from ..scaleset import ScaleSet, default_scale_set

AGGREGATIONS = ("median", "mean")
REPORT_COLUMNS = ("scale", "annotator_a", "annotator_b", "n", "qwk", "spearman", "exact", "within_one")


def _aligned(tables: Mapping[str, pd.DataFrame], code: str) -> pd.DataFrame:
    """One column per annotator holding ``code``'s levels, indexed by instance id."""
    return pd.DataFrame({name: table.set_index("instance_id")[code] for name, table in tables.items()})


def _on_levels(values: pd.Series, code: str, scale_set: ScaleSet) -> np.ndarray:
    if scale_set[code].kind == "percentage":
        rubric = scale_set.rubrics[code]
        return np.array([rubric.level_of(v) for v in values])
    return values.to_numpy(dtype=int)


def agreement_report(tables: Mapping[str, pd.DataFrame], scales: Sequence[str] | None = None,
                     scale_set: ScaleSet | None = None) -> pd.DataFrame:
    """Rows (scale, annotator_a, annotator_b, n, qwk, spearman, exact, within_one); NaN where undefined.

    ``scales`` defaults to every scale of ``scale_set`` (default: the bundled set).
    """
    if len(tables) < 2:
        raise InputError("agreement needs at least two annotated batteries")
    scale_set = scale_set or default_scale_set()
    rows = []
    for code in scales or scale_set.codes:
        aligned = _aligned(tables, code)
        for first, second in itertools.combinations(tables, 2):
            both = aligned[[first, second]].dropna()
            row = {"scale": code, "annotator_a": first, "annotator_b": second, "n": len(both),
                   "qwk": np.nan, "spearman": np.nan, "exact": np.nan, "within_one": np.nan}
            if len(both):
                a, b = _on_levels(both[first], code, scale_set), _on_levels(both[second], code, scale_set)
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


def aggregate(tables: Mapping[str, pd.DataFrame], scales: Sequence[str], method: str = "median") -> pd.DataFrame:
    """The first battery with each of ``scales`` replaced by the ``method`` over annotators; provenance says so."""
    if method not in AGGREGATIONS:
        raise InputError(f"unknown aggregation {method!r}; use one of {', '.join(AGGREGATIONS)}", column="--method")
    base = next(iter(tables.values())).copy()
    for code in scales:
        aligned = _aligned(tables, code).reindex(base["instance_id"])
        base[code] = (aligned.median(axis=1) if method == "median" else aligned.mean(axis=1)).to_numpy()
    base["annotator"] = f"{method}({','.join(tables)})"
    for column in ("annotation_protocol", "rubric_hash", "scale_set_hash"):
        base[column] = "+".join(dict.fromkeys(v for t in tables.values() for v in t[column].unique() if v))
    return base
