"""Issue 15, findings 2, 3, 4, 6 and 7: hostile YAML, hijacked error printing, API keys, filesystem and
state errors, outputs after kill -9, and reruns that reread nothing.

Command lines that could hang, blow up memory or crash run in forked children with limits
(tests/cli_sandbox.py); the rest call :func:`assess.cli.main` in process.
"""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from annotate_fixtures import batch_cli, export_batch, json_answer, write_annotator, write_battery, write_results
from assess import profile as profile_module
from assess.cli import main
from assess.errors import InputError
from assess.runs.store import RunCache
from assess.scales import ANNOTATED
from cli_sandbox import run_cases
from conftest import synthetic_battery, synthetic_outcomes
from faultserver import FaultServer

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))


def _profile_config(folder: Path, name: str = "model.yaml", **overrides) -> Path:
    config = {"subject": "strong", "battery": "battery.csv", "outcomes": "outcomes.csv", "output_dir": "out",
              "bootstrap": 20}
    config.update(overrides)
    (folder / name).write_text(yaml.safe_dump(config))
    return folder / name


def _unwritable(folder: Path) -> str:
    """A directory this process cannot create files in (root ignores modes, so use read-only /sys)."""
    if os.geteuid() != 0:
        folder.mkdir()
        folder.chmod(0o500)
        return str(folder / "out")
    return "/sys/assess-hardening-test"


def _unreadable(folder: Path) -> Path:
    path = folder / "unreadable.csv"
    if os.geteuid() != 0:
        path.write_text("instance_id\nx\n")
        path.chmod(0)
    else:
        path.symlink_to("/proc/self/mem")  # a regular file whose reads fail, even for root
    return path


def _setups(root: Path) -> dict[str, tuple[list[str], str]]:
    """name → (argv, text the located message must contain), after writing each case's files."""
    battery = synthetic_battery(120)
    outcomes = synthetic_outcomes(battery, {"strong": 4.0, "[red]ghost[/red]": 2.0})
    cases: dict[str, tuple[list[str], str]] = {}

    def folder(name: str) -> Path:
        path = root / name
        path.mkdir()
        battery.to_csv(path / "battery.csv", index=False)
        outcomes.to_csv(path / "outcomes.csv", index=False)
        return path

    f = folder("yaml_billion_laughs")
    (f / "model.yaml").write_text(LAUGHS + "subject: *i\noutput_dir: out\n")
    cases[f.name] = (["profile", str(f / "model.yaml")], "aliases (*")
    f = folder("yaml_self_alias")
    (f / "model.yaml").write_text("subject: strong\noutput_dir: out\nfilters: &loop {benchmarks: [*loop]}\n")
    cases[f.name] = (["profile", str(f / "model.yaml")], "line 3: invalid YAML: aliases")
    f = folder("yaml_deep_nesting")
    (f / "model.yaml").write_text("subject: strong\noutput_dir: out\nscales: " + "[" * 5000 + "]" * 5000 + "\n")
    cases[f.name] = (["profile", str(f / "model.yaml")], "nested deeper than")
    f = folder("yaml_bomb_annotator")
    write_annotator(f, LAUGHS + "name: x\nbackend: batch-file\nmodel: *i\n")
    cases[f.name] = (["annotate", str(f / "battery.csv"), "--annotator", str(f / "annotator.yaml")], "aliases (*")
    f = folder("yaml_bomb_run")
    (f / "run.yaml").write_text(LAUGHS + "subject: *i\nbattery: battery.csv\n")
    cases[f.name] = (["run", str(f / "run.yaml")], "aliases (*")
    f = folder("yaml_bomb_rubric")
    (f / "rubrics").mkdir()
    (f / "rubrics" / "QLq.yaml").write_text(LAUGHS + "code: QLq\nname: *i\n")
    cases[f.name] = (["rubrics", "--dir", str(f / "rubrics")], "aliases (*")
    f = folder("markup_in_path")
    cases[f.name] = (["profile", str(f / "conf[/x].yaml")], "conf[/x].yaml: file not found")
    f = folder("markup_in_subject")
    cases[f.name] = (["profile", str(_profile_config(f, subject="[bold]nobody[/bold]"))], "'[bold]nobody[/bold]'")
    f = folder("output_dir_is_a_file")
    (f / "out").write_text("not a folder")
    cases[f.name] = (["profile", str(_profile_config(f))], "out: column 'output_dir': output_dir is a file")
    f = folder("output_dir_read_only")
    cases[f.name] = (["profile", str(_profile_config(f, output_dir=_unwritable(f / "locked")))], "cannot write outputs")
    f = folder("manifest_is_a_directory")
    (f / "out" / "manifest.json").mkdir(parents=True)
    cases[f.name] = (["profile", str(_profile_config(f))], "manifest.json is a directory")
    f = folder("battery_unreadable")
    cases[f.name] = (["profile", str(_profile_config(f, battery=str(_unreadable(f))))], "cannot read file")
    f = folder("battery_is_a_directory")
    (f / "dir.csv").mkdir()
    cases[f.name] = (["profile", str(_profile_config(f, battery="dir.csv"))], "dir.csv: is a directory")
    f = folder("battery_utf16")
    (f / "battery.csv").write_bytes(battery.to_csv(index=False).encode("utf-16"))
    cases[f.name] = (["profile", str(_profile_config(f))], "UTF-16")
    f = folder("battery_without_levels")
    battery[["instance_id", "benchmark", "task", "prompt", "target"]].to_csv(f / "battery.csv", index=False)
    cases[f.name] = (["profile", str(_profile_config(f))], "annotate the battery first")
    f = folder("outcomes_only_on_unannotated_items")
    half = battery.copy()
    half.loc[:59, list(ANNOTATED)] = None
    half.to_csv(f / "battery.csv", index=False)
    outcomes[outcomes["instance_id"].isin(half["instance_id"][:60])].to_csv(f / "outcomes.csv", index=False)
    cases[f.name] = (["profile", str(_profile_config(f))], "annotate the battery first")
    f = folder("nan_subject")
    broken = outcomes.copy()
    broken.loc[5, "subject"] = None
    broken.to_csv(f / "outcomes.csv", index=False)
    cases[f.name] = (["profile", str(_profile_config(f))], "row 6, column 'subject': empty subject")
    return cases


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    setups = _setups(root)
    results = run_cases([{"argv": argv, "cwd": str(root)} for argv, _ in setups.values()], root / "runs")
    return {name: (result, setups[name][1], root / name) for name, result in zip(setups, results)}


CASES = ["yaml_billion_laughs", "yaml_self_alias", "yaml_deep_nesting", "yaml_bomb_annotator", "yaml_bomb_run",
         "yaml_bomb_rubric", "markup_in_path", "markup_in_subject", "output_dir_is_a_file", "output_dir_read_only",
         "manifest_is_a_directory", "battery_unreadable", "battery_is_a_directory", "battery_utf16",
         "battery_without_levels", "outcomes_only_on_unannotated_items", "nan_subject"]


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_a_located_message_with_exit_2(sandboxed, name):
    result, message, folder = sandboxed[name]
    assert result.signal is None, f"killed by signal {result.signal} after {result.seconds:.0f} s"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, (result.returncode, result.stderr[-1000:])
    assert message in result.stderr, result.stderr
    assert "file not found" not in result.stderr or name == "markup_in_path"
    assert not (folder / "out" / "abilities.json").exists()
    assert result.peak_rss_mb < 2000


def test_markup_in_data_is_shown_literally(tmp_path, capsys):
    battery = synthetic_battery(60)
    battery.to_csv(tmp_path / "battery.csv", index=False)
    synthetic_outcomes(battery, {"strong": 4.0}).to_csv(tmp_path / "outcomes.csv", index=False)
    assert main(["profile", str(_profile_config(tmp_path, subject="[red]x[/red]"))]) == 2
    err = capsys.readouterr().err
    assert "'[red]x[/red]' has no outcomes" in err


@pytest.mark.parametrize("key", ["sk-good\nsk-second-line", "sk-é-unicode", "sk-abc123 xyz789"])
def test_bad_api_key_is_refused_before_any_request_and_never_printed(tmp_path, capsys, monkeypatch, key):
    write_battery(tmp_path)
    monkeypatch.setenv("HARDENING_KEY", key)
    with FaultServer() as server:
        write_annotator(tmp_path, f"name: k\nbackend: openai\nmodel: m\nbase_url: {server.base_url}\n"
                                  "api_key_env: HARDENING_KEY\n"
                                  "retry: {max_attempts: 6, initial_delay_s: 0.01, max_delay_s: 0.02}\n")
        code = main(["annotate", str(tmp_path / "battery.csv"), "--annotator", str(tmp_path / "annotator.yaml"),
                     "--scales", "QLq", "--cache", str(tmp_path / "c.sqlite")])
    captured = capsys.readouterr()
    assert code == 2 and server.received == 0
    assert "HARDENING_KEY" in captured.err and "position" in captured.err
    for part in key.split():
        assert part not in captured.err + captured.out


@pytest.fixture
def annotated_cache(tmp_path):
    write_battery(tmp_path)
    write_annotator(tmp_path, "name: batch-test\nbackend: batch-file\nmodel: gpt-test\nrepair_attempts: 1\n", "batch.yaml")
    requests = export_batch(tmp_path)
    write_results(tmp_path / "results.jsonl", {r["custom_id"]: json_answer({"QLq": 2, "QLl": 1, "UG": 50})
                                               for r in requests})
    assert batch_cli(tmp_path, "--import-results", str(tmp_path / "results.jsonl")) == 0
    write_results(tmp_path / "none.jsonl", {})
    return tmp_path


@pytest.mark.parametrize("tamper, message", [
    ("UPDATE answers SET transcript = '{garbled' WHERE rowid = 1", "corrupt cache entry for instance"),
    ("UPDATE answers SET levels = '{\"QLq\": 99, \"QLl\": 1, \"UG\": 50}' WHERE rowid = 1", "level 99 for QLq"),
    ("ALTER TABLE answers DROP COLUMN source", "annotation cache has another layout"),
])
def test_tampered_annotation_cache_is_a_located_error(annotated_cache, capsys, tamper, message):
    with sqlite3.connect(annotated_cache / "cache.sqlite") as db:
        db.execute(tamper)
    capsys.readouterr()
    out = annotated_cache / "annotated.csv"
    assert batch_cli(annotated_cache, "--import-results", str(annotated_cache / "none.jsonl"), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "cache.sqlite" in err and message in err, err
    assert not out.exists()


def test_tampered_run_cache_is_a_located_error(tmp_path):
    cache = RunCache(tmp_path / "run.sqlite")
    cache.put_many({"k1": {"text": "fine"}})
    cache.close()
    with sqlite3.connect(tmp_path / "run.sqlite") as db:
        db.execute("UPDATE entries SET payload = '[not json'")
    cache = RunCache(tmp_path / "run.sqlite")
    with pytest.raises(InputError, match="run.sqlite: corrupt cache entry"):
        cache.get_many(["k1"])
    cache.close()


@pytest.fixture
def workspace(tmp_path):
    battery = synthetic_battery(200)
    battery.to_csv(tmp_path / "battery.csv", index=False)
    synthetic_outcomes(battery, {"strong": 4.0, "weak": 2.0, "mid": 3.0}).to_csv(tmp_path / "outcomes.csv", index=False)
    return tmp_path


def _killed_run(argv: list[str], after_files: int) -> None:
    """Run ``main(argv)`` in a forked child that dies (as by kill -9) once ``after_files`` report files are written."""
    from assess import atomic

    pid = os.fork()
    if pid == 0:
        written = 0
        original = atomic.write_text

        def dying_write(target, text):
            nonlocal written
            original(target, text)
            written += 1
            if written >= after_files:
                os._exit(137)

        atomic.write_text = dying_write  # write_json goes through it too
        main(argv)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 137


def test_outputs_of_two_runs_never_mix_after_a_kill(workspace, capsys):
    first = _profile_config(workspace, bootstrap=20)
    assert main(["profile", str(first)]) == 0
    out = workspace / "out"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    second = _profile_config(workspace, "other.yaml", bootstrap=30)
    _killed_run(["profile", str(second)], after_files=2)  # abilities.json and .csv of the new config written
    (out / ".abilities.json.leftover.json").write_text("{}")  # a temporary file from a killed atomic write
    capsys.readouterr()
    assert main(["profile", str(first)]) == 0
    assert "up to date, kept" in capsys.readouterr().out
    assert json.loads((out / "abilities.json").read_text())["settings"]["bootstrap"] == 20
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old generation, whole; leftovers gone
    assert main(["profile", str(second)]) == 0
    assert json.loads((out / "abilities.json").read_text())["settings"]["bootstrap"] == 30
    assert json.loads((out / "manifest.json").read_text())["files"] and not list(out.glob(".*"))


def test_a_killed_comparison_leaves_the_previous_one_whole(workspace, capsys):
    configs = {s: _profile_config(workspace, f"{s}.yaml", subject=s, output_dir=f"out-{s}")
               for s in ("strong", "weak", "mid")}
    cmp = workspace / "cmp"
    assert main(["profile", str(configs["strong"]), str(configs["weak"]), "--compare-out", str(cmp)]) == 0
    manifest = json.loads((cmp / "comparison_manifest.json").read_text())
    assert manifest == {"subjects": ["strong", "weak"],
                        "files": ["comparison.csv", "comparison.png", "comparison.html"]}
    assert main(["profile", str(configs["mid"])]) == 0  # profiled now, so the killed run below only compares
    before = {p.name: p.read_bytes() for p in cmp.iterdir()}
    _killed_run(["profile", str(configs["strong"]), str(configs["mid"]), "--compare-out", str(cmp)], after_files=2)
    staged = [p for p in cmp.iterdir() if p.name.startswith(".generation-")]
    assert len(staged) == 1 and {p.name for p in staged[0].iterdir()} == {"comparison.csv", "comparison.png",
                                                                         "comparison.html"}  # no manifest yet
    assert {p.name: p.read_bytes() for p in cmp.iterdir() if p not in staged} == before  # old generation, whole
    capsys.readouterr()
    assert main(["profile", str(configs["strong"]), str(configs["mid"]), "--compare-out", str(cmp)]) == 0
    assert (cmp / "comparison.csv").read_text().splitlines()[0] == "scale,strong,mid"
    assert json.loads((cmp / "comparison_manifest.json").read_text())["subjects"] == ["strong", "mid"]
    assert not list(cmp.glob(".*"))  # the killed run's staging folder is cleared


def test_outcome_table_is_read_once_and_up_to_date_reruns_read_nothing(workspace, monkeypatch, capsys):
    configs = [_profile_config(workspace, f"{s}.yaml", subject=s, output_dir=f"out-{s}") for s in ("strong", "weak", "mid")]
    reads = {"battery": 0, "outcomes": 0}

    def counting(name, function):
        def wrapper(*args, **kwargs):
            reads[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(profile_module, "read_battery", counting("battery", profile_module.read_battery))
    monkeypatch.setattr(profile_module, "read_outcomes", counting("outcomes", profile_module.read_outcomes))
    for cached in (profile_module._read_battery, profile_module._read_outcomes):
        cached.cache_clear()
    assert main(["profile", *map(str, configs)]) == 0
    assert reads == {"battery": 1, "outcomes": 1}
    for cached in (profile_module._read_battery, profile_module._read_outcomes):
        cached.cache_clear()  # as in a new process
    capsys.readouterr()
    assert main(["profile", *map(str, configs)]) == 0
    assert " ".join(capsys.readouterr().out.split()).count("up to date, kept") == 3
    assert reads == {"battery": 1, "outcomes": 1}
    tables = [pd.read_csv(workspace / f"out-{s}" / "abilities.csv") for s in ("strong", "weak")]
    assert tables[0]["ability"].mean() > tables[1]["ability"].mean()


def test_unwritable_output_of_any_command_is_a_located_error(annotated_cache, capsys):
    target = Path(_unwritable(annotated_cache / "locked")) / "requests.jsonl"
    capsys.readouterr()
    assert batch_cli(annotated_cache, "--export-requests", str(target)) == 2
    err = capsys.readouterr().err
    assert str(target.parent) in err and "Traceback" not in err
