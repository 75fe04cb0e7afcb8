"""Knights and Knaves: solver and its uniqueness check, generation by difficulty, variants, scorer, CLI, run path."""
from __future__ import annotations

import asyncio
import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest

from assess.cli import main
from assess.errors import AssessError, InputError
from assess.generators import kk
from assess.generators.kk import Claim, Not, Op
from assess.runs.config import load_run_config
from assess.runs.dataset import Sample
from assess.runs.job import run_job
from assess.runs.scorers import KnightsKnavesScorer
from runs_fixtures import ScriptedServer, write_run_config


def truth(formula, roles: tuple[bool, ...]) -> bool:
    """Independent oracle: the formula's truth under one assignment, by plain recursion."""
    if isinstance(formula, Claim):
        return roles[formula.person] == formula.truthful
    if isinstance(formula, Not):
        return not truth(formula.arg, roles)
    a, b = truth(formula.left, roles), truth(formula.right, roles)
    return {"and": a and b, "or": a or b, "implies": (not a) or b, "iff": a == b}[formula.op]


def constant_part(formula, n: int) -> bool:
    """Whether any compound part of a formula has one truth value under all assignments (oracle)."""
    if isinstance(formula, Claim):
        return False
    values = {truth(formula, roles) for roles in itertools.product([False, True], repeat=n)}
    parts = [formula.arg] if isinstance(formula, Not) else [formula.left, formula.right]
    return len(values) == 1 or any(constant_part(p, n) for p in parts)


def oracle_solutions(statements) -> list[tuple[bool, ...]]:
    return [roles for roles in itertools.product([False, True], repeat=len(statements))
            if all(truth(s, roles) == roles[i] for i, s in enumerate(statements))]


def test_classic_puzzle_has_its_known_unique_solution() -> None:
    # A: "B is a knave." B: "A and I are both knaves."  ->  A knight, B knave.
    statements = (Claim(1, False), Op("and", Claim(0, False), Claim(1, False)))
    assert kk.solve(statements) == (True, False)


def test_solver_refuses_puzzles_without_a_unique_solution() -> None:
    with pytest.raises(AssessError, match="0 consistent"):
        kk.solve((Claim(0, False), Claim(0, True)))             # "I am a knave" cannot be said
    with pytest.raises(AssessError, match="2 consistent"):
        kk.solve((Claim(0, True), Claim(0, True)))              # both knights or both knaves
    assert len(kk.consistent((Claim(1, True), Claim(0, True)))) == 2


def test_bare_claims_never_give_a_unique_solution() -> None:
    """Why depth 1 is refused: every depth-1 puzzle of 3 people has 0 or >= 2 solutions."""
    claims = [Claim(p, t) for p in range(3) for t in (True, False)]
    for statements in itertools.product(claims, repeat=3):
        assert len(oracle_solutions(statements)) != 1
    with pytest.raises(InputError, match="depth 1"):
        kk.generate(np.random.default_rng(0), 3, 1)


@pytest.mark.parametrize("people, depth", [(2, 2), (4, 3), (6, 2), (8, 3), (5, 4)])
def test_generated_puzzles_are_unique_by_an_independent_oracle(people: int, depth: int) -> None:
    rng = np.random.default_rng(people * 10 + depth)
    for _ in range(3):
        puzzle = kk.generate(rng, people, depth)
        assert oracle_solutions(puzzle.statements) == [puzzle.solution]
        assert [kk.depth(s) for s in puzzle.statements] == [depth] * people
        assert not any(constant_part(s, people) for s in puzzle.statements)
        assert len(set(puzzle.names)) == people


def test_statements_read_as_english_with_brackets_and_self_reference() -> None:
    formula = Op("implies", Claim(0, True), Not(Op("or", Claim(1, False), Claim(2, True))))
    text = kk.statement_text(formula, 0, ["Ann", "Bo", "Cy"], ("knight", "knave"))
    assert text == "If I am a knight then (it is not true that (Bo is a knave or Cy is a knight))"
    assert kk.formula_from_json(json.loads(json.dumps(kk.formula_json(formula)))) == formula


def test_battery_cells_variants_and_seeds() -> None:
    rows = kk.battery([2, 3], [2, 3], 2, seed=5, perturbations=kk.PERTURBATIONS)
    table = pd.DataFrame(rows)
    assert len(table) == 2 * 2 * 2 * 4 and table["instance_id"].is_unique
    originals = table[table["variant"] == "original"]
    assert set(originals["task"]) == {"2_people_depth_2", "2_people_depth_3", "3_people_depth_2", "3_people_depth_3"}
    assert (table.loc[table["variant"] != "original", "original_id"].isin(originals["instance_id"])).all()
    assert pd.DataFrame(kk.battery([2, 3], [2, 3], 2, seed=5, perturbations=kk.PERTURBATIONS)).equals(table)
    alone = pd.DataFrame(kk.battery([3], [3], 2, seed=5))
    assert alone["prompt"].tolist() == originals[originals["task"] == "3_people_depth_3"]["prompt"].tolist()
    assert not pd.DataFrame(kk.battery([3], [3], 2, seed=6))["prompt"].equals(alone["prompt"])


def test_a_puzzle_without_a_statement_variant_is_reported_not_hidden() -> None:
    with pytest.raises(AssessError, match="no statement perturbation"):
        kk.battery([2], [2], 7, seed=0, perturbations=["statement"])
    skipped: list[str] = []
    rows = kk.battery([2], [2], 7, seed=0, perturbations=["statement"], skipped=skipped)
    assert skipped == ["kk/2p-d2/0006/statement"] and len(rows) == 7 + 6


def test_perturbations_change_what_they_say_and_keep_the_rest() -> None:
    rng = np.random.default_rng(3)
    puzzle = kk.generate(rng, 4, 2)
    changed = kk.perturb(puzzle, "statement", rng)
    assert sum(a != b for a, b in zip(changed.statements, puzzle.statements)) == 1
    assert oracle_solutions(changed.statements) == [changed.solution] and changed.solution != puzzle.solution
    renamed = kk.perturb(puzzle, "names", rng)
    assert set(renamed.names).isdisjoint(puzzle.names)
    assert (renamed.statements, renamed.solution) == (puzzle.statements, puzzle.solution)
    recast = kk.perturb(puzzle, "roles", rng)
    assert recast.roles != puzzle.roles and "knight" not in kk.prompt_text(recast)
    with pytest.raises(InputError, match="unknown perturbation"):
        kk.perturb(puzzle, "shuffle", rng)


def kk_sample(target: dict[str, str]) -> Sample:
    return Sample("kk/x", "puzzle", json.dumps(target), "free_text")


def score(output: str, target: dict[str, str]):
    return asyncio.run(KnightsKnavesScorer().score(kk_sample(target), output))


def test_scorer_gives_exact_and_partial_credit() -> None:
    target = {"Alice": "knight", "Bob": "knave", "Carol": "knight"}
    full = score("Alice is a knight\nBob is a knave\nCarol is a knight", target)
    assert (full.correct, full.score, full.extracted) == (True, 1.0, "Alice=T, Bob=L, Carol=T")
    partial = score("Alice is a knight. Bob is a knight. Carol is a Knight.", target)
    assert (partial.correct, partial.score) == (False, pytest.approx(2 / 3))
    missing = score("Alice is a knight and Bob is a knave.", target)
    assert (missing.correct, missing.score) == (False, pytest.approx(2 / 3))
    nothing = score("I cannot tell.", target)
    assert (nothing.correct, nothing.score, nothing.extracted) == (False, 0.0, None)


def test_scorer_reads_the_last_word_on_each_person_and_other_role_words() -> None:
    target = {"Ann": "sage", "Bo": "fool"}
    out = score("Suppose Ann is a fool; then Bo is a sage, contradiction.\nAnn: sage\nBo: fool", target)
    assert (out.correct, out.score) == (True, 1.0)
    assert score("Ann is the truth-teller, Bo is a liar", target).score == 1.0
    assert score('{"Ann": "sage", "Bo": "sage"}', target).score == 0.5
    assert score("Annabel is a fool. Ann is a sage.", {"Ann": "sage"}).correct


def test_scorer_refuses_a_target_that_is_no_assignment() -> None:
    with pytest.raises(ValueError, match="kk/x"):
        asyncio.run(KnightsKnavesScorer().score(Sample("kk/x", "p", "(A)", "free_text"), "A"))
    with pytest.raises(ValueError, match="role words"):
        score("x", {"Ann": "wizard"})


def test_cli_writes_a_battery_and_rejects_bad_ranges(tmp_path, capsys) -> None:
    out = tmp_path / "kk.parquet"
    assert main(["battery", "kk", "--people", "2..3", "--depth", "2", "--n", "3", "--seed", "1",
                 "--perturb", "statement,names", "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    left_out = re.search(r"(\d+) variant\(s\) left out", " ".join(capsys.readouterr().err.split()))
    assert len(table) + (int(left_out.group(1)) if left_out else 0) == 2 * 3 * 3
    assert (table["variant"] == "original").sum() == 6
    assert set(table["people"]) == {2, 3} and set(table["depth"]) == {2}
    for _, row in table.iterrows():
        statements = [kk.formula_from_json(f) for f in json.loads(row["statements"])]
        names = list(json.loads(row["target"]))
        assert kk.solve(statements) == tuple(kk.ROLE_TRUTHFUL[json.loads(row["target"])[n]] for n in names)
    assert main(["battery", "kk", "--people", "2..9", "--out", str(out)]) == 2
    assert "2 to 8" in capsys.readouterr().err
    assert main(["battery", "kk", "--depth", "x", "--out", str(out)]) == 2
    assert main(["battery", "kk", "--perturb", "flip", "--out", str(out)]) == 2


def test_run_path_writes_graded_scores(tmp_path) -> None:
    """`assess run` with scorer kk against a real local server: one person wrong on every puzzle."""
    table = pd.DataFrame(kk.battery([3], [2], 4, seed=2))
    table.to_csv(tmp_path / "battery.csv", index=False)
    answers = {row["prompt"]: json.loads(row["target"]) for _, row in table.iterrows()}

    def respond(prompt: str) -> str:
        target = next(t for p, t in answers.items() if p in prompt)
        first = next(iter(target))
        flipped = {**target, first: "knave" if target[first] == "knight" else "knight"}
        return "\n".join(f"{name} is a {role}" for name, role in flipped.items())

    with ScriptedServer(respond) as server:
        config = load_run_config(write_run_config(tmp_path, server.base_url, scorer="kk"))
        outcomes, summary = asyncio.run(run_job(config))
    written = pd.read_parquet(tmp_path / "out" / "outcomes.parquet")
    assert written["score"].tolist() == pytest.approx([2 / 3] * 4)
    assert written["correct"].tolist() == [0] * 4 and summary.accuracy == 0.0
