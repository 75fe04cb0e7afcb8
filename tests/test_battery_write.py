"""Constrained writing: every constraint checked on hand-made passing and failing texts, seeded tasks, scorer, CLI."""
from __future__ import annotations

import asyncio
import json

import numpy as np
import pandas as pd
import pytest

from assess.cli import main
from assess.errors import InputError
from assess.generators import write
from assess.runs.config import load_run_config
from assess.runs.dataset import Sample
from assess.runs.job import run_job
from assess.runs.scorers import WriteScorer
from runs_fixtures import ScriptedServer, write_run_config

TEXT = ("Yesterday you waited quietly by the window with a lantern. "
        "Did the bus ever come? It did not, so you walked home.")

#: (constraint, whether TEXT meets it): one passing and one failing instance of every kind.
CASES = [
    ({"kind": "sentences", "n": 3}, True), ({"kind": "sentences", "n": 2}, False),
    ({"kind": "required_words", "words": ["lantern", "quietly"]}, True),
    ({"kind": "required_words", "words": ["lantern", "yellow"]}, False),
    ({"kind": "forbidden_word", "word": "rain"}, True), ({"kind": "forbidden_word", "word": "bus"}, False),
    ({"kind": "first_word", "word": "Yesterday"}, True), ({"kind": "first_word", "word": "Today"}, False),
    ({"kind": "last_word", "word": "home"}, True), ({"kind": "last_word", "word": "again"}, False),
    ({"kind": "word_range", "low": 20, "high": 24}, True), ({"kind": "word_range", "low": 25, "high": 30}, False),
    ({"kind": "max_sentence_words", "n": 10}, True), ({"kind": "max_sentence_words", "n": 9}, False),
    ({"kind": "forbidden_letter", "letter": "z"}, True), ({"kind": "forbidden_letter", "letter": "y"}, False),
    ({"kind": "sentence_initials", "letters": "YDI"}, True), ({"kind": "sentence_initials", "letters": "YDT"}, False),
    ({"kind": "question"}, True), ({"kind": "no_contractions"}, True), ({"kind": "address_reader"}, True),
]


def test_text_has_the_counts_the_cases_assume() -> None:
    assert len(write.sentences_of(TEXT)) == 3
    assert len(write.words_of(TEXT)) == 22
    assert [len(write.words_of(s)) for s in write.sentences_of(TEXT)] == [10, 5, 7]


@pytest.mark.parametrize("constraint, expected", CASES)
def test_each_constraint_on_a_hand_made_text(constraint: dict, expected: bool) -> None:
    assert write.check_one(constraint, TEXT) is expected


def test_register_constraints_fail_on_texts_that_break_them() -> None:
    plain = "It's late. We don't know. Sam's cat sleeps."
    assert not write.check_one({"kind": "no_contractions"}, plain)
    assert write.check_one({"kind": "no_contractions"}, "Sam's cat sleeps by the door.")  # a possessive is fine
    assert not write.check_one({"kind": "no_contractions"}, "We don\u2019t know.".replace("\u2019", "'"))
    assert not write.check_one({"kind": "question"}, plain)
    assert not write.check_one({"kind": "address_reader"}, "Your coat is here.")  # "your" is not "you"
    assert write.check([{"kind": "no_contractions"}], "We don\u2019t know.") == [False]  # curly apostrophe


def test_the_answer_is_the_first_paragraph_without_quotes() -> None:
    output = '  "Once there was rain."\n\nQuestion: write more. Then more text follows.'
    assert write.answer_text(output) == "Once there was rain."
    assert write.check([{"kind": "sentences", "n": 1}, {"kind": "first_word", "word": "once"}], output) == [True, True]


def test_generated_tasks_are_seeded_compatible_and_sized_by_their_parameters() -> None:
    rows = pd.DataFrame(write.battery([1, 4, 6], [1, 3, 6], 6, seed=3))
    assert len(rows) == 54 and rows["instance_id"].is_unique
    assert rows.equals(pd.DataFrame(write.battery([1, 4, 6], [1, 3, 6], 6, seed=3)))
    again = pd.DataFrame(write.battery([6], [3], 6, seed=3))
    assert again["prompt"].tolist() == rows.loc[(rows["constraints"] == 6) & (rows["sentences"] == 3), "prompt"].tolist()
    assert not rows["prompt"].equals(pd.DataFrame(write.battery([1, 4, 6], [1, 3, 6], 6, seed=4))["prompt"])
    for _, row in rows.iterrows():
        constraints = json.loads(row["target"])
        kinds = [c["kind"] for c in constraints]
        assert len(constraints) == row["constraints"] and kinds[0] == "sentences" and len(set(kinds)) == len(kinds)
        assert constraints[0]["n"] == row["sentences"]
        assert write.compatible(constraints)
        assert all(write.constraint_text(c) in row["prompt"] for c in constraints)
        letter = next((c["letter"] for c in constraints if c["kind"] == "forbidden_letter"), None)
        words = next((c["words"] for c in constraints if c["kind"] == "required_words"), [])
        assert letter is None or not any(letter in w for w in words)


def test_contradicting_constraints_are_never_drawn_together() -> None:
    base = {"kind": "sentences", "n": 2}
    assert not write.compatible([base, {"kind": "forbidden_letter", "letter": "w"},
                                  {"kind": "required_words", "words": ["window"]}])
    assert not write.compatible([base, {"kind": "first_word", "word": "Today"},
                                  {"kind": "sentence_initials", "letters": "TA"}])
    assert not write.compatible([base, {"kind": "word_range", "low": 30, "high": 40},
                                  {"kind": "max_sentence_words", "n": 12}])
    assert write.compatible([base, {"kind": "word_range", "low": 20, "high": 30},
                              {"kind": "max_sentence_words", "n": 12}])


def test_bad_parameters_name_their_option() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="--sentences 7"):
        write.generate(rng, 3, 7)
    with pytest.raises(InputError, match="--constraints 0"):
        write.generate(rng, 0, 2)


def score(output: str, constraints: list[dict]):
    return asyncio.run(WriteScorer().score(Sample("write/x", "p", json.dumps(constraints), "free_text"), output))


def test_scorer_gives_the_share_met_and_names_what_is_missed() -> None:
    constraints = [{"kind": "sentences", "n": 3}, {"kind": "last_word", "word": "again"},
                   {"kind": "forbidden_word", "word": "bus"}, {"kind": "question"}]
    got = score(TEXT, constraints)
    assert (got.correct, got.score, got.extracted) == (False, 0.5, "missed: last_word, forbidden_word")
    full = score(TEXT, [constraints[0], constraints[3]])
    assert (full.correct, full.score, full.extracted) == (True, 1.0, "all met")
    empty = score("   \n\n", [{"kind": "forbidden_word", "word": "bus"}])
    assert (empty.correct, empty.score, empty.extracted) == (False, 0.0, None)
    with pytest.raises(InputError, match="write/x"):
        asyncio.run(WriteScorer().score(Sample("write/x", "p", "not json", "free_text"), TEXT))


def test_cli_writes_tasks_and_rejects_bad_ranges(tmp_path, capsys) -> None:
    out = tmp_path / "write.csv"
    assert main(["battery", "write", "--constraints", "2..3", "--sentences", "1,4", "--n", "2", "--seed", "5",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 2 * 2 * 2 and set(table["sentences"]) == {1, 4} and set(table["constraints"]) == {2, 3}
    assert table["prompt"].tolist() == [r["prompt"] for r in write.battery([2, 3], [1, 4], 2, 5)]
    assert main(["battery", "write", "--sentences", "0..2", "--out", str(out)]) == 2
    assert "--sentences 0" in capsys.readouterr().err
    assert main(["battery", "write", "--constraints", "two", "--out", str(out)]) == 2
    assert "--constraints 'two'" in capsys.readouterr().err


def test_run_path_writes_the_graded_share(tmp_path) -> None:
    """`assess run` with scorer write against a real local server that always writes TEXT."""
    table = pd.DataFrame(write.battery([2], [3], 3, seed=2))
    table.to_csv(tmp_path / "battery.csv", index=False)
    with ScriptedServer(lambda prompt: TEXT) as server:
        config = load_run_config(write_run_config(tmp_path, server.base_url, scorer="write"))
        outcomes, summary = asyncio.run(run_job(config))
    written = pd.read_parquet(tmp_path / "out" / "outcomes.parquet")
    expected = [np.mean(write.check(json.loads(t), TEXT)) for t in table["target"]]
    assert written["score"].tolist() == pytest.approx(expected)
    assert written["correct"].tolist() == [int(s == 1.0) for s in expected]
    assert all(s >= 0.5 for s in expected)  # TEXT has the 3 sentences every task asks for
