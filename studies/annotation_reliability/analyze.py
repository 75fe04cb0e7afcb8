"""Reliability and validity of the reference annotations; writes results/*.csv and results/tables.md.

    python studies/annotation_reliability/analyze.py

Reliability: pass 1 vs the independent pass 2 (quadratic-weighted kappa, Spearman, exact and ±1
agreement per scale), and the calibration set scored against its intended levels.
Validity: per scale, Spearman between an item's level and its mean success over the models that
ran it (MMLU-Pro: 21 models; BBH: code-davinci-002 with and without chain of thought), and mean
levels of the 3/5/7-object variants of BBH's logical_deduction and tracking_shuffled_objects.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from assess import atomic
from assess.annotate.agreement import agreement_report
from assess.calibration import load_calibration, score_annotations
from assess.datasets import load_sample
from assess.scales import ANNOTATED, SCALES

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results"
VARIANT_TASKS = ("logical_deduction", "tracking_shuffled_objects")
SIZES = ("three", "five", "seven")


def reliability() -> pd.DataFrame:
    first = pd.read_parquet(WORK / "pass1" / "annotated.parquet")
    second = pd.read_parquet(WORK / "pass2" / "annotated.parquet")
    first = first[first["instance_id"].isin(second["instance_id"])]
    return agreement_report({"pass1": first, "pass2": second}).drop(columns=["annotator_a", "annotator_b"])


def calibration() -> pd.DataFrame:
    annotated = pd.read_parquet(WORK / "calibration" / "annotated.parquet")
    items = load_calibration()
    annotated["item_id"] = annotated["instance_id"].str.removeprefix("calibration/")
    merged = items[["item_id", "scale"]].merge(annotated, on="item_id")
    long = pd.DataFrame({"item_id": merged["item_id"], "scale": merged["scale"],
                         "level": [row[row["scale"]] for _, row in merged.iterrows()]})
    return score_annotations(items, long.dropna())


def validity(battery: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    success = outcomes.groupby("instance_id")["correct"].mean().rename("mean_success")
    rows = []
    for benchmark, group in battery.join(success, on="instance_id").groupby("benchmark"):
        for scale in ANNOTATED:
            both = group[[scale, "mean_success"]].dropna()
            rho = spearmanr(both[scale], both["mean_success"]).statistic if both[scale].nunique() > 1 else np.nan
            rows.append({"benchmark": benchmark, "scale": scale, "n": len(both), "spearman": rho})
    return pd.DataFrame(rows).pivot(index="scale", columns="benchmark", values="spearman").loc[list(ANNOTATED)]


def variants(battery: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    success = outcomes.groupby("instance_id")["correct"].mean().rename("success")
    rows = []
    for task in VARIANT_TASKS:
        for size in SIZES:
            name = f"{task}_{size}_objects"
            group = battery[battery["task"] == name].join(success, on="instance_id")
            rows.append({"task": task, "objects": size, "n": len(group), "success": group["success"].mean(),
                         **group[list(SCALES)].mean().round(2).to_dict()})
    return pd.DataFrame(rows)


def main() -> None:
    battery, outcomes = load_sample(annotated_only=True)
    tables = {"reliability": reliability(), "calibration": calibration(),
              "validity": validity(battery, outcomes), "variants": variants(battery, outcomes)}
    markdown = []
    for name, table in tables.items():
        atomic.write_text(RESULTS / f"{name}.csv", table.to_csv(index=name == "validity"))
        markdown.append(f"## {name}\n\n{table.round(3).to_markdown(index=name == 'validity')}\n")
    atomic.write_text(RESULTS / "tables.md", "\n".join(markdown))
    print("\n".join(markdown))


if __name__ == "__main__":
    main()
