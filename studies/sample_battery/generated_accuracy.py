"""Accuracy of a subject on the generated items of the sample, by each difficulty parameter, and its
Knights-and-Knaves original / variant pairs.

    python studies/sample_battery/generated_accuracy.py [--subject gemma-3-270m]

Prints, per generated benchmark and per value of each of its difficulty parameters, the number of
items run, the accuracy (``correct``) and, where the scorer grades, the mean ``score``; then, per
kind of puzzle variant, how many original / variant pairs the subject ran and how often it solved
the original, the variant, both, or the original only (solving an original but not its perturbed
variant is the sign of memorisation the test looks for).
"""
from __future__ import annotations

import argparse

import pandas as pd

from assess.datasets import load_sample

#: Generated benchmark -> its difficulty parameters (battery columns).
PARAMETERS = {"constrained_writing": ("constraints", "sentences"), "word_rules": ("depth", "examples"),
              "grid_navigation": ("size", "steps")}


def by_parameter(battery: pd.DataFrame, outcomes: pd.DataFrame, subject: str) -> pd.DataFrame:
    """Rows (benchmark, parameter, value, n, accuracy, mean score) for one subject's outcomes."""
    runs = outcomes[outcomes["subject"] == subject].merge(battery, on="instance_id")
    rows = []
    for benchmark, parameters in PARAMETERS.items():
        part = runs[runs["benchmark"] == benchmark]
        for parameter in parameters:
            for value, group in part.groupby(parameter, sort=True):
                rows.append({"benchmark": benchmark, "parameter": parameter, "value": int(value), "n": len(group),
                             "accuracy": group["correct"].mean(),
                             "mean_score": group["score"].mean() if group["score"].notna().any() else float("nan")})
    return pd.DataFrame(rows)


def memorisation_pairs(battery: pd.DataFrame, outcomes: pd.DataFrame, subject: str) -> pd.DataFrame:
    """Per variant kind: pairs run, originals solved, variants solved, both, original only."""
    runs = outcomes[outcomes["subject"] == subject].set_index("instance_id")["correct"]
    variants = battery[(battery["benchmark"] == "knights_knaves") & (battery["variant"] != "original")]
    variants = variants[variants["instance_id"].isin(runs.index) & variants["original_id"].isin(runs.index)]
    rows = []
    for kind, group in variants.groupby("variant", sort=True):
        original = runs.loc[group["original_id"]].to_numpy().astype(bool)
        variant = runs.loc[group["instance_id"]].to_numpy().astype(bool)
        rows.append({"variant": kind, "pairs": len(group), "original_solved": int(original.sum()),
                     "variant_solved": int(variant.sum()), "both": int((original & variant).sum()),
                     "original_only": int((original & ~variant).sum())})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subject", default="gemma-3-270m")
    args = parser.parse_args()
    battery, outcomes = load_sample()
    table = by_parameter(battery, outcomes, args.subject)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    pairs = memorisation_pairs(battery, outcomes, args.subject)
    print("\nKnights and Knaves original / variant pairs")
    print(pairs.to_string(index=False) if len(pairs) else "no pairs run")


if __name__ == "__main__":
    main()
