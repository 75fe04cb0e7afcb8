"""Demand profiles: what each group of a battery (benchmark, task or source) demands, scale by scale.

Pure computation on a validated battery; no files, no plotting. For each group and scale, over the
instances annotated on that scale (missing levels are counted, never imputed):

The scales are those of the active :class:`~assess.scaleset.ScaleSet` (bundled rubrics plus user
folders), or a chosen subset; each scale's ``kind`` decides how it is treated:

* ``counts``/``shares`` — the level distribution over the integer levels 0–5 (a non-integer level,
  e.g. a median of two annotators, goes to its nearest level, halves up as in
  :func:`assess.abilities.level_bins`); for a percentage scale (UG, or a user one), over the six
  bands its rubric gives its levels (UG: 0–25, 25–50, 50–70, 70–85, 85–97, 97–100 %);
* ``mean``/``sd`` — of the raw levels (percentage scales: of the percentages); ``sd`` is the
  population standard deviation (``ddof=0``);
* ``dominant_share`` — share of the annotated instances on which this scale's level is the highest of
  the instance's demand levels over the analysed level scales — the dominance filter of
  :func:`assess.abilities.dominant_mask`: ties count for every tied scale, and an instance with no
  other analysed scale annotated does not count;
* ``demand_share`` — the scale's part of the group's total demand mass, the sum of all annotated
  levels over the analysed level scales (a percentage scale such as UG is not a demand and has none);
* ``sensitivity`` — the normalised Shannon entropy of the level distribution, ``-Σ p_l ln p_l / ln 6``
  over the six levels (or UG bands): 0 when every instance sits at one level (the group can only
  tell abilities below that level from those above it), 1 when the instances spread evenly over
  0–5 (it separates abilities at every level);
* ``span`` — how many of the six levels hold at least :data:`SPAN_MIN_SHARE` of the instances.

Per group, **specificity** is the share of the group's demand mass on its *intended* scales:
``Σ demand_share`` over them, 1 when every annotated demand falls on what the group is meant to
measure, near 0 when its demands are mostly incidental. Intended scales are given by the caller
(``intended={group: [codes]}``); for a group without them they are *derived*: the level scales
not of family ``extraneous`` whose dominant share is at least :data:`DERIVED_INTENDED_RATIO` of the group's largest
dominant share (so specificity then says how much demand lies outside the group's main scales).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .abilities import dominant_mask, level_bins
from .errors import InputError
from .rubrics import Kind
from .scaleset import ScaleSet, default_scale_set

#: Version 2: the scales' kinds and names, each percentage scale's bands (``bands``, was ``ug_bands``)
#: and the scale-set hash.
SCHEMA_VERSION: Literal["2"] = "2"
#: How an instance's predicted success combines its scales' curves (see :mod:`assess.demand_ability`).
Rule = Literal["dominant", "product", "min"]
#: ``--by`` choice → battery column.
GROUPINGS: dict[str, str] = {"benchmark": "benchmark", "task": "task", "source": "source_benchmark"}
LEVELS: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
SPAN_MIN_SHARE = 0.05
DERIVED_INTENDED_RATIO = 0.5
#: Group name of rows whose group column is empty.
UNLABELLED = "(none)"


class ScaleDemand(BaseModel):
    """The demand of one group on one scale (a percentage scale such as UG: in its bands)."""

    model_config = ConfigDict(extra="forbid")
    group: str
    scale: str
    n_instances: int = Field(ge=0)
    n_annotated: int = Field(ge=0)
    n_missing: int = Field(ge=0)
    counts: list[int] = Field(min_length=6, max_length=6)
    shares: list[float | None] = Field(min_length=6, max_length=6)
    mean: float | None
    sd: float | None
    dominant_share: float | None
    demand_share: float | None
    sensitivity: float | None
    span: int = Field(ge=0, le=6)
    intended: bool


class GroupDemand(BaseModel):
    """One group's size, its intended scales (given or derived) and its specificity."""

    model_config = ConfigDict(extra="forbid")
    group: str
    n_instances: int = Field(ge=0)
    n_annotated: int = Field(ge=0, description="instances with at least one annotated scale")
    intended: list[str]
    intended_source: Literal["given", "derived"]
    specificity: float | None


class Expectation(BaseModel):
    """A subject's expected accuracy on one group (see :mod:`assess.demand_ability`), with the actual
    accuracy on the same instances where it has outcomes there."""

    model_config = ConfigDict(extra="forbid")
    subject: str
    group: str
    n_train: int = Field(ge=0, description="the subject's outcomes on annotated instances outside the group, "
                                           "given to the curve fit (before its UG filter)")
    n_instances: int = Field(ge=0, description="instances of the group")
    n_predicted: int = Field(ge=0, description="of those, with a prediction (annotated, with a usable curve)")
    predicted: float | None
    ci_low: float | None
    ci_high: float | None
    pi_low: float | None
    pi_high: float | None
    n_actual: int = Field(ge=0, description="predicted instances on which the subject has outcomes")
    actual: float | None


class Prediction(BaseModel):
    """How the expected accuracies were computed."""

    model_config = ConfigDict(extra="forbid")
    rule: Rule
    guess: bool
    min_n: int = Field(ge=1)
    anchored: bool
    bootstrap: int = Field(ge=0)
    seed: int


class DemandProfile(BaseModel):
    """The ``demand_profile.json`` stage output: every group × scale of one battery."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["demand_profile"] = "demand_profile"
    schema_version: Literal["2"] = SCHEMA_VERSION
    assess_version: str = __version__
    battery: str
    grouping: str
    group_column: str
    scales: list[str]
    #: ``level`` or ``percentage`` and the name of each analysed scale, from its rubric.
    kinds: dict[str, Kind]
    names: dict[str, str] = Field(default_factory=dict)
    #: Per analysed percentage scale, the ``[low, high)`` percentages of its six levels (the last includes 100).
    bands: dict[str, list[tuple[float, float]]] = Field(default_factory=dict)
    rubric_hashes: dict[str, str] = Field(default_factory=dict)
    scale_set_hash: str = ""
    groups: list[GroupDemand]
    rows: list[ScaleDemand]
    prediction: Prediction | None = None
    expectations: list[Expectation] = Field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """One row per group × scale, with its ``kind``, ``count_0..5``, ``share_0..5`` and the group's specificity."""
        specificity = {g.group: g.specificity for g in self.groups}
        records = []
        for row in self.rows:
            record = row.model_dump(exclude={"counts", "shares"})
            record["kind"] = self.kinds[row.scale]
            record.update({f"count_{lv}": c for lv, c in zip(LEVELS, row.counts)})
            record.update({f"share_{lv}": s for lv, s in zip(LEVELS, row.shares)})
            record["specificity"] = specificity[row.group]
            records.append(record)
        return pd.DataFrame.from_records(records)


def group_labels(battery: pd.DataFrame, by: str) -> tuple[str, pd.Series]:
    """The battery column behind ``by`` and each row's group name (empty → :data:`UNLABELLED`)."""
    if by not in GROUPINGS:
        raise InputError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
    column = GROUPINGS[by]
    if column not in battery.columns:
        raise InputError(f"grouping by {by} needs a {column!r} column, which the battery lacks", column=column)
    labels = battery[column].astype(object).fillna("").astype(str).str.strip()
    return column, labels.where(labels != "", UNLABELLED)


def ordered_groups(battery: pd.DataFrame, labels: pd.Series, column: str) -> list[str]:
    """Group names sorted by benchmark (of their first row), then name, so tasks of one benchmark stay together."""
    benchmark = battery["benchmark"] if column != "benchmark" and "benchmark" in battery.columns else labels
    first = pd.DataFrame({"group": labels, "benchmark": benchmark}).drop_duplicates("group")
    return list(first.sort_values(["benchmark", "group"])["group"])


def demand_profile(
    battery: pd.DataFrame,
    by: str = "benchmark",
    *,
    scale_set: ScaleSet | None = None,
    scales: Sequence[str] | None = None,
    intended: Mapping[str, Sequence[str]] | None = None,
    battery_name: str = "<battery>",
) -> DemandProfile:
    """Compute the demand profile of every group of ``battery`` (a battery validated under ``scale_set``).

    ``scale_set`` is the active set (default: the bundled one); ``scales`` the analysed codes of it
    (default: all, level and percentage scales); ``intended`` maps group names to the level scales
    they are meant to measure (groups left out get derived ones).
    """
    scale_set = scale_set or default_scale_set()
    scales = list(scale_set.check(list(scales), key="scales") if scales is not None else scale_set.codes)
    demand_scales = [s for s in scales if scale_set[s].kind == "level"]
    bands = {s: [tuple(lv.band) for lv in scale_set.rubrics[s].levels] for s in scales
             if scale_set[s].kind == "percentage"}
    column, labels = group_labels(battery, by)
    groups = ordered_groups(battery, labels, column)
    intended = dict(intended or {})
    unknown = sorted(set(intended) - set(groups))
    if unknown:
        raise InputError(f"intended scales given for unknown {by}(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(groups[:40])}")
    for group, codes in intended.items():
        bad = [c for c in codes if c not in demand_scales]
        if bad:
            raise InputError(f"intended scale(s) {', '.join(map(repr, bad))} of {by} {group!r} are not analysed "
                             f"level scales; analysed: {', '.join(demand_scales)}")
    demands = battery.reindex(columns=demand_scales).to_numpy(dtype=float)  # (n, S)
    dominant = dominant_mask(demands)
    any_annotated = battery.reindex(columns=scales).notna().any(axis=1).to_numpy()
    values = battery.reindex(columns=scales).to_numpy(dtype=float)  # (n, all analysed)
    eligible = [s for s in demand_scales if scale_set[s].family != "extraneous"]
    label_array = labels.to_numpy()
    group_rows, scale_rows = [], []
    for group in groups:
        rows = label_array == group
        stats = {s: _scale_stats(values[rows, j], bands.get(s)) for j, s in enumerate(scales)}
        mass = np.nansum(demands[rows], axis=0)  # (S,)
        total = mass.sum()
        for j, s in enumerate(demand_scales):
            annotated = ~np.isnan(demands[rows, j])
            stats[s]["dominant_share"] = _ratio(dominant[rows, j][annotated].sum(), annotated.sum())
            stats[s]["demand_share"] = _ratio(mass[j], total)
        chosen, source = _intended(group, intended, stats, demand_scales, eligible)
        specificity = float(sum(stats[s]["demand_share"] for s in chosen)) if total > 0 and chosen else None
        group_rows.append(GroupDemand(group=group, n_instances=int(rows.sum()),
                                      n_annotated=int(any_annotated[rows].sum()),
                                      intended=chosen, intended_source=source, specificity=specificity))
        scale_rows += [ScaleDemand(group=group, scale=s, intended=s in chosen, **stats[s]) for s in scales]
    return DemandProfile(battery=battery_name, grouping=by, group_column=column, scales=scales,
                         kinds={s: scale_set[s].kind for s in scales}, names={s: scale_set[s].name for s in scales},
                         bands=bands,
                         rubric_hashes={s: scale_set.rubrics[s].content_hash for s in scales},
                         scale_set_hash=scale_set.hash, groups=group_rows, rows=scale_rows)


def level_index(values: np.ndarray, bands: Sequence[tuple[float, float]] | None = None) -> np.ndarray:
    """Integer level (0–5) of each non-missing value: the nearest level, or the band of a percentage
    (``bands``: the six ``[low, high)`` bands of a percentage scale's rubric, the last including its top)."""
    if bands is not None:
        highs = np.array([high for _, high in bands])
        return np.minimum(np.searchsorted(highs, values, side="right"), len(bands) - 1)
    return level_bins(values).astype(int)


def _scale_stats(values: np.ndarray, bands: Sequence[tuple[float, float]] | None) -> dict:
    """Counts, shares, mean, sd, sensitivity and span of one scale's values in one group."""
    present = values[~np.isnan(values)]
    counts = np.bincount(level_index(present, bands), minlength=len(LEVELS)) if present.size else np.zeros(6, int)
    n = int(present.size)
    shares = counts / n if n else np.full(len(LEVELS), np.nan)
    return {
        "n_instances": int(values.size), "n_annotated": n, "n_missing": int(values.size - n),
        "counts": [int(c) for c in counts], "shares": [float(s) if n else None for s in shares],
        "mean": float(present.mean()) if n else None, "sd": float(present.std()) if n else None,
        "sensitivity": normalised_entropy(counts) if n else None,
        "span": int((shares >= SPAN_MIN_SHARE).sum()) if n else 0,
        "dominant_share": None, "demand_share": None,
    }


def normalised_entropy(counts: np.ndarray) -> float:
    """Shannon entropy of a distribution over the six levels divided by ln 6 (0: one level, 1: uniform)."""
    p = np.asarray(counts, dtype=float)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum() / np.log(len(LEVELS))) if p.size > 1 else 0.0


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None


def _intended(group: str, given: Mapping[str, Sequence[str]], stats: dict, demand_scales: list[str],
              eligible: list[str]) -> tuple[list[str], Literal["given", "derived"]]:
    """The group's intended scales: given, else derived among the ``eligible`` (non-extraneous) level scales."""
    if group in given:
        return [s for s in demand_scales if s in given[group]], "given"
    candidates = {s: stats[s]["dominant_share"] for s in eligible if stats[s]["dominant_share"] is not None}
    top = max(candidates.values(), default=0.0)
    if top <= 0:
        return [], "derived"
    return [s for s, share in candidates.items() if share >= DERIVED_INTENDED_RATIO * top], "derived"


def parse_intended(specs: Sequence[str]) -> dict[str, list[str]]:
    """``["GROUP=QLq,KNf", ...]`` (the CLI's ``--intended``) → ``{group: [codes]}``; errors name the bad spec.

    The codes are checked against the analysed level scales by :func:`demand_profile`."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        group, sep, codes = spec.rpartition("=")
        if not sep or not group.strip() or not codes.strip():
            raise InputError(f"--intended {spec!r}: expected GROUP=CODE[,CODE...], e.g. math=QLq,KNf")
        out[group.strip()] = [c.strip() for c in codes.split(",") if c.strip()]
    return out
