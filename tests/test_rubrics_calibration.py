"""The calibration set loads, covers every scale and level, and scores annotators' agreement."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rubrics_fixtures import CALIBRATION_DIR, edited_copy, line_of

from assess.calibration import load_calibration, score_annotations
from assess.errors import InputError
from assess.rubrics import load_rubrics
from assess.scales import ANNOTATED, UG

BUNDLED = CALIBRATION_DIR


@pytest.fixture(scope="module")
def calibration() -> pd.DataFrame:
    return load_calibration()


def test_bundled_set_covers_every_scale_and_level(calibration):
    assert list(calibration.columns) == ["item_id", "scale", "prompt", "intended_level"]
    assert calibration["item_id"].is_unique
    assert set(calibration["scale"]) == set(ANNOTATED)
    for scale, items in calibration.groupby("scale"):
        assert len(items) >= 12, scale
        grid = items["intended_level"].map(load_rubrics()[UG].level_of) if scale == UG else items["intended_level"].astype(int)
        assert grid.value_counts().reindex(range(6), fill_value=0).min() >= 2, scale
        assert items["prompt"].is_unique


def _annotate(calibration: pd.DataFrame, shift: float = 0.0) -> pd.DataFrame:
    """Annotations at the intended level plus ``shift`` (levels clipped to 0-5, UG to 0-100)."""
    levels = calibration["intended_level"] + shift
    is_ug = calibration["scale"] == UG
    levels = np.where(is_ug, levels.clip(0, 100), levels.clip(0, 5))
    return pd.DataFrame({"item_id": calibration["item_id"], "scale": calibration["scale"], "level": levels})


def test_perfect_annotator_agrees_exactly(calibration):
    scores = score_annotations(calibration, _annotate(calibration))
    assert list(scores.columns) == ["scale", "n", "exact", "within1"]
    assert list(scores["scale"]) == list(ANNOTATED)
    assert (scores["n"] >= 12).all() and (scores["exact"] == 1).all() and (scores["within1"] == 1).all()


def test_off_by_one_and_off_by_two():
    calibration = pd.DataFrame({"item_id": ["a", "b", "c", "d"], "scale": ["QLq"] * 4, "prompt": ["p"] * 4,
                                "intended_level": [0.0, 2.0, 3.0, 5.0]})
    annotated = pd.DataFrame({"item_id": ["a", "b", "c", "d"], "scale": ["QLq"] * 4, "level": [0, 3, 1, 4.4]})
    row = score_annotations(calibration, annotated).iloc[0]
    assert (row["scale"], row["n"], row["exact"], row["within1"]) == ("QLq", 4, 0.25, 0.75)


def test_ug_is_compared_by_band():
    calibration = pd.DataFrame({"item_id": ["x", "y", "z"], "scale": [UG] * 3, "prompt": ["p"] * 3,
                                "intended_level": [75.0, 50.0, 100.0]})
    annotated = pd.DataFrame({"item_id": ["x", "y", "z"], "scale": [UG] * 3, "level": [80.0, 75.0, 60.0]})
    row = score_annotations(calibration, annotated).iloc[0]
    assert (row["n"], row["exact"], row["within1"]) == (3, pytest.approx(1 / 3), pytest.approx(2 / 3))


def test_only_annotated_scales_are_scored(calibration):
    subset = _annotate(calibration[calibration["scale"].isin(["VO", "AS"])], shift=1)
    scores = score_annotations(calibration, subset)
    assert list(scores["scale"]) == ["AS", "VO"]
    assert (scores["within1"] == 1).all() and (scores["exact"] < 0.5).all()


@pytest.mark.parametrize(("row", "message"), [
    ({"item_id": "nope", "scale": "AS", "level": 1}, r"instance 'nope': not a calibration item"),
    ({"item_id": "AS-01", "scale": "VO", "level": 1}, r"instance 'AS-01', column 'scale': scale 'VO' but"),
    ({"item_id": "AS-01", "scale": "AS", "level": np.nan}, r"instance 'AS-01', column 'level': missing level"),
    ({"item_id": "AS-01", "scale": "AS", "level": "high"}, r"column 'level': level 'high' is not a number"),
    ({"item_id": "AS-01", "scale": "AS", "level": 6}, r"level must be a whole number 0-5, got 6"),
    ({"item_id": "UG-01", "scale": "UG", "level": 120}, r"UG must be a percentage 0-100, got 120"),
])
def test_bad_annotations_are_named(calibration, row, message):
    with pytest.raises(InputError, match=message):
        score_annotations(calibration, pd.DataFrame([row]))


def test_duplicate_and_missing_columns(calibration):
    twice = pd.DataFrame([{"item_id": "AS-01", "scale": "AS", "level": 0}] * 2)
    with pytest.raises(InputError, match=r"instance 'AS-01': item annotated twice"):
        score_annotations(calibration, twice)
    with pytest.raises(InputError, match=r"annotations lack column\(s\) level"):
        score_annotations(calibration, twice.drop(columns="level"))


def _copy_with(tmp_path: Path, code: str, old: str, new: str) -> Path:
    return edited_copy(BUNDLED, tmp_path, code, old, new)


def _line(path: Path, fragment: str) -> int:
    return line_of(path.read_text(), fragment)


@pytest.mark.parametrize(("code", "old", "new", "fragment", "message"), [
    ("QLq", "    level: 3\n", "    level: 6\n", "level: 6", "items.6.level: level must be a whole number 0-5, got 6"),
    ("QLq", "    level: 3\n", "    level: 2.5\n", "level: 2.5", "got 2.5"),
    ("UG", "    level: 75\n", "    level: 175\n", "level: 175", "UG must be a percentage 0-100, got 175"),
    ("QLq", "scale: QLq", "scale: QQ", "scale: QQ", "scale: unknown scale code 'QQ'"),
    ("QLq", "    prompt: \"What is 9 - 4?\"", "    promt: \"What is 9 - 4?\"", "promt:", "promt: unknown key (allowed: "),
])
def test_malformed_calibration_file_names_line(tmp_path, code, old, new, fragment, message):
    path = _copy_with(tmp_path, code, old, new)
    with pytest.raises(InputError) as err:
        load_calibration(tmp_path)
    assert f"{path}: line {_line(path, fragment)}: " in str(err.value) and message in str(err.value)


def test_duplicate_item_ids_across_files(tmp_path):
    shutil.copy(BUNDLED / "AS.yaml", tmp_path / "AS.yaml")
    path = _copy_with(tmp_path, "VO", "id: VO-03", "id: AS-05")
    with pytest.raises(InputError, match=rf"VO.yaml: line {_line(path, 'id: AS-05')}: duplicate item id 'AS-05'"):
        load_calibration(tmp_path)


def test_user_directory_and_missing_directory(tmp_path):
    shutil.copy(BUNDLED / "CL.yaml", tmp_path / "CL.yaml")
    assert set(load_calibration(tmp_path)["scale"]) == {"CL"}
    with pytest.raises(InputError, match="calibration directory not found"):
        load_calibration(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no calibration files"):
        load_calibration(tmp_path / "empty")
