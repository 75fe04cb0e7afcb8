"""Scorers: decide whether a subject's raw output answers a sample correctly (kept apart from solvers).

Each scorer reads the answer it needs out of the raw text (an option letter, a number, the
phrase after "So the answer is") and compares it with the target; the :class:`Score` keeps the
extracted answer so a wrong parse can be audited. ``None`` as extracted answer means the
output held no parsable answer, which counts as incorrect, never as an error.
"""
from __future__ import annotations

import json
import math
import re
import string
from dataclasses import dataclass
from typing import Protocol

from ..errors import InputError
from ..registry import SCORERS
from ..generators import write
from ..generators.grid import parse_position
from ..generators.kk import ROLE_TRUTHFUL, parse_assignment
from ..generators.rules import parse_word
from .dataset import Sample


@dataclass(frozen=True)
class Score:
    """Correctness of one output and the answer the scorer read from it (None: nothing parsable).

    ``score`` is the graded credit in [0, 1] of scorers that give partial credit, None for the others.
    """

    correct: bool
    extracted: str | None
    score: float | None = None


class Scorer(Protocol):
    """Scores one raw output against one sample; async so that an LLM judge fits the same shape."""

    name: str

    async def score(self, sample: Sample, output: str) -> Score: ...


# --- option letters --------------------------------------------------------------------------------

_ANSWER_PHRASE = re.compile(
    r"answer\W{0,4}(?:is|:|=)?\W{0,4}(?:option\s*)?[\(\[]?\s*([A-Za-z])\s*[\)\]]?(?![A-Za-z])", re.IGNORECASE)
#: A letter opening the output: bracketed, followed by ) . : , or standing alone ("I think" is no option).
_LEADING_LETTER = re.compile(r"^\s*(?:[\(\[]([A-Za-z])[\)\]]|([A-Za-z])(?:[\).:,]|\s*$))")
_PARENTHESISED = re.compile(r"[\(\[]([A-Za-z])[\)\]]")


def parse_option_letter(output: str, letters: str) -> str | None:
    """The option letter an output chooses, upper-case, or None.

    Tried in order: an explicit phrase ("The answer is (C).", "Answer: c"), a letter opening the
    output ("C) Paris", "(b)", "d.", a lone "B"), the last parenthesised letter anywhere ("... so (E)").
    Only letters in ``letters`` (the sample's options) count, so "I think" is not option I
    unless the phrase says so.
    """
    valid = set(letters.upper())
    phrase = [m.group(1).upper() for m in _ANSWER_PHRASE.finditer(output)]
    for candidate in reversed(phrase):
        if candidate in valid:
            return candidate
    leading = _LEADING_LETTER.match(output)
    if leading and (leading.group(1) or leading.group(2)).upper() in valid:
        return (leading.group(1) or leading.group(2)).upper()
    for found in reversed(_PARENTHESISED.findall(output)):
        if found.upper() in valid:
            return found.upper()
    return None


def target_letter(target: str, instance_id: str | None = None) -> str:
    """The letter of a multiple-choice target written as "C", "(C)" or "c"."""
    letter = target.strip().strip("()[]. ").upper()
    if len(letter) != 1 or letter not in string.ascii_uppercase:
        raise InputError(f"multiple-choice target {target!r} is not an option letter", instance_id=instance_id,
                         column="target")
    return letter


# --- text and numbers ------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = " \t\n\"'`.,;:!?*"


def normalise_text(text: str) -> str:
    """Case-folded text with runs of whitespace collapsed and quotes / end punctuation stripped."""
    return _SPACES.sub(" ", text.casefold()).strip(_EDGE_PUNCTUATION)


def first_line(output: str) -> str:
    """The first non-empty line: a direct answer followed by rambling keeps only its answer."""
    return next((line for line in output.splitlines() if line.strip()), "")


_NUMBER = re.compile(r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+−]?\.\d+")


def parse_number(text: str) -> float | None:
    """The last number written in ``text`` (thousands separators and a Unicode minus allowed), or None."""
    found = _NUMBER.findall(text)
    if not found:
        return None
    return float(found[-1].replace(",", "").replace("−", "-"))


def numbers_match(value: float, target: float, rel_tol: float, abs_tol: float) -> bool:
    """Equal within a relative or an absolute tolerance (whichever is looser)."""
    return math.isclose(value, target, rel_tol=rel_tol, abs_tol=abs_tol)


# --- scorers ---------------------------------------------------------------------------------------

class ChoiceScorer:
    """Multiple choice: the option letter parsed from the output equals the target letter."""

    name = "choice"

    async def score(self, sample: Sample, output: str) -> Score:
        letter = parse_option_letter(output, "".join(sample.options))
        return Score(letter == target_letter(sample.target, sample.instance_id), letter)


class ExactMatchScorer:
    """Normalised exact match of the output's first line (or the whole output) with the target."""

    name = "exact"

    def __init__(self, whole_output: bool = False) -> None:
        self.whole_output = whole_output

    async def score(self, sample: Sample, output: str) -> Score:
        answer = normalise_text(output if self.whole_output else first_line(output))
        return Score(answer == normalise_text(sample.target), answer or None)


class NumericScorer:
    """The last number in the output equals the numeric target within a tolerance."""

    name = "numeric"

    def __init__(self, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> None:
        self.rel_tol, self.abs_tol = rel_tol, abs_tol

    async def score(self, sample: Sample, output: str) -> Score:
        target = parse_number(sample.target)
        if target is None:
            raise InputError(f"numeric target {sample.target!r} holds no number", instance_id=sample.instance_id,
                             column="target")
        value = parse_number(output)
        correct = value is not None and numbers_match(value, target, self.rel_tol, self.abs_tol)
        return Score(correct, None if value is None else f"{value:g}")


#: The phrase chain-of-thought prompts end on (BBH's convention).
SO_THE_ANSWER_IS = r"[Ss]o the answer is\s*:?\s*(.+?)\s*(?:\.\s*)?$"


class RegexScorer:
    """Extract the answer with a pattern's first group (last match wins), then compare it by format.

    The extracted text is compared as an option letter for multiple choice, as a number for
    numeric samples and by normalised exact match otherwise.
    """

    name = "regex"

    def __init__(self, pattern: str = SO_THE_ANSWER_IS, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> None:
        try:
            self.pattern = re.compile(pattern, re.MULTILINE)
        except re.error as err:
            raise InputError(f"regex {pattern!r} does not compile ({err})", column="regex") from None
        if self.pattern.groups < 1:
            raise InputError(f"regex {pattern!r} needs a capturing group around the answer", column="regex")
        self.numeric = NumericScorer(rel_tol, abs_tol)

    async def score(self, sample: Sample, output: str) -> Score:
        found = [m.group(1) for m in self.pattern.finditer(output)]
        if not found:
            return Score(False, None)
        answer = found[-1].strip()
        if sample.options:
            return await ChoiceScorer().score(sample, f"answer is {answer}")
        if sample.answer_format == "numeric":
            return await self.numeric.score(sample, answer)
        return Score(normalise_text(answer) == normalise_text(sample.target), answer)


class AutoScorer:
    """The usual scorer for each sample's format: choice, exact match (binary, free text) or numeric."""

    name = "auto"

    def __init__(self, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> None:
        self.by_family: dict[str, Scorer] = {"multiple_choice": ChoiceScorer(), "binary": ExactMatchScorer(),
                                             "numeric": NumericScorer(rel_tol, abs_tol),
                                             "free_text": ExactMatchScorer()}

    async def score(self, sample: Sample, output: str) -> Score:
        return await self.by_family[sample.answer_format].score(sample, output)


class KnightsKnavesScorer:
    """Knights and Knaves: the role read for each person against the solution, with partial credit.

    The target is the JSON object of role words per name that :mod:`assess.generators.kk` writes;
    ``score`` is the fraction of people whose role the output states correctly (a person it never
    names counts as wrong), ``correct`` that all of them are right.
    """

    name = "kk"

    async def score(self, sample: Sample, output: str) -> Score:
        try:
            expected = {name: ROLE_TRUTHFUL[word] for name, word in json.loads(sample.target).items()}
        except (ValueError, KeyError, AttributeError, TypeError) as err:
            raise InputError("target is not a JSON object of role words per name", instance_id=sample.instance_id,
                             column="target") from err
        found = parse_assignment(output, list(expected))
        right = sum(found.get(name) == truthful for name, truthful in expected.items())
        extracted = ", ".join(f"{name}={'T' if found[name] else 'L'}" for name in expected if name in found)
        return Score(right == len(expected), extracted or None, right / len(expected))


class GridScorer:
    """Grid navigation: the last "C4 east"-style square and heading in the output equals the target."""

    name = "grid"

    async def score(self, sample: Sample, output: str) -> Score:
        expected = parse_position(sample.target)
        if expected is None:
            raise InputError(f"target {sample.target!r} is not a square and a heading", instance_id=sample.instance_id,
                             column="target")
        answer = parse_position(output)
        return Score(answer == expected, answer)


class WriteScorer:
    """Constrained writing: each constraint of the target (JSON list, :mod:`assess.generators.write`) checked.

    ``score`` is the share of constraints the output's text meets, ``correct`` that it meets all;
    ``extracted`` names the constraints it misses (empty when none).
    """

    name = "write"

    async def score(self, sample: Sample, output: str) -> Score:
        try:
            constraints = json.loads(sample.target)
            met = write.check(constraints, output)
        except (ValueError, KeyError, TypeError, InputError) as err:
            raise InputError(f"target is not a list of writing constraints ({err})", instance_id=sample.instance_id,
                             column="target") from err
        if not write.answer_text(output):
            return Score(False, None, 0.0)
        missed = [c["kind"] for c, ok in zip(constraints, met) if not ok]
        return Score(not missed, "missed: " + ", ".join(missed) if missed else "all met", sum(met) / len(met))


class RulesScorer:
    """Made-up word rules: the word the output answers with equals the target word (case ignored)."""

    name = "rules"

    async def score(self, sample: Sample, output: str) -> Score:
        answer = parse_word(output)
        return Score(answer == sample.target.strip().lower(), answer)


# --- the registry (assess.registry.SCORERS): factory(run config, run cache) -> Scorer ---------------


@SCORERS.register("auto")
def _auto(config, cache) -> Scorer:
    return AutoScorer(config.tolerance.rel, config.tolerance.abs)


@SCORERS.register("choice")
def _choice(config, cache) -> Scorer:
    return ChoiceScorer()


@SCORERS.register("exact")
def _exact(config, cache) -> Scorer:
    return ExactMatchScorer()


@SCORERS.register("numeric")
def _numeric(config, cache) -> Scorer:
    return NumericScorer(config.tolerance.rel, config.tolerance.abs)


@SCORERS.register("regex")
def _regex(config, cache) -> Scorer:
    return RegexScorer(config.regex, config.tolerance.rel, config.tolerance.abs)


SCORERS.register("kk", lambda config, cache: KnightsKnavesScorer())
SCORERS.register("grid", lambda config, cache: GridScorer())
SCORERS.register("write", lambda config, cache: WriteScorer())
SCORERS.register("rules", lambda config, cache: RulesScorer())


@SCORERS.register("judge")
def _judge(config, cache) -> Scorer:
    """The LLM judge, on its own backend, sharing the run cache."""
    from ..backends import make_backend
    from .judge import JudgeScorer

    if config.judge is None:
        raise InputError("scorer 'judge' needs a judge backend section", column="judge")
    return JudgeScorer(make_backend(config.judge), config.judge.model, config.judge.generation, cache)
