"""The bundled sample: battery, outcomes, reference annotations with their provenance."""
from __future__ import annotations

import numpy as np

from assess.annotate.prompts import rubric_set_hash
from assess.datasets import load_sample, reference_subset, sample_dir
from assess.rubrics import load_rubrics
from assess.scales import ANNOTATED


def test_sample_loads_in_one_line_with_every_item():
    battery, outcomes = load_sample()
    assert len(battery) == 12_032 + 6_511
    assert battery["instance_id"].str.match(r"^(mmlu_pro/\d+|bbh/[a-z_]+/\d+)$").all()
    assert set(outcomes["subject"]) >= {"Meta-Llama-3_1-8B-Instruct", "code-davinci-002-cot", "gemma-3-270m"}
    assert outcomes["instance_id"].isin(battery["instance_id"]).all()


def test_reference_subset_is_annotated_on_every_scale_with_provenance():
    battery, outcomes = load_sample(annotated_only=True)
    assert sorted(battery["instance_id"]) == sorted(reference_subset())
    assert battery[list(ANNOTATED)].notna().all().all()
    assert set(battery["annotator"]) == {"claude-reference-pass1"}
    assert set(battery["annotation_protocol"]) == {"all-scales/v1"}
    assert set(outcomes["instance_id"]) <= set(battery["instance_id"])


def test_unannotated_items_keep_missing_levels():
    battery, _ = load_sample()
    rest = battery[~battery["instance_id"].isin(reference_subset())]
    assert np.isnan(rest[list(ANNOTATED)].to_numpy()).all()
    assert (rest["annotator"] == "").all()


def test_annotations_were_made_with_the_bundled_rubrics():
    """Editing a rubric changes its hash: the reference annotations then need a new pass (see the study)."""
    battery, _ = load_sample(annotated_only=True)
    assert set(battery["rubric_hash"]) == {rubric_set_hash(load_rubrics(), ANNOTATED)}


def test_attribution_ships_with_the_data():
    notice = (sample_dir() / "NOTICE.md").read_text()
    assert "Apache-2.0" in notice and "MIT" in notice and "TIGER-AI-Lab" in notice
