"""`assess profile model.yaml`: outputs, idempotent re-runs, comparisons, and located config errors."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from assess.cli import main


@pytest.fixture
def workspace(tmp_path: Path, battery, outcomes) -> Path:
    battery.rename(columns={"target": "groundtruth"}).to_csv(tmp_path / "battery.csv", index=False)
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    return tmp_path


def write_config(folder: Path, name: str = "model.yaml", **overrides) -> Path:
    config = {"subject": "strong", "battery": "battery.csv", "outcomes": "outcomes.csv", "output_dir": "out",
              "bootstrap": 50}
    config.update(overrides)
    path = folder / name
    path.write_text(yaml.safe_dump(config))
    return path


def test_profile_writes_every_output(workspace, capsys):
    assert main(["profile", str(write_config(workspace))]) == 0
    out = workspace / "out"
    for name in ("abilities.json", "abilities.csv", "level_success.csv", "radar.png", "curves.png", "report.html"):
        assert (out / name).stat().st_size > 0, name
    data = json.loads((out / "abilities.json").read_text())
    assert data["subject"] == "strong" and len(data["scales"]) == 18
    assert data["n_instances"] == data["n_annotated"] == 600
    qlq = data["scales"]["QLq"]
    assert qlq["ci95"][0] <= qlq["ability"] <= qlq["ci95"][1] and qlq["n"] > 0
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "QLq" in html and "<script" not in html
    assert "Ability profile" in capsys.readouterr().out


def test_rerun_is_idempotent_and_force_rewrites(workspace, capsys):
    config = write_config(workspace)
    main(["profile", str(config)])
    stamp = {p.name: p.stat().st_mtime_ns for p in (workspace / "out").iterdir()}
    before = (workspace / "out" / "abilities.csv").read_text()
    capsys.readouterr()
    assert main(["profile", str(config)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (workspace / "out").iterdir()} == stamp
    main(["profile", str(config), "--force"])
    assert (workspace / "out" / "abilities.csv").read_text() == before  # same seed, same numbers
    assert (workspace / "out" / "abilities.csv").stat().st_mtime_ns != stamp["abilities.csv"]


def test_changed_input_is_recomputed(workspace, outcomes):
    config = write_config(workspace)
    main(["profile", str(config)])
    before = (workspace / "out" / "abilities.csv").read_text()
    outcomes.assign(correct=1 - outcomes["correct"]).to_csv(workspace / "outcomes.csv", index=False)
    main(["profile", str(config)])
    assert (workspace / "out" / "abilities.csv").read_text() != before


def test_several_configs_side_by_side(workspace, capsys):
    a = write_config(workspace, "a.yaml", output_dir="out_a")
    b = write_config(workspace, "b.yaml", subject="weak", output_dir="out_b")
    assert main(["profile", str(a), str(b), "--compare-out", str(workspace / "cmp")]) == 0
    table = (workspace / "cmp" / "comparison.csv").read_text().splitlines()
    assert table[0] == "scale,strong,weak" and len(table) == 19
    assert "strong" in capsys.readouterr().out


def test_filters_restrict_the_battery(workspace):
    main(["profile", str(write_config(workspace, filters={"benchmarks": ["bench_a"]}, bootstrap=0))])
    data = json.loads((workspace / "out" / "abilities.json").read_text())
    assert data["n_instances"] == 200


@pytest.mark.parametrize("overrides, message", [
    ({"subject": "nobody"}, r"key 'subject': 'nobody' has no outcomes"),
    ({"scales": ["QLq", "XYZ"]}, r"model\.yaml: line \d+: scales: unknown level scale code\(s\) 'XYZ'"),
    ({"scales": []}, r"model\.yaml: line \d+: scales: give at least one scale, or leave the key out for every level scale"),
    ({"scales": ["QLq", "KNn", "QLq"]}, r"model\.yaml: line \d+: scales: scale\(s\) listed more than once: QLq"),
    ({"bootstrap": -1}, r"model\.yaml: line \d+: bootstrap: Input should be greater than or equal to 0"),
    ({"colour": "red"}, r"model\.yaml: line \d+: colour: unknown key \(allowed: subject, battery"),
    ({"filters": {"benchmarks": ["nope"]}}, r"key 'filters\.benchmarks': unknown benchmark\(s\) nope; known: bench_a, bench_b"),
    ({"filters": {"benchmark": ["x"]}}, r"line \d+: filters\.benchmark: unknown key \(allowed: benchmarks, tasks\)"),
    ({"battery": "missing.csv"}, r"missing\.csv: file not found"),
])
def test_config_mistakes_name_the_key(workspace, capsys, overrides, message):
    assert main(["profile", str(write_config(workspace, **overrides))]) == 2
    err = capsys.readouterr().err.replace("\n", "")

    assert re.search(message, err), err


def test_missing_required_key_and_malformed_yaml(workspace, capsys):
    path = workspace / "model.yaml"
    path.write_text("subject: strong\nbattery: battery.csv\n")
    assert main(["profile", str(path)]) == 2
    assert "model.yaml: line 1: output_dir: Field required" in capsys.readouterr().err.replace("\n", "")
    path.write_text("subject: strong\n  battery: [unclosed\n")
    assert main(["profile", str(path)]) == 2
    assert "model.yaml: line 2: invalid YAML" in capsys.readouterr().err.replace("\n", "")


def test_bad_outcome_file_fails_the_console_script(workspace):
    (workspace / "outcomes.csv").write_text("subject,instance_id,correct\nstrong,toy/1,2\n")
    proc = subprocess.run([sys.executable, "-m", "assess.cli", "profile", str(write_config(workspace))],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "outcomes.csv: row 1, instance 'toy/1', column 'correct': correct must be 0/1 or a score in [0, 1], got 2" in proc.stderr.replace("\n", "")
    assert "Traceback" not in proc.stderr


def test_unannotated_items_count_as_instances_but_not_as_evidence(workspace, battery):
    battery.loc[:99, ["AS", "CEc", "CEe", "CL", "MCr", "MCt", "MCu", "MS", "QLl", "QLq", "SNs", "KNa", "KNc", "KNf",
                      "KNn", "KNs", "AT", "VO"]] = None
    battery.to_csv(workspace / "battery.csv", index=False)
    main(["profile", str(write_config(workspace, bootstrap=0))])
    data = json.loads((workspace / "out" / "abilities.json").read_text())
    assert data["n_instances"] == 600 and data["n_annotated"] == 500
    assert sum(scale["n"] for scale in data["scales"].values()) >= 500


def test_per_subject_outcome_file_takes_the_configured_subject(workspace, outcomes):
    per_subject = outcomes[outcomes["subject"] == "weak"].drop(columns="subject")
    per_subject.to_csv(workspace / "weak_run.csv", index=False)
    assert main(["profile", str(write_config(workspace, subject="weak", outcomes="weak_run.csv", bootstrap=0))]) == 0
    data = json.loads((workspace / "out" / "abilities.json").read_text())
    assert data["subject"] == "weak" and data["n_instances"] == 600
