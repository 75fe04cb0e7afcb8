"""Grid navigation: walks stay on the board, their answer is the hand-checkable end, the scorer reads it back."""
from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from assess.cli import main
from assess.errors import InputError
from assess.generators import grid
from assess.runs.dataset import Sample
from assess.runs.scorers import GridScorer


def test_follow_by_hand() -> None:
    # from B2 facing north: up 2 -> B4, right turn -> east, 1 -> C4, about turn -> west, 2 -> A4
    end = grid.follow(5, (1, 1), "north", ["move 2", "turn right", "move 1", "turn around", "move 2"])
    assert end == ((0, 3), "west") and grid.square(end[0]) == "A4"
    with pytest.raises(InputError, match="leaves the 3x3 grid"):
        grid.follow(3, (0, 0), "west", ["move 1"])


@pytest.mark.parametrize("size, steps", [(3, 1), (4, 6), (9, 25)])
def test_generated_walks_have_the_requested_shape_and_the_right_end(size: int, steps: int) -> None:
    rng = np.random.default_rng(size * 100 + steps)
    for _ in range(20):
        walk = grid.generate(rng, size, steps)
        assert len(walk.instructions) == steps
        assert not any(a.startswith("turn") and b.startswith("turn")
                       for a, b in zip(walk.instructions, walk.instructions[1:]))
        assert grid.follow(size, walk.start, walk.heading, walk.instructions) == (walk.end, walk.end_heading)
        assert 0 <= walk.end[0] < size and 0 <= walk.end[1] < size


def test_battery_is_seeded_per_cell_and_prompts_say_the_start() -> None:
    rows = pd.DataFrame(grid.battery([4, 5], [3], 4, seed=1))
    assert rows["instance_id"].is_unique and len(rows) == 8
    again = pd.DataFrame(grid.battery([5], [3], 4, seed=1))
    assert again["prompt"].tolist() == rows.loc[rows["size"] == 5, "prompt"].tolist()
    first = rows.iloc[0]
    assert "You stand on" in first["prompt"] and first["target"].split()[1] in grid.HEADINGS


def score(output: str, target: str = "C4 east"):
    return asyncio.run(GridScorer().score(Sample("grid/x", "p", target, "free_text"), output))


def test_scorer_reads_the_last_position_in_several_spellings() -> None:
    assert score("C4 east").correct
    assert score("I end on c4, facing East.").correct
    assert score("First B2 north, then finally C4 and I face east").extracted == "C4 east"
    wrong = score("C4 west")
    assert (wrong.correct, wrong.extracted) == (False, "C4 west")
    assert score("somewhere").extracted is None
    with pytest.raises(ValueError, match="grid/x"):
        score("C4 east", target="nowhere")


def test_cli_writes_walks_and_rejects_bad_sizes(tmp_path, capsys) -> None:
    out = tmp_path / "grid.csv"
    assert main(["battery", "grid", "--size", "3..4", "--steps", "2,5", "--n", "3", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 2 * 2 * 3 and set(table["steps"]) == {2, 5}
    assert main(["battery", "grid", "--size", "12", "--out", str(out)]) == 2
    assert "3 to 9" in capsys.readouterr().err
