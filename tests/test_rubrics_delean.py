"""Rubrics in the published DeLeAn .txt layout parse into the same structure as our YAML rubrics."""
from __future__ import annotations

from pathlib import Path

import pytest
from rubrics_fixtures import line_of

from assess.errors import InputError
from assess.rubrics import Rubric, load_rubrics, parse_delean_txt
from assess.scales import ANNOTATED


def delean_txt(rubric: Rubric, title: str | None = None) -> str:
    """Write a rubric in the DeLeAn layout: '# Title', description, 'Level N: Label. text', 'Examples:' bullets."""
    lines = [f"# {title or rubric.name}", "", rubric.measures, ""]
    for level in rubric.levels:
        lines += [f"Level {level.level}: {level.label.capitalize()}. {level.criterion}", "Examples:"]
        lines += [f"- {example}" for example in level.examples] + [""]
    return "\n".join(lines)


def _structure(rubric: Rubric) -> tuple:
    return (rubric.code, rubric.name, rubric.family, rubric.measures, rubric.scale_max,
            [(lv.level, lv.label.lower(), lv.criterion, lv.examples, lv.band) for lv in rubric.levels])


@pytest.fixture(scope="module")
def bundled():
    return load_rubrics()


def test_directory_of_delean_files_parses_into_the_same_structure(bundled, tmp_path):
    for code, rubric in bundled.items():
        (tmp_path / f"{code}.txt").write_text(delean_txt(rubric))
    parsed = load_rubrics(tmp_path)
    assert list(parsed) == list(ANNOTATED)
    for code in ANNOTATED:
        assert _structure(parsed[code]) == _structure(bundled[code])
        assert parsed[code].version == "delean-txt" and parsed[code].excludes == ""


def test_code_from_title_and_wrapped_text(bundled):
    text = delean_txt(bundled["KNf"], title="Knowledge of formal sciences (KNf)")
    text = text.replace("Level 2: Low. ", "Level 2: Low. Primary-school\n  ", 1)
    text = text.replace("- What is a right angle in degrees?", "- What is a right\n  angle in degrees?")
    rubric = parse_delean_txt(text, "formal.txt")
    assert rubric.code == "KNf" and rubric.name == "Knowledge of formal sciences"
    assert rubric.levels[2].criterion.startswith("Primary-school Primary-school mathematics")
    assert rubric.levels[2].examples[0] == "What is a right angle in degrees?"


def _bad(bundled, old: str, new: str) -> str:
    text = delean_txt(bundled["QLq"])
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "fragment", "message"), [
    ("# Quantitative reasoning", "Quantitative reasoning", "Quantitative reasoning", "expected the '# Title' line"),
    ("Level 3: Intermediate.", "Level 4: Intermediate.", "Level 4: Intermediate",
     "expected 'Level 3:' here, got level 4"),
    ("Level 2: Low.", "Level 2: Low", "Level 2: Low", "expected 'Level N: Label. criterion'"),
    ("Level 1: Very low. A single", "Level 1: Very low. A single\n- stray bullet", "- stray bullet",
     "bullet outside an 'Examples:' block"),
    ("- What is 7 + 5?", "What is 7 + 5?", "What is 7 + 5?", "expected a '- ' example bullet"),
])
def test_malformed_delean_file_namesline_of(bundled, old, new, fragment, message):
    text = _bad(bundled, old, new)
    with pytest.raises(InputError) as err:
        parse_delean_txt(text, "QLq.txt")
    assert f"QLq.txt: line {line_of(text, fragment)}: {message}" in str(err.value)


def test_level_without_examples(bundled):
    text = delean_txt(bundled["QLq"]).split("Level 5:")[0] + "Level 5: Very high. Research level.\n"
    with pytest.raises(InputError, match=rf"QLq.txt: line {line_of(text, 'Level 5:')}: level 5 has no examples"):
        parse_delean_txt(text, "QLq.txt")


def test_missing_levels_are_reported(bundled):
    text = delean_txt(bundled["QLq"]).split("Level 4:")[0]
    with pytest.raises(InputError, match=r"QLq.txt: line 1: levels: expected levels 0-5, got 4 levels"):
        parse_delean_txt(text, "QLq.txt")


def test_unknown_scale_and_empty_file(bundled):
    with pytest.raises(InputError, match=r"my notes.txt: line 1: cannot tell the scale"):
        parse_delean_txt(delean_txt(bundled["QLq"]), "my notes.txt")
    added = parse_delean_txt(delean_txt(bundled["QLq"]), "XYz.txt")
    assert (added.code, added.family, added.kind) == ("XYz", "other", "level")
    with pytest.raises(InputError, match=r"QLq.txt: line 1: the file is empty"):
        parse_delean_txt("\n\n", "QLq.txt")
    with pytest.raises(InputError, match=r"QLq.txt: line 1: no 'Level N: Label. text' lines"):
        parse_delean_txt("# Quantitative reasoning\nSome description.\n", "QLq.txt")


def test_error_from_directory_names_the_file(bundled, tmp_path):
    (tmp_path / "AS.txt").write_text(_bad(bundled, "Level 2: Low.", "Level 2: Low"))
    with pytest.raises(InputError, match=rf"{Path(tmp_path / 'AS.txt')}: line \d+: expected 'Level N"):
        load_rubrics(tmp_path)
