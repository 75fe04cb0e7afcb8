"""`assess battery hf NAME|DATASET_ID -o battery.parquet`: a battery from a Hugging Face dataset.

Registered names (mmlu_pro, bbh, gsm8k, math, arc, gpqa, musr, ifeval) carry their column mappings
(:mod:`assess.battery_sources.hf`); any other dataset id or local folder takes --prompt-column or
--template, --target-column and --id-column. Needs the optional extra ``hf`` (datasets).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ..atomic import write_table
from .battery import battery_app

console = Console(stderr=True)


@battery_app.command("hf")
def hf(
    name: str = typer.Argument(..., help="A registered benchmark (mmlu_pro, bbh, gsm8k, math, arc, gpqa, musr, "
                               "ifeval), a hub dataset id, a local dataset folder, or a builder (parquet, json, csv)."),
    out: Path = typer.Option(..., "--out", "-o", help="Battery file to write (.parquet or .csv)."),
    split: Optional[str] = typer.Option(None, "--split", help="Split to read (default: the benchmark's test split)."),
    config: Optional[list[str]] = typer.Option(None, "--config", help="Dataset config(s), e.g. a BBH task; repeatable."),
    data_files: Optional[list[Path]] = typer.Option(None, "--data-files", help="Local .parquet/.json/.csv files to "
                                                    "read instead of the hub; repeatable."),
    prompt_column: Optional[str] = typer.Option(None, "--prompt-column", help="Column holding the prompt."),
    template: Optional[str] = typer.Option(None, "--template", help="Prompt built from columns, e.g. "
                                           "'{question}\\n\\n{choices}'."),
    target_column: Optional[str] = typer.Option(None, "--target-column", help="Column holding the reference answer."),
    id_column: Optional[str] = typer.Option(None, "--id-column", help="Column holding a unique id (default: the row "
                                            "number)."),
    benchmark: Optional[str] = typer.Option(None, "--benchmark", help="Benchmark name for ids and the benchmark "
                                            "column (default: NAME)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Keep the first N rows of each split/config."),
) -> None:
    """Build a battery from a Hugging Face dataset (registered benchmark or your own column mapping)."""
    from ..battery_sources.hf import ColumnMapping, build_battery

    custom = prompt_column or template
    mapping = ColumnMapping(prompt_column, template.replace("\\n", "\n") if template else None,
                            target_column, id_column, benchmark or Path(name).name) if custom else None
    table = build_battery(name, split=split, configs=config or (), data_files=[str(f) for f in data_files or ()],
                          mapping=mapping, limit=limit)
    write_table(table, out)
    tasks = table["task"].nunique()
    console.print(f"wrote {len(table)} items ({tasks} task(s)) -> {out}; annotate them with `assess annotate {out} "
                  "--annotator ...`", highlight=False)
