"""Export the reference-annotation requests and split them into chunks for the annotators.

    python studies/annotation_reliability/prepare.py [JOB ...]     # default: every job

Jobs, each through `assess annotate --export-requests` (all-scales mode, bundled rubrics):
  pass1        the MMLU-Pro and BBH items of the reference subset (assess/data/sample/reference_subset.txt, 1,800)
  pass2        an independent second pass on a seeded, stratified 235-item part of them
  calibration  the rubric calibration set (rubrics/calibration), pass-1 annotator
  eqbench      the 171 EQ-Bench v2 items, pass-1 annotator
  kk           the 315 original Knights-and-Knaves puzzles of the sample, pass-1 annotator
  formatfix    the reference BBH items whose answer format the listed-options fix changed
               (studies/sample_battery/answer_format_fix.csv), pass-1 annotator, protocol v2
  pass2new     an independent second pass on 300 of the new items: 120 of the 171 EQ-Bench items and
               180 of the kk job's puzzles, stratified over people x depth (seeded), pass-2 annotator
  bbh          every BBH item outside the reference subset whose answer format the fix left alone
               (5,584), pass-1 annotator, protocol v1 like the existing BBH labels
  bbhfix       the BBH items outside the reference subset whose answer format the fix changed (387),
               pass-1 annotator, protocol v2
  bbh2         an independent second pass on 300 of the bbh and bbhfix items (11 or 12 per task,
               seeded), pass-2 annotator, protocol v2
  gen          the generated constrained-writing (252), word-rule (255) and grid-navigation (120) items,
               pass-1 annotator, protocol v1, chunked task by task
Each job's requests go to work/<job>/requests.jsonl (large, not committed: they are rebuilt
deterministically) and its items to work/<job>/chunk_NN.items.md — the custom_id and the task
instance block of each request, what an annotator reads after reading rubrics/ once.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from assess.calibration import load_calibration
from assess.battery import PROVENANCE_COLUMNS
from assess.datasets import load_sample, reference_subset
from assess.scales import ANNOTATED

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
CHUNK = 150
SEED = 7
PASS2_PER_MMLU_CATEGORY = 11
PASS2_PER_BBH_TASK = 3
PASS2NEW_EQBENCH = 120
PASS2NEW_KK = 180
PASS2_BBH = 300
#: job -> (annotator file, protocol version)
JOBS = {"pass1": ("annotator_pass1.yaml", "v1"), "pass2": ("annotator_pass2.yaml", "v1"),
        "calibration": ("annotator_pass1.yaml", "v1"), "eqbench": ("annotator_pass1.yaml", "v1"),
        "kk": ("annotator_pass1.yaml", "v1"), "formatfix": ("annotator_pass1.yaml", "v2"),
        "pass2new": ("annotator_pass2.yaml", "v1"), "bbh": ("annotator_pass1.yaml", "v1"),
        "bbhfix": ("annotator_pass1.yaml", "v2"), "bbh2": ("annotator_pass2.yaml", "v2"),
        "gen": ("annotator_pass1.yaml", "v1")}
#: Jobs chunked task by task (a chunk never mixes tasks, so an annotator rates a task's items together).
BY_TASK = ("bbh", "bbhfix", "bbh2", "gen")
#: Benchmarks of the generated items the gen job annotates.
GENERATED = ("constrained_writing", "word_rules", "grid_navigation")
#: What the annotator reads as a constrained-writing item's reference answer.
WRITING_TARGET = "Any text on the topic that meets every rule listed in the prompt (each rule is checked exactly)."
FORMAT_FIX = HERE.parents[1] / "studies" / "sample_battery" / "answer_format_fix.csv"


def batteries() -> dict[str, pd.DataFrame]:
    """The battery each job annotates (no outcome columns: annotators never see them)."""
    battery, _ = load_sample()
    chosen = battery[battery["instance_id"].isin(reference_subset())]
    fix = pd.read_csv(FORMAT_FIX)
    fix = fix[fix["in_reference_subset"]]
    fixed = chosen[chosen["instance_id"].isin(fix["instance_id"])].reset_index(drop=True)
    # Passes 1 and 2 were answered (protocol v1) with the answer formats of the time: rebuild exactly those
    # requests; the items the fix changed are re-annotated under v2 by the formatfix job.
    before = dict(zip(fix["instance_id"], fix["old_answer_format"]))
    reference = chosen[chosen["benchmark"].isin(["mmlu_pro", "bbh"])].reset_index(drop=True)
    reference["answer_format"] = [before.get(i, f) for i, f in zip(reference["instance_id"], reference["answer_format"])]
    rng = np.random.default_rng(SEED)
    picks = []
    for (benchmark, _), group in reference.groupby(["benchmark", "task"], sort=True):
        size = PASS2_PER_MMLU_CATEGORY if benchmark == "mmlu_pro" else PASS2_PER_BBH_TASK
        picks.extend(rng.choice(group["instance_id"].to_numpy(), size=size, replace=False))
    second = reference[reference["instance_id"].isin(picks)].reset_index(drop=True)
    items = load_calibration()
    calibration = pd.DataFrame({"instance_id": "calibration/" + items["item_id"], "benchmark": "calibration",
                                "task": items["scale"], "prompt": items["prompt"], "target": "", "answer_format": ""})
    eqbench = chosen[chosen["benchmark"] == "eqbench_v2"].reset_index(drop=True)
    kk = chosen[chosen["benchmark"] == "knights_knaves"].reset_index(drop=True)
    rest = battery[(battery["benchmark"] == "bbh") & ~battery["instance_id"].isin(reference_subset())]
    rest = rest.drop(columns=[c for c in (*ANNOTATED, *PROVENANCE_COLUMNS) if c in rest])
    rest = rest.sort_values(["task", "instance_id"], kind="stable").reset_index(drop=True)
    changed = rest["instance_id"].isin(pd.read_csv(FORMAT_FIX)["instance_id"])
    gen = chosen[chosen["benchmark"].isin(GENERATED)]
    gen = gen.drop(columns=[c for c in (*ANNOTATED, *PROVENANCE_COLUMNS) if c in gen]).dropna(axis=1, how="all")
    gen = gen.sort_values(["benchmark", "task", "instance_id"], kind="stable").reset_index(drop=True)
    # A writing task's target is the checker's JSON list of its rules; the annotator reads what it means instead.
    gen.loc[gen["benchmark"] == "constrained_writing", "target"] = WRITING_TARGET
    return {"pass1": reference, "pass2": second, "calibration": calibration, "eqbench": eqbench, "kk": kk,
            "formatfix": fixed, "pass2new": second_pass_new(eqbench, kk),
            "bbh": rest[~changed].reset_index(drop=True), "bbhfix": rest[changed].reset_index(drop=True),
            "bbh2": spread_over_tasks(rest, PASS2_BBH), "gen": gen}


def spread_over_tasks(battery: pd.DataFrame, total: int) -> pd.DataFrame:
    """A seeded sample of ``total`` items spread over the tasks as evenly as the tasks' sizes allow."""
    picks = spread_picks(list(battery.groupby("task", sort=True)), total, np.random.default_rng(SEED))
    return battery[battery["instance_id"].isin(picks)].reset_index(drop=True)


def spread_picks(groups: list[tuple[object, pd.DataFrame]], total: int, rng: np.random.Generator) -> list[str]:
    """Instance ids of ``total`` items drawn from (key, rows) ``groups``: every group gives
    ``total // len(groups)``, a seeded choice of groups one more."""
    sizes = np.full(len(groups), total // len(groups))
    sizes[rng.choice(len(groups), size=total - sizes.sum(), replace=False)] += 1
    return [i for (_, group), size in zip(groups, sizes)
            for i in rng.choice(group["instance_id"].to_numpy(), size=size, replace=False)]


def second_pass_new(eqbench: pd.DataFrame, kk: pd.DataFrame) -> pd.DataFrame:
    """Seeded sample for the second pass on the new items, without pass 1's labels.

    120 EQ-Bench items drawn at random; 180 puzzles spread over the people x depth cells as evenly as
    possible (every cell gets 180 // cells, a seeded choice of cells one more).
    """
    rng = np.random.default_rng(SEED)
    picks = list(rng.choice(eqbench["instance_id"].to_numpy(), size=PASS2NEW_EQBENCH, replace=False))
    picks += spread_picks(list(kk.groupby(["people", "depth"], sort=True)), PASS2NEW_KK, rng)
    both = pd.concat([eqbench, kk], ignore_index=True)
    chosen = both[both["instance_id"].isin(picks)]
    return chosen.drop(columns=[c for c in (*ANNOTATED, *PROVENANCE_COLUMNS) if c in chosen]).reset_index(drop=True)


def export(job: str, battery: pd.DataFrame) -> Path:
    folder = WORK / job
    folder.mkdir(parents=True, exist_ok=True)
    battery.to_parquet(folder / "battery.parquet", index=False)
    requests = folder / "requests.jsonl"
    annotator, version = JOBS[job]
    subprocess.run([sys.executable, "-m", "assess.cli", "annotate", str(folder / "battery.parquet"),
                    "--annotator", str(HERE / annotator), "--mode", "all-scales", "--cache", str(folder / "cache.sqlite"),
                    "--protocol-version", version, "--export-requests", str(requests)], check=True)
    return requests


def instance_block(request: dict) -> str:
    """The task-instance part of the user message (the rubric text before it is the same in every request)."""
    text = request["body"]["messages"][-1]["content"]
    start = text.index("=== TASK INSTANCE ===")
    end = text.index("=== END OF TASK INSTANCE ===")
    return text[start + len("=== TASK INSTANCE ==="):end].strip()


def chunk_bounds(job: str, battery: pd.DataFrame, count: int) -> list[tuple[int, int]]:
    """(start, stop) of each chunk: every CHUNK requests, or for BY_TASK jobs near-equal parts of each task.

    The requests follow the battery's rows (one per item), which the by-task split relies on and checks.
    """
    if job not in BY_TASK:
        return [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]
    if count != len(battery):
        raise SystemExit(f"{job}: {count} requests for {len(battery)} items; cannot chunk by task")
    bounds = []
    for rows in battery.groupby("task", sort=False).indices.values():
        parts = -(-len(rows) // CHUNK)
        edges = np.linspace(rows[0], rows[-1] + 1, parts + 1).round().astype(int)
        bounds.extend(zip(edges[:-1], edges[1:]))
    return bounds


def write_chunks(job: str, battery: pd.DataFrame, requests_path: Path) -> int:
    lines = [json.loads(line) for line in requests_path.read_text().splitlines() if line.strip()]
    for old in (WORK / job).glob("chunk_*.items.md"):
        old.unlink()
    for number, (start, stop) in enumerate(chunk_bounds(job, battery, len(lines)), start=1):
        parts = [f"### {r['custom_id']}\n{instance_block(r)}\n" for r in lines[start:stop]]
        (WORK / job / f"chunk_{number:02d}.items.md").write_text("\n".join(parts))
    return len(lines)


def main() -> None:
    wanted = sys.argv[1:]
    for job, battery in batteries().items():
        if wanted and job not in wanted:
            continue
        count = write_chunks(job, battery, export(job, battery))
        print(f"{job}: {len(battery)} items, {count} requests exported, chunks of {CHUNK} in {WORK / job}")


if __name__ == "__main__":
    main()
