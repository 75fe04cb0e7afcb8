"""`assess next-items`: the k items to run next for a subject, chosen by adaptive testing (demand-IRT).

Without ``--model`` the joint model is fitted on every subject of ``--outcomes`` (the population,
the subject's outcomes so far included); with ``--model`` (an IRT assessor saved by
``assess fit --assessor irt`` or ``predictors.save``) items, discriminations and population are
frozen and only the subject is fitted from its outcomes (none yet: it starts from the population
prior). Candidates are the battery items annotated on every scale the model uses that the
subject has not run. A fitted model uses every level scale of the active scale set (the bundled
rubrics plus ``--rubrics`` folders).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from ..atomic import TABLE_SUFFIXES, write_table
from ..cli_options import RubricsOption, active_scale_set
from ..errors import InputError

console = Console()


def next_items(
    battery: Path = typer.Option(..., help="Battery file (CSV, JSONL or Parquet) with demand annotations."),
    outcomes: Path = typer.Option(..., help="Outcomes so far (long, per-subject or wide)."),
    subject: str = typer.Option(..., help="The subject to choose items for."),
    k: int = typer.Option(20, min=1, help="How many items to propose."),
    model: Path | None = typer.Option(None, help="A saved IRT assessor (items frozen); default: fit the population."),
    rubrics: list[Path] | None = RubricsOption,
    out: Path = typer.Option(..., "--out", help="Where to write the proposed items (CSV or Parquet)."),
) -> None:
    """Propose the next k most informative items for a subject (greedy D-optimal at its current estimate)."""
    from predictors import IRTAssessor, load, make_assessor

    from ..irt.profiles import annotated_items
    from ..sources import read_battery, read_outcomes

    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(f"output must end in {' or '.join(TABLE_SUFFIXES)}", source=out)
    scale_set = active_scale_set(rubrics)
    table = read_battery(battery, scales=scale_set)
    results = read_outcomes(outcomes, subject=subject, battery=table)
    if model is not None:
        assessor = load(model)
        if not isinstance(assessor, IRTAssessor):
            raise InputError(f"not an IRT assessor ({type(assessor).__name__})", source=model)
        scales = list(assessor.scales_)
    else:
        assessor = make_assessor("irt", scale_set=scale_set)
        scales = list(assessor.scales)
    items = annotated_items(table, scales)
    if items.empty:
        raise InputError(f"no battery item is annotated on all of {', '.join(scales)}", source=battery)
    rows = results.merge(items, on="instance_id", how="inner")
    mine = rows[rows["subject"] == subject]
    if model is None:
        if rows.empty:
            raise InputError("no outcomes on annotated items to fit the population on", source=outcomes)
        assessor.fit(rows, rows["correct"])
    elif not mine.empty:
        assessor.add_subjects(mine, mine["correct"], replace=True)
    candidates = items[~items["instance_id"].isin(mine["instance_id"])]
    if candidates.empty:
        raise InputError(f"subject {subject!r} has run every annotated item; nothing left to propose")
    picked = assessor.next_items(subject, candidates, k)
    columns = [c for c in ("rank", "instance_id", "benchmark", "task", "p_success", "information_gain")
               if c in picked.columns]
    write_table(picked[columns], out)
    console.print(_table(picked[columns], subject, len(mine)))
    console.print(f"wrote {len(picked)} items to {out}", highlight=False)


def _table(picked: pd.DataFrame, subject: str, n_seen: int) -> Table:
    table = Table(title=f"Next items for {subject} ({n_seen} outcomes so far)", header_style="bold")
    for column in picked.columns:
        table.add_column(column, justify="right" if column in ("rank", "p_success", "information_gain") else "left")
    for _, row in picked.head(30).iterrows():
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    return table


def register(app: typer.Typer) -> None:
    """Add `assess next-items` to the app."""
    app.command("next-items")(next_items)
