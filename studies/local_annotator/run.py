"""Gemma 3 270M as an annotator: run the shipped in-process example on calibration items and measure it.

    nice -n 10 python studies/local_annotator/run.py [--scales QLq,VO] [--items 12] [--all-scales 1] [--max-tokens N]

Per scale, the calibration items (``rubrics/calibration/<CODE>.yaml``, 12 per scale, each with the
level the rubric intends) are annotated per-scale through the real pipeline (prompts, parser,
repair, cache) with ``examples/annotator_gemma_local.yaml``; ``--all-scales N`` also sends the
first N items of the first scale as all-scales requests (about 14,000 prompt tokens each).
Writes ``results/answers.jsonl`` (every raw answer with the parser's verdict) and
``results/summary.csv`` (per scale: answers parsed at the first ask and after repair, exact and
within-one agreement with the intended levels, and the agreement of always answering the median
intended level, the baseline a rater must beat).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assess.annotate import AnnotationJob, AnnotationStore, load_annotator, run_live  # noqa: E402
from assess.battery import validate_battery  # noqa: E402
from assess.calibration import load_calibration  # noqa: E402
from assess.rubrics import load_rubrics  # noqa: E402

OUT = Path(__file__).parent / "results"


def battery_of(items: pd.DataFrame) -> pd.DataFrame:
    return validate_battery(pd.DataFrame({"instance_id": items["item_id"], "prompt": items["prompt"]}))


def run(job: AnnotationJob, cache: Path) -> list[dict]:
    """Annotate a job live and return one row per request with every attempt's raw text and verdict."""
    with AnnotationStore(cache) as store:
        run_live(job.requests, store, job.config)
        answers = store.get(r.key for r in job.requests)
    rows = []
    for request in job.requests:
        answer = answers[request.key]
        rows.append({"instance_id": request.instance_id, "scales": list(request.scales), "mode": request.mode,
                     "status": answer.status, "levels": answer.levels, "attempts": answer.transcript,
                     "prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="QLq,VO")
    parser.add_argument("--items", type=int, default=12, help="calibration items per scale (spread over the levels)")
    parser.add_argument("--all-scales", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=None, help="answer budget (default: the example's)")
    args = parser.parse_args()
    config = load_annotator(ROOT / "examples" / "annotator_gemma_local.yaml")
    if args.max_tokens:
        config = config.model_copy(update={"generation": config.generation.model_copy(
            update={"max_tokens": args.max_tokens})})
    rubrics, calibration = load_rubrics(), load_calibration()
    OUT.mkdir(exist_ok=True)
    rows, summary = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for code in args.scales.split(","):
            items = calibration[calibration["scale"] == code].reset_index(drop=True)
            items = items.iloc[np.linspace(0, len(items) - 1, min(args.items, len(items))).round().astype(int)]
            items = items.reset_index(drop=True)
            started = time.monotonic()
            result = run(AnnotationJob.build(battery_of(items), config, rubrics, [code], "per-scale"), Path(tmp) / "c.sqlite")
            seconds = time.monotonic() - started
            rows += result
            intended = items.set_index("item_id")["intended_level"]
            got = pd.Series({r["instance_id"]: (r["levels"] or {}).get(code, np.nan) for r in result})
            ok = got.notna()
            diff = (got[ok] - intended[got[ok].index]).abs()
            median = float(np.median(intended))
            summary.append({"scale": code, "items": len(items),
                            "parsed_first_ask": sum(r["attempts"][0]["problem"] is None for r in result),
                            "parsed_after_repair": int(ok.sum()),
                            "exact": int((diff == 0).sum()), "within1": int((diff <= 1).sum()),
                            "levels_given": " ".join(f"{v:g}" for v in got[ok]),
                            "median_baseline_exact": int((intended == median).sum()),
                            "median_baseline_within1": int(((intended - median).abs() <= 1).sum()),
                            "seconds": round(seconds, 1)})
            print(summary[-1], flush=True)
        if args.all_scales:
            first = calibration[calibration["scale"] == args.scales.split(",")[0]].head(args.all_scales)
            started = time.monotonic()
            result = run(AnnotationJob.build(battery_of(first), config, rubrics, None, "all-scales"), Path(tmp) / "c.sqlite")
            rows += result
            summary.append({"scale": "all-scales", "items": len(first),
                            "parsed_first_ask": sum(r["attempts"][0]["problem"] is None for r in result),
                            "parsed_after_repair": sum(r["status"] == "ok" for r in result),
                            "prompt_tokens": sum(r["prompt_tokens"] for r in result),
                            "seconds": round(time.monotonic() - started, 1)})
            print(summary[-1], flush=True)
    (OUT / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pd.DataFrame(summary).to_csv(OUT / "summary.csv", index=False)


if __name__ == "__main__":
    main()
