"""Reliability and validity of the reference annotations; writes results/*.csv and results/tables.md.

    python studies/annotation_reliability/analyze.py                    # every table, results/tables.md
    python studies/annotation_reliability/analyze.py reliability_new    # only these tables' CSVs (no outcomes read)

Reliability: pass 1 vs the independent pass 2 (quadratic-weighted kappa, Spearman, exact and ±1
agreement per scale), the same on the 300 new items of the pass2new job (EQ-Bench, Knights and
Knaves, pooled; pass 1 there is the eqbench and kk jobs) and on the 300 BBH items of the bbh2 job
(pass 1 there is the bbh and bbhfix jobs), and the calibration set scored against its
intended levels.
Validity: per scale, Spearman between an item's level and its mean success over the models that
ran it (MMLU-Pro: 21 models; BBH: code-davinci-002 with and without chain of thought; EQ-Bench: 70
models; Knights and Knaves: gemma-3-270m), mean levels of the 3/5/7-object variants of BBH's
logical_deduction and tracking_shuffled_objects, and the Knights-and-Knaves puzzles' demands against
their difficulty by construction (people x depth), and the same for the generated writing, word-rule
and grid items (Spearman of each level with each difficulty parameter). Coverage: per scale, the most items on which it is
the highest demand for any one subject. EQ-Bench: the 70 models' MS abilities beside their accuracy.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from assess import atomic
from assess.abilities import MIN_UG, ability_table, dominant_mask
from assess.annotate.agreement import agreement_report
from assess.calibration import load_calibration, score_annotations
from assess.datasets import load_sample
from assess.scales import ANNOTATED, SCALES

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results"
VARIANT_TASKS = ("logical_deduction", "tracking_shuffled_objects")
SIZES = ("three", "five", "seven")


def pass_agreement(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Per scale: n, qwk, Spearman, exact and within-one agreement of pass 1 with pass 2 on pass 2's items."""
    first = first[first["instance_id"].isin(second["instance_id"])]
    return agreement_report({"pass1": first, "pass2": second}).drop(columns=["annotator_a", "annotator_b"])


def reliability() -> pd.DataFrame:
    return pass_agreement(pd.read_parquet(WORK / "pass1" / "annotated.parquet"),
                          pd.read_parquet(WORK / "pass2" / "annotated.parquet"))


#: pass-1 job -> benchmark of the new items that pass2new re-annotates
NEW_ITEMS = {"eqbench": "eqbench_v2", "kk": "knights_knaves"}
REPORT_COLUMNS = ["scale", "n", "qwk", "spearman", "exact", "within_one"]


def reliability_new() -> pd.DataFrame:
    """Pass 1 (eqbench and kk jobs) vs pass2new per scale: rows (items, scale, n, qwk, ...), items in
    eqbench, kk and pooled."""
    first = pd.concat([pd.read_parquet(WORK / job / "annotated.parquet") for job in NEW_ITEMS], ignore_index=True)
    second = pd.read_parquet(WORK / "pass2new" / "annotated.parquet")
    parts = {name: second[second["benchmark"] == benchmark] for name, benchmark in NEW_ITEMS.items()}
    parts["pooled"] = second
    tables = [pass_agreement(first, part).assign(items=name) for name, part in parts.items()]
    return pd.concat(tables, ignore_index=True)[["items", *REPORT_COLUMNS]]


def reliability_bbh() -> pd.DataFrame:
    """Pass 1 (bbh and bbhfix jobs) vs the independent bbh2 pass on its 300 BBH items, per scale."""
    first = pd.concat([pd.read_parquet(WORK / job / "annotated.parquet") for job in ("bbh", "bbhfix")],
                      ignore_index=True)
    return pass_agreement(first, pd.read_parquet(WORK / "bbh2" / "annotated.parquet"))


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


KK_SCALES = ("QLl", "AS", "CEc", "MCt", "VO", "UG")


def kk_validity(battery: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Mean levels of the original puzzles per (people, depth) cell, with gemma-3-270m's mean graded score."""
    puzzles = battery[(battery["benchmark"] == "knights_knaves") & (battery["variant"] == "original")]
    score = outcomes[outcomes["instance_id"].isin(puzzles["instance_id"])].groupby("instance_id")["score"].mean()
    cells = puzzles.join(score.rename("gemma_score"), on="instance_id").groupby(["people", "depth"])
    table = cells[list(KK_SCALES)].mean().round(2)
    table.insert(0, "n", cells.size())
    table["gemma_n"], table["gemma_score"] = cells["gemma_score"].count(), cells["gemma_score"].mean().round(2)
    return table.reset_index().astype({"people": int, "depth": int})


def kk_trends(battery: pd.DataFrame) -> pd.DataFrame:
    """Spearman of each KK scale's level with the number of people and with the depth (original puzzles)."""
    puzzles = battery[(battery["benchmark"] == "knights_knaves") & (battery["variant"] == "original")]
    rows = [{"scale": code, **{f"rho_{factor}": spearmanr(puzzles[code], puzzles[factor]).statistic
                               for factor in ("people", "depth")}} for code in KK_SCALES]
    return pd.DataFrame(rows)


#: generated benchmark -> (its difficulty parameters, the scales whose trend is reported)
GENERATED = {"constrained_writing": (("constraints", "sentences"), ("CEe", "AS", "AT", "VO", "QLl")),
             "word_rules": (("depth", "examples"), ("CL", "AS", "MCt", "AT", "UG")),
             "grid_navigation": (("size", "steps"), ("SNs", "AS", "QLl", "UG"))}


def generated_trends(battery: pd.DataFrame) -> pd.DataFrame:
    """Per generated benchmark and scale: mean level and Spearman with each difficulty parameter."""
    rows = []
    for benchmark, (parameters, scales) in GENERATED.items():
        items = battery[battery["benchmark"] == benchmark]
        for code in scales:
            row = {"benchmark": benchmark, "scale": code, "n": len(items), "mean": items[code].mean()}
            for name in parameters:
                row[f"rho_{name}"] = spearmanr(items[code], items[name]).statistic
            rows.append(row)
    return pd.DataFrame(rows)


def coverage(battery: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per scale: dominant items per benchmark, and the most dominant items with outcomes of any one subject."""
    mask = pd.DataFrame(dominant_mask(battery[list(SCALES)].to_numpy(dtype=float)), columns=list(SCALES),
                        index=battery["instance_id"])
    per_benchmark = mask.groupby(battery["benchmark"].to_numpy()).sum().T
    ran = outcomes.groupby("subject")["instance_id"].agg(set)
    kept = (battery["UG"] >= MIN_UG).to_numpy()  # what the SCC method fits on (UG >= its min_ug)
    for column, rows in (("max_per_subject", np.ones(len(mask), dtype=bool)), ("max_per_subject_ug75", kept)):
        per_benchmark[column] = pd.Series({code: max(int(mask.loc[rows & mask.index.isin(ids), code].sum())
                                                     for ids in ran) for code in SCALES})
    return per_benchmark.rename_axis("scale")


def eqbench_ms(battery: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The 70 EQ-Bench models on its 171 items: MS ability (its curve's n) beside accuracy and mean graded score."""
    items = battery[battery["benchmark"] == "eqbench_v2"]
    runs = outcomes[outcomes["instance_id"].isin(items["instance_id"])]
    abilities = ability_table(items, runs, sorted(runs["subject"].unique()))
    ms = abilities[abilities["scale"] == "MS"].set_index("subject")[["ability", "n"]]
    summary = runs.groupby("subject").agg(accuracy=("correct", "mean"), mean_score=("score", "mean"))
    return ms.join(summary).sort_values("accuracy", ascending=False).round(3).reset_index()


#: Tables that read annotations only (no outcomes): `analyze.py NAME ...` writes just these CSVs.
ANNOTATION_TABLES = {"reliability": reliability, "reliability_new": reliability_new,
                     "reliability_bbh": reliability_bbh, "calibration": calibration}


def main() -> None:
    wanted = sys.argv[1:]
    if wanted:
        unknown = [name for name in wanted if name not in ANNOTATION_TABLES]
        if unknown:
            raise SystemExit(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(ANNOTATION_TABLES)}")
        for name in wanted:
            table = ANNOTATION_TABLES[name]()
            atomic.write_text(RESULTS / f"{name}.csv", table.to_csv(index=False))
            print(f"## {name}\n\n{table.round(3).to_markdown(index=False)}\n")
        return
    battery, outcomes = load_sample(annotated_only=True)
    ms = eqbench_ms(battery, outcomes)
    tables = {**{name: make() for name, make in ANNOTATION_TABLES.items()},
              "validity": validity(battery, outcomes), "variants": variants(battery, outcomes),
              "kk_validity": kk_validity(battery, outcomes), "kk_trends": kk_trends(battery),
              "generated_trends": generated_trends(battery),
              "coverage": coverage(battery, outcomes), "eqbench_ms": ms}
    indexed = ("validity", "coverage")
    markdown = []
    for name, table in tables.items():
        atomic.write_text(RESULTS / f"{name}.csv", table.to_csv(index=name in indexed))
        markdown.append(f"## {name}\n\n{table.round(3).to_markdown(index=name in indexed)}\n")
    rho = spearmanr(ms["ability"], ms["accuracy"]).statistic
    markdown.append(f"EQ-Bench: Spearman(MS ability, accuracy) over {len(ms)} models = {rho:.3f}\n")
    atomic.write_text(RESULTS / "tables.md", "\n".join(markdown))
    print("\n".join(markdown))


if __name__ == "__main__":
    main()
