"""Training and evaluation time per subject for each assessor (prints a table; asserts nothing).

    python benchmarks/predictor_timing.py                 # annotated items of the bundled sample
    python benchmarks/predictor_timing.py --synthetic     # sample texts + outcomes, random levels

``--synthetic`` times the same computation before reference annotations exist (levels drawn at
random: the timings are meaningful, the predictions are not).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from assess.battery import join
from assess.datasets import load_sample
from assess.scales import ANNOTATED, SCALES, UG
from predictors import evaluate, make_assessor


def timing_data(synthetic: bool, items: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Annotated sample rows (or sample rows with random levels), at most ``items`` of them."""
    battery, outcomes = load_sample(annotated_only=not synthetic)
    if synthetic:
        rng = np.random.default_rng(seed)
        battery = battery[battery["benchmark"] == "mmlu_pro"].sample(items, random_state=seed).reset_index(drop=True)
        battery[list(SCALES)] = rng.integers(0, 6, (len(battery), len(SCALES))).astype(float)
        battery[UG] = rng.uniform(10, 100, len(battery)).round()
    battery = battery[battery[list(ANNOTATED)].notna().all(axis=1)].head(items).reset_index(drop=True)
    if battery.empty:
        raise SystemExit("no annotated items in the sample yet; use --synthetic")
    return battery, outcomes[outcomes["instance_id"].isin(battery["instance_id"])]


def time_assessor(name: str, assessor, battery: pd.DataFrame, outcomes: pd.DataFrame, subject: str) -> dict:
    rows = join(battery, outcomes, subject).reset_index(drop=True)
    cut = int(0.8 * len(rows))
    start = time.perf_counter()
    fitted = assessor.fit(rows.iloc[:cut], rows["correct"].iloc[:cut].to_numpy())
    fit_s = time.perf_counter() - start
    fitted.predict_proba(rows.iloc[cut:])
    predict_s = time.perf_counter() - start - fit_s
    start = time.perf_counter()
    evaluate(assessor, battery, outcomes, subjects=[subject], n_splits=5)
    return {"assessor": name, "rows": len(rows), "fit_s": fit_s, "predict_s_per_1k": 1000 * predict_s / (len(rows) - cut),
            "in_distribution_5fold_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", action="store_true", help="random levels on sample texts")
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--finetune-steps", type=int, default=0, help="also time MiniLM fine-tuning for this many steps")
    args = parser.parse_args()
    battery, outcomes = timing_data(args.synthetic, args.items)
    subject = outcomes.groupby("subject").size().idxmax()
    make_assessor("embedding").precompute(battery)  # embedding cost is paid once, then cached on disk
    plans = [("demand/forest", make_assessor("demand")),
             ("demand/xgboost", make_assessor("demand", classifier="xgboost")),
             ("demand/logistic", make_assessor("demand", classifier="logistic")),
             ("embedding/logistic (C by inner CV)", make_assessor("embedding")),
             ("combined (chosen by nested CV)", make_assessor("combined"))]
    if args.finetune_steps:
        plans.append((f"finetuned/MiniLM, {args.finetune_steps} steps",
                      make_assessor("finetune", max_steps=args.finetune_steps)))
    table = pd.DataFrame([time_assessor(name, a, battery, outcomes, subject) for name, a in plans])
    print(f"subject {subject}, {len(battery)} items ({'synthetic levels' if args.synthetic else 'annotated'})")
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
