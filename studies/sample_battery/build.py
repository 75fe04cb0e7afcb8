"""Build the bundled sample battery from the real outcome data in ``../shared/data``.

Writes ``assess/data/sample/{battery,outcomes}.parquet`` in the battery / outcome layout of
:mod:`assess.battery`, and ``reference_subset.txt``: the seeded, stratified selection of items that
receive reference annotations (90 MMLU-Pro items per category, spread evenly over the source
benchmarks present in that category; 20 items per BBH task).

    python studies/sample_battery/build.py [--shared ../shared/data]
"""
from __future__ import annotations

import argparse
import json
import re
import string
from pathlib import Path

import numpy as np
import pandas as pd

from assess import atomic
from assess.battery import validate_battery, validate_outcomes

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "assess" / "data" / "sample"
SEED = 20261123
MMLU_PER_CATEGORY = 90
BBH_PER_TASK = 20


def mmlu_pro(shared: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MMLU-Pro items as battery rows (question with lettered options) and their outcomes."""
    items = pd.read_parquet(shared / "mmlu_pro" / "instances.parquet")
    letters = string.ascii_uppercase

    def prompt(row: pd.Series) -> str:
        options = json.loads(row["options"])
        lines = [row["question"].strip(), ""] + [f"{letters[i]}. {opt}" for i, opt in enumerate(options)]
        return "\n".join(lines)

    battery = pd.DataFrame({
        "instance_id": "mmlu_pro/" + items["question_id"].astype(str),
        "benchmark": "mmlu_pro",
        "task": items["category"].astype(str),
        "prompt": items.apply(prompt, axis=1),
        "target": items["answer"].astype(str),
        "answer_format": items["options"].map(lambda o: f"multiple_choice_{len(json.loads(o))}"),
        "source": items["src"].astype(str),
        "source_benchmark": items["source_benchmark"].astype(str),
    })
    raw = pd.read_parquet(shared / "mmlu_pro" / "outcomes.parquet")
    outcomes = pd.DataFrame({
        "subject": raw["model"].astype(str),
        "instance_id": "mmlu_pro/" + raw["question_id"].astype(str),
        "correct": raw["correct"].astype(int),
        "raw_output": raw["pred"].astype(object),
    })
    return battery, outcomes


def bbh_answer_format(targets: pd.Series) -> str:
    """Classify a BBH task's answer format from its targets."""
    values = set(targets.str.strip().str.lower())
    if all(re.fullmatch(r"\([a-r]\)", v) for v in values):
        return f"multiple_choice_{len(values)}"
    if values <= {"true", "false"} or values <= {"yes", "no"} or values <= {"valid", "invalid"}:
        return "binary"
    if all(re.fullmatch(r"-?\d+", v) for v in values):
        return "numeric"
    return "free_text"


def bbh(shared: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """BIG-Bench Hard items as battery rows and code-davinci-002's outcomes (CoT and direct)."""
    items = pd.read_parquet(shared / "bbh" / "instances.parquet")
    formats = items.groupby("task")["target"].agg(bbh_answer_format)
    battery = pd.DataFrame({
        "instance_id": items["instance_id"].astype(str),
        "benchmark": "bbh",
        "task": items["task"].astype(str),
        "prompt": items["input"].astype(str),
        "target": items["target"].astype(str),
        "answer_format": items["task"].map(formats),
        "source": "bbh/" + items["task"].astype(str),
        "source_benchmark": "bbh",
    })
    raw = pd.read_parquet(shared / "bbh" / "outcomes.parquet")
    outcomes = pd.DataFrame({
        "subject": raw["model"].astype(str),
        "instance_id": raw["instance_id"].astype(str),
        "correct": raw["correct"].astype(int),
        "raw_output": raw["prediction"].astype(object),
    })
    return battery, outcomes


def reference_subset(battery: pd.DataFrame) -> list[str]:
    """Seeded stratified selection of instance ids for reference annotation."""
    rng = np.random.default_rng(SEED)
    chosen: list[str] = []
    mmlu = battery[battery["benchmark"] == "mmlu_pro"]
    for _, category in mmlu.groupby("task", sort=True):
        groups = {name: g for name, g in category.groupby("source_benchmark", sort=True)}
        quota = _even_quota({name: len(g) for name, g in groups.items()}, MMLU_PER_CATEGORY)
        for name, n in quota.items():
            ids = groups[name]["instance_id"].to_numpy()
            chosen.extend(sorted(rng.choice(ids, size=n, replace=False)))
    for _, task in battery[battery["benchmark"] == "bbh"].groupby("task", sort=True):
        chosen.extend(sorted(rng.choice(task["instance_id"].to_numpy(), size=BBH_PER_TASK, replace=False)))
    return chosen


def _even_quota(available: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` as evenly as possible over groups, none above what it has."""
    quota = {name: 0 for name in available}
    remaining = total
    while remaining > 0:
        open_groups = [name for name in available if quota[name] < available[name]]
        if not open_groups:
            break
        for name in open_groups:
            if remaining == 0:
                break
            quota[name] += 1
            remaining -= 1
    return quota


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    parts = [mmlu_pro(args.shared), bbh(args.shared)]
    battery = validate_battery(pd.concat([b for b, _ in parts], ignore_index=True), "sample battery")
    outcomes = validate_outcomes(pd.concat([o for _, o in parts], ignore_index=True), "sample outcomes", battery)
    atomic.write_with(OUT / "battery.parquet", lambda p: battery.to_parquet(p, index=False))
    atomic.write_with(OUT / "outcomes.parquet", lambda p: outcomes.to_parquet(p, index=False))
    subset = reference_subset(battery)
    atomic.write_text(OUT / "reference_subset.txt", "\n".join(subset) + "\n")
    print(f"battery {len(battery)} rows, outcomes {len(outcomes)} rows, {outcomes['subject'].nunique()} subjects, "
          f"reference subset {len(subset)} items -> {OUT}")


if __name__ == "__main__":
    main()
