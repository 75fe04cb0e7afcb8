"""Evaluation protocols for assessors: in-distribution and out-of-distribution, per subject.

* ``in_distribution`` — the published protocol: stratified k-fold per subject, out-of-fold
  predictions pooled, metrics computed on the pool, averaged over seeds;
* ``task_ood`` — group k-fold over the task column: every test instance's task is unseen;
* ``benchmark_ood`` — leave one benchmark out (subjects with a single benchmark are skipped, and listed);
* ``new_subject`` — subjects split into groups and instances into folds: an assessor trained on
  the other subjects' outcomes on the other instances predicts the held-out subjects on the held-out
  instances. A :class:`MultiSubjectAssessor` gets every subject's ability profile, estimated by
  ``profile_fn`` from training instances only; any other assessor is trained on the pooled outcomes.

An assessor whose ``fit`` accepts ``groups`` (the embedding and combined assessors) gets the
training rows' task (``task_ood``), benchmark (``benchmark_ood``) or instance (``new_subject``),
so what it tunes on inner folds is tuned for the shift it will be tested on.
"""
from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut, StratifiedKFold

from assess.battery import join
from assess.errors import InputError
from assess.progress import ProgressCallback, report

from .metrics import METRICS, TOLERANCE, score
from .multisubject import MultiSubjectAssessor, Profiles

PROTOCOLS: tuple[str, ...] = ("in_distribution", "task_ood", "benchmark_ood", "new_subject")
ProfileFn = Callable[[pd.DataFrame, pd.DataFrame], Profiles]
Split = tuple[np.ndarray, np.ndarray]


@dataclass
class Evaluation:
    """Out-of-fold predictions (with what a combined assessor chose in each fit, ``chosen``), the per-subject
    metric table and the subjects a protocol skipped."""

    predictions: pd.DataFrame
    table: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["protocol", "subject", "reason"]))

    def summary(self) -> pd.DataFrame:
        """Per protocol: plain mean over subjects and mean weighted by subject accuracy (success rate)."""
        rows = []
        for protocol, group in self.table.groupby("protocol", sort=False):
            columns = list(METRICS) + ["fit_seconds", "predict_seconds"]
            weights = group["success_rate"].to_numpy()
            rows.append({"protocol": protocol, "aggregate": "mean", "subjects": len(group),
                         **group[columns].mean().to_dict()})
            rows.append({"protocol": protocol, "aggregate": "accuracy_weighted", "subjects": len(group),
                         **{c: float(np.average(group[c], weights=weights)) for c in columns}})
        return pd.DataFrame(rows)

    def choices(self) -> pd.DataFrame:
        """Per protocol, what a combined assessor chose (``chosen_``, e.g. ``stack+platt``): the share of held-out
        predictions made by each choice. Empty for assessors that choose nothing."""
        made = self.predictions[self.predictions["chosen"] != ""]
        if made.empty:
            return pd.DataFrame(columns=["protocol", "chosen", "share"])
        share = made.groupby("protocol", sort=False)["chosen"].value_counts(normalize=True)
        return share.rename("share").reset_index()


def _per_subject_splits(protocol: str, rows: pd.DataFrame, n_splits: int, seed: int, task_column: str,
                        benchmark_column: str) -> list[Split]:
    y = rows["correct"].to_numpy().astype(int)
    if protocol == "in_distribution":
        k = min(n_splits, int(np.bincount(y, minlength=2).min()))
        if k < 2:
            raise _Skip("fewer than 2 successes or failures")
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(rows, y))
    column = task_column if protocol == "task_ood" else benchmark_column
    if column not in rows.columns:
        raise InputError(f"{protocol} needs a {column!r} column in the battery", column=column)
    groups = rows[column].astype(str).to_numpy()
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise _Skip(f"only one {column} value")
    if protocol == "benchmark_ood":
        return list(LeaveOneGroupOut().split(rows, y, groups))
    return list(GroupKFold(min(n_splits, n_groups), shuffle=True, random_state=seed).split(rows, y, groups))


class _Skip(Exception):
    """A protocol cannot be run for one subject (the reason goes into ``Evaluation.skipped``)."""


def _fit_predict(assessor, train: pd.DataFrame, test: pd.DataFrame, profiles: Profiles | None = None,
                 group_column: str | None = None):
    """Fit a clone on ``train``; return (success probabilities on ``test``, fit seconds, predict seconds).

    An assessor whose ``fit`` takes ``groups`` gets ``train[group_column]``, so its inner folds hold out
    groups the way the protocol's outer folds do."""
    model = clone(assessor)
    if profiles is not None:
        model.set_params(profiles=profiles)
    fit_params = {}
    if group_column is not None and "groups" in inspect.signature(model.fit).parameters:
        fit_params["groups"] = train[group_column].astype(str).to_numpy()
    start = time.perf_counter()
    model.fit(train, train["correct"].to_numpy(), **fit_params)
    fitted = time.perf_counter()
    p = model.predict_proba(test, profiles) if profiles is not None else model.predict_proba(test)
    return p[:, 1], fitted - start, time.perf_counter() - fitted, getattr(model, "chosen_", "")


def _run_subject(assessor, protocol: str, subject: str, rows: pd.DataFrame, seed: int, n_splits: int,
                 task_column: str, benchmark_column: str) -> tuple[pd.DataFrame, list[float], list[float]]:
    """All folds of one (protocol, subject, seed): pooled out-of-fold predictions and timings."""
    splits = _per_subject_splits(protocol, rows, n_splits, seed, task_column, benchmark_column)
    parts, fits, predicts = [], [], []
    group_column = {"task_ood": task_column, "benchmark_ood": benchmark_column}.get(protocol)
    for fold, (train, test) in enumerate(splits):
        p, fit_s, predict_s, chosen = _fit_predict(assessor, rows.iloc[train], rows.iloc[test],
                                                   group_column=group_column)
        parts.append(_prediction_frame(protocol, seed, fold, rows.iloc[test], p, chosen))
        fits.append(fit_s)
        predicts.append(predict_s)
    return pd.concat(parts, ignore_index=True), fits, predicts


def _prediction_frame(protocol: str, seed: int, fold: int, test: pd.DataFrame, p: np.ndarray,
                      chosen: str) -> pd.DataFrame:
    return pd.DataFrame({"protocol": protocol, "seed": seed, "fold": fold, "subject": test["subject"].to_numpy(),
                         "instance_id": test["instance_id"].to_numpy(), "y": test["correct"].to_numpy(), "p": p,
                         "chosen": chosen})


def _new_subject_jobs(assessor, data: pd.DataFrame, battery: pd.DataFrame, outcomes: pd.DataFrame,
                      subjects: list[str], seeds: Sequence[int], n_splits: int,
                      profile_fn: ProfileFn | None) -> Iterator[tuple]:
    multi = isinstance(assessor, MultiSubjectAssessor)
    if multi and profile_fn is None:
        raise InputError("new_subject with a MultiSubjectAssessor needs profile_fn(battery, outcomes) -> profiles")
    if len(subjects) < 2:
        raise InputError("new_subject needs at least 2 subjects")
    ids = battery["instance_id"].to_numpy()
    for seed in seeds:
        rng = np.random.default_rng(seed)
        groups = np.array_split(rng.permutation(subjects), min(n_splits, len(subjects)))
        for fold, (train_idx, test_idx) in enumerate(KFold(n_splits, shuffle=True, random_state=seed).split(ids)):
            train_ids, test_ids = set(ids[train_idx]), set(ids[test_idx])
            profiles = None
            if multi:
                seen = outcomes[outcomes["instance_id"].isin(train_ids)]
                profiles = profile_fn(battery[battery["instance_id"].isin(train_ids)], seen)
            for held_out in groups:
                held = data["subject"].isin(held_out)
                train = data[~held & data["instance_id"].isin(train_ids)]
                test = data[held & data["instance_id"].isin(test_ids)]
                yield seed, fold, train, test, profiles


def _run_new_subject(assessor, seed: int, fold: int, train: pd.DataFrame, test: pd.DataFrame,
                     profiles: Profiles | None) -> tuple[pd.DataFrame, list[float], list[float]]:
    p, fit_s, predict_s, chosen = _fit_predict(assessor, train, test, profiles, group_column="instance_id")
    return _prediction_frame("new_subject", seed, fold, test, p, chosen), [fit_s], [predict_s]


def evaluate(assessor, battery: pd.DataFrame, outcomes: pd.DataFrame, *,
             protocols: Sequence[str] = ("in_distribution",), subjects: Sequence[str] | None = None,
             n_splits: int = 5, seeds: Sequence[int] = (0,), task_column: str = "task",
             benchmark_column: str = "benchmark", profile_fn: ProfileFn | None = None,
             tolerance: float = TOLERANCE, n_jobs: int = 1, progress: ProgressCallback | None = None) -> Evaluation:
    """Run ``protocols`` for ``assessor`` on every subject's outcomes over ``battery``.

    Returns pooled out-of-fold predictions, per (protocol, subject) metrics averaged over ``seeds``
    (with mean fit and predict seconds per fold) and the (protocol, subject) pairs that were skipped.
    """
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise InputError(f"unknown protocol(s) {', '.join(unknown)}; choose from {', '.join(PROTOCOLS)}")
    graded = ~outcomes["correct"].isin((0, 1)) | (outcomes["trials"] > 1 if "trials" in outcomes.columns else False)
    if graded.any():
        row = outcomes[graded].iloc[0]
        raise InputError("the evaluation protocols score 0/1 outcomes (AUROC, ECE, ...); graded outcomes (scores, "
                         "successes of trials) can train an assessor (assess fit) but not be evaluated here",
                         instance_id=str(row["instance_id"]), column="correct")
    data = join(battery, outcomes)
    chosen = sorted(data["subject"].unique()) if subjects is None else [str(s) for s in subjects]
    present = set(data["subject"])
    absent = [s for s in chosen if s not in present]
    if absent:
        raise InputError(f"no outcomes on this battery for subject(s) {', '.join(map(repr, absent))}", column="subject")
    data = data[data["subject"].isin(chosen)].reset_index(drop=True)
    if hasattr(assessor, "precompute"):
        assessor.precompute(battery[battery["instance_id"].isin(data["instance_id"])])
    per_subject = {s: rows.reset_index(drop=True) for s, rows in data.groupby("subject", sort=True)}
    jobs, skipped = [], []
    for protocol in protocols:
        if protocol == "new_subject":
            chosen_outcomes = outcomes[outcomes["subject"].astype(str).isin(chosen)]
            jobs += [delayed(_run_new_subject)(assessor, *job) for job in
                     _new_subject_jobs(assessor, data, battery, chosen_outcomes, chosen, seeds, n_splits, profile_fn)]
            continue
        for subject in chosen:
            try:
                _per_subject_splits(protocol, per_subject[subject], n_splits, 0, task_column, benchmark_column)
            except _Skip as why:
                skipped.append({"protocol": protocol, "subject": subject, "reason": str(why)})
                continue
            jobs += [delayed(_run_subject)(assessor, protocol, subject, per_subject[subject], seed, n_splits,
                                           task_column, benchmark_column) for seed in seeds]
    results = _run_jobs(jobs, n_jobs, progress)
    predictions = pd.concat([r[0] for r in results], ignore_index=True)
    timings = pd.DataFrame([{"protocol": r[0]["protocol"].iloc[0], "subject": s, "seed": r[0]["seed"].iloc[0],
                             "fit_seconds": np.mean(r[1]), "predict_seconds": np.mean(r[2])}
                            for r in results for s in r[0]["subject"].unique()])
    table = _metric_table(predictions, timings, tolerance)
    return Evaluation(predictions, table, pd.DataFrame(skipped, columns=["protocol", "subject", "reason"]))


def _run_jobs(jobs: list, n_jobs: int, progress: ProgressCallback | None) -> list:
    """Every job's result, in any order; ``progress`` gets ``evaluating`` events (jobs done of all)."""
    if not jobs:
        raise InputError("nothing to evaluate: every protocol was skipped for every subject")
    runner = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    results = []
    report(progress, "evaluating", 0, len(jobs))
    for result in runner(jobs):
        results.append(result)
        report(progress, "evaluating", len(results), len(jobs))
    return results


def _metric_table(predictions: pd.DataFrame, timings: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Metrics per (protocol, subject, seed) on pooled predictions, then averaged over seeds."""
    rows = [{"protocol": protocol, "subject": subject, "seed": seed,
             **score(group["y"].to_numpy(), group["p"].to_numpy(), tolerance)}
            for (protocol, subject, seed), group in predictions.groupby(["protocol", "subject", "seed"], sort=False)]
    per_seed = pd.DataFrame(rows)
    times = timings.groupby(["protocol", "subject", "seed"], as_index=False)[["fit_seconds", "predict_seconds"]].mean()
    per_seed = per_seed.merge(times, on=["protocol", "subject", "seed"], how="left")
    table = per_seed.drop(columns="seed").groupby(["protocol", "subject"], sort=False, as_index=False).mean()
    table["n"] = table["n"].astype(int)
    table["seeds"] = per_seed.groupby(["protocol", "subject"], sort=False)["seed"].nunique().to_numpy()
    return table
