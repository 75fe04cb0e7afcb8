"""Ability against demand: a subject's expected accuracy on a group of instances it has never run.

The subject's characteristic curves come from :func:`assess.abilities.profiles` (the published SCC
method with its defaults: UG ≥ 75 filter, dominance over the analysed level scales), fitted on its
outcomes *outside* the group (so the group is new to it). Each curve gives ``P(success)`` at a level,
``sigmoid(intercept + slope * level)``; a curve is usable when it rests on at least ``min_n``
instances. An instance's predicted success combines the usable curves at its levels by ``rule``:

* ``dominant`` — the curve of its highest-demand scale at that level (ties: the mean over the tied
  scales' curves);
* ``product`` — the product over the scales it demands (level > 0) — every demand must be met;
* ``min`` — the smallest of those values — the hardest demand decides.

An instance demanding nothing (all levels 0) gets the ``dominant`` value under every rule. With
``guess=True`` the value is corrected for guessing with the instance's unguessability:
``c + (1 - c) * p`` with chance ``c = 1 - UG / 100`` (no correction where UG is missing). The scales
come from the active :class:`~assess.scaleset.ScaleSet` (default: the bundled one): its level scales
(or a chosen subset) get curves, and its unguessability scale (family ``unguessability``) is both
the curves' UG filter and the guessing correction; a set without one has neither. Instances
without a usable curve on any of their annotated scales get no prediction (NaN) and are counted.

The expected accuracy on the group is the mean predicted success over its predicted instances. With
``anchored=True`` it is moved by the curves' error on the subject's own training instances:
``observed training accuracy + mean prediction on the group − mean prediction on the training
instances`` (clipped to 0–1), so the curves only say how much harder or easier the group is than
what the subject has run. Its
intervals come from ``bootstrap`` replicates: the subject's training outcomes are resampled by
instance and the curves refitted, giving one mean per replicate; ``ci`` is the 2.5–97.5 %
percentile range of those means (uncertainty of the curves), ``pi`` adds the sampling of the group's
own outcomes — in each replicate one Bernoulli draw per instance — so it is the range the observed
accuracy on these instances should fall in. An instance that loses every usable curve in a replicate
(its scales' instances all left out of the resample) keeps its point-fit value in that replicate;
an anchored replicate without a usable curve on any resampled training instance is left out.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import get_args

import numpy as np
import pandas as pd

from .abilities import profiles
from .demands import Expectation, Rule, group_labels, ordered_groups
from .errors import InputError
from .scaleset import ScaleSet, default_scale_set

RULES: tuple[str, ...] = get_args(Rule)
#: Defaults chosen by the study ``studies/demand_profiles``: the option most outer folds' inner
#: selection picked (4 of 6; lowest MAE of held-out task accuracy on the training subjects).
DEFAULT_RULE: Rule = "dominant"
DEFAULT_GUESS = True
DEFAULT_MIN_N = 30
DEFAULT_ANCHORED = True


def level_scales(scale_set: ScaleSet | None, scales: Sequence[str] | None) -> tuple[ScaleSet, tuple[str, ...]]:
    """The active set (default: bundled) and the level scales to fit (default: all of its level scales)."""
    scale_set = scale_set or default_scale_set()
    levels = scale_set.level_codes if scales is None else scale_set.check(list(scales), key="scales", kind="level")
    if not levels:
        raise InputError("no level scale to fit a subject's curves on", column="scales")
    return scale_set, levels


def subject_curves(battery: pd.DataFrame, outcomes: pd.DataFrame, subject: str,
                   scales: Sequence[str] | None = None, *, scale_set: ScaleSet | None = None) -> pd.DataFrame:
    """The subject's curves: one row per level scale with intercept, slope, ability and n (its instances)."""
    scale_set, levels = level_scales(scale_set, scales)
    table, _ = profiles(battery, outcomes, [subject], scales=levels, dominance_scales=levels,
                        ug_column=scale_set.unguessability)
    return table


def predicted_success(battery: pd.DataFrame, curves: pd.DataFrame, *, rule: Rule = DEFAULT_RULE,
                      guess: bool = DEFAULT_GUESS, min_n: int = DEFAULT_MIN_N,
                      scale_set: ScaleSet | None = None) -> np.ndarray:
    """(n,) predicted success of each battery row from one set of curves (NaN: no usable curve)."""
    if rule not in RULES:
        raise InputError(f"unknown rule {rule!r}; use one of {', '.join(RULES)}")
    levels = battery.reindex(columns=list(curves["scale"])).to_numpy(dtype=float)  # (n, S)
    chance = _chance(battery, (scale_set or default_scale_set()).unguessability) if guess else None
    return _combine(levels, curves, rule, min_n, chance)


def _chance(battery: pd.DataFrame, ug_column: str | None) -> np.ndarray:
    """(n,) chance of guessing right, ``1 - UG / 100``; 0 (no correction) where UG is missing or the set has none."""
    if ug_column is None or ug_column not in battery.columns:
        return np.zeros(len(battery))
    return np.nan_to_num(1.0 - battery[ug_column].to_numpy(dtype=float) / 100.0, nan=0.0)


def _combine(levels: np.ndarray, curves: pd.DataFrame, rule: str, min_n: int,
             chance: np.ndarray | None) -> np.ndarray:
    """Combine the usable curves (columns of ``levels`` in the order of ``curves``) at each row's levels."""
    usable = ((curves["n"] >= min_n) & np.isfinite(curves["intercept"]) & np.isfinite(curves["slope"])).to_numpy()
    levels = np.where(usable, levels, np.nan)
    p = 1.0 / (1.0 + np.exp(-(curves["intercept"].to_numpy() + curves["slope"].to_numpy() * levels)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no usable curve, NaN on purpose
        top = np.nanmax(levels, axis=1, keepdims=True)
        dominant = np.nanmean(np.where(levels == top, p, np.nan), axis=1)
        demanded = np.where(levels > 0, p, np.nan)
        if rule == "product":
            value = np.where(np.isnan(demanded).all(axis=1), np.nan, np.nanprod(demanded, axis=1))
        elif rule == "min":
            value = np.nanmin(demanded, axis=1)
        else:
            value = dominant
    value = np.where(np.isnan(value), dominant, value)
    return value if chance is None else chance + (1.0 - chance) * value


def _replicate_curves(battery: pd.DataFrame, outcomes: pd.DataFrame, subject: str, levels: Sequence[str],
                      ug_column: str | None, replicates: int,
                      rng: np.random.Generator) -> tuple[list[pd.DataFrame], np.ndarray]:
    """Curves of ``replicates`` bootstrap resamples of the subject's outcomes (instances drawn with
    replacement), fitted in one :func:`profiles` call as pseudo-subjects ``subject#r``, and the draws
    (R, n) as positions in ``outcomes``."""
    draws = rng.integers(0, len(outcomes), (replicates, len(outcomes)))
    names = np.repeat([f"{subject}#{r}" for r in range(replicates)], len(outcomes))
    resampled = pd.DataFrame({"subject": pd.Categorical(names),  # categorical: profiles selects each quickly
                              "instance_id": outcomes["instance_id"].to_numpy(dtype=object)[draws.ravel()],
                              "correct": outcomes["correct"].to_numpy()[draws.ravel()]})
    levels = tuple(levels)
    table, _ = profiles(battery, resampled, [f"{subject}#{r}" for r in range(replicates)], scales=levels,
                        dominance_scales=levels, ug_column=ug_column)
    return [part for _, part in table.groupby("subject", sort=False)], draws


def expected_accuracy(
    battery: pd.DataFrame,
    outcomes: pd.DataFrame,
    subject: str,
    group_ids: Sequence[str],
    *,
    group: str = "",
    scale_set: ScaleSet | None = None,
    scales: Sequence[str] | None = None,
    rule: Rule = DEFAULT_RULE,
    guess: bool = DEFAULT_GUESS,
    min_n: int = DEFAULT_MIN_N,
    anchored: bool = DEFAULT_ANCHORED,
    bootstrap: int = 200,
    seed: int = 0,
) -> tuple[Expectation, pd.DataFrame | None]:
    """The subject's expected accuracy on the instances ``group_ids``, from curves fitted on its other outcomes.

    ``scales`` are level scales of ``scale_set`` (default: the bundled set, all of its level scales).
    Returns the :class:`Expectation` and the curves used (point fit). A subject without outcomes on
    annotated instances outside the group gets no prediction (``predicted`` None, ``n_train`` 0, no
    curves); one without any outcomes is an :class:`InputError`.
    """
    scale_set, levels_fitted = level_scales(scale_set, scales)
    ug_column = scale_set.unguessability
    mine = outcomes[outcomes["subject"] == subject]
    if mine.empty:
        known = ", ".join(sorted(outcomes["subject"].unique())[:30])
        raise InputError(f"subject {subject!r} has no outcomes (subjects there: {known})")
    in_group = battery["instance_id"].isin(set(group_ids))
    target = battery[in_group]
    annotated = battery.reindex(columns=list(levels_fitted)).notna().any(axis=1)
    train_ids = set(battery.loc[~in_group & annotated, "instance_id"])
    train = mine[mine["instance_id"].isin(train_ids)]
    observed_all = mine.set_index("instance_id")["correct"]
    seen = observed_all.reindex(target["instance_id"]).dropna()
    nothing = Expectation(subject=subject, group=group, n_train=len(train), n_instances=int(len(target)),
                          n_predicted=0, predicted=None, ci_low=None, ci_high=None, pi_low=None, pi_high=None,
                          n_actual=int(len(seen)), actual=float(seen.mean()) if len(seen) else None)
    if train.empty:  # nothing to fit its curves on: no prediction, said so in the table
        return nothing, None
    kept = ["instance_id", *levels_fitted, *([ug_column] if ug_column in battery.columns else [])]
    train_battery = battery.loc[battery["instance_id"].isin(set(train["instance_id"])), kept]
    curves = subject_curves(train_battery, train, subject, levels_fitted, scale_set=scale_set)
    point = predicted_success(target, curves, rule=rule, guess=guess, min_n=min_n, scale_set=scale_set)
    keep = ~np.isnan(point)
    if not keep.any():  # no usable curve on any of the group's annotated scales
        return nothing, curves
    columns = list(curves["scale"])
    levels = target.loc[keep].reindex(columns=columns).to_numpy(dtype=float)
    chance = _chance(target.loc[keep], ug_column) if guess else None
    train_rows = train_battery.set_index("instance_id").loc[train["instance_id"]]
    train_levels = train_rows.reindex(columns=columns).to_numpy(dtype=float)
    train_chance = _chance(train_rows, ug_column) if guess else None
    correct = train["correct"].to_numpy(dtype=float)

    def offset(replicate: pd.DataFrame, rows: np.ndarray) -> float:
        """Anchoring shift: observed minus predicted accuracy on the training instances ``rows``."""
        if not anchored:
            return 0.0
        fitted = _combine(train_levels[rows], replicate, rule, min_n, None if train_chance is None
                          else train_chance[rows])
        finite = ~np.isnan(fitted)
        return float(correct[rows].mean() - fitted[finite].mean()) if finite.any() else float("nan")

    estimate = np.clip(point[keep] + offset(curves, np.arange(len(train))), 0, 1)
    means, draws = [], []
    rng = np.random.default_rng(seed)
    replicates, positions = (_replicate_curves(train_battery, train, subject, levels_fitted, ug_column, bootstrap, rng)
                             if bootstrap else ([], []))
    for replicate, rows in zip(replicates, positions):
        p = _combine(levels, replicate, rule, min_n, chance)
        p = np.where(np.isnan(p), point[keep], p)  # every curve of an instance lost in a replicate: the point value
        shift = offset(replicate, rows)
        if np.isnan(shift):  # no usable curve on any resampled training instance: no anchor, replicate left out
            continue
        p = np.clip(p + shift, 0, 1)
        means.append(p.mean())
        draws.append((rng.random(p.size) < p).mean())
    ci = np.percentile(means, [2.5, 97.5]) if means else (np.nan, np.nan)
    pi = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
    observed = observed_all.reindex(target["instance_id"][keep]).dropna()
    expectation = Expectation(
        subject=subject, group=group, n_train=int(len(train)), n_instances=int(len(target)), n_predicted=int(keep.sum()),
        predicted=_finite(estimate.mean()),
        ci_low=_finite(ci[0]), ci_high=_finite(ci[1]), pi_low=_finite(pi[0]), pi_high=_finite(pi[1]),
        n_actual=int(len(observed)), actual=float(observed.mean()) if len(observed) else None)
    return expectation, curves


def expected_accuracies(
    battery: pd.DataFrame,
    outcomes: pd.DataFrame,
    subjects: Sequence[str],
    by: str = "benchmark",
    *,
    groups: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    **options,
) -> tuple[list[Expectation], dict[tuple[str, str], pd.DataFrame]]:
    """:func:`expected_accuracy` of every subject on every group (or the named ``groups``) of ``by``.

    Returns the expectations and the curves used, keyed by (subject, group). ``progress`` is called
    with a short description before each pair; ``options`` go to :func:`expected_accuracy`.
    """
    column, labels = group_labels(battery, by)
    known = ordered_groups(battery, labels, column)
    unknown = sorted(set(groups or []) - set(known))
    if unknown:
        raise InputError(f"unknown {by}(s) {', '.join(map(repr, unknown))}; known: {', '.join(known[:40])}")
    results, curves = [], {}
    for subject in subjects:
        for group in groups or known:
            if progress is not None:
                progress(f"{subject} on {group}")
            ids = battery.loc[(labels == group).to_numpy(), "instance_id"]
            expectation, used = expected_accuracy(battery, outcomes, subject, ids, group=group, **options)
            results.append(expectation)
            if used is not None:
                curves[(subject, group)] = used
    return results, curves


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
