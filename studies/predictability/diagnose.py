"""Why a combined assessor chose what it did on held-out source benchmarks, fold by fold, for some subjects.

For each subject and each held-out source benchmark (the ``benchmark_ood`` protocol), fit the
combined assessor and the demand forest on the other benchmarks and print: the choice, every
variant's inner AUROC and level error (``inner_scores_``), and on the held-out benchmark each
one's AUROC and mean prediction against the success rate; then both pooled AUROCs.

    python studies/predictability/diagnose.py c4ai-command-r-v01 gemma-3-270m --inner-splits 3
"""
from __future__ import annotations

import argparse

import numpy as np

from assess.battery import join
from predictors import make_assessor
from predictors.metrics import auroc
from run import BENCHMARK_COLUMN, annotated_sample


def rounded(scores: dict) -> str:
    return " ".join(f"{name} {value:.3f}" for name, value in scores.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("subjects", nargs="+")
    parser.add_argument("--inner-splits", type=int, default=3)
    args = parser.parse_args()
    if args.inner_splits < 2:
        parser.error(f"--inner-splits must be at least 2, got {args.inner_splits}")
    battery, outcomes = annotated_sample(None, None)
    unknown = sorted(set(args.subjects) - set(outcomes["subject"]))
    if unknown:
        parser.error(f"no annotated outcomes for subject(s) {', '.join(map(repr, unknown))}")
    data = join(battery, outcomes)
    for subject in args.subjects:
        rows = data[data["subject"] == subject].reset_index(drop=True)
        pooled = {"y": [], "combined": [], "demand": []}
        for benchmark in sorted(rows[BENCHMARK_COLUMN].astype(str).unique()):
            held = rows[BENCHMARK_COLUMN].astype(str) == benchmark
            train, test = rows[~held], rows[held]
            y, y_test = train["correct"].to_numpy(), test["correct"].to_numpy()
            combined = make_assessor("combined").set_params(inner_splits=args.inner_splits)
            combined.fit(train, y, groups=train[BENCHMARK_COLUMN].astype(str).to_numpy())
            demand = make_assessor("demand").fit(train, y)
            p = {"combined": combined.predict_proba(test)[:, 1], "demand": demand.predict_proba(test)[:, 1]}
            for name in ("combined", "demand"):
                pooled[name].append(p[name])
            pooled["y"].append(y_test)
            print(f"{subject} | held out {benchmark} ({len(test)} items, success {y_test.mean():.2f}) | chose "
                  f"{combined.chosen_} | inner AUROC {rounded(combined.inner_scores_['auroc'])} | inner level error "
                  f"{rounded(combined.inner_scores_['level_error'])} | held-out AUROC combined "
                  f"{auroc(y_test, p['combined']):.3f} demand {auroc(y_test, p['demand']):.3f}, mean prediction "
                  f"combined {p['combined'].mean():.2f} demand {p['demand'].mean():.2f}", flush=True)
        y = np.concatenate(pooled["y"])
        print(f"{subject} | pooled AUROC combined {auroc(y, np.concatenate(pooled['combined'])):.3f} demand "
              f"{auroc(y, np.concatenate(pooled['demand'])):.3f}", flush=True)


if __name__ == "__main__":
    main()
