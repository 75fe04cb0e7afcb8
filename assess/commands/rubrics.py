"""`assess rubrics [CODE] [--dir PATH]`: list the rubrics, or show one, after validating them all."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..errors import InputError
from ..rubrics import Rubric, load_rubrics
from ..scales import ANNOTATED


def register(app: typer.Typer) -> None:
    """Add the `rubrics` command to the `assess` app."""
    app.command(name="rubrics")(rubrics_command)


def rubrics_command(
    code: Annotated[Optional[str], typer.Argument(help="Scale code to show in full, e.g. QLq.")] = None,
    directory: Annotated[Optional[Path], typer.Option(
        "--dir", help="Directory of rubric files (*.yaml, or DeLeAn *.txt) instead of the bundled set.")] = None,
) -> None:
    """Validate the rubrics and list every scale, or show one scale's rubric in full."""
    rubrics = load_rubrics(directory)
    console = Console()
    if code is None:
        console.print(_list_table(rubrics))
        missing = [c for c in ANNOTATED if c not in rubrics]
        if missing:
            console.print(f"no rubric for: {', '.join(missing)}", highlight=False, markup=False)
        return
    if code not in rubrics:
        raise InputError(f"no rubric for scale {code!r}; available: {', '.join(rubrics)}",
                         source=directory or "bundled rubrics")
    _show(console, rubrics[code])


def _list_table(rubrics: dict[str, Rubric]) -> Table:
    table = Table(title="Rubrics")
    for column in ("code", "name", "family", "version", "hash"):
        table.add_column(column)
    for rubric in rubrics.values():
        table.add_row(rubric.code, Text(rubric.name), rubric.family, Text(rubric.version), rubric.content_hash[:12])
    return table


def _show(console: Console, rubric: Rubric) -> None:
    console.print(f"[bold]{rubric.code}[/] {escape(rubric.name)} ({rubric.family}, version {escape(rubric.version)})",
                  highlight=False)
    console.print(escape(f"source: {rubric.source}\nhash: {rubric.content_hash}"), highlight=False)
    console.print(f"\n[bold]Measures[/]: {escape(rubric.measures)}", highlight=False)
    if rubric.excludes:
        console.print(f"\n[bold]Does not measure[/]: {escape(rubric.excludes)}", highlight=False)
    table = Table(show_lines=True)
    for column in ("level", "label", "criterion", "examples"):
        table.add_column(column)
    for level in rubric.levels:
        band = f"\nUG {level.band[0]:g}-{level.band[1]:g}%" if level.band else ""
        table.add_row(str(level.level), Text(level.label + band), Text(level.criterion),
                      Text("\n".join(f"- {example}" for example in level.examples)))
    console.print(table)
