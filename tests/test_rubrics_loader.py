"""The bundled rubrics load and validate; broken rubric files give errors naming file and line."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from rubrics_fixtures import RUBRICS_DIR, edited_copy, line_of

from assess.errors import InputError
from assess.rubrics import load_rubric, load_rubrics
from assess.scales import ANNOTATED, SCALE_NAMES, UG, family

UG_BANDS = [(0.0, 25.0), (25.0, 50.0), (50.0, 70.0), (70.0, 85.0), (85.0, 97.0), (97.0, 100.0)]

BUNDLED = RUBRICS_DIR
MIN_EXAMPLES = 3


@pytest.fixture(scope="module")
def bundled():
    return load_rubrics()


def test_bundled_set_has_all_19_scales_in_canonical_order(bundled):
    assert list(bundled) == list(ANNOTATED)


@pytest.mark.parametrize("code", ANNOTATED)
def test_bundled_rubric_is_complete(bundled, code):
    rubric = bundled[code]
    assert (rubric.code, rubric.name, rubric.family) == (code, SCALE_NAMES[code], family(code))
    assert rubric.version and rubric.measures and rubric.excludes
    assert [level.level for level in rubric.levels] == list(range(6))
    assert len({level.label for level in rubric.levels}) == 6
    examples = [example for level in rubric.levels for example in level.examples]
    assert all(len(level.examples) >= MIN_EXAMPLES for level in rubric.levels)
    assert len(set(examples)) == len(examples), "an example is repeated within the rubric"


def test_ug_rubric_carries_percentage_bands(bundled):
    ug = bundled[UG]
    assert (ug.kind, ug.scale_max) == ("percentage", 100)
    assert [level.band for level in ug.levels] == UG_BANDS
    assert "UG 70-85%" in ug.prompt_text()
    assert all((bundled[code].kind, bundled[code].scale_max) == ("level", 5) for code in ANNOTATED if code != UG)


def test_old_scale_max_key_still_means_percentage(tmp_path):
    path = edited_copy(BUNDLED, tmp_path, "UG", "kind: percentage", "scale_max: 100")
    old = load_rubric(path)
    assert old.kind == "percentage" and old.content_hash == load_rubrics()["UG"].content_hash


def test_content_hash_is_stable_across_loads_and_rewrapping(bundled, tmp_path):
    data = yaml.safe_load((BUNDLED / "QLq.yaml").read_text())
    (tmp_path / "QLq.yaml").write_text(yaml.safe_dump(data, width=30, sort_keys=True))
    rewrapped = load_rubric(tmp_path / "QLq.yaml")
    assert rewrapped.content_hash == bundled["QLq"].content_hash == load_rubrics()["QLq"].content_hash
    assert len(rewrapped.content_hash) == 64
    data["levels"][2]["criterion"] += " Changed."
    (tmp_path / "QLq.yaml").write_text(yaml.safe_dump(data))
    assert load_rubric(tmp_path / "QLq.yaml").content_hash != rewrapped.content_hash


def test_prompt_text_is_deterministic_and_complete(bundled):
    rubric = bundled["MCt"]
    text = rubric.prompt_text()
    assert text == load_rubrics()["MCt"].prompt_text()
    assert text.startswith("Scale MCt: Metacognition: critical thinking")
    assert rubric.excludes in text
    for level in rubric.levels:
        assert f"Level {level.level} ({level.label}): {level.criterion}" in text
        assert all(f"Example: {example}" in text for example in level.examples)


def test_user_directory_loads_a_subset(tmp_path):
    for code in ("AS", "UG"):
        shutil.copy(BUNDLED / f"{code}.yaml", tmp_path / f"{code}.yaml")
    (tmp_path / "notes.md").write_text("not a rubric")
    assert list(load_rubrics(tmp_path)) == ["AS", "UG"]


@pytest.mark.parametrize(("percentage", "level"), [(0, 0), (24.9, 0), (25, 1), (50, 2), (67, 2), (75, 3),
                                                    (80, 3), (90, 4), (96.9, 4), (97, 5), (100, 5)])
def test_percentage_level_maps_percentages_to_bands(bundled, percentage, level):
    assert bundled[UG].level_of(percentage) == level


def test_level_of_rejects_out_of_range(bundled):
    with pytest.raises(ValueError, match="outside 0-100"):
        bundled[UG].level_of(101)
    assert bundled["QLq"].level_of(2.5) == 3


def _broken(tmp_path: Path, old: str, new: str, code: str = "QLq") -> Path:
    return edited_copy(BUNDLED, tmp_path, code, old, new)


def _line_of(path: Path, fragment: str) -> int:
    return line_of(path.read_text(), fragment)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = _broken(tmp_path, "  - level: 3\n", "  - level: [3\n")
    with pytest.raises(InputError, match=rf"QLq.yaml: line \d+: invalid YAML") as err:
        load_rubrics(tmp_path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(("old", "new", "fragment", "message"), [
    ("code: QLq", "code: 'Q L'", "code: 'Q L'", "code: String should match pattern"),
    ("family: elemental", "family: ''", "family: ''", "family: must not be empty"),
    ("  - level: 3\n", "  - level: 7\n", "level: 7", "levels.3.level: expected level 3 here, got 7"),
    ("    label: high\n", "    label: ''\n", "label: ''", "levels.4.label: must not be empty"),
    ("    label: low\n", "    lable: low\n", "lable: low", "levels.2.lable: unknown key (allowed: level, label, criterion, examples, band)"),
    ("    label: low\n", "    label: low\n    label: small\n", "label: small", "duplicate key 'label'"),
    ("version: \"1.0.0\"\n", "version: \"1.0.0\"\nkind: level\nscale_max: 100\n", "scale_max",
     "scale_max of a level scale must be 5"),
    ('examples:\n      - "What is 7 + 5?"\n      - "Tom has 3 apples and gets 2 more. How many apples does he have?"\n'
     '      - "Which is larger, 19 or 91?"', "examples: []", "examples: []",
     "levels.1.examples: List should have at least 1 item"),
])
def test_invalid_field_names_file_and_line(tmp_path, old, new, fragment, message):
    path = _broken(tmp_path, old, new)
    with pytest.raises(InputError) as err:
        load_rubric(path)
    assert f"{path}: line {_line_of(path, fragment)}: " in str(err.value)
    assert message in str(err.value)


def test_missing_field_points_at_the_mapping(tmp_path):
    path = _broken(tmp_path, "measures: >", "measured: >")
    with pytest.raises(InputError, match=r"QLq.yaml: line \d+: measured: unknown key \(allowed: code, name"):
        load_rubric(path)
    data = yaml.safe_load((BUNDLED / "QLq.yaml").read_text())
    del data["measures"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match=r"QLq.yaml: line 1: measures: Field required"):
        load_rubric(path)


def test_percentage_band_gap_is_located(tmp_path):
    path = _broken(tmp_path, "band: [70, 85]", "band: [70, 80]", code="UG")
    with pytest.raises(InputError, match=rf"line {_line_of(path, 'band: [85, 97]')}: levels.4.band: "
                                         r"band of level 4 must start at 80"):
        load_rubric(path)


def test_band_on_a_level_scale_is_rejected(tmp_path):
    path = _broken(tmp_path, "    label: none\n", "    label: none\n    band: [0, 25]\n")
    with pytest.raises(InputError, match=r"only a percentage scale \(kind: percentage\) has bands"):
        load_rubric(path)


def test_a_new_code_is_a_valid_rubric(tmp_path):
    _broken(tmp_path, "code: QLq", "code: XYz").rename(tmp_path / "XYz.yaml")
    assert list(load_rubrics(tmp_path)) == ["XYz"] and load_rubric(tmp_path / "XYz.yaml").kind == "level"


def test_python_tags_are_not_executed(tmp_path):
    path = tmp_path / "QLq.yaml"
    path.write_text("code: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(InputError, match=r"QLq.yaml: line 1: invalid YAML"):
        load_rubric(path)


@pytest.mark.parametrize(("content", "message"), [
    ("", r"line 1: the file is empty"),
    ("- just\n- a list\n", r"line 1: a rubric must be a YAML mapping"),
])
def test_empty_or_non_mapping_file(tmp_path, content, message):
    path = tmp_path / "AS.yaml"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_rubric(path)


def test_two_rubrics_for_one_scale(tmp_path):
    shutil.copy(BUNDLED / "AS.yaml", tmp_path / "AS.yaml")
    shutil.copy(BUNDLED / "AS.yaml", tmp_path / "attention.yml")
    with pytest.raises(InputError, match=r"attention.yml: second rubric for AS \(first: .*AS.yaml\)"):
        load_rubrics(tmp_path)


def test_missing_or_empty_directory(tmp_path):
    with pytest.raises(InputError, match="rubric directory not found"):
        load_rubrics(tmp_path / "nope")
    with pytest.raises(InputError, match=r"no rubric files"):
        load_rubrics(tmp_path)


def test_unreadable_file(tmp_path):
    path = tmp_path / "AS.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match=r"AS.yaml: cannot read rubric"):
        load_rubric(path)
