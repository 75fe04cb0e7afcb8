"""Made-up word rules: infer a secret transformation of nonsense words from examples, apply it to a new one.

A conceptualisation-and-learning (CL) item family: the rule is new (composed of simple letter
operations, never named), shown only through input -> output pairs of made-up words, so neither
knowledge nor arithmetic helps; the answer is one word, checked exactly.

Difficulty by construction: ``depth`` (1-3, how many primitive operations the rule chains, from
:data:`PRIMITIVES`: reverse, rotate, swap the end letters, drop or double an end letter, add a
syllable in front or behind, change every one vowel into another) and ``examples`` (2-8 pairs
shown; fewer pairs are sparser evidence).

Identifiability, like the Knights-and-Knaves uniqueness check: the hypothesis space is every chain
of up to :data:`MAX_DEPTH` primitives. An item is kept only when every chain that maps all example
inputs to their outputs gives the same answer on the query, and no chain shorter than ``depth``
fits the examples (so depth is the rule's real length, not a padded one such as reverse twice);
otherwise the examples are redrawn. :func:`identify` is that check.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import AssessError, InputError
from .cells import cell_rows

MIN_DEPTH, MAX_DEPTH = 1, 3
MIN_EXAMPLES, MAX_EXAMPLES = 2, 8
SYLLABLES: tuple[str, ...] = ("ka", "lo", "mi", "zu")
VOWEL_CHANGES: tuple[tuple[str, str], ...] = (("a", "o"), ("o", "a"), ("e", "i"), ("i", "e"), ("u", "a"), ("o", "u"))
_ONSETS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
MAX_TRIES = 400


def _vowel(old: str, new: str) -> Callable[[str], str]:
    return lambda word: word.replace(old, new)


#: name -> operation on a word; the names are what a rule is written as.
PRIMITIVES: dict[str, Callable[[str], str]] = {
    "reverse": lambda w: w[::-1],
    "rotate_left": lambda w: w[1:] + w[:1],
    "rotate_right": lambda w: w[-1:] + w[:-1],
    "swap_ends": lambda w: w[-1:] + w[1:-1] + w[:1] if len(w) > 1 else w,
    "drop_first": lambda w: w[1:],
    "drop_last": lambda w: w[:-1],
    "double_first": lambda w: w[:1] + w,
    "double_last": lambda w: w + w[-1:],
    **{f"append_{s}": (lambda w, s=s: w + s) for s in SYLLABLES},
    **{f"prepend_{s}": (lambda w, s=s: s + w) for s in SYLLABLES},
    **{f"{a}_to_{b}": _vowel(a, b) for a, b in VOWEL_CHANGES},
}


def apply(rule: Sequence[str], word: str) -> str:
    """The word after each primitive of ``rule`` in turn."""
    for name in rule:
        word = PRIMITIVES[name](word)
    return word


@dataclass(frozen=True)
class Puzzle:
    """A rule, the example pairs that show it, and the query word with its answer."""

    rule: tuple[str, ...]
    examples: tuple[tuple[str, str], ...]
    query: str
    answer: str


def identify(examples: Sequence[tuple[str, str]], query: str, max_depth: int = MAX_DEPTH) -> tuple[str, int]:
    """The answer every fitting rule gives on ``query`` and the length of the shortest fitting rule.

    Enumerates every chain of 1..``max_depth`` primitives (sharing prefixes); AssessError when no
    chain fits the examples or when fitting chains disagree on the query (the item is ambiguous).
    """
    inputs = tuple(x for x, _ in examples) + (query,)
    wanted = tuple(y for _, y in examples)
    answers: dict[str, tuple[str, ...]] = {}
    shortest = None
    level: list[tuple[tuple[str, ...], tuple[str, ...]]] = [((), inputs)]
    for length in range(1, max_depth + 1):
        nxt = []
        for rule, words in level:
            for name, op in PRIMITIVES.items():
                out = tuple(op(w) for w in words)
                chain = rule + (name,)
                nxt.append((chain, out))
                if out[:-1] == wanted:
                    answers.setdefault(out[-1], chain)
                    shortest = length if shortest is None else shortest
        level = nxt
    if not answers:
        raise AssessError("no rule of the hypothesis space fits the examples")
    if len(answers) > 1:
        shown = "; ".join(f"{' then '.join(chain)} -> {answer}" for answer, chain in list(answers.items())[:3])
        raise AssessError(f"ambiguous: rules that fit the examples answer the query differently ({shown})")
    return next(iter(answers)), int(shortest)


def made_up_word(rng: np.random.Generator) -> str:
    """A pronounceable nonsense word of two or three consonant-vowel syllables, sometimes closed by a consonant."""
    syllables = int(rng.integers(2, 4))
    word = "".join(_ONSETS[int(rng.integers(len(_ONSETS)))] + _VOWELS[int(rng.integers(5))] for _ in range(syllables))
    return word + (_ONSETS[int(rng.integers(len(_ONSETS)))] if rng.random() < 0.4 else "")


def generate(rng: np.random.Generator, depth: int, examples: int) -> Puzzle:
    """A rule of ``depth`` primitives shown by ``examples`` pairs, identifiable, with a query it changes."""
    if not MIN_DEPTH <= depth <= MAX_DEPTH:
        raise InputError(f"--depth {depth}: rules chain {MIN_DEPTH} to {MAX_DEPTH} operations")
    if not MIN_EXAMPLES <= examples <= MAX_EXAMPLES:
        raise InputError(f"--examples {examples}: items show {MIN_EXAMPLES} to {MAX_EXAMPLES} example pairs")
    names = list(PRIMITIVES)
    for _ in range(MAX_TRIES):
        rule = tuple(names[int(i)] for i in rng.integers(len(names), size=depth))
        words = []
        while len(words) < examples + 1:
            word = made_up_word(rng)
            if word not in words:
                words.append(word)
        pairs = tuple((w, apply(rule, w)) for w in words[:-1])
        query = words[-1]
        if any(x == y for x, y in pairs) or apply(rule, query) == query:
            continue  # every example and the query must show the rule at work
        try:
            answer, shortest = identify(pairs, query)
        except AssessError:
            continue
        if shortest == depth:
            return Puzzle(rule, pairs, query, answer)
    raise AssessError(f"no identifiable depth-{depth} rule with {examples} examples after {MAX_TRIES} tries")


def prompt_text(puzzle: Puzzle) -> str:
    """The puzzle as a subject reads it."""
    shown = "\n".join(f"{x} -> {y}" for x, y in puzzle.examples)
    return ("A secret rule turns each made-up word into another. These examples follow the rule:\n"
            f"{shown}\nApply the same rule to: {puzzle.query}\nAnswer with the new word only.")


def battery_row(puzzle: Puzzle, instance_id: str) -> dict:
    """One battery row; the rule itself is kept (as JSON) beside the exact target word."""
    return {"instance_id": instance_id, "benchmark": "word_rules", "task": f"depth_{len(puzzle.rule)}",
            "prompt": prompt_text(puzzle), "target": puzzle.answer, "answer_format": "free_text",
            "depth": len(puzzle.rule), "examples": len(puzzle.examples), "rule": json.dumps(list(puzzle.rule))}


def battery(depths: Sequence[int], examples: Sequence[int], n: int, seed: int) -> list[dict]:
    """``n`` puzzles per (depth, examples) cell, each cell from a generator seeded by (seed, depth, examples)."""
    return cell_rows(depths, examples, n, seed,
                     lambda rng, d, e, i: battery_row(generate(rng, d, e), f"rules/d{d}-e{e}/{i:04d}"))


def parse_word(output: str) -> str | None:
    """The word an output answers with: the first run of letters on its first non-empty line, lower-cased."""
    for line in output.splitlines():
        letters = "".join(ch if ch.isalpha() else " " for ch in line).split()
        if letters:
            return letters[0].lower()
    return None
