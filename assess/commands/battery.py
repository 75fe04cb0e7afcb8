"""`assess battery ...`: build batteries (generated puzzles, downloaded benchmarks) as battery files.

Sub-commands join the one Typer group :data:`battery_app`: ``kk``, ``grid``, ``write`` and ``rules`` live
here, ``hf`` in :mod:`.battery_hf`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Console

from ..atomic import write_table
from ..battery import validate_battery
from ..errors import InputError

battery_app = typer.Typer(name="battery", help="Build batteries: generated puzzles or benchmark downloads.",
                          no_args_is_help=True)
console = Console(stderr=True)


def parse_range(text: str, option: str) -> list[int]:
    """Integers from "3", "2..8" (inclusive) or "2,4,6"; anything else is an InputError naming the option."""
    try:
        if ".." in text:
            low, high = (int(part) for part in text.split("..", 1))
            values = list(range(low, high + 1))
        else:
            values = [int(part) for part in text.split(",")]
    except ValueError as err:
        raise InputError(f"{option} {text!r}: expected N, A..B or A,B,C") from err
    if not values:
        raise InputError(f"{option} {text!r} is an empty range")
    return values


def write_generated(rows: list[dict], what: str, out: Path) -> None:
    """Check generated ``rows`` as a battery (errors name "generated <what>"), write them to ``out``
    atomically and say how many went there."""
    table = validate_battery(pd.DataFrame(rows), f"generated {what}")
    write_table(table, out)
    console.print(f"wrote {len(table)} {what} -> {out}", highlight=False)


@battery_app.command("kk")
def kk(
    out: Path = typer.Option(..., "--out", "-o", help="Battery file to write (.parquet or .csv)."),
    people: str = typer.Option("2..8", "--people", help="Number of inhabitants: N, A..B or A,B,C (2-8)."),
    depth: str = typer.Option("2..3", "--depth", help="Depth of every statement's formula: N, A..B or A,B,C (2-5)."),
    n: int = typer.Option(10, "--n", min=1, help="Puzzles per (people, depth) cell."),
    seed: int = typer.Option(0, "--seed", help="Random seed (each cell has its own stream)."),
    perturb: str = typer.Option("", "--perturb", help="Variants to add after each puzzle, comma-separated: "
                                "statement, names, roles."),
) -> None:
    """Knights-and-Knaves puzzles with a unique solution each, solved and checked as they are made."""
    from ..generators import kk as generator

    kinds = [k.strip() for k in perturb.split(",") if k.strip()]
    skipped: list[str] = []
    rows = generator.battery(parse_range(people, "--people"), parse_range(depth, "--depth"), n, seed, kinds, skipped)
    table = validate_battery(pd.DataFrame(rows), "generated puzzles")
    write_table(table, out)
    console.print(f"wrote {len(table)} items ({int((table['variant'] == 'original').sum())} puzzles) -> {out}",
                  highlight=False)
    if skipped:
        console.print(f"{len(skipped)} variant(s) left out (no one-statement change gives a new unique solution), "
                      f"e.g. {skipped[0]}", highlight=False)


@battery_app.command("grid")
def grid(
    out: Path = typer.Option(..., "--out", "-o", help="Battery file to write (.parquet or .csv)."),
    size: str = typer.Option("4..8", "--size", help="Grid side: N, A..B or A,B,C (3-9)."),
    steps: str = typer.Option("2..10", "--steps", help="Instructions per walk: N, A..B or A,B,C (1-30)."),
    n: int = typer.Option(10, "--n", min=1, help="Walks per (size, steps) cell."),
    seed: int = typer.Option(0, "--seed", help="Random seed (each cell has its own stream)."),
) -> None:
    """Grid-navigation walks (spatial reasoning) with their final square and heading as the target."""
    from ..generators import grid as generator

    rows = generator.battery(parse_range(size, "--size"), parse_range(steps, "--steps"), n, seed)
    write_generated(rows, "walks", out)


@battery_app.command("write")
def write(
    out: Path = typer.Option(..., "--out", "-o", help="Battery file to write (.parquet or .csv)."),
    constraints: str = typer.Option("1..6", "--constraints", help="Constraints per task, the sentence count "
                                    "included: N, A..B or A,B,C (1-6)."),
    sentences: str = typer.Option("1..6", "--sentences", help="Sentences asked for: N, A..B or A,B,C (1-6)."),
    n: int = typer.Option(5, "--n", min=1, help="Tasks per (constraints, sentences) cell."),
    seed: int = typer.Option(0, "--seed", help="Random seed (each cell has its own stream)."),
) -> None:
    """Constrained-writing tasks (verbal expression): a short text under constraints checked exactly."""
    from ..generators import write as generator

    rows = generator.battery(parse_range(constraints, "--constraints"), parse_range(sentences, "--sentences"), n, seed)
    write_generated(rows, "writing tasks", out)


@battery_app.command("rules")
def rules(
    out: Path = typer.Option(..., "--out", "-o", help="Battery file to write (.parquet or .csv)."),
    depth: str = typer.Option("1..3", "--depth", help="Operations the secret rule chains: N, A..B or A,B,C (1-3)."),
    examples: str = typer.Option("2..6", "--examples", help="Example pairs shown: N, A..B or A,B,C (2-8)."),
    n: int = typer.Option(5, "--n", min=1, help="Puzzles per (depth, examples) cell."),
    seed: int = typer.Option(0, "--seed", help="Random seed (each cell has its own stream)."),
) -> None:
    """Made-up word-rule puzzles (learning from examples), each rule identifiable from its examples."""
    from ..generators import rules as generator

    rows = generator.battery(parse_range(depth, "--depth"), parse_range(examples, "--examples"), n, seed)
    write_generated(rows, "rule puzzles", out)


def register(app: typer.Typer) -> None:
    """Add the `battery` group to the app."""
    from . import battery_hf  # noqa: F401  (its command joins battery_app)

    app.add_typer(battery_app)
