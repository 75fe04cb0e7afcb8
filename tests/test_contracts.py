"""Stable contracts between stages: schema round trips, registries with entry points, the public entry points."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import assess
from assess.errors import AssessError, InputError
from assess.progress import ProgressEvent
from assess.registry import BACKENDS, Registry
from assess.runs.job import read_run_settings, settings_path, write_outcomes
from assess.schemas import (AbilitiesFile, Excluded, ProfileSettings, RunSettingsFile, ScaleAbility, read_file,
                            read_predictions, write_file, write_predictions)
from assess.sources import read_outcomes

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "scales"


def _abilities() -> AbilitiesFile:
    settings = ProfileSettings(method="scc", min_n=30, bootstrap=10, seed=3, dominant_only=True, min_ug=75.0, level_diff=0.0,
                               round_levels=False, filters={"benchmarks": ["bbh"], "tasks": []}, rubrics=["/r"],
                               scale_set_hash="ab" * 32)
    return AbilitiesFile(subject="m", assess_version="0.1.0", n_instances=40, n_annotated=38, accuracy=0.6,
                         settings=settings, excluded=Excluded(low_ug=3, missing_ug=1), scales={
                             "QLq": ScaleAbility(name="Quantitative reasoning", family="elemental", kind="level", insufficient_evidence=True,
                                                 extrapolation=False, ability=2.5, ci95=(1.9, 3.2), n=12, intercept=3.1, slope=-1.2),
                             "PLn": ScaleAbility(name="Planning", family="elemental", kind="level", insufficient_evidence=False, extrapolation=False, ability=None,
                                                 ci95=(None, None), n=0, intercept=None, slope=None)})


def test_abilities_json_round_trips(tmp_path):
    document = _abilities()
    write_file(tmp_path / "abilities.json", document)
    assert read_file(tmp_path / "abilities.json", AbilitiesFile) == document
    assert json.loads((tmp_path / "abilities.json").read_text())["schema_version"] == 1
    assert pd.isna(document.abilities()["PLn"]) and document.abilities()["QLq"] == 2.5


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(schema_name="assess.other"), r"not an assess.abilities file \(schema_name 'assess.other'\)"),
    (lambda d: d.update(schema_version=2), r"column 'schema_version': schema_version: Input should be 1"),
    (lambda d: d["scales"]["QLq"].update(n=-1), r"scales.QLq.n: Input should be greater than or equal to 0"),
])
def test_abilities_json_of_another_schema_is_refused(tmp_path, change, message):
    data = _abilities().model_dump(mode="json")
    change(data)
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=message):
        read_file(tmp_path / "a.json", AbilitiesFile)


def test_run_settings_and_outcomes_round_trip(tmp_path):
    settings = RunSettingsFile(subject="m", battery="sample", outcomes=str(tmp_path / "o.parquet"),
                               backend={"backend": "openai", "model": "x"}, solver={"solver": "generate"},
                               scorer="auto", regex=None, tolerance={"rel": 1e-6, "abs": 1e-9}, judge=None, fewshot=0,
                               templates={"default": "{prompt}"}, select={"limit": 3}, rubrics=[str(EXAMPLE)],
                               summary={"items": 2}, skipped=[{"instance_id": "c", "problem": "no target"}])
    outcomes = pd.DataFrame({"subject": "m", "instance_id": ["a", "b"], "successes": [3.0, 0.0],
                             "trials": [4.0, 1.0], "raw_output": ["x", "y"]})
    write_outcomes(outcomes, tmp_path / "o.parquet")
    write_file(settings_path(tmp_path / "o.parquet"), settings)
    assert read_run_settings(tmp_path / "o.parquet") == settings
    back = read_outcomes(tmp_path / "o.parquet")
    assert back[["instance_id", "correct", "successes", "trials"]].values.tolist() == [["a", 0.75, 3.0, 4.0],
                                                                                      ["b", 0.0, 0.0, 1.0]]


def test_predictions_round_trip_and_bad_rows_are_named(tmp_path):
    table = pd.DataFrame({"instance_id": ["a", "b"], "subject": ["", "m"], "p_success": [0.25, 1.0]})
    for name in ("p.csv", "p.parquet"):
        write_predictions(table, tmp_path / name)
        pd.testing.assert_frame_equal(read_predictions(tmp_path / name), table)
    table.assign(p_success=[0.5, 1.5]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError, match=r"bad.csv: row 2, column 'p_success': Input should be less than or equal"):
        read_predictions(tmp_path / "bad.csv")


def test_registry_finds_plugins_through_entry_points(tmp_path, monkeypatch):
    (tmp_path / "assess_test_plugin.py").write_text("def make(options):\n    return ('plugin', options)\n")
    dist = tmp_path / "assess_test_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: assess-test-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[assess.test_plugins]\nmine = assess_test_plugin:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("widget", "assess.test_plugins")
    registry.register("builtin", lambda options: ("builtin", options))
    assert registry.get("mine")(1) == ("plugin", 1) and registry.names() == ("builtin", "mine")
    with pytest.raises(InputError, match=r"column 'kind': unknown widget 'other'; choose one of builtin, mine"):
        registry.get("other", key="kind")
    with pytest.raises(AssessError, match="widget 'builtin' is registered twice"):
        registry.register("builtin", print)
    assert {"openai", "llama-cpp", "transformers", "vllm"} <= set(BACKENDS.names())


def test_import_assess_stays_light_and_entry_points_load_on_use():
    code = textwrap.dedent("""
        import sys, assess
        heavy = [m for m in ("pandas", "scipy", "matplotlib", "torch", "sklearn") if m in sys.modules]
        assert not heavy, heavy
        assert assess.Battery.__name__ == "Battery" and callable(assess.profile)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.stdout.strip() == "ok", result.stderr


def test_predictors_exports_are_never_shadowed_by_their_submodules():
    code = textwrap.dedent("""
        import predictors.protocols  # the submodule of the protocols, imported first
        from predictors import PROTOCOLS, evaluate
        import predictors
        assert callable(evaluate) and evaluate.__name__ == "evaluate" and evaluate.__module__ == "predictors.protocols"
        assert predictors.evaluate is evaluate and "new_subject" in PROTOCOLS
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.stdout.strip() == "ok", result.stderr


def test_public_entry_points_profile_the_example(tmp_path):
    battery = assess.Battery.read(EXAMPLE / "battery.csv", rubrics=[EXAMPLE / "rubrics"])
    assert len(battery) == 40 and battery.demands().shape == (40, 19) and "PLn" in battery.scales
    outcomes = assess.read_outcomes(EXAMPLE / "outcomes.csv", battery=battery)
    assert set(outcomes["subject"]) == {"code-davinci-002-cot", "code-davinci-002-direct"}
    result = assess.profile(subject="code-davinci-002-direct", battery=str(EXAMPLE / "battery.csv"),
                            outcomes=str(EXAMPLE / "outcomes.csv"), rubrics=str(EXAMPLE / "rubrics"),
                            output_dir=str(tmp_path / "out"), bootstrap=0)
    assert "PLn" in set(result.abilities["scale"]) and (tmp_path / "out" / "abilities.json").is_file()
    with pytest.raises(InputError, match=r"assess.profile\(\): colour: unknown key"):
        assess.profile(subject="m", output_dir=str(tmp_path), colour="red")


def test_library_progress_goes_to_the_callback():
    from predictors import DemandAssessor, evaluate
    from test_predictors_helpers import synthetic_battery, synthetic_outcomes

    battery = synthetic_battery(120)
    events: list[ProgressEvent] = []
    evaluate(DemandAssessor(classifier="logistic"), battery, synthetic_outcomes(battery, {"a": 2.0, "b": 3.0}),
             n_splits=2, progress=events.append)
    assert events[0] == ProgressEvent("evaluating", 0, 2) and events[-1] == ProgressEvent("evaluating", 2, 2)
