"""`assess import lm-eval|inspect|wide FILES... -o outcomes.parquet`: outcomes from other harnesses' logs.

Writes the matched outcomes (Parquet or CSV by suffix) and ``<output stem>.unmatched.csv``, one
row per log record that found no battery item, with the file, row, original id and text, the id
tried and the reason. When fewer than ``--min-match`` of the records match (default half), it
writes only the report and stops with exit code 2, naming the ``--id-field``/``--id-prefix`` that
would match more.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Console

from ..atomic import write_with
from ..importers.inspect_log import read_inspect_log
from ..importers.lm_eval import read_lm_eval_samples
from ..errors import InputError
from ..importers.matching import MatchResult, match_records, suggest_id_flags
from ..importers.wide import read_wide
from ..runs.job import load_battery, write_outcomes
from ..cli_options import RubricsOption, active_scale_set

console = Console(stderr=True)
app = typer.Typer(help="Import per-instance outcomes from lm-evaluation-harness, Inspect AI or wide matrices.",
                  no_args_is_help=True)

OUTPUT = typer.Option(..., "--output", "-o", help="Outcomes file to write (.parquet or .csv).")
BATTERY = typer.Option("sample", "--battery", help="Battery to join to: 'sample' or a battery file.")
BY = typer.Option("id", "--by", help="Match records to items by 'id' (id prefix + log id) or 'prompt' text.")
ID_PREFIX = typer.Option("", "--id-prefix", help="Prepended to each log id, e.g. 'bbh/navigate/'.")
MIN_MATCH = typer.Option(0.5, "--min-match", min=0.0, max=1.0,
                         help="Fail (exit 2) when a smaller share of the records matches the battery.")


def unmatched_path(output: Path) -> Path:
    """Where the report of unmatched records for ``output`` goes."""
    return output.with_name(f"{output.stem}.unmatched.csv")


def finish(records: list[pd.DataFrame], battery: str, by: str, id_prefix: str, output: Path, *,
           min_match: float, default_field: str, rubrics: list[Path] | None = None) -> MatchResult:
    """Match the records, write the unmatched report and (when enough matched) the outcomes; print a summary.

    ``default_field`` is the record field used as id when no ``--id-field`` is given (it needs no flag);
    the battery is read under the bundled rubrics plus ``rubrics`` folders.
    """
    table = pd.concat(records, ignore_index=True)
    items = load_battery(battery, active_scale_set(rubrics, console=console))
    result = match_records(table, items, by=by, id_prefix=id_prefix)
    report = unmatched_path(output)
    write_with(report, lambda tmp: result.unmatched.to_csv(tmp, index=False))
    if len(result.outcomes) < min_match * len(table):
        suggestion = suggest_id_flags(table, items)
        hint = (f"`--by id {suggestion.flags(default_field)}` would match {suggestion.matches}"
                if suggestion and suggestion.matches > len(result.outcomes)
                else "no --id-field/--id-prefix matches more; try --by prompt, or check --battery")
        raise InputError(f"only {len(result.outcomes)} of {len(table)} records matched the battery (by {by}); {hint}. "
                         f"Unmatched records with their ids and reasons: {report}; no outcomes written")
    write_outcomes(result.outcomes, output)
    console.print(f"{result.summary()}; wrote {output} and {report}", highlight=False, markup=False)
    return result


@app.command("lm-eval")
def lm_eval(
    files: list[Path] = typer.Argument(..., help="samples_<task>_<date>.jsonl files from --log_samples."),
    subject: str = typer.Option(..., "--subject", help="Name of the model that produced the logs."),
    metric: str | None = typer.Option(None, "--metric", help="0/1 field that says correct (default: acc, "
                                      "exact_match, em, acc_norm, pass@1 — the first present)."),
    filter_name: str | None = typer.Option(None, "--filter", help="Filter to keep when lines carry several."),
    id_field: str | None = typer.Option(None, "--id-field", help="Take the id from doc[FIELD] instead of doc_id."),
    text_field: str | None = typer.Option(None, "--text-field", help="Take the prompt from doc[FIELD] instead of "
                                          "the request context."),
    battery: str = BATTERY, by: str = BY, id_prefix: str = ID_PREFIX, output: Path = OUTPUT,
    min_match: float = MIN_MATCH,
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """lm-evaluation-harness per-sample logs (MMLU-Pro and BBH task layouts are recognised by their file names)."""
    records = [read_lm_eval_samples(f, subject, metric=metric, filter_name=filter_name, id_field=id_field,
                                    text_field=text_field) for f in files]
    finish(records, battery, by, id_prefix, output, min_match=min_match, default_field="doc_id", rubrics=rubrics)


@app.command("inspect")
def inspect_logs(
    files: list[Path] = typer.Argument(..., help="Inspect AI eval logs in JSON."),
    subject: str | None = typer.Option(None, "--subject", help="Subject name (default: the log's eval.model)."),
    scorer: str | None = typer.Option(None, "--scorer", help="Scorer to read when samples carry several."),
    epoch: int | None = typer.Option(None, "--epoch", min=1, help="Import this epoch alone (default: every "
                                     "epoch, kept as successes of trials)."),
    id_field: str | None = typer.Option(None, "--id-field", help="Take the id from the sample's metadata[FIELD] "
                                        "instead of its id."),
    battery: str = BATTERY, by: str = BY, id_prefix: str = ID_PREFIX, output: Path = OUTPUT,
    min_match: float = MIN_MATCH,
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """Inspect AI JSON eval logs (mmlu_pro, bbh and assess/battery task layouts are recognised)."""
    records = [read_inspect_log(f, subject=subject, scorer=scorer, epoch=epoch, id_field=id_field) for f in files]
    finish(records, battery, by, id_prefix, output, min_match=min_match, default_field="id", rubrics=rubrics)


@app.command("wide")
def wide(
    files: list[Path] = typer.Argument(..., help="Wide 0/1 matrices (CSV, TSV, JSONL or Parquet)."),
    orientation: str = typer.Option("subjects-as-rows", "--orientation",
                                    help="subjects-as-rows (columns are instance ids) or instances-as-rows."),
    battery: str = BATTERY, id_prefix: str = ID_PREFIX, output: Path = OUTPUT, min_match: float = MIN_MATCH,
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """Wide outcome matrices, matched by id."""
    records = [read_wide(f, orientation) for f in files]  # type: ignore[arg-type]
    finish(records, battery, "id", id_prefix, output, min_match=min_match, default_field="id", rubrics=rubrics)


def register(app_: typer.Typer) -> None:
    """Add `assess import ...` to the app."""
    app_.add_typer(app, name="import")
