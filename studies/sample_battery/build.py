"""Build the bundled sample battery from the real outcome data in ``../shared/data`` and the generators.

Writes ``assess/data/sample/{battery,outcomes}.parquet`` in the battery / outcome layout of
:mod:`assess.battery`, ``outcomes_eqbench_v2.parquet`` (EQ-Bench v2's 70 models, with the graded
``score`` beside the binary ``correct``), and ``reference_subset.txt``: the seeded, stratified
selection of items that receive reference annotations (90 MMLU-Pro items per category, spread
evenly over the source benchmarks present in that category; 20 items per BBH task; all 171
EQ-Bench items; every original Knights-and-Knaves puzzle, 15 per people x depth cell; every generated
constrained-writing, word-rule and grid-navigation item).

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
from assess.generators import grid, kk, rules, write
from assess.runs.dataset import listed_options

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "assess" / "data" / "sample"
SEED = 20261123
MMLU_PER_CATEGORY = 90
BBH_PER_TASK = 20
KK_PEOPLE, KK_DEPTHS, KK_PER_CELL = range(2, 9), range(2, 5), 15
#: Generated CEe, CL and SNs items: (first parameter values, second parameter values, items per cell).
WRITE_CELLS = (range(1, 7), range(1, 7), 7)        # constraints x sentences: 252 writing tasks
RULES_CELLS = ((1, 2, 3), (2, 3, 4, 6, 8), 17)     # depth x examples: 255 rule puzzles
GRID_CELLS = ((3, 5, 7), (2, 4, 8, 12, 16), 8)     # size x steps: 120 walks
GENERATED = ("constrained_writing", "word_rules", "grid_navigation")


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
    """Classify a BBH task's answer format from its targets (``multiple_choice`` without a count yet)."""
    values = set(targets.str.strip().str.lower())
    if all(re.fullmatch(r"\([a-r]\)", v) for v in values):
        return "multiple_choice"
    if values <= {"true", "false"} or values <= {"yes", "no"} or values <= {"valid", "invalid"}:
        return "binary"
    if all(re.fullmatch(r"-?\d+", v) for v in values):
        return "numeric"
    return "free_text"


def bbh(shared: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """BIG-Bench Hard items as battery rows, code-davinci-002's outcomes (CoT and direct), and the items whose
    answer format the listed-options rule changed (instance id, task, old and new format)."""
    items = pd.read_parquet(shared / "bbh" / "instances.parquet")
    formats = items["task"].map(items.groupby("task")["target"].agg(bbh_answer_format))
    # Multiple choice: N is the number of options the item's prompt lists (annotation protocol v2). Until
    # 2026-12 it was the number of distinct targets in the task, wrong for 425 items (answer_format_fix.csv).
    choice = formats == "multiple_choice"
    formats[choice] = [f"multiple_choice_{len(listed_options(p))}" for p in items.loc[choice, "input"]]
    old = "multiple_choice_" + items.groupby("task")["target"].transform("nunique").astype(str)
    changed = choice & (formats != old)
    changes = pd.DataFrame({"instance_id": items.loc[changed, "instance_id"], "task": items.loc[changed, "task"],
                            "old_answer_format": old[changed], "new_answer_format": formats[changed]})
    battery = pd.DataFrame({
        "instance_id": items["instance_id"].astype(str),
        "benchmark": "bbh",
        "task": items["task"].astype(str),
        "prompt": items["input"].astype(str),
        "target": items["target"].astype(str),
        "answer_format": formats,
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
    return battery, outcomes, changes


def eqbench(shared: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """EQ-Bench v2 dialogues as battery rows and 70 models' outcomes: binary ``correct`` and graded ``score``."""
    items = pd.read_parquet(shared / "eqbench_v2" / "instances.parquet")
    battery = pd.DataFrame({
        "instance_id": items["instance_id"].astype(str),
        "benchmark": "eqbench_v2",
        "task": items["task"].astype(str),
        "prompt": items["prompt"].astype(str),
        "target": items["target"].astype(str),
        "answer_format": "free_text",
        "source": "eqbench_v2",
        "source_benchmark": "eqbench_v2",
    })
    raw = pd.read_parquet(shared / "eqbench_v2" / "outcomes.parquet")
    outcomes = pd.DataFrame({
        "subject": raw["model"].astype(str),
        "instance_id": raw["instance_id"].astype(str),
        "correct": raw["correct"].astype(int),
        "raw_output": None,
        "score": raw["score"].astype(float),
    })
    return battery, outcomes


def knights_knaves() -> pd.DataFrame:
    """Generated Knights-and-Knaves puzzles, 15 per people x depth cell, each with its three variants."""
    skipped: list[str] = []
    rows = pd.DataFrame(kk.battery(KK_PEOPLE, KK_DEPTHS, KK_PER_CELL, SEED, kk.PERTURBATIONS, skipped))
    rows["source"] = "generated/knights_knaves"
    rows["source_benchmark"] = "knights_knaves"
    print(f"knights and knaves: {len(rows)} items, {len(skipped)} statement variants impossible: {', '.join(skipped)}")
    return rows


def generated() -> pd.DataFrame:
    """The constrained-writing (CEe), word-rule (CL) and grid-navigation (SNs) items, stratified over their cells."""
    parts = [pd.DataFrame(module.battery(*cells, SEED)) for module, cells in
             ((write, WRITE_CELLS), (rules, RULES_CELLS), (grid, GRID_CELLS))]
    for part in parts:
        part["source"] = "generated/" + part["benchmark"]
        part["source_benchmark"] = part["benchmark"]
        print(f"{part['benchmark'].iloc[0]}: {len(part)} items")
    return pd.concat(parts, ignore_index=True)


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
    chosen.extend(battery.loc[battery["benchmark"] == "eqbench_v2", "instance_id"])
    puzzles = battery[battery["benchmark"] == "knights_knaves"]
    chosen.extend(puzzles.loc[puzzles["variant"] == "original", "instance_id"])
    chosen.extend(battery.loc[battery["benchmark"].isin(GENERATED), "instance_id"])
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
    bbh_battery, bbh_outcomes, changes = bbh(args.shared)
    parts = [mmlu_pro(args.shared), (bbh_battery, bbh_outcomes)]
    eq_battery, eq_outcomes = eqbench(args.shared)
    battery = validate_battery(pd.concat([b for b, _ in parts] + [eq_battery, knights_knaves(), generated()], ignore_index=True),
                               "sample battery")
    outcomes = validate_outcomes(pd.concat([o for _, o in parts], ignore_index=True), "sample outcomes", battery)
    eq_outcomes = validate_outcomes(eq_outcomes, "EQ-Bench outcomes", battery)
    atomic.write_with(OUT / "battery.parquet", lambda p: battery.to_parquet(p, index=False))
    atomic.write_with(OUT / "outcomes.parquet", lambda p: outcomes.to_parquet(p, index=False))
    atomic.write_with(OUT / "outcomes_eqbench_v2.parquet", lambda p: eq_outcomes.to_parquet(p, index=False))
    outcomes = pd.concat([outcomes, eq_outcomes], ignore_index=True)
    subset = reference_subset(battery)
    atomic.write_text(OUT / "reference_subset.txt", "\n".join(subset) + "\n")
    changes["in_reference_subset"] = changes["instance_id"].isin(subset)
    atomic.write_text(HERE / "answer_format_fix.csv", changes.to_csv(index=False))
    print(f"answer format fixed on {len(changes)} BBH items ({int(changes['in_reference_subset'].sum())} in the "
          f"reference subset) -> {HERE / 'answer_format_fix.csv'}")
    print(f"battery {len(battery)} rows, outcomes {len(outcomes)} rows, {outcomes['subject'].nunique()} subjects, "
          f"reference subset {len(subset)} items -> {OUT}")


if __name__ == "__main__":
    main()
