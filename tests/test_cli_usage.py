"""The command line itself: usage errors exit 2 with the usage line (no traceback), commands load lazily."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assess.cli import COMMANDS, LazyGroup, main
from runs_fixtures import ScriptedServer, write_battery, write_run_config


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assess.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    ([], "Usage: assess [OPTIONS] COMMAND [ARGS]..."),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["profil"], "Did you mean 'profile'?"),
    (["profile"], "Missing argument 'MODEL_YAML...'"),
    (["profile", "--bogus", "x.yaml"], "No such option: --bogus"),
    (["fit"], "Missing argument 'MODEL_DIR'"),
    (["evaluate", "ev", "--sample", "--folds", "1"], "Invalid value for '--folds'"),
    (["run", "x.yaml", "--limit", "0"], "Invalid value for '--limit'"),
    (["profile", "a.yaml", "--subject", "s"], "give model.yaml files or --subject, not both"),
    (["profile", "a.yaml", "--battery", "b.csv"], "--battery only go with --subject"),
])
def test_usage_errors_print_usage_and_exit_2(args, message):
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    output = proc.stdout + proc.stderr
    assert "Usage: assess" in output and message in output
    assert "Traceback" not in output


def test_usage_errors_through_main_return_2(capsys):
    assert main(["fit"]) == 2
    err = capsys.readouterr().err
    assert "Usage: assess fit" in err and "Missing argument 'MODEL_DIR'" in err
    assert main(["--version"]) == 0


def test_help_imports_no_command_module_and_no_heavy_library():
    probe = ("import sys\nfrom assess.cli import main\ncode = main(['--help'])\n"
             "print(code, sorted(m for m in sys.modules if m.split('.')[0] in "
             "('scipy', 'matplotlib', 'torch', 'pandas', 'sklearn') or m.startswith('assess.commands')))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    code, _, modules = proc.stdout.strip().splitlines()[-1].partition(" ")
    assert code == "0" and modules == "[]"
    for name in COMMANDS:
        assert name in proc.stdout


def test_a_command_loads_only_its_own_module():
    probe = ("import sys\nfrom assess.cli import main\nmain(['rubrics'])\n"
             "print(sorted(m for m in sys.modules if m.startswith('assess.commands.') or m.split('.')[0] in "
             "('scipy', 'matplotlib', 'torch')))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "['assess.commands.rubrics']"


def test_listed_help_matches_each_loaded_command():
    import typer

    group = typer.main.get_group(__import__("assess.cli", fromlist=["app"]).app)
    assert isinstance(group, LazyGroup)
    for name, (_, short_help) in COMMANDS.items():
        command = group.load(name)
        assert command.name == name
        first_line = (command.help or "").strip().splitlines()[0]
        assert first_line == short_help, name


def test_run_log_lines_do_not_name_source_files(tmp_path, capsys):
    write_battery(tmp_path)
    with ScriptedServer() as server:
        assert main(["run", str(write_run_config(tmp_path, server.base_url))]) == 0
    err = capsys.readouterr().err
    assert "generated 8/8" in err
    assert ".py:" not in err
    json.loads((tmp_path / "out" / "outcomes.settings.json").read_text())
