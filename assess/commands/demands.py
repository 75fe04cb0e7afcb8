"""`assess demands BATTERY [--by benchmark|task|source] --out DIR`: what each benchmark or task demands,
and, with outcomes, a subject's expected accuracy on the groups it has not run."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..battery import validate_outcomes
from ..cli_options import RubricsOption, active_scale_set, scale_option
from ..config import SAMPLE
from ..datasets import load_sample, sample_battery
from ..demand_ability import DEFAULT_ANCHORED, DEFAULT_GUESS, DEFAULT_MIN_N, DEFAULT_RULE, RULES, expected_accuracies
from ..demand_report import REPORT_HTML, write_outputs
from ..demands import GROUPINGS, DemandProfile, Prediction, demand_profile, parse_intended
from ..errors import InputError
from ..scaleset import ScaleSet
from ..sources import read_battery, read_outcomes

console = Console()
#: Above this many groups the terminal shows one row per group instead of scales × groups.
MAX_SIDE_BY_SIDE = 6


def demands_command(
    battery: Annotated[str, typer.Argument(help="Battery file (CSV, JSONL, Parquet) or 'sample'.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    by: Annotated[str, typer.Option("--by", help=f"Group by {' | '.join(GROUPINGS)}.")] = "benchmark",
    rubrics: Optional[list[Path]] = RubricsOption,
    scales: Annotated[Optional[str], typer.Option(
        "--scales", help="Comma-separated codes of the active scale set to analyse (default: all of them).")] = None,
    intended: Annotated[Optional[list[str]], typer.Option(
        "--intended", help="GROUP=CODE,CODE: the scales a group is meant to measure (repeatable).")] = None,
    compare: Annotated[Optional[list[str]], typer.Option(
        "--compare", help="Group to show in the side-by-side comparison (repeatable).")] = None,
    outcomes: Annotated[Optional[str], typer.Option(
        "--outcomes", help="Outcomes file or 'sample': adds the subjects' expected accuracy per group.")] = None,
    subject: Annotated[Optional[list[str]], typer.Option("--subject", help="Subject of --outcomes (repeatable).")] = None,
    rule: Annotated[str, typer.Option("--rule", help=f"Per-instance success: {' | '.join(RULES)}.")] = DEFAULT_RULE,
    guess: Annotated[bool, typer.Option("--guess/--no-guess", help="Correct for guessing with UG.")] = DEFAULT_GUESS,
    min_n: Annotated[int, typer.Option("--min-n", min=1, help="Fewest instances for a curve to be used.")] = DEFAULT_MIN_N,
    anchored: Annotated[bool, typer.Option("--anchored/--no-anchored", help=(
        "Shift by the curves' error on the subject's own training outcomes."))] = DEFAULT_ANCHORED,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap replicates of the curves.")] = 200,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Demand profiles per benchmark, task or source: level distributions, sensitivity, specificity."""
    if rule not in RULES:
        raise InputError(f"--rule {rule!r}: use one of {', '.join(RULES)}")
    if subject and outcomes is None:
        raise InputError("--subject needs --outcomes (a file, or 'sample')")
    if outcomes is not None and not subject:
        raise InputError("--outcomes needs at least one --subject")
    scale_set = active_scale_set(rubrics)
    codes = scale_option(scales, scale_set) if scales is not None else None
    table, name = _battery(battery, scale_set)
    profile = demand_profile(table, by, scale_set=scale_set, scales=codes, intended=parse_intended(intended or []),
                             battery_name=name)
    known = {g.group for g in profile.groups}
    unknown = [g for g in compare or [] if g not in known]
    if unknown:
        raise InputError(f"--compare: unknown {by}(s) {', '.join(map(repr, unknown))}; known: "
                         f"{', '.join(sorted(known)[:40])}")
    curves = {}
    if outcomes is not None:
        results = _outcomes(outcomes, table)
        settings = Prediction(rule=rule, guess=guess, min_n=min_n, anchored=anchored, bootstrap=bootstrap, seed=seed)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("expected accuracy", total=len(subject) * len(profile.groups))

            def step(what: str) -> None:
                progress.update(task, description=f"expected accuracy: {what}")
                progress.advance(task)

            expectations, curves = expected_accuracies(
                table, results, subject, by, progress=step, scale_set=scale_set,
                scales=[s for s in profile.scales if profile.kinds[s] == "level"],
                rule=rule, guess=guess, min_n=min_n, anchored=anchored, bootstrap=bootstrap, seed=seed)
        profile = profile.model_copy(update={"prediction": settings, "expectations": expectations})
    write_outputs(profile, out, compare=compare or None, curves=curves)
    console.print(terminal_table(profile))
    if profile.expectations:
        console.print(expectation_table(profile))
    console.print(f"outputs written to {out} (open {REPORT_HTML})", highlight=False, markup=False)


def _battery(source: str, scales: ScaleSet) -> tuple[pd.DataFrame, str]:
    if source == SAMPLE:
        return sample_battery(scales), "bundled sample"
    return read_battery(source, scales=scales), source


def _outcomes(source: str, battery: pd.DataFrame) -> pd.DataFrame:
    if source == SAMPLE:
        return validate_outcomes(load_sample()[1], "bundled sample outcomes", battery)
    return read_outcomes(source, battery=battery)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def terminal_table(profile: DemandProfile) -> Table:
    """Few groups: scales × groups (mean level, dominant share); many: one row per group."""
    frame = profile.table()
    groups = [g.group for g in profile.groups]
    if len(groups) <= MAX_SIDE_BY_SIDE:
        table = Table(title=f"Demand profile by {profile.grouping}", header_style="bold",
                      caption="mean level ± sd · dominant share · sensitivity; * intended scale")
        table.add_column("scale")
        for group in groups:
            table.add_column(Text(group), justify="right")
        for scale in profile.scales:
            cells = []
            for group in groups:
                row = frame[(frame["group"] == group) & (frame["scale"] == scale)].iloc[0]
                star = "*" if row["intended"] else ""
                group_row = next(g for g in profile.groups if g.group == group)
                own = f" ({row['n_annotated']} annotated)" if row["n_annotated"] != group_row.n_annotated else ""
                cells.append(Text(f"{star}{_fmt(row['mean'])} ± {_fmt(row['sd'])} · {_fmt(row['dominant_share'])} · "
                                  f"{_fmt(row['sensitivity'])}{own}"))
            table.add_row(scale, *cells)
        table.add_row("instances", *[str(g.n_instances) for g in profile.groups])
        table.add_row("annotated", *[str(g.n_annotated) for g in profile.groups])
        table.add_row("specificity", *[_fmt(g.specificity) for g in profile.groups], style="bold")
        return table
    table = Table(title=f"Demand profile by {profile.grouping}", header_style="bold",
                  caption="n: instances (annotated); top demands: scale, mean level (share of the demand mass); "
                          "spec.: specificity", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("group", "n", "top demands", "intended", "spec."):
        table.add_column(column, justify="right" if column in ("n", "spec.") else "left",
                         no_wrap=column != "intended", max_width=30 if column == "group" else None,
                         min_width=9 if column == "intended" else None, overflow="ellipsis")
    for group in profile.groups:
        rows = frame[(frame["group"] == group.group) & frame["demand_share"].notna()]
        top = rows.sort_values("demand_share", ascending=False).head(2)
        tops = " ".join(f"{r.scale} {_fmt(r.mean, 1)} ({_fmt(r.demand_share)})" for r in top.itertuples())
        table.add_row(Text(group.group), f"{group.n_instances} ({group.n_annotated})", tops,
                      ", ".join(group.intended), _fmt(group.specificity))
    return table


def expectation_table(profile: DemandProfile) -> Table:
    """Expected accuracy [95 % ci] and the actual accuracy where known (the prediction intervals are in the files)."""
    table = Table(title="Expected accuracy from the subject's curves fitted outside the group", header_style="bold",
                  box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="fit: the subject's outcomes outside the group (before the curves' UG filter); "
                          "n: predicted items; ci: the curves' bootstrap "
                          "(prediction intervals in expected_accuracy.csv); actual: on the same items (n)")
    for column in ("subject", "group", "fit", "n", "expected [ci]", "actual"):
        table.add_column(column, justify="left" if column in ("subject", "group") else "right", no_wrap=True,
                         max_width=20 if column in ("subject", "group") else None, overflow="ellipsis")
    for e in profile.expectations:
        ci = f" [{_fmt(e.ci_low)}–{_fmt(e.ci_high)}]" if e.ci_low is not None else ""
        table.add_row(Text(e.subject), Text(e.group), str(e.n_train) if e.n_train else "none", str(e.n_predicted),
                      _fmt(e.predicted) + ci, f"{_fmt(e.actual)} ({e.n_actual})" if e.n_actual else "–")
    return table


def register(app: typer.Typer) -> None:
    """Add `assess demands` to the app."""
    app.command("demands")(demands_command)
