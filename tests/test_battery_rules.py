"""Made-up word rules: primitives by hand, the identifiability check, seeded puzzles, scorer, CLI and run path."""
from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pandas as pd
import pytest

from assess.cli import main
from assess.errors import AssessError, InputError
from assess.generators import rules
from assess.runs.config import load_run_config
from assess.runs.dataset import Sample
from assess.runs.job import run_job
from assess.runs.scorers import RulesScorer
from runs_fixtures import ScriptedServer, write_run_config


def test_primitives_by_hand() -> None:
    assert rules.apply(["reverse"], "balo") == "olab"
    assert rules.apply(["rotate_left", "append_ka"], "balo") == "alobka"
    assert rules.apply(["swap_ends", "a_to_o"], "tuma") == "oumt"
    assert rules.apply(["drop_last", "prepend_mi", "double_first"], "sopi") == "mmisop"


def test_an_ambiguous_item_is_rejected() -> None:
    # On three-letter words reversing and swapping the end letters agree; on "dumo" they do not.
    examples = [("bak", "kab"), ("tul", "lut")]
    with pytest.raises(AssessError, match="ambiguous"):
        rules.identify(examples, "dumo")
    # A fourth letter in an example tells them apart: only reverse (and its equivalents) fits.
    assert rules.identify(examples + [("siro", "oris")], "dumo") == ("omud", 1)


def test_no_fitting_rule_is_an_error() -> None:
    with pytest.raises(AssessError, match="no rule"):
        rules.identify([("bak", "zzzzzz")], "dumo")


def brute_force_answers(examples, query: str) -> set[str]:
    """Independent oracle: the query's answer under every chain of up to MAX_DEPTH primitives that fits."""
    found = set()
    for length in range(1, rules.MAX_DEPTH + 1):
        for chain in itertools.product(rules.PRIMITIVES, repeat=length):
            if all(rules.apply(chain, x) == y for x, y in examples):
                found.add(rules.apply(chain, query))
    return found


@pytest.mark.parametrize("depth, examples", [(1, 2), (2, 3), (3, 4)])
def test_generated_puzzles_are_identifiable_by_an_independent_oracle(depth: int, examples: int) -> None:
    rng = np.random.default_rng(depth * 10 + examples)
    for _ in range(2):
        puzzle = rules.generate(rng, depth, examples)
        assert len(puzzle.rule) == depth and len(puzzle.examples) == examples
        assert all(rules.apply(puzzle.rule, x) == y and x != y for x, y in puzzle.examples)
        assert puzzle.answer == rules.apply(puzzle.rule, puzzle.query) != puzzle.query
        assert brute_force_answers(puzzle.examples, puzzle.query) == {puzzle.answer}
        shorter = [c for n in range(1, depth) for c in itertools.product(rules.PRIMITIVES, repeat=n)
                   if all(rules.apply(c, x) == y for x, y in puzzle.examples)]
        assert shorter == []  # depth is the rule's real length


def test_battery_is_seeded_per_cell_and_prompts_show_the_examples() -> None:
    rows = pd.DataFrame(rules.battery([1, 2], [3], 3, seed=1))
    assert rows["instance_id"].is_unique and len(rows) == 6
    assert rows.equals(pd.DataFrame(rules.battery([1, 2], [3], 3, seed=1)))
    again = pd.DataFrame(rules.battery([2], [3], 3, seed=1))
    assert again["prompt"].tolist() == rows.loc[rows["depth"] == 2, "prompt"].tolist()
    first = rows.iloc[0]
    assert first["prompt"].count(" -> ") == 3 and first["target"] not in first["prompt"]


def test_bad_parameters_name_their_option() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="--depth 4"):
        rules.generate(rng, 4, 3)
    with pytest.raises(InputError, match="--examples 9"):
        rules.generate(rng, 1, 9)


def score(output: str, target: str = "olab"):
    return asyncio.run(RulesScorer().score(Sample("rules/x", "p", target, "free_text"), output))


def test_scorer_reads_the_first_word_exactly() -> None:
    assert score(" olab\nbalo -> olab").correct
    assert score("Olab.").correct
    wrong = score("olabs")
    assert (wrong.correct, wrong.extracted) == (False, "olabs")
    assert not score("The answer is olab").correct  # the prompt asks for the word only
    assert score("  \n 42 \n").extracted is None


def test_cli_writes_puzzles_and_rejects_bad_ranges(tmp_path, capsys) -> None:
    out = tmp_path / "rules.parquet"
    assert main(["battery", "rules", "--depth", "1..2", "--examples", "4", "--n", "2", "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    assert len(table) == 4 and set(table["depth"]) == {1, 2} and set(table["examples"]) == {4}
    assert main(["battery", "rules", "--depth", "0..2", "--out", str(out)]) == 2
    assert "--depth 0" in capsys.readouterr().err
    assert main(["battery", "rules", "--examples", "1", "--out", str(out)]) == 2
    assert "2 to 8" in capsys.readouterr().err


def test_run_path_scores_exact_words(tmp_path) -> None:
    """`assess run` with scorer rules against a real local server: right on depth 1, wrong on depth 2."""
    table = pd.DataFrame(rules.battery([1, 2], [3], 2, seed=4))
    table.to_csv(tmp_path / "battery.csv", index=False)
    answers = {row["prompt"]: (row["target"], row["depth"]) for _, row in table.iterrows()}

    def respond(prompt: str) -> str:
        target, depth = next(v for p, v in answers.items() if p in prompt)
        return f" {target}\n" if depth == 1 else f" {target}x\n"

    with ScriptedServer(respond) as server:
        config = load_run_config(write_run_config(tmp_path, server.base_url, scorer="rules"))
        asyncio.run(run_job(config))
    written = pd.read_parquet(tmp_path / "out" / "outcomes.parquet").set_index("instance_id")
    expected = table.set_index("instance_id")["depth"].eq(1).astype(int)
    assert written.loc[expected.index, "correct"].tolist() == expected.tolist()
