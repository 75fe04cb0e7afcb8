"""Knights-and-Knaves puzzles: statements as formulas over roles, a brute-force solver, perturbed variants.

On the island, knights always tell the truth and knaves always lie. Each of ``n`` inhabitants makes
one statement, a formula over the others' (and their own) roles; a puzzle is kept only when exactly
one assignment of roles makes every knight's statement true and every knave's false. The solver
checks all ``2**n`` assignments at once (vectorised; ``n`` up to :data:`MAX_PEOPLE`).

Difficulty by construction: ``people`` (2-8) and ``depth``, the height of every statement's formula
tree (depth 1 is a bare role claim such as "Bob is a knave"; depth 2 joins two claims by *and*, *or*,
*if-then* or *if and only if*; deeper statements nest those and *it is not true that*).

The design follows Xie et al. (2024), "On Memorization of Large Language Models in Logical
Reasoning" (code: github.com/AlphaPav/mem-kk-logic): people 2-8, statements as and/or/not/if/iff
trees over "X is a knight/knave" leaves, a unique solution, and local perturbations of a solved
puzzle. Our choices where theirs differ or are not stated:

* every statement has exactly the requested depth (one branch reaches it; siblings are shallower or
  equal); width is 2 (binary operators); negation only over compound formulas ("it is not true that
  Bob is a knight" is just "Bob is a knave"); no part of a statement is constant (a tautology such
  as "Bob is a knight or Bob is a knave", or a contradiction), so every clause carries information;
* depth 1 is refused: bare role claims only ever relate two people's roles (same / different), so
  flipping a connected group of people never changes consistency and no solution is unique;
* uniqueness is reached by local search: start from random statements and redraw one random
  person's statement until exactly one assignment is consistent;
* perturbations: ``statement`` (one person's statement redrawn at the same depth, the puzzle still
  unique and its solution different), ``names`` (new, uncommon names) and ``roles`` (another pair of
  role words, e.g. sages and fools); each variant keeps the id of its original.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Union

import numpy as np

from ..errors import AssessError, InputError

MAX_PEOPLE = 8
MIN_DEPTH, MAX_DEPTH = 2, 5
#: (truthful, lying) role words; the first pair is the classic one.
ROLE_PAIRS: tuple[tuple[str, str], ...] = (("knight", "knave"), ("sage", "fool"), ("truth-teller", "liar"))
#: Role word -> True for the truthful role.
ROLE_TRUTHFUL: dict[str, bool] = {word: i == 0 for pair in ROLE_PAIRS for i, word in enumerate(pair)}
NAMES: tuple[str, ...] = ("Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Isabel", "Jack",
                          "Kate", "Liam", "Mia", "Noah", "Olivia", "Peter", "Rose", "Sam", "Tina", "Victor")
UNCOMMON_NAMES: tuple[str, ...] = ("Aurelio", "Brisa", "Casimir", "Delphine", "Ezekiel", "Fenella", "Gideon",
                                   "Hortense", "Ignatius", "Jessamy", "Leopold", "Marisol", "Octavian", "Philippa",
                                   "Quillon", "Rosalind", "Thaddeus", "Ulrika", "Wilhelmina", "Zebedee")
BINARY_OPS: tuple[str, ...] = ("and", "or", "implies", "iff")
PERTURBATIONS: tuple[str, ...] = ("statement", "names", "roles")
#: Redraws of one statement allowed before a puzzle (or a perturbation) is given up.
MAX_TRIES = 2000


@dataclass(frozen=True)
class Claim:
    """Leaf: person ``person`` (0-based) has the truthful role (``truthful``) or the lying one."""

    person: int
    truthful: bool


@dataclass(frozen=True)
class Not:
    arg: Formula


@dataclass(frozen=True)
class Op:
    """A binary connective: ``and``, ``or``, ``implies`` (if left then right) or ``iff``."""

    op: str
    left: Formula
    right: Formula


Formula = Union[Claim, Not, Op]


def depth(formula: Formula) -> int:
    """Height of the formula tree (a claim has depth 1)."""
    if isinstance(formula, Claim):
        return 1
    if isinstance(formula, Not):
        return 1 + depth(formula.arg)
    return 1 + max(depth(formula.left), depth(formula.right))


def evaluate(formula: Formula, assignments: np.ndarray) -> np.ndarray:
    """Truth of a formula under each assignment.

    ``assignments`` is a bool array of shape (m, n_people), True = truthful role; returns shape (m,).
    """
    if isinstance(formula, Claim):
        column = assignments[:, formula.person]
        return column if formula.truthful else ~column
    if isinstance(formula, Not):
        return ~evaluate(formula.arg, assignments)
    left, right = evaluate(formula.left, assignments), evaluate(formula.right, assignments)
    if formula.op == "and":
        return left & right
    if formula.op == "or":
        return left | right
    if formula.op == "implies":
        return ~left | right
    return left == right


def all_assignments(n: int) -> np.ndarray:
    """Every role assignment of ``n`` people, shape (2**n, n), row k = the bits of k (person 0 first)."""
    if not 1 <= n <= MAX_PEOPLE:
        raise InputError(f"{n} people; puzzles have 1 to {MAX_PEOPLE}")
    codes = np.arange(2 ** n)[:, None]
    return ((codes >> np.arange(n)[None, :]) & 1).astype(bool)


def consistent(statements: Sequence[Formula]) -> np.ndarray:
    """The assignments under which every speaker's role matches the truth of their statement, shape (k, n)."""
    table = all_assignments(len(statements))
    ok = np.ones(len(table), dtype=bool)
    for speaker, statement in enumerate(statements):
        ok &= evaluate(statement, table) == table[:, speaker]
    return table[ok]


def solve(statements: Sequence[Formula]) -> tuple[bool, ...]:
    """The unique consistent assignment (True = truthful); AssessError when there is none or several."""
    found = consistent(statements)
    if len(found) != 1:
        raise AssessError(f"puzzle has {len(found)} consistent assignments, not exactly one")
    return tuple(bool(v) for v in found[0])


# --- generation ------------------------------------------------------------------------------------

def is_constant(formula: Formula, n: int) -> bool:
    """Whether a formula over ``n`` people has the same truth value under every assignment."""
    values = evaluate(formula, all_assignments(n))
    return bool(values.all() or not values.any())


def random_formula(rng: np.random.Generator, n: int, height: int) -> Formula:
    """A random formula over ``n`` people whose tree has exactly ``height`` levels.

    No part of it is constant ("Bob is a knight or Bob is a knave" is always true, "I am a knight and
    I am a knave" always false) and no connective joins two equal parts: those are redrawn, so every
    clause says something about the roles.
    """
    if height == 1:
        return Claim(int(rng.integers(n)), bool(rng.integers(2)))
    ops = BINARY_OPS + (("not",) if height >= 3 else ())
    op = ops[int(rng.integers(len(ops)))]
    if op == "not":
        return Not(random_formula(rng, n, height - 1))
    while True:
        deep = random_formula(rng, n, height - 1)
        other = random_formula(rng, n, int(rng.integers(1, height)))
        left, right = (deep, other) if rng.integers(2) else (other, deep)
        formula = Op(op, left, right)
        if deep != other and not is_constant(formula, n):
            return formula


@dataclass(frozen=True)
class Puzzle:
    """A solved puzzle: names, (truthful, lying) role words, one statement per person, the unique solution."""

    names: tuple[str, ...]
    roles: tuple[str, str]
    statements: tuple[Formula, ...]
    solution: tuple[bool, ...]

    @property
    def people(self) -> int:
        return len(self.names)

    @property
    def depth(self) -> int:
        return max(depth(s) for s in self.statements)

    def answer(self) -> dict[str, str]:
        """Role word per name, in order."""
        return {name: self.roles[0] if truthful else self.roles[1] for name, truthful in zip(self.names, self.solution)}


def _unique(rng: np.random.Generator, statements: list[Formula],
            height: int) -> tuple[tuple[Formula, ...], tuple[bool, ...]] | None:
    """Redraw one random statement at a time until exactly one assignment is consistent."""
    n = len(statements)
    for _ in range(MAX_TRIES):
        found = consistent(statements)
        if len(found) == 1:
            return tuple(statements), tuple(bool(v) for v in found[0])
        statements[int(rng.integers(n))] = random_formula(rng, n, height)
    return None


def generate(rng: np.random.Generator, people: int, height: int, names: Sequence[str] = NAMES,
             roles: tuple[str, str] = ROLE_PAIRS[0]) -> Puzzle:
    """One puzzle with ``people`` inhabitants, every statement of depth ``height``, a unique solution."""
    if not 2 <= people <= MAX_PEOPLE:
        raise InputError(f"--people {people}: puzzles have 2 to {MAX_PEOPLE} people")
    if not MIN_DEPTH <= height <= MAX_DEPTH:
        raise InputError(f"--depth {height}: statements have depth {MIN_DEPTH} to {MAX_DEPTH} (depth 1 claims "
                         "never give a unique solution)")
    chosen = tuple(str(name) for name in rng.choice(np.array(names), size=people, replace=False))
    start = [random_formula(rng, people, height) for _ in range(people)]
    found = _unique(rng, start, height)
    if found is None:
        raise AssessError(f"no unique {people}-person depth-{height} puzzle after {MAX_TRIES} redraws")
    return Puzzle(chosen, roles, *found)


def perturb(puzzle: Puzzle, kind: str, rng: np.random.Generator) -> Puzzle:
    """A variant of a puzzle: ``statement`` (one statement redrawn; unique, different solution),
    ``names`` (uncommon names) or ``roles`` (another pair of role words)."""
    if kind == "names":
        names = tuple(str(x) for x in rng.choice(np.array(UNCOMMON_NAMES), size=puzzle.people, replace=False))
        return replace(puzzle, names=names)
    if kind == "roles":
        others = [pair for pair in ROLE_PAIRS if pair != puzzle.roles]
        return replace(puzzle, roles=others[int(rng.integers(len(others)))])
    if kind != "statement":
        raise InputError(f"unknown perturbation {kind!r}; known: {', '.join(PERTURBATIONS)}")
    height = puzzle.depth
    for _ in range(MAX_TRIES):
        statements = list(puzzle.statements)
        who = int(rng.integers(puzzle.people))
        statements[who] = random_formula(rng, puzzle.people, height)
        found = consistent(statements)
        if len(found) == 1 and tuple(bool(v) for v in found[0]) != puzzle.solution:
            return replace(puzzle, statements=tuple(statements), solution=tuple(bool(v) for v in found[0]))
    raise AssessError(f"no statement perturbation with a new unique solution after {MAX_TRIES} tries")


# --- text ------------------------------------------------------------------------------------------

def statement_text(formula: Formula, speaker: int, names: Sequence[str], roles: tuple[str, str]) -> str:
    """English for a formula as said by ``speaker``; compound parts are bracketed so nesting is unambiguous."""
    def text(f: Formula) -> str:
        if isinstance(f, Claim):
            subject = "I am" if f.person == speaker else f"{names[f.person]} is"
            return f"{subject} a {roles[0] if f.truthful else roles[1]}"
        if isinstance(f, Not):
            return f"it is not true that {part(f.arg)}"
        left, right = part(f.left), part(f.right)
        return {"and": f"{left} and {right}", "or": f"{left} or {right}", "implies": f"if {left} then {right}",
                "iff": f"{left} if and only if {right}"}[f.op]

    def part(f: Formula) -> str:
        return text(f) if isinstance(f, Claim) else f"({text(f)})"

    said = text(formula)
    return said[0].upper() + said[1:]


def prompt_text(puzzle: Puzzle) -> str:
    """The puzzle as a subject reads it, ending with the requested answer form."""
    truthful, lying = puzzle.roles
    names = list(puzzle.names)
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    lines = [f"A very special island is inhabited only by {truthful}s and {lying}s. "
             f"{truthful.capitalize()}s always tell the truth, and {lying}s always lie. "
             f"You meet {puzzle.people} inhabitants: {listed}."]
    lines += [f'{name} says: "{statement_text(s, i, names, puzzle.roles)}."'
              for i, (name, s) in enumerate(zip(names, puzzle.statements))]
    lines.append(f"So who is a {truthful} and who is a {lying}? Answer with one line per inhabitant, "
                 f"of the form \"Name is a {truthful}\" or \"Name is a {lying}\".")
    return "\n".join(lines)


def formula_json(formula: Formula) -> list:
    """A formula as nested JSON lists: ["claim", person, truthful], ["not", f], [op, left, right]."""
    if isinstance(formula, Claim):
        return ["claim", formula.person, formula.truthful]
    if isinstance(formula, Not):
        return ["not", formula_json(formula.arg)]
    return [formula.op, formula_json(formula.left), formula_json(formula.right)]


def formula_from_json(data: list) -> Formula:
    """Inverse of :func:`formula_json`; malformed input raises InputError."""
    try:
        if data[0] == "claim":
            return Claim(int(data[1]), bool(data[2]))
        if data[0] == "not":
            return Not(formula_from_json(data[1]))
        if data[0] in BINARY_OPS:
            return Op(data[0], formula_from_json(data[1]), formula_from_json(data[2]))
    except (IndexError, TypeError, ValueError) as err:
        raise InputError(f"malformed formula {data!r}") from err
    raise InputError(f"malformed formula {data!r}")


def battery_row(puzzle: Puzzle, instance_id: str, variant: str = "original", original_id: str = "") -> dict:
    """One battery row: prompt, JSON target (role word per name), free-text format and the construction."""
    return {"instance_id": instance_id, "benchmark": "knights_knaves",
            "task": f"{puzzle.people}_people_depth_{puzzle.depth}", "prompt": prompt_text(puzzle),
            "target": json.dumps(puzzle.answer()), "answer_format": "free_text", "people": puzzle.people,
            "depth": puzzle.depth, "variant": variant, "original_id": original_id,
            "statements": json.dumps([formula_json(s) for s in puzzle.statements])}


def battery(people: Sequence[int], depths: Sequence[int], n: int, seed: int,
            perturbations: Sequence[str] = (), skipped: list[str] | None = None) -> list[dict]:
    """``n`` puzzles per (people, depth) cell, each followed by its requested variants.

    Some puzzles admit no one-statement change with a new unique solution: that variant raises,
    or, when a ``skipped`` list is given, is left out and its id appended there.

    Each cell draws its puzzles from a generator seeded by (seed, people, depth), and each variant
    from one seeded by (seed, people, depth, puzzle number, kind), so adding cells or variants never
    changes any other item.
    """
    unknown = [kind for kind in perturbations if kind not in PERTURBATIONS]
    if unknown:
        raise InputError(f"unknown perturbation {unknown[0]!r}; known: {', '.join(PERTURBATIONS)}")
    rows = []
    for p in people:
        for d in depths:
            rng = np.random.default_rng([seed, p, d])
            for k in range(n):
                puzzle = generate(rng, p, d)
                original = f"kk/{p}p-d{d}/{k:04d}"
                rows.append(battery_row(puzzle, original))
                for kind in perturbations:
                    variant_rng = np.random.default_rng([seed, p, d, k, PERTURBATIONS.index(kind)])
                    try:
                        variant = perturb(puzzle, kind, variant_rng)
                    except AssessError:
                        if skipped is None:
                            raise
                        skipped.append(f"{original}/{kind}")
                        continue
                    rows.append(battery_row(variant, f"{original}/{kind}", kind, original))
    return rows


# --- reading answers -------------------------------------------------------------------------------

def parse_assignment(output: str, names: Sequence[str]) -> dict[str, bool]:
    """The role each named person gets in a model's output (True = truthful), for those it names.

    Reads "Name is a knight", "Name is the knave", "Name: liar", "Name - sage", '"Name": "knave"' (any role word of
    :data:`ROLE_PAIRS`, case-insensitive); the last statement about a person wins, so a
    final answer after reasoning counts.
    """
    words = "|".join(sorted((re.escape(w) for w in ROLE_TRUTHFUL), key=len, reverse=True))
    found = {}
    for name in names:
        pattern = re.compile(rf"\b{re.escape(name)}\b[\"']?\s*(?:is|was|must be|:|-|=)\s*[\"']?(?:a|an|the)?\s*"
                             rf"({words})s?\b", re.IGNORECASE)
        hits = pattern.findall(output)
        if hits:
            found[name] = ROLE_TRUTHFUL[hits[-1].lower()]
    return found
