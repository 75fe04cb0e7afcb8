"""`assess rubrics` lists and shows rubrics, and reports broken rubric files with file and line."""
from __future__ import annotations

import shutil

from rubrics_fixtures import RUBRICS_DIR

from assess.cli import main
from assess.rubrics import load_rubrics
from assess.scales import ANNOTATED

BUNDLED = RUBRICS_DIR


def test_list_shows_every_scale_with_version(capsys):
    assert main(["rubrics"]) == 0
    out = capsys.readouterr().out
    for code, rubric in load_rubrics().items():
        assert f"│ {code} " in out and rubric.content_hash[:12] in out
    assert out.count("1.0.0") == len(ANNOTATED)


def test_show_one_scale(capsys):
    assert main(["rubrics", "QLq"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    rubric = load_rubrics()["QLq"]
    assert rubric.content_hash in out and "Does not measure" in out
    assert "What is 7 + 5?" in out and "very high" in out


def test_user_directory_lists_missing_scales(tmp_path, capsys):
    shutil.copy(BUNDLED / "VO.yaml", tmp_path / "VO.yaml")
    assert main(["rubrics", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "│ VO " in out and "no rubric for: AS, CEc" in out


def test_unknown_code_and_broken_file_exit_2(tmp_path, capsys):
    assert main(["rubrics", "XYZ"]) == 2
    assert "no rubric for scale 'XYZ'" in capsys.readouterr().err
    (tmp_path / "AS.yaml").write_text((BUNDLED / "AS.yaml").read_text().replace("code: AS", "code: [AS"))
    assert main(["rubrics", "--dir", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "AS.yaml: line" in err and "invalid YAML" in err
