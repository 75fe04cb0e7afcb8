"""`assess profile model.yaml [...]` or `assess profile --subject S [--battery B --outcomes O]`: ability profiles
with their curves, files and report."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pydantic
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..config import MIN_N, SAMPLE, ProfileConfig, load_profile_config
from ..errors import InputError
from ..profile import ProfileResult, run_profile
from ..report import ABILITIES_JSON, REPORT_HTML, write_comparison
from ..rubrics import LEVEL_MAX
from ..scaleset import rubric_folders
from ..cli_options import RubricsOption, active_scale_set

console = Console()
stderr = Console(stderr=True)

#: ProfileConfig field → the option that sets it on the command line (for error messages).
FLAGS = {"subject": "--subject", "battery": "--battery", "outcomes": "--outcomes", "output_dir": "--out",
         "method": "--method", "bootstrap": "--bootstrap", "min_n": "--min-n"}


def _fmt(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.2f}"


def ability_cell(row) -> str:
    """``ability [95 % interval] (n=…)`` in rich markup: grey when the evidence is insufficient, ↑ past level 5."""
    if row["n"] == 0:
        return "[dim]– (n=0)[/]"
    interval = f" [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]" if np.isfinite(row["ci_low"]) else ""
    if row["insufficient"]:
        return f"[grey50]{_fmt(row['ability'])}{interval} (n={int(row['n'])}) †[/]"
    high = " [yellow]↑[/]" if row["extrapolation"] else ""
    return f"[bold]{_fmt(row['ability'])}[/]{interval} [dim](n={int(row['n'])})[/]{high}"


def profile_table(results: list[ProfileResult]) -> Table:
    """Scales down the side, one column per subject: ability [95 % interval] (n)."""
    min_n = results[0].config.min_n
    table = Table(title="Ability profile" + ("s" if len(results) > 1 else ""), header_style="bold",
                  caption=f"ability [95 % bootstrap interval] (n instances); † (grey): fewer than {min_n} instances, "
                          f"insufficient evidence; ↑ above level {LEVEL_MAX}, an extrapolation")
    table.add_column("scale")
    table.add_column("name", style="dim")
    for result in results:
        table.add_column(escape(result.config.subject), justify="right")
    indexed = [r.abilities.set_index("scale") for r in results]
    names = results[0].scales.names
    for scale in results[0].abilities["scale"]:
        table.add_row(scale, names[scale], *(ability_cell(frame.loc[scale]) for frame in indexed))
    return table


def config_from_flags(subject: str, battery: str | None, outcomes: str | None, out: Path | None,
                      method: str | None, bootstrap: int | None, min_n: int | None) -> ProfileConfig:
    """The ProfileConfig the flags describe, validated as a model.yaml is; errors name the flag."""
    values: dict[str, object] = {"subject": subject, "battery": battery or SAMPLE, "outcomes": outcomes or SAMPLE,
                                 "output_dir": str(out) if out else str(Path("out") / _folder_name(subject))}
    for key, value in (("method", method), ("bootstrap", bootstrap), ("min_n", min_n)):
        if value is not None:
            values[key] = value
    try:
        config = ProfileConfig.model_validate(values)
    except pydantic.ValidationError as err:
        first = err.errors()[0]
        flag = FLAGS.get(str(first["loc"][0]) if first["loc"] else "", "command line")
        raise InputError(f"option {flag}: {first['msg']}") from None
    return config.resolve(Path.cwd())


def _folder_name(subject: str) -> str:
    return re.sub(r"[^\w.-]+", "_", subject).strip("._") or "subject"


def profile(
    ctx: typer.Context,
    configs: list[Path] | None = typer.Argument(None, metavar="MODEL_YAML", show_default=False,
                                                help="One or more model.yaml files (see examples/model.yaml); "
                                                     "or leave out and give --subject."),
    subject: str | None = typer.Option(None, "--subject", help="Profile this subject without a YAML file."),
    battery: str | None = typer.Option(None, "--battery", help="With --subject: battery file or 'sample' "
                                       "(default)."),
    outcomes: str | None = typer.Option(None, "--outcomes", help="With --subject: outcomes file or 'sample' "
                                        "(default)."),
    out: Path | None = typer.Option(None, "--out", help="With --subject: output folder (default out/SUBJECT)."),
    method: str | None = typer.Option(None, "--method", help="Ability method (scc)."),
    bootstrap: int | None = typer.Option(None, "--bootstrap", help="With --subject: bootstrap resamples "
                                         "(default 200)."),
    min_n: int | None = typer.Option(None, "--min-n", help=f"With --subject: fewest instances behind a curve for "
                                     f"its ability to count (default {MIN_N})."),
    force: bool = typer.Option(False, "--force", help="Recompute even when the outputs are up to date."),
    compare_out: Path | None = typer.Option(None, "--compare-out", help="With several configs: write side-by-side "
                                            "comparison.{csv,png,html} here."),
    as_json: bool = typer.Option(False, "--json", help="Write the abilities document (abilities.json) to stdout "
                                 "and nothing else there."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors (and --json output)."),
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """Fit each subject's characteristic curves and write abilities, plots and an HTML report."""
    if configs and subject is not None:
        ctx.fail("give model.yaml files or --subject, not both")
    if not configs and subject is None:
        ctx.fail("Missing argument 'MODEL_YAML...' (or give --subject, --battery and --outcomes)")
    if configs:
        given = [flag for flag, value in (("--battery", battery), ("--outcomes", outcomes), ("--out", out),
                                          ("--bootstrap", bootstrap), ("--min-n", min_n)) if value is not None]
        if given:
            ctx.fail(f"{', '.join(given)} only go with --subject; set them in the model.yaml")
        loaded = [load_profile_config(path) for path in configs]
        if method is not None:
            loaded = [ProfileConfig.model_validate({**c.model_dump(), "method": method}) for c in loaded]
        names = [path.name for path in configs]
    else:
        loaded = [config_from_flags(subject, battery, outcomes, out, method, bootstrap, min_n)]
        names = ["command line"]
    if rubrics:
        loaded = [c.model_copy(update={"rubrics": list(rubric_folders(c.rubrics, [p.resolve() for p in rubrics]))})
                  for c in loaded]
    for config in loaded:
        active_scale_set(None, config.rubrics, console=stderr)
    status = stderr if as_json else console  # --json keeps stdout for the document
    results = _run(loaded, names, force, show=not quiet)
    if as_json:
        documents = [json.loads((Path(r.config.output_dir) / ABILITIES_JSON).read_text()) for r in results]
        typer.echo(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    elif not quiet:
        console.print(profile_table(results))
    if not quiet:
        for result in results:
            state = "up to date, kept" if result.up_to_date else "written"
            status.print(f"{result.config.subject}: {result.n_instances} instances ({result.n_annotated} annotated), "
                         f"accuracy {result.accuracy:.3f}; outputs {state} in {result.config.output_dir} "
                         f"(open {REPORT_HTML})", highlight=False, markup=False)
    if compare_out is not None:
        names = {code: name for r in results for code, name in r.scales.names.items()}
        write_comparison({r.config.subject: r.abilities for r in results}, compare_out, results[0].config.min_n,
                         names)
        if not quiet:
            status.print(f"comparison written to {compare_out}", highlight=False, markup=False)


def _run(loaded: list[ProfileConfig], names: list[str], force: bool, *, show: bool) -> list[ProfileResult]:
    results: list[ProfileResult] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=stderr, transient=True, disable=not show) as progress:
        task = progress.add_task("profiling", total=len(loaded))
        for name, config in zip(names, loaded):
            progress.update(task, description=escape(f"profiling {config.subject} ({name})"))
            results.append(run_profile(config, force=force))
            progress.advance(task)
    return results


def register(app: typer.Typer) -> None:
    """Add `assess profile` to the app."""
    app.command("profile")(profile)
