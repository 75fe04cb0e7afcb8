"""Grid navigation: follow turns and moves on a lettered grid, answer the final square and heading.

A spatial-reasoning (SNs) item family with an exact answer. Difficulty by construction: ``steps``
(instructions to follow, each a move of one to three squares or a left, right or about turn) and
``size`` (the grid's side; columns A.., rows 1.. from the bottom). Instructions never leave the grid,
so every item has one answer, computed here as the item is made; :func:`parse_position` reads it back
from a model's output for :class:`assess.runs.scorers.GridScorer`.
"""
from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .cells import cell_rows

HEADINGS: tuple[str, ...] = ("north", "east", "south", "west")
_STEP = {"north": (0, 1), "east": (1, 0), "south": (0, -1), "west": (-1, 0)}
_TURNS = {"left": -1, "right": 1, "around": 2}
MIN_SIZE, MAX_SIZE = 3, 9
MAX_STEPS = 30


@dataclass(frozen=True)
class Walk:
    """A start square and heading, the instructions, and where they lead."""

    size: int
    start: tuple[int, int]
    heading: str
    instructions: tuple[str, ...]
    end: tuple[int, int]
    end_heading: str


def square(cell: tuple[int, int]) -> str:
    """Chess-style name of a 0-based (column, row) cell, e.g. (2, 3) -> 'C4'."""
    return f"{string.ascii_uppercase[cell[0]]}{cell[1] + 1}"


def follow(size: int, start: tuple[int, int], heading: str,
           instructions: Sequence[str]) -> tuple[tuple[int, int], str]:
    """Square and heading after the instructions ("turn left", "move 2"); InputError if a move leaves the grid."""
    (x, y), facing = start, HEADINGS.index(heading)
    for text in instructions:
        verb, arg = text.split(" ", 1)
        if verb == "turn":
            facing = (facing + _TURNS[arg]) % 4
            continue
        dx, dy = _STEP[HEADINGS[facing]]
        x, y = x + dx * int(arg), y + dy * int(arg)
        if not (0 <= x < size and 0 <= y < size):
            raise InputError(f"instruction {text!r} leaves the {size}x{size} grid")
    return (x, y), HEADINGS[facing]


def generate(rng: np.random.Generator, size: int, steps: int) -> Walk:
    """A walk of ``steps`` instructions on a ``size`` grid: never two turns in a row, never off the grid."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise InputError(f"--size {size}: grids are {MIN_SIZE} to {MAX_SIZE} squares wide")
    if not 1 <= steps <= MAX_STEPS:
        raise InputError(f"--steps {steps}: walks have 1 to {MAX_STEPS} instructions")
    start = (int(rng.integers(size)), int(rng.integers(size)))
    heading = HEADINGS[int(rng.integers(4))]
    instructions: list[str] = []
    position, facing = start, heading
    while len(instructions) < steps:
        last_turn = bool(instructions) and instructions[-1].startswith("turn")
        if not last_turn and rng.random() < 0.5:
            candidate = f"turn {('left', 'right', 'around')[int(rng.integers(3))]}"
        else:
            candidate = f"move {int(rng.integers(1, 4))}"
        try:
            after = follow(size, position, facing, [candidate])
            if candidate.startswith("turn"):
                follow(size, *after, ["move 1"])  # a turn must leave a move open: no two turns in a row
        except InputError:
            continue
        position, facing = after
        instructions.append(candidate)
    return Walk(size, start, heading, tuple(instructions), position, facing)


def prompt_text(walk: Walk) -> str:
    """The walk as a subject reads it, ending with the requested answer form."""
    letters = string.ascii_uppercase[:walk.size]
    steps = "\n".join(f"{i}. {'Turn ' + text[5:] if text.startswith('turn') else 'Move forward ' + text[5:]}"
                      for i, text in enumerate(walk.instructions, start=1))
    return (f"A board has {walk.size} columns, {letters[0]} to {letters[-1]} from west to east, and {walk.size} "
            f"rows, 1 to {walk.size} from south to north. You stand on {square(walk.start)} facing "
            f"{walk.heading}. Follow these instructions (moves are counted in squares):\n{steps}\n"
            "Where do you stand now, and which way do you face? Answer like \"C4 east\".")


def battery_row(walk: Walk, instance_id: str) -> dict:
    return {"instance_id": instance_id, "benchmark": "grid_navigation",
            "task": f"size_{walk.size}_steps_{len(walk.instructions)}", "prompt": prompt_text(walk),
            "target": f"{square(walk.end)} {walk.end_heading}", "answer_format": "free_text",
            "size": walk.size, "steps": len(walk.instructions)}


def battery(sizes: Sequence[int], steps: Sequence[int], n: int, seed: int) -> list[dict]:
    """``n`` walks per (size, steps) cell, each cell from its own generator seeded by (seed, size, steps)."""
    return cell_rows(sizes, steps, n, seed, lambda rng, size, count, k: battery_row(
        generate(rng, size, count), f"grid/{size}x{size}-s{count}/{k:04d}"))


_POSITION = re.compile(r"\b([A-Ia-i])\s*([1-9])\b\W+(?:\w+\W+){0,3}?(north|east|south|west)\b", re.IGNORECASE)


def parse_position(output: str) -> str | None:
    """The last "C4 east"-style answer in an output ("c4, facing East" too), normalised, or None."""
    found = _POSITION.findall(output)
    if not found:
        return None
    column, row, heading = found[-1]
    return f"{column.upper()}{row} {heading.lower()}"
