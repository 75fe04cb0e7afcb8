"""The calibration set: short items with the level our rubrics intend, used to score annotators.

Each file ``rubrics/calibration/<CODE>.yaml`` lists items for one scale (id, prompt, intended
level). An annotator (an LLM following the rubrics) rates the same items; :func:`score_annotations`
reports, per scale, how often it hits the intended level exactly and within one level.
On a percentage scale (UG) the intended value is a percentage; agreement is measured on the
rubric's bands (:meth:`assess.rubrics.Rubric.level_of`), so "within one" means an adjacent band.
Scales and their kinds come from the active :class:`~assess.scaleset.ScaleSet`.
"""
from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from .errors import InputError
from .files import read_text
from .rubrics import YAML_SUFFIXES
from .scaleset import Scale, ScaleSet, default_scale_set
from .yamlio import MAX_BYTES, LocatedValueError, load_yaml, located_error, validate_located

CALIBRATION_COLUMNS: tuple[str, ...] = ("item_id", "scale", "prompt", "intended_level")
ANNOTATION_COLUMNS: tuple[str, ...] = ("item_id", "scale", "level")
SCORE_COLUMNS: tuple[str, ...] = ("scale", "n", "exact", "within1")


class CalibrationItem(BaseModel):
    """One item: a unique id, a short prompt, and the level (UG: percentage) the rubric intends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    level: float


class CalibrationFile(BaseModel):
    """All calibration items for one scale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scale: str
    version: str = Field(min_length=1)
    items: list[CalibrationItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _levels_in_range(self, info: ValidationInfo) -> CalibrationFile:
        scale_set: ScaleSet = (info.context or {}).get("scales") or default_scale_set()
        if self.scale not in scale_set:
            raise LocatedValueError(("scale",), f"unknown scale code {self.scale!r}; known: {', '.join(scale_set)}")
        for index, item in enumerate(self.items):
            problem = _level_problem(scale_set[self.scale], item.level)
            if problem:
                raise LocatedValueError(("items", index, "level"), problem)
        return self


def _level_problem(scale: Scale, level: float) -> str | None:
    """Why ``level`` is not a valid value on ``scale``, or None when it is."""
    if scale.kind == "percentage":
        fits = scale.minimum <= level <= scale.maximum
        return None if fits else f"{scale.code} must be a percentage {scale.minimum:g}-{scale.maximum:g}, got {level:g}"
    if level != int(level) or not scale.minimum <= level <= scale.maximum:
        return f"level must be a whole number {scale.minimum:g}-{scale.maximum:g}, got {level:g}"
    return None


def load_calibration(directory: str | Path | None = None, scales: ScaleSet | None = None) -> pd.DataFrame:
    """Load every calibration file (None: the bundled set) as item_id, scale, prompt, intended_level.

    Scales are those of ``scales`` (default: the bundled set).
    """
    if directory is None:
        directory = Path(str(importlib.resources.files("rubrics") / "calibration"))
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("calibration directory not found", source=directory)
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES)
    if not files:
        raise InputError("no calibration files (*.yaml) in directory", source=directory)
    rows: list[tuple[str, str, str, float]] = []
    first_seen: dict[str, Path] = {}
    for path in files:
        data, lines = load_yaml(read_text(path, MAX_BYTES), path)
        calibration = validate_located(CalibrationFile, data, lines, path, context={"scales": scales})
        for index, item in enumerate(calibration.items):
            if item.id in first_seen:
                raise located_error(f"duplicate item id {item.id!r} (first in {first_seen[item.id]})",
                                    path, lines.get(("items", index)))
            first_seen[item.id] = path
            rows.append((item.id, calibration.scale, " ".join(item.prompt.split()), item.level))
    return pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))


def score_annotations(calibration_df: pd.DataFrame, annotated: pd.DataFrame,
                      scales: ScaleSet | None = None) -> pd.DataFrame:
    """Per scale: items scored (n), share rated at the intended level (exact) and within one level (within1).

    ``annotated`` has item_id, scale and level. Fractional levels (e.g. a mean over repeated
    annotations) are rounded to the nearest level; UG percentages are compared by band.
    Unknown items, a scale that disagrees with the calibration set, duplicates and missing or
    out-of-range levels raise :class:`InputError` naming the item. ``scales``: the active set (default: bundled).
    """
    scales = scales or default_scale_set()
    missing = [c for c in ANNOTATION_COLUMNS if c not in annotated.columns]
    if missing:
        raise InputError(f"annotations lack column(s) {', '.join(missing)}", source="<annotations>")
    merged = annotated[list(ANNOTATION_COLUMNS)].merge(
        calibration_df[["item_id", "scale", "intended_level"]], on="item_id", how="left",
        suffixes=("", "_intended"), indicator="matched")
    _check_annotations(merged, scales)
    levels = np.vectorize(lambda code, value: _as_level(scales, code, value), otypes=[int])
    merged["given"] = levels(merged["scale"], merged["level"].astype(float))
    merged["intended"] = levels(merged["scale"], merged["intended_level"].astype(float))
    distance = (merged["given"] - merged["intended"]).abs()
    merged["exact"], merged["within1"] = distance == 0, distance <= 1
    scores = merged.groupby("scale", sort=False).agg(n=("item_id", "size"), exact=("exact", "mean"),
                                                     within1=("within1", "mean"))
    order = [code for code in scales if code in scores.index]
    return scores.loc[order].reset_index()[list(SCORE_COLUMNS)]


def _check_annotations(merged: pd.DataFrame, scales: ScaleSet) -> None:
    for row in merged.itertuples(index=False):
        item = str(row.item_id)
        if row.matched == "left_only":
            raise InputError("not a calibration item", source="<annotations>", instance_id=item)
        if row.scale != row.scale_intended:
            raise InputError(f"scale {row.scale!r} but the calibration item is on {row.scale_intended}",
                             source="<annotations>", instance_id=item, column="scale")
        level = pd.to_numeric(pd.Series([row.level]), errors="coerce").iloc[0]
        if pd.isna(row.level):
            problem: str | None = "missing level"
        elif pd.isna(level):
            problem = f"level {row.level!r} is not a number"
        else:
            scale = scales[row.scale]
            problem = _level_problem(scale, level if scale.kind == "percentage" else float(np.floor(level + 0.5)))
        if problem:
            raise InputError(problem, source="<annotations>", instance_id=item, column="level")
    duplicated = merged["item_id"].duplicated()
    if duplicated.any():
        raise InputError("item annotated twice", source="<annotations>",
                         instance_id=str(merged.loc[duplicated, "item_id"].iloc[0]))


def _as_level(scales: ScaleSet, code: str, value: float) -> int:
    """A value on the 0-5 grid: levels rounded half up, percentages mapped to their band."""
    return scales.rubrics[code].level_of(value)
