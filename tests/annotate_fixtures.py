"""Small real fixtures for the annotation tests: a battery file and annotator YAML files in tmp_path."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from assess.cli import main

QUESTIONS = [
    ("t/1", "What is 17 * 23?", "391"),
    ("t/2", "If all bloops are razzies and all razzies are lazzies, are all bloops lazzies?", "yes"),
    ("t/3", "Name the capital of France.", "Paris"),
]


def write_battery(directory: Path, rows: list[tuple[str, str, str]] = QUESTIONS) -> Path:
    path = directory / "battery.csv"
    pd.DataFrame([{"instance_id": i, "benchmark": "toy", "task": "toy", "prompt": p, "target": t}
                  for i, p, t in rows]).to_csv(path, index=False)
    return path


def write_annotator(directory: Path, text: str, name: str = "annotator.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def batch_annotator(directory: Path, repair_attempts: int = 1) -> Path:
    return write_annotator(directory, f"name: batch-test\nbackend: batch-file\nmodel: gpt-test\n"
                                      f"repair_attempts: {repair_attempts}\n", "batch.yaml")


BATCH_SCALES = "QLq,QLl,UG"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """tmp_path with the fixture battery and a batch-file annotator allowing one repair."""
    write_battery(tmp_path)
    batch_annotator(tmp_path, repair_attempts=1)
    return tmp_path


def batch_cli(directory: Path, *extra: str) -> int:
    """`assess annotate` on the fixture battery with the batch annotator, its cache and BATCH_SCALES."""
    return main(["annotate", str(directory / "battery.csv"), "--annotator", str(directory / "batch.yaml"),
                 "--scales", BATCH_SCALES, "--mode", "all-scales", "--cache", str(directory / "cache.sqlite"), *extra])


def export_batch(directory: Path, name: str = "requests.jsonl", *extra: str) -> list[dict]:
    """Export the pending requests through the CLI and return the request lines."""
    assert batch_cli(directory, "--export-requests", str(directory / name), *extra) == 0
    return [json.loads(line) for line in (directory / name).read_text().splitlines()]


def json_answer(levels: dict) -> str:
    """An all-scales answer text as an LLM would write it."""
    return "Some reasoning.\n```json\n" + json.dumps({"reasoning": "brief", "levels": levels}) + "\n```"


def write_results(path: Path, answers: dict[str, str]) -> Path:
    """A hand-written results file: one {"custom_id", "content"} line per answer."""
    path.write_text("".join(json.dumps({"custom_id": i, "content": text}) + "\n" for i, text in answers.items()))
    return path
