"""Demand-profile study: does a subject's expected accuracy on a task it has never run, computed from its
characteristic curves over the task's demands, match the accuracy it really gets there?

On the annotated items of the bundled sample (MMLU-Pro 14 categories + BIG-Bench Hard 27 tasks), for
every subject and every task it has outcomes on: fit the subject's curves on its outcomes on the
*other* tasks (``assess.abilities.profiles``), predict the held-out task's accuracy
(``assess.demand_ability.predicted_success``, mean over the task's instances) and compare with the
actual accuracy there. Naive baseline: the subject's accuracy on the other tasks.

The prediction options (combination rule × guessing correction × smallest curve n) are chosen by
nested cross-validation over subjects: subjects in 6 folds; for each outer fold, the option with the
lowest MAE over the *training* subjects' held-out tasks is applied to the test subjects. Intervals
(bootstrap of the curves) are computed for the test predictions with the option chosen.

    python studies/demand_profiles/run.py --update-readme       # full run (≈13 min on 2 busy cores)
    python studies/demand_profiles/run.py --quick               # smoke run: 5 subjects, 20 replicates
    python studies/demand_profiles/run.py --figures-only        # redraw the figures from results/pairs.csv
"""
from __future__ import annotations

import argparse
import itertools
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from assess.atomic import write_bytes, write_text
from assess.datasets import load_sample
from assess.demand_ability import RULES, expected_accuracy, predicted_success, subject_curves
from assess.demand_plots import predicted_vs_actual, profile_grid
from assess.demands import demand_profile
from assess.report import _png
from assess.scales import SCALES

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
OPTIONS = [{"rule": r, "guess": g, "min_n": m} for r, g, m in itertools.product(RULES, (False, True), (1, 30))]
OUTER_FOLDS = 6
#: The study's benchmarks (the sample also holds Knights-and-Knaves and EQ-Bench items, with other subjects).
BENCHMARKS = ("mmlu_pro", "bbh")
#: Pairs with fewer annotated instances of the held-out task than this are left out (too noisy to score).
MIN_TASK_ITEMS = 10


def option_name(option: dict) -> str:
    return f"{option['rule']}{'+guess' if option['guess'] else ''} (min_n {option['min_n']})"


def pairs_table(battery: pd.DataFrame, outcomes: pd.DataFrame, subjects: list[str]) -> pd.DataFrame:
    """One row per (subject, held-out task): actual, baseline, and the point prediction of every option."""
    tasks = battery[["instance_id", "benchmark", "task"]]
    rows = []
    for subject in subjects:
        mine = outcomes[outcomes["subject"] == subject].merge(tasks, on="instance_id")
        for (benchmark, task), held in mine.groupby(["benchmark", "task"]):
            if len(held) < MIN_TASK_ITEMS:
                continue
            train = mine[mine["task"] != task]
            if train.empty:
                continue
            train_battery = battery[battery["instance_id"].isin(set(train["instance_id"]))]
            curves = subject_curves(train_battery, train[["subject", "instance_id", "correct"]], subject)
            target = battery.set_index("instance_id").loc[held["instance_id"]].reset_index()
            row = {"subject": subject, "benchmark": benchmark, "task": task, "n": len(held),
                   "actual": held["correct"].mean(), "baseline": train["correct"].mean()}
            train_rows = battery.set_index("instance_id").loc[train["instance_id"]].reset_index()
            for option in OPTIONS:
                p = predicted_success(target, curves, **option)
                row[option_name(option)] = np.nanmean(p)
                # demand-adjusted baseline: the training accuracy moved by the predicted difficulty change
                q = predicted_success(train_rows, curves, **option)
                shift = row["baseline"] - np.nanmean(q)
                row["adj " + option_name(option)] = np.nanmean(np.clip(p + shift, 0, 1))  # as the library does
            rows.append(row)
    return pd.DataFrame(rows)


def nested_selection(pairs: pd.DataFrame, columns: list[str], seed: int = 0) -> pd.DataFrame:
    """For each outer fold of subjects, the column with the lowest training MAE, applied to the test subjects."""
    subjects = np.array(sorted(pairs["subject"].unique()))
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(rng.permutation(subjects), np.arange(len(subjects)) % OUTER_FOLDS))
    pairs = pairs.assign(fold=pairs["subject"].map(fold_of))
    chosen = []
    for fold in sorted(pairs["fold"].unique()):
        train, test = pairs[pairs["fold"] != fold], pairs[pairs["fold"] == fold]
        mae = {c: (train[c] - train["actual"]).abs().mean() for c in columns}
        best = min(mae, key=mae.get)
        chosen.append(test.assign(chosen=best, predicted=test[best]))
    return pd.concat(chosen, ignore_index=True)


def summarise(frame: pd.DataFrame, column: str) -> dict:
    """MAE, mean signed error and the mean within-subject Spearman correlation of predicted vs actual."""
    error = frame[column] - frame["actual"]
    rhos = [spearmanr(g[column], g["actual"]).statistic for _, g in frame.groupby("subject") if len(g) >= 4
            and g[column].nunique() > 1]
    return {"pairs": len(frame), "MAE": error.abs().mean(), "bias": error.mean(),
            "within-subject Spearman": float(np.nanmean(rhos)) if rhos else np.nan}


def difference_interval(frame: pd.DataFrame, column: str, resamples: int = 2000, seed: int = 0) -> str:
    """MAE(column) − MAE(baseline) with a 95 % interval from resampling subjects (pairs of one subject together)."""
    gain = (frame[column] - frame["actual"]).abs() - (frame["baseline"] - frame["actual"]).abs()
    per_subject = gain.groupby(frame["subject"]).agg(["sum", "count"]).to_numpy()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(per_subject), (resamples, len(per_subject)))
    boot = per_subject[picks, 0].sum(axis=1) / per_subject[picks, 1].sum(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return f"{gain.mean():+.3f} [{low:+.3f}, {high:+.3f}]"


def option_lookup(name: str) -> tuple[dict, bool]:
    adjusted = name.startswith("adj ")
    plain = name.removeprefix("adj ")
    return next(o for o in OPTIONS if option_name(o) == plain), adjusted


def intervals(battery: pd.DataFrame, outcomes: pd.DataFrame, selected: pd.DataFrame, replicates: int) -> pd.DataFrame:
    """Bootstrap intervals of the chosen anchored option (the CLI's default) for each test pair."""
    rows = []
    for row in selected.itertuples():
        option, anchored = option_lookup(row.chosen_adj)
        ids = battery.loc[battery["task"] == row.task, "instance_id"]
        mine = outcomes[outcomes["subject"] == row.subject]
        expectation, _ = expected_accuracy(battery, mine, row.subject, ids, group=row.task, bootstrap=replicates,
                                           anchored=anchored, **option)
        rows.append(expectation.model_dump())
    return pd.DataFrame(rows)


def run(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    battery, outcomes = load_sample(annotated_only=True)
    battery = battery[battery[list(SCALES)].notna().all(axis=1) & battery["benchmark"].isin(BENCHMARKS)]
    battery = battery.reset_index(drop=True)
    outcomes = outcomes[outcomes["instance_id"].isin(battery["instance_id"])]
    subjects = sorted(outcomes["subject"].unique())
    if args.quick:
        subjects = subjects[:: max(1, len(subjects) // 5)][:5]
    RESULTS.mkdir(exist_ok=True)
    coverage = outcomes.merge(battery[["instance_id", "benchmark"]], on="instance_id").groupby(
        ["subject", "benchmark"]).size().unstack(fill_value=0)
    write_text(RESULTS / "outcome_coverage.csv", coverage.to_csv())

    pairs = pairs_table(battery, outcomes, subjects)
    plain = [option_name(o) for o in OPTIONS]
    adjusted = ["adj " + c for c in plain]
    per_option = pd.DataFrame([{"option": c, **summarise(pairs, c)} for c in ["baseline"] + plain + adjusted])
    write_text(RESULTS / "options.csv", per_option.round(4).to_csv(index=False))

    nested_plain = nested_selection(pairs, plain)
    nested_adj = nested_selection(pairs, adjusted).rename(columns={"chosen": "chosen_adj", "predicted": "predicted_adj"})
    selected = nested_plain.merge(nested_adj[["subject", "task", "chosen_adj", "predicted_adj"]], on=["subject", "task"])
    selected = selected.rename(columns={"chosen": "chosen_plain"})
    bounds = intervals(battery, outcomes, selected, args.replicates)
    selected["ci_low"], selected["ci_high"] = bounds["ci_low"].to_numpy(), bounds["ci_high"].to_numpy()
    selected["pi_low"], selected["pi_high"] = bounds["pi_low"].to_numpy(), bounds["pi_high"].to_numpy()
    write_text(RESULTS / "pairs.csv", selected.round(4).to_csv(index=False))

    lines = []
    for label, part in [("all held-out tasks", selected)] + [(f"{b} tasks", g) for b, g in selected.groupby("benchmark")]:
        for name, column in (("naive baseline (accuracy on the other tasks)", "baseline"),
                             ("demands: curves over the task's demands (nested CV option)", "predicted"),
                             ("demand-adjusted baseline (nested CV option)", "predicted_adj")):
            lines.append({"held out": label, "predictor": name, **summarise(part, column),
                          "MAE − baseline [95 % CI]": "" if column == "baseline" else difference_interval(part, column)})
    table = pd.DataFrame(lines)
    in_ci = ((selected["actual"] >= selected["ci_low"]) & (selected["actual"] <= selected["ci_high"])).mean()
    in_pi = ((selected["actual"] >= selected["pi_low"]) & (selected["actual"] <= selected["pi_high"])).mean()
    chosen = (selected.groupby("fold")[["chosen_plain", "chosen_adj"]].first()
              .apply(lambda c: ", ".join(f"{k} ×{v}" for k, v in c.value_counts().items())))
    markdown = (_markdown(table) + f"\n\nPairs (subject × held-out task): {len(selected)}, subjects "
                f"{selected['subject'].nunique()}. Options chosen by the inner selection, over the {OUTER_FOLDS} outer "
                f"folds — demands: {chosen['chosen_plain']}; adjusted: {chosen['chosen_adj']}. "
                f"Coverage of the actual accuracy by the 95 % intervals of the demand-adjusted prediction "
                f"({args.replicates} bootstrap replicates): ci {in_ci:.2f}, pi {in_pi:.2f}.\n")
    write_text(RESULTS / "table.md", markdown)
    write_text(RESULTS / "options.md", _markdown(per_option))
    figures(selected)
    print(markdown)
    print(f"wall time {time.perf_counter() - start:.0f} s")
    if args.update_readme:
        readme = HERE / "README.md"
        text = readme.read_text()
        block = f"<!-- table -->\n{markdown}\n<!-- /table -->"
        write_text(readme, re.sub(r"<!-- table -->.*?<!-- /table -->", lambda _: block, text, flags=re.S))


def figures(selected: pd.DataFrame) -> None:
    """Predicted (demand-adjusted, with its prediction interval) against actual task accuracy; the README's
    demand-profile picture."""
    kind = np.where(selected["benchmark"] == "bbh", "BBH tasks", "MMLU-Pro categories")
    figure = predicted_vs_actual(selected.assign(subject=kind, predicted=selected["predicted_adj"]))
    write_bytes(RESULTS / "predicted_vs_actual.png", _png(figure))
    sample = load_sample()[0]
    profile = demand_profile(sample[sample["benchmark"].isin(BENCHMARKS)], "benchmark", battery_name="bundled sample")
    write_bytes(RESULTS / "demand_profile_benchmarks.png",
                _png(profile_grid(profile.table(), [g.group for g in profile.groups],
                                  "Demand profiles — bundled sample, MMLU-Pro and BBH")))


def _markdown(frame: pd.DataFrame) -> str:
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype.kind == "f":
            frame[column] = frame[column].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
    return frame.to_markdown(index=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 subjects, 20 bootstrap replicates")
    parser.add_argument("--replicates", type=int, default=None, help="bootstrap replicates for the intervals")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--figures-only", action="store_true", help="redraw the figures from results/pairs.csv")
    arguments = parser.parse_args()
    if arguments.replicates is None:
        arguments.replicates = 20 if arguments.quick else 100
    if arguments.figures_only:
        figures(pd.read_csv(RESULTS / "pairs.csv"))
    else:
        run(arguments)
