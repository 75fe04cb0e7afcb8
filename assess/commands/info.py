"""`assess info BATTERY|sample [--outcomes O]`: what a battery holds before anything is profiled.

Benchmarks and tasks with their instance counts, annotation coverage per scale, and — from the
outcomes (the bundled ones for ``sample``) — every subject with its outcome count and accuracy.
"""
from __future__ import annotations

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from ..config import SAMPLE
from ..scales import ANNOTATED, UG
from .tables import frame_table

console = Console()


def battery_summary(battery: pd.DataFrame) -> pd.DataFrame:
    """One row per benchmark and task: instances and how many carry at least one annotated scale."""
    annotated = battery[list(ANNOTATED)].notna().any(axis=1)
    grouped = battery.assign(annotated=annotated).groupby(["benchmark", "task"], sort=True)
    return grouped.agg(instances=("instance_id", "size"), annotated=("annotated", "sum")).reset_index()


def coverage(battery: pd.DataFrame) -> pd.DataFrame:
    """One row per scale: instances rated, their percentage, mean level and the count at each level 0-5
    (levels rounded); UG gets its mean percentage and no level counts."""
    rows = []
    for code in ANNOTATED:
        values = battery[code].dropna()
        row = {"scale": code, "rated": len(values), "%": 100 * len(values) / max(len(battery), 1),
               "mean": values.mean() if len(values) else float("nan")}
        bins = values.round().astype(int).value_counts() if code != UG else pd.Series(dtype=int)
        row.update({str(level): int(bins.get(level, 0)) if code != UG else "" for level in range(6)})
        rows.append(row)
    return pd.DataFrame(rows)


def subject_summary(battery: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per subject: outcomes on the battery, accuracy, and outcomes on annotated items."""
    annotated = set(battery.loc[battery[list(ANNOTATED)].notna().any(axis=1), "instance_id"])
    mine = outcomes[outcomes["instance_id"].isin(battery["instance_id"])]
    mine = mine.assign(on_annotated=mine["instance_id"].isin(annotated))
    return (mine.groupby("subject", sort=True)
            .agg(outcomes=("correct", "size"), accuracy=("correct", "mean"), annotated=("on_annotated", "sum"))
            .reset_index())


def _load(battery: str, outcomes: str | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if battery == SAMPLE:
        from ..datasets import load_sample

        table, sample_outcomes = load_sample()
        if outcomes is None or outcomes == SAMPLE:
            return table, sample_outcomes
    else:
        from ..sources import read_battery

        table = read_battery(battery)
        if outcomes is None:
            return table, None
    from ..sources import read_outcomes

    return table, read_outcomes(outcomes, battery=table)


def info(
    battery: str = typer.Argument(..., metavar="BATTERY", help="A battery file (CSV, JSONL, Parquet) or 'sample'."),
    outcomes: str | None = typer.Option(None, "--outcomes", help="Outcomes to summarise per subject (default: "
                                        "the bundled ones for 'sample', none otherwise)."),
) -> None:
    """Describe a battery: benchmarks, tasks, annotation coverage, subjects."""
    table, results = _load(battery, outcomes)
    annotated = int(table[list(ANNOTATED)].notna().any(axis=1).sum())
    console.print(f"[bold]{escape(battery)}[/]: {len(table)} instances, {annotated} with annotations", highlight=False)
    console.print(frame_table(battery_summary(table), "Benchmarks and tasks"))
    console.print(frame_table(coverage(table), "Annotation coverage: instances rated per scale, and how many at "
                                               "each level 0-5 (UG: mean unguessability, %)", digits=1))
    if results is None:
        console.print("no outcomes given (--outcomes FILE lists the subjects)", highlight=False)
        return
    console.print(frame_table(subject_summary(table, results), f"Subjects ({escape(str(outcomes or SAMPLE))})"))


def register(app: typer.Typer) -> None:
    """Add `assess info` to the app."""
    app.command("info")(info)
