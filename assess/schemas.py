"""Versioned, typed schemas of the files one stage writes and a later stage reads back.

Each file has one writer and one reader here, and both go through its pydantic model:

* ``abilities.json`` (``assess profile`` → ``assess predict --profile``, comparisons): :class:`AbilitiesFile`;
* the settings beside a run's outcomes (``<output>.settings.json``, ``assess run`` → audit, profiling):
  :class:`RunSettingsFile`; the outcomes table itself is checked by
  :func:`assess.battery.validate_outcomes` on writing and reading;
* predictions (``assess predict`` → evaluation, users): :class:`PredictionRow` for every row of the table.

A file of another schema name or a newer version is refused with its path named; numbers that
are not finite (an ability that could not be fitted) are stored as ``null``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from . import atomic
from .errors import InputError

Model = TypeVar("Model", bound="VersionedFile")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionedFile(_Strict):
    """A JSON file that names its schema and version."""

    schema_name: str
    schema_version: int


class ScaleAbility(_Strict):
    """One scale of a profile: what the scale is, the ability with its 95 % interval, and the curve."""

    name: str
    family: str
    kind: Literal["level", "percentage"]
    ability: float | None
    ci95: tuple[float | None, float | None]
    n: int = Field(ge=0)
    #: Fewer than ``min_n`` instances behind the curve.
    insufficient_evidence: bool
    #: An ability above the highest annotated level.
    extrapolation: bool
    intercept: float | None
    slope: float | None


class ProfileSettings(_Strict):
    """How a profile was fitted."""

    method: str
    bootstrap: int
    seed: int
    dominant_only: bool
    min_ug: float
    level_diff: float
    round_levels: bool
    min_n: int
    filters: dict[str, list[str]]
    rubrics: list[str] = Field(default_factory=list)
    scale_set_hash: str
    #: The joint IRT model's settings when ``method`` is ``irt``.
    irt: dict[str, Any] | None = None


class Excluded(_Strict):
    """Instances the unguessability filter left out: below the threshold, and without a UG label."""

    low_ug: int = Field(ge=0)
    missing_ug: int = Field(ge=0)


class AbilitiesFile(VersionedFile):
    """``abilities.json``: a subject's ability per scale of the active scale set."""

    schema_name: Literal["assess.abilities"] = "assess.abilities"
    schema_version: Literal[1] = 1
    subject: str
    assess_version: str
    n_instances: int
    n_annotated: int
    accuracy: float
    settings: ProfileSettings
    excluded: Excluded
    scales: dict[str, ScaleAbility]

    def abilities(self) -> dict[str, float]:
        """``{scale: ability}``, NaN where no ability could be fitted."""
        return {code: math.nan if entry.ability is None else entry.ability for code, entry in self.scales.items()}


class RunSettingsFile(VersionedFile):
    """``<output>.settings.json``: everything that produced a run's outcomes, and what it did."""

    schema_name: Literal["assess.run_settings"] = "assess.run_settings"
    schema_version: Literal[1] = 1
    subject: str
    battery: str
    outcomes: str
    backend: dict[str, Any]
    solver: dict[str, Any]
    scorer: str
    regex: str | None
    tolerance: dict[str, float]
    judge: dict[str, Any] | None
    fewshot: int
    templates: dict[str, str]
    select: dict[str, Any]
    rubrics: list[str] = Field(default_factory=list)
    summary: dict[str, Any]
    skipped: list[dict[str, Any]] = Field(default_factory=list)


class PredictionRow(_Strict):
    """One prediction: a subject's probability of success on an instance."""

    instance_id: str
    subject: str
    p_success: float = Field(ge=0.0, le=1.0)


PREDICTION_COLUMNS: tuple[str, ...] = tuple(PredictionRow.model_fields)
_PREDICTIONS = TypeAdapter(list[PredictionRow])


def write_file(path: str | Path, document: VersionedFile) -> Path:
    """Write a schema document atomically as JSON (non-finite numbers become null)."""
    return atomic.write_json(path, document.model_dump(mode="python"))


def read_file(path: str | Path, model: type[Model]) -> Model:
    """Read and check a schema document; errors name the file and the first bad key."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", source=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"not readable JSON ({err})", source=path) from None
    expected = model.model_fields["schema_name"].default
    if not isinstance(data, dict) or data.get("schema_name") != expected:
        found = data.get("schema_name") if isinstance(data, dict) else None
        raise InputError(f"not an {expected} file (schema_name {found!r}); write it with this version of assess",
                         source=path, column="schema_name")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise InputError(f"{where}: {first['msg']}", source=path, column=where) from None


def write_predictions(predictions: pd.DataFrame, path: str | Path) -> Path:
    """Check every row against :class:`PredictionRow`, then write the table (CSV or Parquet by suffix)."""
    rows = predictions.reindex(columns=list(PREDICTION_COLUMNS))
    _check_predictions(rows, "<predictions>")
    return atomic.write_table(rows, path)


def read_predictions(path: str | Path) -> pd.DataFrame:
    """Read a predictions table written by :func:`write_predictions`; bad rows are named."""
    from .sources import read_table

    table = read_table(path)
    missing = [c for c in PREDICTION_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"not a predictions table: missing column(s) {', '.join(missing)}", source=path,
                         column=missing[0])
    table = table[list(PREDICTION_COLUMNS)].assign(subject=table["subject"].fillna(""))
    table = table.astype({"instance_id": str, "subject": str})
    _check_predictions(table, path)
    return table.reset_index(drop=True)


def _check_predictions(table: pd.DataFrame, source: str | Path) -> None:
    try:
        _PREDICTIONS.validate_python(table.to_dict("records"))
    except ValidationError as err:
        first = err.errors()[0]
        row, column = first["loc"][0], first["loc"][-1]
        raise InputError(first["msg"], source=source, row=int(row) + 1, column=str(column)) from None
