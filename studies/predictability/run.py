"""Predictability study: demand vs embedding vs combined vs fine-tuned assessors, in and out of distribution.

Runs on the annotated items of the bundled sample (rows with all 18 scales and UG) and writes
``results/``: the summary table (``table.md``, ``summary.csv``), per-subject metrics
(``per_subject.csv``), skipped (protocol, subject) pairs, calibration plots per assessor, and
training times. ``--update-readme`` copies the table into README.md.

    python studies/predictability/run.py --update-readme      # full run (≈15 min on 2 cores)
    python studies/predictability/run.py --quick              # smoke run (4 subjects, 1 seed, 3 folds)
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import pandas as pd

from assess.atomic import write_text
from assess.datasets import load_sample
from assess.scales import ANNOTATED
from assess.sources import read_battery, read_outcomes
from predictors import PROTOCOLS, TextFinetuneAssessor, ability_profiles, evaluate, make_assessor, make_tiny_model
from predictors.metrics import METRICS
from predictors.plots import calibration_figure, save_figure

HERE = Path(__file__).resolve().parent
#: Group column of benchmark-OOD: MMLU-Pro items come from four source benchmarks.
BENCHMARK_COLUMN = "source_benchmark"
#: The fine-tuned assessor is far slower on CPU: fewer subjects, one seed, no pooled new-subject protocol.
#: (Parallel workers get one torch thread each; two threads per fit on 2 busy cores ran ~7x slower.)
FINETUNE_PROTOCOLS = ("in_distribution", "task_ood", "benchmark_ood")


def annotated_sample(battery_file: Path | None, outcomes_file: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Battery rows with every scale and UG annotated, and the outcomes on them."""
    if battery_file:
        battery = read_battery(battery_file)
        outcomes = read_outcomes(outcomes_file, battery=battery)
    else:
        battery, outcomes = load_sample(annotated_only=True)
    battery = battery[battery[list(ANNOTATED)].notna().all(axis=1)].reset_index(drop=True)
    if battery.empty:
        raise SystemExit("no fully annotated items yet: the table needs reference annotations in the sample")
    outcomes = outcomes[outcomes["instance_id"].isin(battery["instance_id"])].reset_index(drop=True)
    return battery, outcomes


def pick_subjects(outcomes: pd.DataFrame, n: int | None) -> list[str]:
    """All subjects, or ``n`` spread over the accuracy range (always at least one per benchmark family)."""
    accuracy = outcomes.groupby("subject")["correct"].mean().sort_values()
    if n is None or n >= len(accuracy):
        return list(accuracy.index)
    step = (len(accuracy) - 1) / max(n - 1, 1)
    return sorted({accuracy.index[round(i * step)] for i in range(n)})


def run(args: argparse.Namespace) -> pd.DataFrame:
    battery, outcomes = annotated_sample(args.battery, args.outcomes)
    subjects = pick_subjects(outcomes, 4 if args.quick else None)
    finetune_subjects = pick_subjects(outcomes[outcomes["subject"].isin(subjects)], args.finetune_subjects)
    seeds = (0,) if args.quick else tuple(range(args.seeds))
    folds = 3 if args.quick else 5
    scratch = tempfile.TemporaryDirectory()
    base = args.finetune_base or str(make_tiny_model(battery["prompt"], Path(scratch.name) / "tiny", hidden_size=64))
    plans = [
        ("demand", make_assessor("demand"), PROTOCOLS, subjects, seeds),
        ("embedding", make_assessor("embedding"), PROTOCOLS, subjects, seeds),
        ("combined", make_assessor("combined"), PROTOCOLS, subjects, seeds),
        ("finetuned", TextFinetuneAssessor(base, epochs=args.epochs, batch_size=32, max_length=128,
                                           learning_rate=1e-3 if not args.finetune_base else 5e-5),
         FINETUNE_PROTOCOLS, finetune_subjects, seeds[:1]),
        ("multisubject", make_assessor("multisubject"), ("new_subject",), subjects, seeds),
    ]
    per_subject, summaries, skipped = [], [], []
    for name, assessor, protocols, chosen, plan_seeds in plans:
        start = time.perf_counter()
        result = evaluate(assessor, battery, outcomes[outcomes["subject"].isin(chosen)], protocols=protocols,
                          n_splits=folds, seeds=plan_seeds, benchmark_column=BENCHMARK_COLUMN,
                          profile_fn=ability_profiles, n_jobs=args.n_jobs)
        wall = time.perf_counter() - start
        print(f"{name}: {wall:.0f} s", flush=True)
        per_subject.append(result.table.assign(assessor=name))
        summaries.append(result.summary().assign(assessor=name, wall_seconds=wall))
        skipped.append(result.skipped.assign(assessor=name))
        first = result.predictions[result.predictions["seed"] == seeds[0]]
        save_figure(calibration_figure(first, title=f"{name} assessor"), args.out / f"calibration_{name}.png")
    scratch.cleanup()
    summary = pd.concat(summaries, ignore_index=True)
    write_text(args.out / "per_subject.csv", pd.concat(per_subject, ignore_index=True).to_csv(index=False))
    write_text(args.out / "summary.csv", summary.to_csv(index=False))
    write_text(args.out / "skipped.csv", pd.concat(skipped, ignore_index=True).to_csv(index=False))
    table = markdown_table(summary, battery, outcomes, subjects, finetune_subjects, seeds, folds, args)
    write_text(args.out / "table.md", table)
    if args.update_readme:
        update_readme(table)
    return summary


def markdown_table(summary: pd.DataFrame, battery: pd.DataFrame, outcomes: pd.DataFrame, subjects: list[str],
                   finetune_subjects: list[str], seeds: tuple[int, ...], folds: int,
                   args: argparse.Namespace) -> str:
    """The side-by-side table (plain means over subjects; AUROC also weighted by subject accuracy)."""
    means = summary[summary["aggregate"] == "mean"].set_index(["assessor", "protocol"])
    weighted = summary[summary["aggregate"] == "accuracy_weighted"].set_index(["assessor", "protocol"])
    header = ["assessor", "protocol", "subjects", *METRICS, "auroc (acc-weighted)", "fit s / fold", "wall s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (assessor, protocol), row in means.iterrows():
        cells = [assessor, protocol, str(int(row["subjects"])), *(f"{row[m]:.3f}" for m in METRICS),
                 f"{weighted.loc[(assessor, protocol), 'auroc']:.3f}", f"{row['fit_seconds']:.2f}",
                 f"{row['wall_seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    setup = (f"{len(battery)} annotated items, {len(subjects)} subjects ({outcomes['subject'].isin(subjects).sum()} "
             f"outcomes), {folds} folds, seeds {list(seeds)}; fine-tuned: {len(finetune_subjects)} subjects "
             f"({', '.join(finetune_subjects)}), seed 0 only, base {'tiny BERT from scratch' if not args.finetune_base else args.finetune_base}, "
             f"{args.epochs} epochs, 128 tokens; valid_share at error ≤ 0.1; "
             f"{'--quick' if args.quick else 'full'} run")
    return f"{setup}\n\n" + "\n".join(lines) + "\n"


def update_readme(table: str) -> None:
    """Replace the text between the table markers of README.md with ``table``."""
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = re.sub(r"(<!-- table:start -->\n).*?(<!-- table:end -->)", lambda m: m.group(1) + table + m.group(2),
                 text, flags=re.S)
    write_text(readme, new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 subjects, 1 seed, 3 folds")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the full run (default 3)")
    parser.add_argument("--n-jobs", type=int, default=2, help="parallel fits (default 2)")
    parser.add_argument("--finetune-subjects", type=int, default=3, help="subjects for the fine-tuned assessor")
    parser.add_argument("--finetune-base", help="model directory to fine-tune (default: a tiny BERT from scratch)")
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs")
    parser.add_argument("--battery", type=Path, help="battery file instead of the bundled sample")
    parser.add_argument("--outcomes", type=Path, help="outcomes file (with --battery)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results directory")
    parser.add_argument("--update-readme", action="store_true", help="copy the table into README.md")
    args = parser.parse_args()
    summary = run(args)
    print(summary.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
