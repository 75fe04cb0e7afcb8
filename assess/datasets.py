"""The bundled sample battery: MMLU-Pro and BIG-Bench Hard items with real model outcomes.

``load_sample()`` returns the battery (every item; reference annotations merged where they
exist, NaN elsewhere) and the long outcome table of every bundled subject. Provenance and
licences: ``assess/data/sample/NOTICE.md``.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from .battery import PROVENANCE_COLUMNS, validate_battery, validate_outcomes
from .scaleset import ScaleSet, default_scale_set

SAMPLE_NAME = "sample"


def sample_dir() -> Path:
    """Directory of the bundled sample files inside the installed package."""
    return Path(str(resources.files("assess") / "data" / SAMPLE_NAME))


def load_sample(annotated_only: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(battery, outcomes)`` of the bundled sample.

    ``annotated_only`` keeps the items that carry reference annotations (and their outcomes).
    """
    folder = sample_dir()
    battery = pd.read_parquet(folder / "battery.parquet")
    annotations_file = folder / "annotations.parquet"
    if annotations_file.exists():
        labels = pd.read_parquet(annotations_file)
        battery = battery.drop(columns=[c for c in default_scale_set().codes + PROVENANCE_COLUMNS if c in battery.columns])
        battery = battery.merge(labels, on="instance_id", how="left")
    battery = validate_battery(battery, folder / "battery.parquet")
    if annotated_only:
        battery = battery[battery[list(default_scale_set().codes)].notna().any(axis=1)].reset_index(drop=True)
    frames = [pd.read_parquet(path) for path in sorted(folder.glob("outcomes*.parquet"))]
    outcomes = validate_outcomes(pd.concat(frames, ignore_index=True), folder / "outcomes*.parquet")
    outcomes = outcomes[outcomes["instance_id"].isin(battery["instance_id"])].reset_index(drop=True)
    return battery, outcomes


def sample_battery(scales: ScaleSet | None = None) -> pd.DataFrame:
    """The sample battery under a scale set (default: bundled): a user scale's column is there, all NaN."""
    battery = load_sample()[0]
    return battery if scales is None or scales is default_scale_set() else validate_battery(battery, "bundled sample",
                                                                                            scales)


def reference_subset() -> list[str]:
    """Instance ids selected (seeded, stratified) for reference annotation."""
    return (sample_dir() / "reference_subset.txt").read_text().split()
