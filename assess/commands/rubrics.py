"""`assess rubrics [CODE] [--rubrics DIR] [--dir PATH]`: list the active scale set, or show one rubric, after validating them all."""
from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..errors import InputError
from ..rubrics import Rubric
from ..scales import ANNOTATED
from ..scaleset import load_scale_set, rubric_folders
from ..cli_options import RubricsOption


def register(app: typer.Typer) -> None:
    """Add the `rubrics` command to the `assess` app."""
    app.command(name="rubrics")(rubrics_command)


def rubrics_command(
    code: Annotated[Optional[str], typer.Argument(help="Scale code to show in full, e.g. QLq.")] = None,
    directory: Annotated[Optional[Path], typer.Option(
        "--dir", help="Directory of rubric files (*.yaml, or DeLeAn *.txt) to validate on its own, "
                      "instead of the bundled set.")] = None,
    rubrics: Optional[list[Path]] = RubricsOption,
) -> None:
    """Validate the rubrics and list every scale, or show one scale's rubric in full.

    The scales are the active set: the bundled rubrics plus the --rubrics folders (or --dir alone).
    """
    if directory is not None and rubrics:
        raise InputError("give --dir (a folder on its own) or --rubrics (folders added to the bundled set), not both",
                         column="--dir")
    folders = rubric_folders([directory] if directory else None, rubrics)
    scale_set = load_scale_set(folders, bundled=directory is None)
    console = Console()
    if code is None:
        console.print(_list_table(scale_set.rubrics, scale_set.hash))
        bundled = Path(str(importlib.resources.files("rubrics")))
        for rubric in scale_set.rubrics.values():
            if Path(rubric.source).parent != bundled:
                console.print(f"{rubric.code}: {rubric.source}", highlight=False, markup=False, soft_wrap=True)
        for line in scale_set.statements():
            console.print(f"note: {line}", highlight=False, markup=False)
        missing = [c for c in ANNOTATED if c not in scale_set]
        if missing:
            console.print(f"no rubric for: {', '.join(missing)}", highlight=False, markup=False)
        return
    if code not in scale_set:
        raise InputError(f"no rubric for scale {code!r}; available: {', '.join(scale_set)}",
                         source=", ".join(folders) or "bundled rubrics")
    _show(console, scale_set.rubrics[code])


def _list_table(rubrics: Mapping[str, Rubric], set_hash: str) -> Table:
    table = Table(title="Rubrics", caption=f"scale set {set_hash[:12]}")
    for column in ("code", "name", "family", "kind", "version", "hash"):
        table.add_column(column)
    for rubric in rubrics.values():
        table.add_row(rubric.code, Text(rubric.name), Text(rubric.family), rubric.kind, Text(rubric.version),
                      rubric.content_hash[:12])
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
        band = f"\n{rubric.code} {level.band[0]:g}-{level.band[1]:g}%" if level.band else ""
        table.add_row(str(level.level), Text(level.label + band), Text(level.criterion),
                      Text("\n".join(f"- {example}" for example in level.examples)))
    console.print(table)
