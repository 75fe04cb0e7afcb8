"""Scorers: option letters from messy outputs, exact match, numeric tolerance, regex extraction, LLM judge."""
from __future__ import annotations

import asyncio

import pytest

from assess.backends import BackendConfig, BackendError, make_backend
from assess.runs.dataset import Sample
from assess.runs.judge import JudgeScorer, parse_verdict
from assess.runs.scorers import (AutoScorer, ChoiceScorer, ExactMatchScorer, NumericScorer, RegexScorer,
                                 normalise_text, parse_number, parse_option_letter, target_letter)
from assess.runs.store import RunCache
from runs_fixtures import ScriptedServer

LETTERS = "ABCDEFGHIJ"


def score(scorer, sample: Sample, output: str):
    return asyncio.run(scorer.score(sample, output))


def mc(target: str = "C", letters: str = "ABCD") -> Sample:
    return Sample("x/1", "Q?", target, "multiple_choice", tuple(letters), tuple(letters))


@pytest.mark.parametrize("output, letter", [
    ("The answer is (C).", "C"),
    ("the answer is c", "C"),
    ("Answer: D", "D"),
    ("C) Paris", "C"),
    ("(b)", "B"),
    ("d.", "D"),
    ("  B", "B"),
    ("[A] because it is big", "A"),
    ("Let's think. Option (B) is wrong, so (E).", "E"),
    ("I think it's the answer is (J)", "J"),
    ("So the answer is (F).", "F"),
    ("**Answer:** (G)", "G"),
])
def test_option_letter_from_messy_outputs(output: str, letter: str) -> None:
    assert parse_option_letter(output, LETTERS) == letter


@pytest.mark.parametrize("output", ["I don't know", "", "None of these.", "Paris", "The answer is (Z)."])
def test_no_option_letter_when_none_is_given(output: str) -> None:
    assert parse_option_letter(output, LETTERS) is None


def test_letters_outside_the_options_do_not_count() -> None:
    assert parse_option_letter("E) nothing", "ABCD") is None
    assert parse_option_letter("answer is E, no wait, answer is B", "ABCD") == "B"


def test_choice_scorer_accepts_both_target_spellings() -> None:
    assert score(ChoiceScorer(), mc("(C)"), "The answer is (C).").correct
    assert score(ChoiceScorer(), mc("C"), "c) x").correct
    result = score(ChoiceScorer(), mc("C"), "maybe")
    assert not result.correct and result.extracted is None


def test_a_target_that_is_no_letter_is_refused() -> None:
    with pytest.raises(ValueError, match="not an option letter"):
        target_letter("Paris")


def test_exact_match_normalises_case_space_quotes_and_end_punctuation() -> None:
    assert normalise_text('  "Apple   Pear."  ') == "apple pear"
    sample = Sample("x/2", "Q?", "apple pear", "free_text")
    assert score(ExactMatchScorer(), sample, "Apple  pear.\nExplanation: sorted").correct
    assert not score(ExactMatchScorer(whole_output=True), sample, "Apple pear.\nExplanation").correct
    assert not score(ExactMatchScorer(), sample, "pear apple").correct


def test_exact_match_of_binary_answers_is_case_blind() -> None:
    sample = Sample("x/3", "Q?", "No", "binary", (), ("Yes", "No"))
    assert score(ExactMatchScorer(), sample, "no").correct
    assert not score(ExactMatchScorer(), sample, "Yes").correct


@pytest.mark.parametrize("text, value", [("It equals 14.", 14.0), ("-15", -15.0), ("1,234.5 dollars", 1234.5),
                                         ("first 3 then 7", 7.0), ("−2", -2.0), (".5", 0.5), ("none", None)])
def test_parse_number_takes_the_last_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


def test_numeric_scorer_tolerance() -> None:
    sample = Sample("x/4", "Q?", "3.14159", "numeric")
    assert not score(NumericScorer(), sample, "3.14").correct
    assert score(NumericScorer(rel_tol=1e-3), sample, "about 3.1416").correct
    assert score(NumericScorer(abs_tol=0.01), sample, "3.14").correct
    assert score(NumericScorer(), sample, "no idea").extracted is None


def test_numeric_target_without_a_number_is_an_error_naming_the_instance() -> None:
    with pytest.raises(ValueError, match="x/5"):
        score(NumericScorer(), Sample("x/5", "Q?", "many", "numeric"), "3")


def test_regex_extracts_the_last_so_the_answer_is() -> None:
    cot = "Step 1: so the answer is not yet clear.\nSo the answer is (B).\n"
    assert score(RegexScorer(), mc("B"), cot).extracted == "B"
    free = Sample("x/6", "Q?", "valid", "free_text")
    result = score(RegexScorer(), free, "Premises hold. So the answer is valid.")
    assert result.correct and result.extracted == "valid"
    number = Sample("x/7", "Q?", "-11520", "numeric")
    assert score(RegexScorer(), number, "... So the answer is -11,520.").correct
    assert score(RegexScorer(), free, "valid, I think").extracted is None


def test_regex_without_a_group_is_refused() -> None:
    with pytest.raises(ValueError, match="capturing group"):
        RegexScorer(r"answer is \w+")


def test_auto_scorer_picks_by_format() -> None:
    auto = AutoScorer()
    assert score(auto, mc("A"), "(a)").correct
    assert score(auto, Sample("x/8", "Q?", "42", "numeric"), "42.0").correct
    assert score(auto, Sample("x/9", "Q?", "Yes", "binary", (), ("Yes", "No")), "yes").correct


@pytest.mark.parametrize("reply, verdict", [("CORRECT", True), ("Incorrect.", False), ("The answer is correct", True),
                                            ("INCORRECT - it says 5", False), ("Maybe?", None)])
def test_parse_verdict(reply: str, verdict: bool | None) -> None:
    assert parse_verdict(reply) is verdict


def judge_with(server: ScriptedServer, cache: RunCache) -> JudgeScorer:
    config = BackendConfig(backend="openai", model="judge", base_url=server.base_url,
                           retry={"max_attempts": 1, "timeout_s": 5})
    return JudgeScorer(make_backend(config), config.model, config.generation, cache)


def test_llm_judge_over_http_caches_its_verdicts(tmp_path) -> None:
    sample = Sample("open/1", "Why is the sky blue?", "Rayleigh scattering", "free_text")
    outputs = ["Because of scattering of light by air.", "Because the sea reflects.",
               "Because of scattering of light by air."]

    async def judge_all(judge: JudgeScorer) -> list[bool]:
        verdicts = [(await judge.score(sample, output)).correct for output in outputs]
        await judge.backend.aclose()
        return verdicts

    with ScriptedServer(lambda prompt: "CORRECT" if "scattering of light" in prompt else "INCORRECT") as server:
        assert asyncio.run(judge_all(judge_with(server, RunCache(tmp_path / "c.sqlite")))) == [True, False, True]
    assert len(server.answered) == 2


def test_garbled_judge_reply_is_an_error_naming_the_instance(tmp_path) -> None:
    with ScriptedServer(lambda prompt: "It depends.") as server:
        judge = judge_with(server, RunCache(tmp_path / "c.sqlite"))
        with pytest.raises(BackendError, match="open/2.*neither CORRECT nor INCORRECT"):
            score(judge, Sample("open/2", "Q?", "x", "free_text"), "y")
