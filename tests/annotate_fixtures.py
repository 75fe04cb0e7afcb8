"""Small real fixtures for the annotation tests: a battery file and annotator YAML files in tmp_path."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

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
