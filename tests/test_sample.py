"""The bundled sample: battery, outcomes, reference annotations with their provenance."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from assess.annotate.prompts import check_listed_options, rubric_set_hash
from assess.datasets import load_sample, reference_subset, sample_dir
from assess.generators import kk
from assess.rubrics import load_rubrics
from assess.scales import ANNOTATED

FORMAT_FIX = Path(__file__).resolve().parents[1] / "studies" / "sample_battery" / "answer_format_fix.csv"


#: Knights and Knaves: 315 puzzles (15 per people x depth cell), 3 variants each, 6 statement variants impossible.
KK_ITEMS = 315 * 4 - 6


def test_sample_loads_in_one_line_with_every_item():
    battery, outcomes = load_sample()
    assert len(battery) == 12_032 + 6_511 + 171 + KK_ITEMS
    assert battery["benchmark"].value_counts().to_dict() == {"mmlu_pro": 12_032, "bbh": 6_511, "eqbench_v2": 171,
                                                             "knights_knaves": KK_ITEMS}
    pattern = r"^(mmlu_pro/\d+|bbh/[a-z_]+/\d+|eqbench_v2/\d+|kk/[2-8]p-d[2-4]/\d{4}(/(statement|names|roles))?)$"
    assert battery["instance_id"].str.match(pattern).all()
    assert set(outcomes["subject"]) >= {"Meta-Llama-3_1-8B-Instruct", "code-davinci-002-cot", "gemma-3-270m",
                                        "gpt-4-0613"}
    assert outcomes["instance_id"].isin(battery["instance_id"]).all()


def test_reference_subset_and_all_of_bbh_are_annotated_on_every_scale_with_provenance():
    battery, outcomes = load_sample(annotated_only=True)
    full, _ = load_sample()
    every_bbh = set(full.loc[full["benchmark"] == "bbh", "instance_id"])
    assert set(battery["instance_id"]) == set(reference_subset()) | every_bbh
    assert len(battery) == 1_260 + 6_511 + 171 + 315
    assert battery[list(ANNOTATED)].notna().all().all()
    assert set(battery["annotator"]) == {"claude-reference-pass1"}
    assert set(outcomes["instance_id"]) <= set(battery["instance_id"])


def test_answer_format_fix_has_its_own_protocol_version():
    """Items whose multiple-choice format the fix changed carry v2 labels only; all others v1."""
    battery, _ = load_sample(annotated_only=True)
    fixed = set(pd.read_csv(FORMAT_FIX)["instance_id"])
    assert len(fixed) == 425
    protocol = battery.set_index("instance_id")["annotation_protocol"]
    assert set(protocol[protocol.index.isin(fixed)]) == {"all-scales/v2"}
    assert set(protocol[~protocol.index.isin(fixed)]) == {"all-scales/v1"}
    bbh, _ = load_sample()
    check_listed_options(bbh[bbh["benchmark"] == "bbh"])  # every BBH multiple-choice N counts its listed options


def test_eqbench_keeps_the_graded_score_beside_the_binary_rule():
    battery, outcomes = load_sample()
    items = set(battery.loc[battery["benchmark"] == "eqbench_v2", "instance_id"])
    runs = outcomes[outcomes["instance_id"].isin(items)]
    assert runs["subject"].nunique() == 70 and len(runs) == 70 * 171
    assert runs["score"].between(0, 1).all()
    assert (runs["correct"] == (runs["score"] >= 0.7).astype(int)).all()
    assert outcomes.loc[~outcomes["instance_id"].isin(items) & ~outcomes["instance_id"].str.startswith("kk/"),
                        "score"].isna().all()


def test_knights_and_knaves_puzzles_are_solved_and_scored_in_the_sample():
    battery, outcomes = load_sample()
    puzzles = battery[battery["benchmark"] == "knights_knaves"]
    for _, row in puzzles.iterrows():
        statements = [kk.formula_from_json(f) for f in json.loads(row["statements"])]
        target = json.loads(row["target"])
        assert kk.solve(statements) == tuple(kk.ROLE_TRUTHFUL[target[name]] for name in target)
    variants = puzzles[puzzles["variant"] != "original"]
    assert variants["original_id"].isin(puzzles.loc[puzzles["variant"] == "original", "instance_id"]).all()
    gemma = outcomes[(outcomes["subject"] == "gemma-3-270m") & outcomes["instance_id"].isin(puzzles["instance_id"])]
    assert len(gemma) == 42 and gemma["score"].between(0, 1).all()


def test_unannotated_items_keep_missing_levels():
    battery, _ = load_sample()
    rest = battery[~battery["instance_id"].isin(reference_subset()) & (battery["benchmark"] != "bbh")]
    assert len(rest) == 12_032 - 1_260 + 1_254 - 315
    assert np.isnan(rest[list(ANNOTATED)].to_numpy()).all()
    assert (rest["annotator"] == "").all()


def test_annotations_were_made_with_the_bundled_rubrics():
    """Editing a rubric changes its hash: the reference annotations then need a new pass (see the study)."""
    battery, _ = load_sample(annotated_only=True)
    assert set(battery["rubric_hash"]) == {rubric_set_hash(load_rubrics(), ANNOTATED)}


def test_attribution_ships_with_the_data():
    notice = (sample_dir() / "NOTICE.md").read_text()
    assert "Apache-2.0" in notice and "MIT" in notice and "TIGER-AI-Lab" in notice
    assert "EQ-bench/EQ-Bench" in notice and "Samuel Paech" in notice
