"""The strict parser on answers real small models gave, and on adversarial ones written to trip it.

``tests/data/gemma3_270m_answers.json`` holds Gemma 3 270M's raw answers to real per-scale prompts
(collected by ``studies/local_annotator/run.py``): it echoes the prompt, the instruction lines
``Level: N`` / ``where N is an integer from 0 to 5.`` included, and trails off into numbers; asked for
all scales at once (a 14,194-token prompt) it recites a rubric instead of JSON. None of
them states a level, so every one must be a parse failure (which the engine turns into a repair
prompt), never a level read from the echo or a stray number.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assess.annotate.parse import ParseError, parse_answer, parse_level, parse_levels
from assess.annotate.prompts import all_scales_messages, per_scale_messages
from assess.rubrics import load_rubrics
from assess.scales import ANNOTATED

#: Each bundled scale's kind, as the rubrics say (UG is the percentage scale).
KINDS = {code: rubric.kind for code, rubric in load_rubrics().items()}

REAL = json.loads((Path(__file__).parent / "data" / "gemma3_270m_answers.json").read_text())["answers"]


@pytest.mark.parametrize("answer", REAL, ids=[f"{a['instance_id']}-try{a['attempt']}-{a['max_tokens']}" for a in REAL])
def test_real_garbled_answers_are_failures(answer) -> None:
    with pytest.raises(ParseError):
        codes = list(ANNOTATED) if answer["mode"] == "all-scales" else [answer["scale"]]
        parse_answer(answer["text"], codes, answer["mode"], KINDS)


def test_the_echoed_instruction_is_named_as_such() -> None:
    echo = next(a["text"] for a in REAL if "where N is" in a["text"])
    with pytest.raises(ParseError, match="repeats the instructions"):
        parse_level(echo, "QLq", "level")


@pytest.fixture(scope="module")
def rubrics():
    return load_rubrics()


def test_echoing_the_real_prompts_never_yields_a_level(rubrics) -> None:
    """The whole user prompt, or its tail, sent back as the answer (what a small model often does)."""
    for code in ("QLq", "UG", "VO"):
        prompt = per_scale_messages(rubrics[code], "Prompt:\nWrite a haiku about autumn.")[1]["content"]
        for text in (prompt, prompt[-200:], prompt + "\n", prompt.replace("Level: N", "Level: 5")):
            with pytest.raises(ParseError):
                parse_level(text, code, KINDS[code])
    prompt = all_scales_messages([rubrics[c] for c in ("QLq", "UG")], "Prompt:\nWhat is 2 + 2?")[1]["content"]
    with pytest.raises(ParseError, match="repeats the instructions"):
        parse_levels(prompt, ["QLq", "UG"], KINDS)


@pytest.mark.parametrize("text", [
    # the two cases: an echoed instruction stored as 5, a number inside reasoning stored as QLq = 5
    "Level: N\nwhere N is an integer from 0 to 5.",
    "Syllables per line are 5, 7 and 5, so the median is 5",
    "Level: N",
    "Level: 3\nLevel: N",
    "I would put this at Level: 2, perhaps Level: 4.",
    "Level: 2\nwhere N is an integer from 0 to 5.",
    "Level: two",
    "Level:",
    "Final answer: 3",
    "3",
    '{"level": 3}',
])
def test_adversarial_per_scale_answers_are_failures(text) -> None:
    with pytest.raises(ParseError):
        parse_level(text, "QLq", "level")


@pytest.mark.parametrize(("text", "level"), [
    ("The haiku needs counting syllables (5, 7, 5), nothing more.\nLevel: 1", 1.0),
    ("Reasoning with 12 steps and 4 cases.\n\nLevel: 4.", 4.0),
    ("**Level**: 3", 3.0),
    ("Level: **2**", 2.0),
    ("`Level: 0`", 0.0),
    ("```\nLevel: 3\n```", 3.0),
])
def test_final_level_lines_that_count(text, level) -> None:
    assert parse_level(text, "QLq", "level") == level


@pytest.mark.parametrize("text", [
    '{"reasoning": "<brief reasoning, at most five sentences>", "levels": {"QLq": "<an integer from 0 to 5>", '
    '"UG": "<a number from 0 to 100 (a percentage)>"}}',
    '{"reasoning": "r", "levels": {"QLq": 2, "UG": 50}}\nOn reflection QLq is 4.',
    '{"reasoning": "QLq is 4", "levels": {"QLq": "four", "UG": 50}}',
    '{"reasoning": "r", "levels": {"QLq": true, "UG": 50}}',
    'Here you go: {"reasoning": "r", "levels": {"QLq": 2',
])
def test_adversarial_all_scales_answers_are_failures(text) -> None:
    with pytest.raises(ParseError):
        parse_levels(text, ["QLq", "UG"], KINDS)


def test_reasoning_numbers_do_not_leak_into_all_scales_levels() -> None:
    text = '```json\n{"reasoning": "The median is 5 and UG is about 90.", "levels": {"QLq": 1, "UG": 30}}\n```'
    assert parse_levels(text, ["QLq", "UG"], KINDS) == {"QLq": 1.0, "UG": 30.0}
