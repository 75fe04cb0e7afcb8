"""Open scale sets: a rubric folder adds a scale with no code change, end to end on the example folder."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from assess.cli import main
from assess.errors import InputError
from assess.plots import radar
from assess.report import read_abilities
from assess.scaleset import default_scale_set, load_scale_set
from assess.sources import read_battery
from rubrics_fixtures import RUBRICS_DIR, edited_copy

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scales"
USER_RUBRICS = EXAMPLE / "rubrics"


@pytest.fixture(scope="module")
def scale_set():
    return load_scale_set([USER_RUBRICS])


def test_the_user_scale_joins_the_bundled_ones(scale_set):
    bundled = default_scale_set()
    assert scale_set.codes == bundled.codes + ("PLn",)
    assert scale_set["PLn"].kind == "level" and scale_set["PLn"].name == "Planning and sequencing"
    assert scale_set.level_codes == bundled.level_codes + ("PLn",) and scale_set.unguessability == "UG"
    assert scale_set.hash != bundled.hash and scale_set.replaced == ()


def test_rubrics_command_lists_the_user_scale(capsys):
    assert main(["rubrics", "--rubrics", str(USER_RUBRICS)]) == 0
    out = capsys.readouterr().out
    assert "│ PLn " in out and f"PLn: {USER_RUBRICS / 'PLn.yaml'}" in out.replace("\n", "")
    assert main(["rubrics", "PLn", "--rubrics", str(USER_RUBRICS)]) == 0
    assert "Planning and sequencing" in capsys.readouterr().out
    assert main(["rubrics", "PLn"]) == 2
    assert "no rubric for scale 'PLn'" in capsys.readouterr().err


def test_a_clash_with_a_bundled_rubric_is_stated_never_silent(tmp_path):
    (tmp_path / "mine").mkdir()
    changed = edited_copy(RUBRICS_DIR, tmp_path / "mine", "QLq", "measures: >", "measures: >\n  Our own wording.")
    with pytest.raises(InputError, match=r"mine/QLq.yaml: rubric QLq clashes with the bundled one .*replaces: true"):
        load_scale_set([tmp_path / "mine"])
    changed.write_text("replaces: true\n" + changed.read_text())
    replaced = load_scale_set([tmp_path / "mine"])
    assert replaced.rubrics["QLq"].measures.startswith("Our own wording.")
    assert replaced.statements() == [f"rubric QLq from {changed} replaces {default_scale_set().rubrics['QLq'].source}"]
    assert replaced.hash != default_scale_set().hash
    (tmp_path / "copy").mkdir()
    shutil.copy(RUBRICS_DIR / "AS.yaml", tmp_path / "copy" / "AS.yaml")
    assert load_scale_set([tmp_path / "copy"]).hash == default_scale_set().hash  # identical content: no clash
    (tmp_path / "twice").mkdir()
    shutil.copy(USER_RUBRICS / "PLn.yaml", tmp_path / "twice" / "PLn.yaml")
    with pytest.raises(InputError, match=r"twice/PLn.yaml: rubric PLn is given twice \(first: .*examples/scales"):
        load_scale_set([USER_RUBRICS, tmp_path / "twice"])
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "task.yaml").write_text((USER_RUBRICS / "PLn.yaml").read_text().replace("code: PLn",
                                                                                                 "code: task"))
    with pytest.raises(InputError, match=r"task.yaml: rubric code 'task' is a battery column name"):
        load_scale_set([tmp_path / "taken"])


def test_the_battery_validates_the_new_column_by_its_kind(tmp_path, scale_set):
    battery = read_battery(EXAMPLE / "battery.csv", scales=scale_set)
    assert battery["PLn"].notna().all() and list(battery.columns[6:26]) == list(scale_set.codes)
    broken = pd.read_csv(EXAMPLE / "battery.csv")
    broken.loc[4, "PLn"] = 7
    broken.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(InputError, match=r"b.csv: row 5, instance '.*', column 'PLn': level 7 outside 0-5"):
        read_battery(tmp_path / "b.csv", scales=scale_set)
    assert read_battery(tmp_path / "b.csv")["PLn"].max() == 7  # outside the set: an extra column, not a scale


def test_the_new_scale_is_annotated_and_the_scale_set_recorded(tmp_path, scale_set):
    battery = pd.read_csv(EXAMPLE / "battery.csv").drop(columns=["PLn"])
    battery.to_csv(tmp_path / "battery.csv", index=False)
    (tmp_path / "annotator.yaml").write_text("name: hand\nbackend: batch-file\nmodel: by-hand\nrubrics: "
                                             f"{USER_RUBRICS}\n")
    common = ["annotate", str(tmp_path / "battery.csv"), "--annotator", str(tmp_path / "annotator.yaml"),
              "--scales", "PLn", "--mode", "per-scale", "--cache", str(tmp_path / "cache.sqlite")]
    assert main([*common, "--export-requests", str(tmp_path / "requests.jsonl")]) == 0
    requests = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert len(requests) == 40
    prompt = requests[0]["body"]["messages"][1]["content"]
    assert "Scale PLn: Planning and sequencing" in prompt and "an integer from 0 to 5" in prompt
    levels = pd.read_csv(EXAMPLE / "pln_levels.csv").set_index("instance_id")["PLn"]
    order = pd.read_csv(tmp_path / "battery.csv")["instance_id"]
    answers = [{"custom_id": r["custom_id"], "content": f"Counting the steps.\nLevel: {int(levels[i])}"}
               for r, i in zip(requests, order)]
    (tmp_path / "results.jsonl").write_text("\n".join(map(json.dumps, answers)) + "\n")
    assert main([*common, "--import-results", str(tmp_path / "results.jsonl"), "--out", str(tmp_path / "a.csv")]) == 0
    annotated = read_battery(tmp_path / "a.csv", scales=scale_set).set_index("instance_id")
    assert annotated["PLn"].to_dict() == levels.astype(float).to_dict()
    assert set(annotated["scale_set_hash"]) == {scale_set.hash}
    assert set(annotated["annotator"]) == {"hand"}


def test_the_example_profiles_end_to_end(tmp_path, capsys, scale_set):
    config = yaml.safe_load((EXAMPLE / "model.yaml").read_text())
    config.update(battery=str(EXAMPLE / "battery.csv"), outcomes=str(EXAMPLE / "outcomes.csv"),
                  rubrics=[str(USER_RUBRICS)], output_dir=str(tmp_path / "out"), bootstrap=20)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(config))
    assert main(["profile", str(tmp_path / "model.yaml")]) == 0
    assert "│ PLn   │ Planning and sequencing" in capsys.readouterr().out
    document = read_abilities(tmp_path / "out" / "abilities.json")
    assert list(document.scales) == list(scale_set.level_codes)
    pln = document.scales["PLn"]
    assert (pln.name, pln.kind) == ("Planning and sequencing", "level") and pln.n > 0 and pln.ability is not None
    assert document.settings.scale_set_hash == scale_set.hash and document.settings.rubrics == [str(USER_RUBRICS)]
    table = pd.read_csv(tmp_path / "out" / "abilities.csv")
    assert table["scale"].iloc[-1] == "PLn" and table["n"].iloc[-1] == pln.n
    report = (tmp_path / "out" / "report.html").read_text()
    assert ">PLn</td>" in report and "Planning and sequencing" in report and scale_set.hash[:12] in report
    figure = radar({"s": table})
    assert "PLn" in [label.get_text() for label in figure.axes[0].get_xticklabels()]
    assert (tmp_path / "out" / "radar.png").stat().st_size > 0


def test_cli_rubrics_option_extends_a_config_without_the_key(tmp_path, capsys):
    config = yaml.safe_load((EXAMPLE / "model.yaml").read_text())
    del config["rubrics"]
    config.update(battery=str(EXAMPLE / "battery.csv"), outcomes=str(EXAMPLE / "outcomes.csv"),
                  output_dir=str(tmp_path / "out"), bootstrap=0, scales=["QLq", "PLn"])
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(config))
    assert main(["profile", str(tmp_path / "model.yaml")]) == 2
    assert "scales: unknown level scale code(s) 'PLn'" in capsys.readouterr().err
    config.pop("scales")
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(config))
    assert main(["profile", str(tmp_path / "model.yaml"), "--rubrics", str(USER_RUBRICS)]) == 0
    assert "PLn" in read_abilities(tmp_path / "out" / "abilities.json").scales


def test_calibration_and_agreement_take_the_active_set(tmp_path, scale_set):
    from assess.annotate.agreement import agreement_report
    from assess.calibration import load_calibration, score_annotations

    (tmp_path / "PLn.yaml").write_text('scale: PLn\nversion: "0.1"\nitems:\n  - id: P1\n    level: 0\n'
                                       '    prompt: "Is a whale a mammal?"\n  - id: P2\n    level: 7\n    prompt: "x"\n')
    with pytest.raises(InputError, match=r"PLn.yaml: line 1: scale: unknown scale code 'PLn'"):
        load_calibration(tmp_path)
    with pytest.raises(InputError, match=r"PLn.yaml: line 8: items.1.level: level must be a whole number 0-5, got 7"):
        load_calibration(tmp_path, scale_set)
    (tmp_path / "PLn.yaml").write_text((tmp_path / "PLn.yaml").read_text().replace("level: 7", "level: 4"))
    items = load_calibration(tmp_path, scale_set)
    scores = score_annotations(items, items.assign(level=[0, 3])[["item_id", "scale", "level"]], scale_set)
    assert scores[["scale", "n", "exact", "within1"]].values.tolist() == [["PLn", 2, 0.5, 1.0]]
    battery = read_battery(EXAMPLE / "battery.csv", scales=scale_set)
    other = battery.assign(PLn=(battery["PLn"] + 1).clip(upper=5), annotator="other")
    report = agreement_report({"a": battery, "b": other}, ["PLn", "UG"], scale_set).set_index("scale")
    assert report.loc["PLn", "n"] == 40 and report.loc["PLn", "within_one"] == 1.0
    assert report.loc["UG", "exact"] == 1.0


def test_run_config_reads_the_rubrics_key_from_its_folder(tmp_path):
    from assess.runs.config import load_run_config

    text = (Path(__file__).resolve().parents[1] / "examples" / "run_gemma.yaml").read_text()
    (tmp_path / "run.yaml").write_text(text + "\nrubrics: [extra, /abs/rubrics]\n")
    assert load_run_config(tmp_path / "run.yaml").rubrics == [str(tmp_path / "extra"), "/abs/rubrics"]


def test_info_covers_the_user_scale(capsys):
    assert main(["info", str(EXAMPLE / "battery.csv"), "--rubrics", str(USER_RUBRICS)]) == 0
    assert "│ PLn " in capsys.readouterr().out


def test_an_empty_scale_selection_is_refused_where_it_is_given():
    scale_set = default_scale_set()
    with pytest.raises(InputError, match=r"column '--scales': no scale code given; known: AS, CEc"):
        scale_set.check([], key="--scales")
    with pytest.raises(InputError, match=r"column 'scales': no scale code given; known: AS, "):
        scale_set.check((), key="scales", kind="level")
