"""Rebuild this example's battery and outcomes from the bundled sample and the hand-rated PLn levels.

    python examples/scales/build.py

``battery.csv``: 40 BIG-Bench Hard items of the bundled sample with their reference annotations
(18 scales and UG) and a PLn level from ``pln_levels.csv``, rated by hand following
``rubrics/PLn.yaml`` (see README.md). ``outcomes.csv``: the real outcomes of the two bundled
subjects on those items.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from assess.atomic import write_table
from assess.battery import validate_battery
from assess.datasets import load_sample
from assess.scaleset import load_scale_set

HERE = Path(__file__).resolve().parent
SUBJECTS = ("code-davinci-002-cot", "code-davinci-002-direct")
PLN_ANNOTATOR = "PLn: hand-rated by the assess session that wrote rubrics/PLn.yaml"


def main() -> None:
    scales = load_scale_set([HERE / "rubrics"])
    levels = pd.read_csv(HERE / "pln_levels.csv", dtype={"instance_id": str})
    battery, outcomes = load_sample(annotated_only=True)
    chosen = battery.merge(levels, on="instance_id", how="inner", validate="one_to_one")
    if len(chosen) != len(levels):
        raise SystemExit("some ids of pln_levels.csv are not annotated items of the bundled sample")
    chosen["annotator"] = chosen["annotator"] + "; " + PLN_ANNOTATOR
    chosen["scale_set_hash"] = scales.hash
    chosen = validate_battery(chosen, "example battery", scales)
    write_table(chosen, HERE / "battery.csv")
    mine = outcomes[outcomes["subject"].isin(SUBJECTS) & outcomes["instance_id"].isin(chosen["instance_id"])]
    write_table(mine[["subject", "instance_id", "correct"]].astype({"correct": int}), HERE / "outcomes.csv")


if __name__ == "__main__":
    main()
