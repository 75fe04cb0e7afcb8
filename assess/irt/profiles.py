"""``assess profile`` with ``method: irt``: fit the joint model on every subject of the outcomes.

The population is every subject with outcomes on the selected battery items that are annotated
on all chosen scales (the demand-IRT model needs every demand); the ability table has the SCC
layout (scale, ability, ci_low, ci_high, n, intercept, slope) so files, plots and reports are
shared. The estimator is :class:`predictors.irt.IRTAssessor` (imported here, at the call).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from assess.errors import InputError

#: Outcome columns carried into the fit besides subject, instance_id and correct (graded outcomes).
COUNT_COLUMNS = ("successes", "trials")


def annotated_items(battery: pd.DataFrame, scales: Sequence[str]) -> pd.DataFrame:
    """Battery rows with a level on every one of ``scales``."""
    present = [s for s in scales if s in battery.columns]
    if len(present) < len(scales):
        return battery.iloc[:0]
    return battery[battery[list(scales)].notna().all(axis=1)]


def irt_profiles(battery: pd.DataFrame, outcomes: pd.DataFrame, subjects: Sequence[str], *,
                 scales: Sequence[str], settings: Mapping[str, Any] | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Ability table and per-level success table of ``subjects``, and the fitted population model.

    ``settings`` are :class:`~predictors.irt.IRTAssessor` parameters (form, residual, priors).
    The per-level table counts, per scale, the subject's outcomes on items demanding it (level > 0),
    binned to whole levels (halves go up).
    """
    from predictors.irt import IRTAssessor

    items = annotated_items(battery, scales)
    extra = [c for c in COUNT_COLUMNS if c in outcomes.columns]
    rows = outcomes[["subject", "instance_id", "correct", *extra]].merge(items, on="instance_id", how="inner")
    missing = sorted(set(subjects) - set(rows["subject"]))
    if missing:
        raise InputError(f"subject(s) {', '.join(map(repr, missing))} have no outcomes on items annotated on "
                         f"all of {', '.join(scales)}; method irt needs every demand", column="subject")
    model = IRTAssessor(scales=list(scales), **dict(settings or {})).fit(rows, rows["correct"])
    # the SCC layout's exclusion counts: method irt drops no item for its UG (UG sets the guessing floor)
    table = model.abilities(list(subjects)).assign(excluded_low_ug=0, excluded_missing_ug=0)
    return table, _level_success(rows, subjects, scales), model


def _level_success(rows: pd.DataFrame, subjects: Sequence[str], scales: Sequence[str]) -> pd.DataFrame:
    """subject, scale, level, n, successes, rate over the items demanding each scale."""
    mine = rows[rows["subject"].isin(list(subjects))]
    if {"successes", "trials"} <= set(mine.columns):
        successes, trials = mine["successes"].astype(float), mine["trials"].astype(float)
    else:
        successes, trials = mine["correct"].astype(float), pd.Series(1.0, index=mine.index)
    parts = []
    for scale in scales:
        level = np.floor(mine[scale].astype(float) + 0.5)
        demanded = level > 0
        frame = pd.DataFrame({"subject": mine["subject"][demanded], "level": level[demanded],
                              "n": trials[demanded], "successes": successes[demanded]})
        grouped = frame.groupby(["subject", "level"], as_index=False)[["n", "successes"]].sum()
        parts.append(grouped.assign(scale=scale))
    empirical = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    empirical = empirical[["subject", "scale", "level", "n", "successes"]]
    empirical["rate"] = empirical["successes"] / empirical["n"]
    return empirical.astype({"n": int}) if (empirical["n"] % 1 == 0).all() else empirical
