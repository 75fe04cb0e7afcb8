"""Import the annotators' answers through the engine's parser and build the shipped annotations.

    python studies/annotation_reliability/collect.py            # every job; ships the shipped jobs' labels
    python studies/annotation_reliability/collect.py JOB ...    # import only these jobs; ships nothing

Annotators write answers/<job>/chunk_NN.answers.tsv, one line per request:
    <custom_id> TAB <19 values in the order AS CEc CEe CL MCr MCt MCu MS QLl QLq SNs KNa KNc KNf KNn KNs AT VO UG> TAB <brief reasoning>
Each line becomes the answer the all-scales prompt asks for — {"reasoning": ..., "levels": {code: value}} —
in a hand-written batch results line; `assess annotate --import-results` then parses and validates it
exactly as it would a provider's answer (a wrong count or a value out of range is stored as a failure
with its raw text, never defaulted). Writes work/<job>/annotated.parquet and, from pass 1, the
shipped assess/data/sample/annotations.parquet (instance id, 19 levels, annotator, protocol, rubric hash).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from assess import atomic
from assess.battery import PROVENANCE_COLUMNS
from assess.errors import InputError
from assess.scales import ANNOTATED
from prepare import JOBS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORK = HERE / "work"
ANSWERS = HERE / "answers"
#: Jobs whose labels are the bundled sample's reference annotations (pass 2, pass2new and calibration only measure).
SHIPPED = ("pass1", "eqbench", "kk", "formatfix", "bbh", "bbhfix", "gen")


def results_lines(job: str) -> list[str]:
    """Hand-written batch results lines from every answers file of a job; errors name file and line.

    A request listed in two chunks (two instances with the same text, split by a chunk boundary) may
    be answered in both: the same values are kept once, different ones are an error naming both lines.
    """
    lines, seen = [], {}
    for path in sorted((ANSWERS / job).glob("chunk_*.answers.tsv")):
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            fields = raw.split("\t")
            if len(fields) != 3:
                raise InputError(f"line {number}: expected custom_id, values and reasoning separated by tabs", source=path)
            custom_id, values, reasoning = (field.strip() for field in fields)
            numbers = values.split()
            if len(numbers) != len(ANNOTATED):
                raise InputError(f"line {number}: {len(numbers)} values, expected {len(ANNOTATED)}", source=path)
            if custom_id in seen:
                where, earlier = seen[custom_id]
                if earlier != numbers:
                    raise InputError(f"line {number}: {custom_id[:12]}… answered differently at {where}", source=path)
                continue
            seen[custom_id] = (f"{path.name}:{number}", numbers)
            answer = {"reasoning": reasoning, "levels": dict(zip(ANNOTATED, numbers))}
            lines.append(json.dumps({"custom_id": custom_id, "content": json.dumps(answer)}))
    return lines


def import_job(job: str) -> pd.DataFrame:
    folder = WORK / job
    lines = results_lines(job)
    atomic.write_text(folder / "results.jsonl", "\n".join(lines) + "\n")
    annotator, version = JOBS[job]
    subprocess.run([sys.executable, "-m", "assess.cli", "annotate", str(folder / "battery.parquet"),
                    "--annotator", str(HERE / annotator), "--mode", "all-scales", "--cache", str(folder / "cache.sqlite"),
                    "--protocol-version", version, "--import-results", str(folder / "results.jsonl"), "--out", str(folder / "annotated.parquet"),
                    "--failures", str(folder / "failures.csv")], check=True)
    return pd.read_parquet(folder / "annotated.parquet")


def ship(annotated: dict[str, pd.DataFrame]) -> None:
    """Write the shipped jobs' labels, with their provenance, as the bundled sample's reference annotations.

    Pass 1's v1 labels of the items the answer-format fix changed were made with the old format; they
    are superseded by the formatfix job's v2 labels, so an instance never carries labels of two protocols.
    """
    superseded = set(annotated["formatfix"]["instance_id"]) if "formatfix" in annotated else set()
    if "pass1" in annotated:
        annotated["pass1"] = annotated["pass1"][~annotated["pass1"]["instance_id"].isin(superseded)]
    labels = pd.concat([a[["instance_id", *ANNOTATED, *PROVENANCE_COLUMNS]] for a in annotated.values()],
                       ignore_index=True)
    labels = labels[labels[list(ANNOTATED)].notna().any(axis=1)]
    if labels["instance_id"].duplicated().any():
        raise InputError(f"labelled by two jobs: {labels.loc[labels['instance_id'].duplicated(), 'instance_id'].iloc[0]}")
    target = ROOT / "assess" / "data" / "sample" / "annotations.parquet"
    atomic.write_with(target, lambda p: labels.to_parquet(p, index=False))
    print(f"{len(labels)} annotated items -> {target}")


def main() -> None:
    wanted = sys.argv[1:]
    unknown = [job for job in wanted if job not in JOBS]
    if unknown:
        raise SystemExit(f"unknown job(s) {', '.join(unknown)}; jobs: {', '.join(JOBS)}")
    if wanted:
        for job in wanted:
            print(f"{job}: {len(import_job(job))} items -> {WORK / job / 'annotated.parquet'}")
        return
    shipped = {}
    for job in JOBS:
        if (ANSWERS / job).is_dir():
            annotated = import_job(job)
            if job in SHIPPED:
                shipped[job] = annotated
    ship(shipped)


if __name__ == "__main__":
    try:
        main()
    except InputError as err:  # a malformed answers file: one located line, not a traceback
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except subprocess.CalledProcessError as err:  # assess annotate has printed why
        print(f"error: {' '.join(err.cmd[2:5])} failed (exit {err.returncode})", file=sys.stderr)
        sys.exit(2)
