"""`assess run run.yaml`: run a subject on a battery and store each output and its correctness."""
from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console

from ..runs.config import load_run_config
from ..runs.job import run_job, settings_path
from ..scaleset import rubric_folders
from ..cli_options import RubricsOption, active_scale_set
from ..cli_progress import progress_bars

console = Console(stderr=True, log_path=False)  # log lines without the source file name


def run(
    config_path: Path = typer.Argument(..., metavar="RUN_YAML", help="A run config (see examples/run_gemma.yaml)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write outcomes here instead of the "
                                       "config's output (.parquet or .csv); the cache moves beside it."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Run at most this many items (overrides "
                                     "select.limit)."),
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """Generate (or reuse cached) outputs, score them, and write outcomes plus their settings."""
    config = load_run_config(config_path)
    if rubrics:
        config = config.model_copy(update={"rubrics": list(rubric_folders(config.rubrics,
                                                                          [p.resolve() for p in rubrics]))})
    active_scale_set(None, config.rubrics, console=console)
    if output is not None:
        output = output.resolve()
        config = config.model_copy(update={"output": str(output), "cache": str(output.with_suffix(".sqlite"))})
    if limit is not None:
        config = config.model_copy(update={"select": config.select.model_copy(update={"limit": limit})})
    with progress_bars(console) as progress:
        _, summary = asyncio.run(run_job(config, progress))
    console.print(summary.text(), highlight=False, markup=False)
    console.print(f"wrote {config.output} and {settings_path(config.output)}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add `assess run` to the app."""
    app.command("run")(run)
