"""`assess profile model.yaml [...]`: ability profiles with their curves, files and report."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..config import load_profile_config
from ..plots import FEW_INSTANCES
from ..profile import ProfileResult, run_profile
from ..report import REPORT_HTML, write_comparison
from ..scaleset import rubric_folders
from .options import RubricsOption, active_scale_set

console = Console()


def _fmt(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.2f}"


def profile_table(results: list[ProfileResult]) -> Table:
    """Scales down the side, one column per subject: ability [95 % interval] (n)."""
    table = Table(title="Ability profile" + ("s" if len(results) > 1 else ""), header_style="bold",
                  caption=f"ability [95 % bootstrap interval] (n instances); * fewer than {FEW_INSTANCES} instances")
    table.add_column("scale")
    table.add_column("name", style="dim")
    for result in results:
        table.add_column(result.config.subject, justify="right")
    indexed = [r.abilities.set_index("scale") for r in results]
    names = results[0].scales.names
    for scale in results[0].abilities["scale"]:
        cells = []
        for frame in indexed:
            row = frame.loc[scale]
            interval = f" [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]" if np.isfinite(row["ci_low"]) else ""
            few = " [yellow]*[/]" if 0 < row["n"] < FEW_INSTANCES else ""
            cells.append(f"[bold]{_fmt(row['ability'])}[/]{interval} [dim](n={int(row['n'])})[/]{few}")
        table.add_row(scale, names[scale], *cells)
    return table


def profile(
    configs: list[Path] = typer.Argument(..., help="One or more model.yaml files (see examples/model.yaml)."),
    force: bool = typer.Option(False, "--force", help="Recompute even when the outputs are up to date."),
    compare_out: Path | None = typer.Option(None, "--compare-out", help="With several configs: write side-by-side "
                                            "comparison.{csv,png,html} here."),
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """Fit each subject's characteristic curves and write abilities, plots and an HTML report."""
    loaded = [load_profile_config(path) for path in configs]
    if rubrics:
        loaded = [c.model_copy(update={"rubrics": list(rubric_folders(c.rubrics, [p.resolve() for p in rubrics]))})
                  for c in loaded]
    for config in loaded:
        active_scale_set(None, config.rubrics, console=console)
    results: list[ProfileResult] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("profiling", total=len(loaded))
        for path, config in zip(configs, loaded):
            progress.update(task, description=f"profiling {config.subject} ({path.name})")
            results.append(run_profile(config, force=force))
            progress.advance(task)
    console.print(profile_table(results))
    for result in results:
        state = "up to date, kept" if result.up_to_date else "written"
        console.print(f"{result.config.subject}: {result.n_instances} instances ({result.n_annotated} annotated), accuracy {result.accuracy:.3f}; "
                      f"outputs {state} in {result.config.output_dir} (open {REPORT_HTML})")
    if compare_out is not None:
        write_comparison({r.config.subject: r.abilities for r in results}, compare_out)
        console.print(f"comparison written to {compare_out}")


def register(app: typer.Typer) -> None:
    """Add `assess profile` to the app."""
    app.command("profile")(profile)
