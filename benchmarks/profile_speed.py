"""Profiling time of every subject in the bundled sample: fast batched path vs plain scikit-learn path.

    python benchmarks/profile_speed.py [--bootstrap 200]

Prints seconds for each path (point estimates), their ratio, the largest ability difference, and
the fast path's time with bootstrap intervals. Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_abilities import reference_profile  # noqa: E402

from assess.abilities import ability_table  # noqa: E402
from assess.datasets import load_sample  # noqa: E402
from assess.scales import SCALES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()
    battery, outcomes = load_sample(annotated_only=True)
    if battery.empty:
        sys.exit("the bundled sample has no annotated items yet: nothing to profile")
    subjects = sorted(outcomes["subject"].unique())
    print(f"{len(subjects)} subjects, {len(battery)} annotated items, {len(outcomes)} outcomes, {len(SCALES)} scales")
    start = time.perf_counter()
    fast = ability_table(battery, outcomes, subjects)
    fast_s = time.perf_counter() - start
    start = time.perf_counter()
    reference = {s: reference_profile(battery, outcomes, s) for s in subjects}
    reference_s = time.perf_counter() - start
    diffs = [abs(row.ability - reference[row.subject][row.scale]) for row in fast.itertuples() if np.isfinite(row.ability)]
    print(f"point estimates: fast {fast_s:.3f} s, reference (sklearn per scale) {reference_s:.3f} s, "
          f"ratio {reference_s / fast_s:.1f}x, max |ability difference| {max(diffs):.2e}")
    start = time.perf_counter()
    ability_table(battery, outcomes, subjects, bootstrap=args.bootstrap)
    boot_s = time.perf_counter() - start
    fits = len(subjects) * len(SCALES) * (args.bootstrap + 1)
    print(f"with {args.bootstrap} bootstrap replicates: fast {boot_s:.3f} s for {fits} curve fits; "
          f"the reference path would need about {reference_s * (args.bootstrap + 1):.0f} s")


if __name__ == "__main__":
    main()
