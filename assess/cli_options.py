"""Options shared by every command: the rubric folders that make up the active scale set, and scale lists."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .scaleset import ScaleSet, load_scale_set, rubric_folders

RUBRICS_HELP = ("Rubric folder whose scales join the bundled ones (a new code adds a scale; a bundled code "
                "replaces its rubric only if the file says 'replaces: true'). Repeatable.")

#: ``--rubrics DIR`` (repeatable), for every command.
RubricsOption = typer.Option(None, "--rubrics", help=RUBRICS_HELP, exists=False)


def active_scale_set(cli: Optional[list[Path]], *config_folders: list[str] | None,
                     console: Console | None = None) -> ScaleSet:
    """The scale set of a command: the configs' folders, then ``--rubrics``; replacements are printed."""
    scales = load_scale_set(rubric_folders(*config_folders, cli))
    for line in scales.statements():
        (console or Console(stderr=True)).print(f"note: {line}", highlight=False, markup=False)
    return scales


def scale_option(text: str, scale_set: ScaleSet, key: str = "--scales") -> tuple[str, ...]:
    """A comma-separated ``--scales`` value as codes of ``scale_set`` (spaces around codes ignored; InputError at
    ``key`` when empty, unknown or repeated)."""
    return scale_set.check([code.strip() for code in text.split(",") if code.strip()], key=key)
