"""`assess info BATTERY|sample [--outcomes O]`: what a battery holds before anything is profiled.

Benchmarks and tasks with their instance counts, annotation coverage per scale, and — from the
outcomes (the bundled ones for ``sample``) — every subject with its outcome count and accuracy.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from ..config import SAMPLE
from ..scaleset import ScaleSet, default_scale_set
from ..cli_options import RubricsOption, active_scale_set
from .tables import frame_table

console = Console()


def battery_summary(battery: pd.DataFrame, scales: ScaleSet | None = None) -> pd.DataFrame:
    """One row per benchmark and task: instances and how many carry at least one annotated scale (of ``scales``)."""
    annotated = battery[list((scales or default_scale_set()).codes)].notna().any(axis=1)
    grouped = battery.assign(annotated=annotated).groupby(["benchmark", "task"], sort=True)
    return grouped.agg(instances=("instance_id", "size"), annotated=("annotated", "sum")).reset_index()


def coverage(battery: pd.DataFrame, scales: ScaleSet | None = None) -> pd.DataFrame:
    """One row per scale of ``scales``: instances rated, their percentage, mean level and the count at each
    level 0-5 (levels rounded); a percentage scale (UG) gets its mean percentage and no level counts."""
    scales = scales or default_scale_set()
    rows = []
    for code in scales:
        values = battery[code].dropna()
        level = scales[code].kind == "level"
        row = {"scale": code, "rated": len(values), "%": 100 * len(values) / max(len(battery), 1),
               "mean": values.mean() if len(values) else float("nan")}
        bins = values.round().astype(int).value_counts() if level else pd.Series(dtype=int)
        row.update({str(lv): int(bins.get(lv, 0)) if level else "" for lv in range(6)})
        rows.append(row)
    return pd.DataFrame(rows)


def subject_summary(battery: pd.DataFrame, outcomes: pd.DataFrame, scales: ScaleSet | None = None) -> pd.DataFrame:
    """One row per subject: outcomes on the battery, accuracy, and outcomes on annotated items."""
    codes = list((scales or default_scale_set()).codes)
    annotated = set(battery.loc[battery[codes].notna().any(axis=1), "instance_id"])
    mine = outcomes[outcomes["instance_id"].isin(battery["instance_id"])]
    mine = mine.assign(on_annotated=mine["instance_id"].isin(annotated))
    return (mine.groupby("subject", sort=True)
            .agg(outcomes=("correct", "size"), accuracy=("correct", "mean"), annotated=("on_annotated", "sum"))
            .reset_index())


def _load(battery: str, outcomes: str | None, scales: ScaleSet) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if battery == SAMPLE:
        from ..battery import validate_battery
        from ..datasets import load_sample

        table, sample_outcomes = load_sample()
        table = table if scales is default_scale_set() else validate_battery(table, "bundled sample", scales)
        if outcomes is None or outcomes == SAMPLE:
            return table, sample_outcomes
    else:
        from ..sources import read_battery

        table = read_battery(battery, scales=scales)
        if outcomes is None:
            return table, None
    from ..sources import read_outcomes

    return table, read_outcomes(outcomes, battery=table)


def info(
    battery: str = typer.Argument(..., metavar="BATTERY", help="A battery file (CSV, JSONL, Parquet) or 'sample'."),
    outcomes: str | None = typer.Option(None, "--outcomes", help="Outcomes to summarise per subject (default: "
                                        "the bundled ones for 'sample', none otherwise)."),
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """Describe a battery: benchmarks, tasks, annotation coverage, subjects."""
    scales = active_scale_set(rubrics)
    table, results = _load(battery, outcomes, scales)
    annotated = int(table[list(scales.codes)].notna().any(axis=1).sum())
    console.print(f"[bold]{escape(battery)}[/]: {len(table)} instances, {annotated} with annotations", highlight=False)
    console.print(frame_table(battery_summary(table, scales), "Benchmarks and tasks"))
    console.print(frame_table(coverage(table, scales), "Annotation coverage: instances rated per scale, and how many "
                                                       "at each level 0-5 (percentage scales such as UG: the mean "
                                                       "percentage)", digits=1))
    if results is None:
        console.print("no outcomes given (--outcomes FILE lists the subjects)", highlight=False)
        return
    console.print(frame_table(subject_summary(table, results, scales), f"Subjects ({escape(str(outcomes or SAMPLE))})"))


def register(app: typer.Typer) -> None:
    """Add `assess info` to the app."""
    app.command("info")(info)
