"""`assess battery ...`: build batteries (generated puzzles, downloaded benchmarks) as battery files.

Sub-commands join the one Typer group :data:`battery_app`: ``hf`` is defined in :mod:`.battery_hf`.
"""
from __future__ import annotations

import typer

battery_app = typer.Typer(name="battery", help="Build batteries: generated puzzles or benchmark downloads.",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `battery` group to the app."""
    from . import battery_hf  # noqa: F401  (its command joins battery_app)

    app.add_typer(battery_app)
