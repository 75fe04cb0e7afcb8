"""`assess annotate`: fill a battery's demand levels from an LLM annotator (live or via batch files)."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.markup import escape
from rich.table import Table

from ..annotate import AnnotationJob, AnnotationStore, export_requests, import_results, load_annotator, run_live
from ..atomic import write_table
from ..annotate.agreement import REPORT_COLUMNS, aggregate, agreement_report
from ..annotate.attempts import pending_requests
from ..annotate.preflight import plan
from ..annotate.results import failures_table, usable_answers
from ..annotate.summary import RunSummary
from ..errors import InputError
from ..scaleset import ScaleSet
from ..sources import read_battery
from ..cli_options import RubricsOption, active_scale_set, scale_option

HELP = """Annotate BATTERY (CSV/Parquet/JSONL in battery layout) with demand levels from an LLM annotator.

Live backends (openai, llama-cpp, transformers, vllm) answer every request not yet in the cache:

  assess annotate battery.csv --annotator annotator.yaml --mode all-scales --out annotated.csv

Batch files (any backend; `batch-file` annotators can only do this), in two steps:

  assess annotate battery.csv --annotator batch.yaml --export-requests requests.jsonl

  (submit requests.jsonl to an OpenAI-style Batch API, or answer it by hand)

  assess annotate battery.csv --annotator batch.yaml --import-results results.jsonl --out annotated.csv

Each request line's custom_id is its cache key (<key>:r<n> for its n-th repair prompt); a results line is
the provider's batch output line or {"custom_id": ..., "content": "<answer text>"}. Unparsable answers
are stored as failures with the raw text; exporting again sends repair prompts for them while repair
attempts remain. Only answers to the prompt now pending are stored: re-importing an old results file
changes nothing. Every answer is kept in the cache (--cache), so an interrupted run resumes without
paying twice. --out keeps the earlier levels and provenance of rows this job did not answer.

--dry-run prints the requests still to send, their prompt tokens and the estimated cost, and sends
nothing. Before the first call, a prompt longer than the backend's context stops the run with the
n_ctx it needs. On a terminal progress is a bar; otherwise (a log file, CI) a plain line every
--log-every seconds.
"""

_console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add the `annotate` and `agreement` commands to the `assess` app."""
    app.command("annotate", help=HELP)(annotate_command)
    app.command("agreement", help=AGREEMENT_HELP)(agreement_command)


def annotate_command(
    battery: Annotated[Path, typer.Argument(help="battery file (CSV, Parquet or JSONL)")],
    annotator: Annotated[Path, typer.Option("--annotator", help="annotator YAML (name, backend, model, ...)")],
    scales: Annotated[Optional[str], typer.Option(help="comma-separated scale codes (default: every scale with a rubric)")] = None,
    mode: Annotated[str, typer.Option(help="per-scale (one request per instance and scale) or all-scales (one per instance, JSON)")] = "all-scales",
    rubrics: Optional[list[Path]] = RubricsOption,
    cache: Annotated[Path, typer.Option(help="SQLite answer cache, shared by reruns and by both batch steps")] = Path("annotations.sqlite"),
    out: Annotated[Optional[Path], typer.Option(help="annotated battery to write (.csv or .parquet)")] = None,
    export_requests_to: Annotated[Optional[Path], typer.Option("--export-requests", help="write pending requests as OpenAI Batch API JSONL and stop")] = None,
    import_results_from: Annotated[Optional[Path], typer.Option("--import-results", help="read answers from a batch results JSONL")] = None,
    retry_failures: Annotated[bool, typer.Option(help="give requests that failed every repair one more attempt (on export and import)")] = False,
    failures: Annotated[Optional[Path], typer.Option(help="write failed requests with their raw answers (.csv or .parquet)")] = None,
    protocol_version: Annotated[str, typer.Option(help="v1, or v2: multiple-choice formats must count the options each prompt lists")] = "v1",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print requests, prompt tokens and estimated cost; send nothing")] = False,
    log_every: Annotated[float, typer.Option(min=0.0, help="seconds between progress lines when stderr is not a terminal")] = 30.0,
) -> None:
    if export_requests_to and import_results_from:
        raise InputError("give --export-requests or --import-results, not both", column="--export-requests")
    config = load_annotator(annotator)
    scale_set = active_scale_set(rubrics, config.rubrics, console=_console)
    job = AnnotationJob.build(read_battery(battery, scales=scale_set), config, scale_set,
                              scales.split(",") if scales else None, mode, protocol_version)
    with AnnotationStore(cache) as store:
        if dry_run:
            _print_plan(job, store, retry_failures)
            return
        if export_requests_to:
            count = export_requests(job.requests, store, config, export_requests_to, retry_failures=retry_failures)
            _console.print(f"wrote {count} request(s) of {len(job.requests)} to {export_requests_to} "
                           f"(the rest are answered in {cache})", markup=False)
            return
        if import_results_from:
            summary = import_results(job.requests, store, config, import_results_from, retry_failures=retry_failures)
        else:
            summary = _run_live(job, store, retry_failures, log_every)
        _finish(job, store, summary, out, failures)


def _print_plan(job: AnnotationJob, store: AnnotationStore, retry_failures: bool) -> None:
    """The dry run: what a live run (or an export) would send, estimated without loading the model."""
    answers = store.get(r.key for r in job.requests)
    todo = pending_requests(job.requests, answers, job.config, retry_failures)
    sized = plan(todo, len(job.requests) - len(todo), job.config)
    table = Table(title=f"dry run: {job.config.name} ({job.config.backend}, {job.mode}, {len(job.scales)} scale(s))",
                  show_header=False)
    for name, value in sized.rows():
        table.add_row(name, value)
    _console.print(table)
    context = job.config.options.get("n_ctx")
    if context is not None and sized.longest_prompt + job.config.generation.max_tokens > int(context):
        _console.print(f"the longest prompt does not fit options.n_ctx = {context}: a live run would stop before "
                       "its first call", highlight=False)
    _console.print("nothing was sent (≈: estimated at 4 characters per token)", highlight=False)


def _run_live(job: AnnotationJob, store: AnnotationStore, retry_failures: bool, log_every: float) -> RunSummary:
    if job.config.backend == "batch-file":
        raise InputError(f"annotator {job.config.name!r} uses backend batch-file: run with --export-requests FILE, "
                         "then --import-results FILE", column="backend")
    if _console.is_terminal:
        bar = Progress(TextColumn("annotating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       console=_console, transient=False)
        with bar:
            task = bar.add_task("annotating", total=None)
            return run_live(job.requests, store, job.config, retry_failures=retry_failures,
                            progress=lambda event: bar.update(task, completed=event.done, total=event.total))
    lines = LogLines(log_every)
    return run_live(job.requests, store, job.config, retry_failures=retry_failures,
                    progress=lambda event: lines(event.done, event.total))


class LogLines:
    """Progress as plain lines on stderr: the first, then one at most every ``every`` seconds, and the last."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.started = self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if 0 < done < total and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.started
        rate = f", {done / elapsed:.2f} req/s" if done and elapsed > 0 else ""
        print(f"annotating: {done}/{total} requests done ({elapsed:.0f} s{rate})", file=sys.stderr, flush=True)


def _finish(job: AnnotationJob, store: AnnotationStore, summary: RunSummary, out: Path | None,
            failures: Path | None) -> None:
    """Print the summary; write the annotated battery and the failure list if asked."""
    _console.print(summary.table())
    if summary.stale:
        _console.print(f"{summary.stale} result line(s) ignored: they answer an earlier prompt of a request that has "
                       "failed since (export again for its repair prompt) or a repair that is not pending (answers to "
                       "--retry-failures prompts need --retry-failures on import too).", markup=False)
    answers = store.get(r.key for r in job.requests)
    outstanding = len(pending_requests(job.requests, answers, job.config, retry_failures=False))
    if outstanding:
        _console.print(f"{outstanding} request(s) still need an answer (or a repair); run again to ask them.")
    if out:
        write_table(job.annotated(store), out)
        _console.print(f"wrote {out}; {_rows_note(job, answers)}", highlight=False, markup=False)
    if failures:
        write_table(failures_table(job.requests, answers), failures)
        _console.print(f"wrote {failures}", markup=False)


def _rows_note(job: AnnotationJob, answers: dict) -> str:
    """What happened to the battery's rows: all answered, or how many kept earlier levels and how many have none."""
    answered = {request.instance_id for request, _ in usable_answers(job.requests, answers)}
    left = job.battery[~job.battery["instance_id"].isin(answered)]
    if left.empty:
        return f"all {len(job.battery)} row(s) have levels from this job"
    earlier = int(left[list(job.scales)].notna().any(axis=1).sum())
    parts = [f"{len(left)} row(s) got no usable answer from this job"]
    if earlier:
        parts.append(f"{earlier} of them kept their earlier levels and provenance")
    if len(left) - earlier:
        parts.append(f"{len(left) - earlier} have no levels on these scales (see --failures)")
    return "; ".join(parts)


AGREEMENT_HELP = """Compare batteries annotated by different annotators and aggregate them to final levels.

  assess agreement a.csv b.csv c.csv --report agreement.csv --out final.csv

Per scale and pair: quadratic-weighted kappa, Spearman, exact and within-one agreement (percentage
scales such as UG on their rubric levels). --out writes the first battery with each scale set to the median (or --method mean)
over annotators. Each file's annotator is its `annotator` column (else its file name).
"""


def agreement_command(
    batteries: Annotated[list[Path], typer.Argument(help="two or more annotated batteries")],
    scales: Annotated[Optional[str], typer.Option(help="comma-separated scale codes (default: every scale of the set)")] = None,
    report: Annotated[Optional[Path], typer.Option(help="agreement table to write (.csv or .parquet)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="aggregated battery to write (.csv or .parquet)")] = None,
    method: Annotated[str, typer.Option(help="median or mean")] = "median",
    rubrics: Optional[list[Path]] = RubricsOption,
) -> None:
    scale_set = active_scale_set(rubrics, console=_console)
    codes = scale_option(scales, scale_set) if scales is not None else scale_set.codes
    tables = _annotator_tables(batteries, scale_set)
    table = agreement_report(tables, codes, scale_set)
    _console.print(_report_table(table))
    if report:
        write_table(table, report)
    if out:
        write_table(aggregate(tables, codes, method), out)
        _console.print(f"wrote {out}", markup=False)


def _annotator_tables(paths: list[Path], scale_set: ScaleSet) -> dict[str, pd.DataFrame]:
    """Annotator name → battery; names come from the provenance column and must differ between files."""
    tables: dict[str, pd.DataFrame] = {}
    for path in paths:
        table = read_battery(path, scales=scale_set)
        names = [n for n in table["annotator"].unique() if n]
        name = names[0] if len(names) == 1 else path.stem
        if name in tables:
            raise InputError(f"annotator {name!r} appears in two files; agreement needs distinct annotators",
                             source=path, column="annotator")
        tables[name] = table
    return tables


def _report_table(report: pd.DataFrame) -> Table:
    table = Table(title="agreement between annotators")
    for column in REPORT_COLUMNS:
        table.add_column(column)
    for row in report.itertuples(index=False):
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else escape(str(v)) for v in row))
    return table
