"""The profiling pipeline behind ``assess profile``: config → battery + outcomes → abilities → files.

The active scale set (bundled rubrics plus the config's ``rubrics`` folders) decides the battery's
columns, the scales fitted (every level scale unless ``scales`` says otherwise), the dominance
filter's scales (every level scale) and the unguessability filter's column (the percentage scale
of family ``unguessability``, when the set has one).

Re-runs are idempotent: the inputs' fingerprint is stored in ``manifest.json`` and an output
folder whose fingerprint matches is left as it is (unless forced) — checked before any input is
parsed, so an up-to-date rerun only hashes the input files. Outputs are written as one generation
(:mod:`assess.outputs`): a killed run never leaves new numbers beside an old manifest.

This module is also the public entry point ``assess.profile(...)``: calling the module calls
:func:`profile`.
"""
from __future__ import annotations

import hashlib
import json
import sys
import types
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, abilities, outputs
from .irt import model as irt_model
from .irt import profiles as irt_profiles_module
from .abilities import profiles
from .battery import validate_battery, validate_outcomes
from .config import SAMPLE, ProfileConfig, load_profile_config
from .datasets import load_sample, sample_dir
from .errors import InputError
from .files import check_regular
from .profile_result import ProfileResult
from .report import ABILITIES_CSV, ABILITIES_JSON, CURVES_PNG, EMPIRICAL_CSV, MANIFEST, RADAR_PNG, REPORT_HTML, \
    write_report
from .rubrics import LEVEL_MAX
from .scaleset import ScaleSet, default_scale_set
from .sources import read_battery, read_outcomes
from .suggest import did_you_mean
from .yamlio import validate_located

__all__ = ["ProfileResult", "flag_evidence", "load_inputs", "profile", "run_profile"]


_sample = lru_cache(maxsize=1)(load_sample)
#: Every file a profile writes besides the manifest.
OUTPUT_FILES = (ABILITIES_JSON, ABILITIES_CSV, EMPIRICAL_CSV, RADAR_PNG, CURVES_PNG, REPORT_HTML)
#: Subject given to a per-subject outcome file while it is read (and cached) once for every config naming it.
_CONFIG_SUBJECT = "\x00config subject"


def _version_of(path: str) -> tuple[int, int] | None:
    """Size and mtime of a file, so that caches keyed on it notice edits; None for the sample or a missing file."""
    if path == SAMPLE or not Path(path).is_file():
        return None
    stat = Path(path).stat()
    return stat.st_size, stat.st_mtime_ns


def _battery(path: str, mapping: tuple[tuple[str, str], ...], scales: ScaleSet) -> pd.DataFrame:
    return _read_battery(path, mapping, scales, _version_of(path))


@lru_cache(maxsize=4)
def _read_battery(path: str, mapping: tuple[tuple[str, str], ...], scales: ScaleSet,
                  _version: tuple | None) -> pd.DataFrame:
    if path != SAMPLE:
        return read_battery(path, dict(mapping), scales)
    sample = _sample()[0]
    return sample if scales is default_scale_set() else validate_battery(sample, "bundled sample battery", scales)


def _outcomes(path: str, layout: str, battery_path: str, mapping: tuple[tuple[str, str], ...],
              subject: str, scales: ScaleSet, outcomes_mapping: tuple[tuple[str, str], ...] = ()) -> pd.DataFrame:
    """Outcomes of a config; a per-subject file (``instance_id, correct``) is the config's subject."""
    table = _read_outcomes(path, layout, battery_path, mapping, scales, outcomes_mapping, _version_of(path),
                           _version_of(battery_path))
    if len(table) and (table["subject"] == _CONFIG_SUBJECT).all():
        return table.assign(subject=subject)
    return table


@lru_cache(maxsize=4)
def _read_outcomes(path: str, layout: str, battery_path: str, mapping: tuple[tuple[str, str], ...],
                   scales: ScaleSet, outcomes_mapping: tuple[tuple[str, str], ...],
                   *_versions: tuple | None) -> pd.DataFrame:
    """An outcome table (under the scale set's battery), read once however many configs (subjects) use it."""
    battery = _battery(battery_path, mapping, scales)
    if path == SAMPLE:
        return validate_outcomes(_sample()[1], "bundled sample outcomes", battery)
    return read_outcomes(path, layout=layout, battery=battery, subject=_CONFIG_SUBJECT, mapping=dict(outcomes_mapping))


def load_inputs(config: ProfileConfig, scales: ScaleSet | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The config's battery (filtered, under its scale set) and the subject's outcomes on it."""
    scales = scales or config.scale_set()
    mapping = tuple(sorted(config.battery_mapping.items()))
    battery = _battery(config.battery, mapping, scales)
    outcomes = _outcomes(config.outcomes, config.outcomes_layout, config.battery, mapping, config.subject, scales,
                         tuple(sorted(config.outcomes_mapping.items())))
    battery = _filter(battery, "benchmark", config.filters.benchmarks, "filters.benchmarks")
    battery = _filter(battery, "task", config.filters.tasks, "filters.tasks")
    subjects = outcomes["subject"].unique()
    if config.subject not in subjects:
        known = ", ".join(sorted(subjects)[:30])
        raise InputError(f"key 'subject': {config.subject!r} has no outcomes in {config.outcomes}"
                         f"{did_you_mean(config.subject, subjects)} (subjects there: {known})")
    mine = outcomes[(outcomes["subject"] == config.subject) & outcomes["instance_id"].isin(battery["instance_id"])]
    return battery, mine.reset_index(drop=True)


def population_outcomes(config: ProfileConfig, battery: pd.DataFrame) -> pd.DataFrame:
    """Every subject's outcomes on the (filtered) battery: the population ``method: irt`` fits jointly."""
    mapping = tuple(sorted(config.battery_mapping.items()))
    outcomes = _outcomes(config.outcomes, config.outcomes_layout, config.battery, mapping, config.subject,
                         config.scale_set(), tuple(sorted(config.outcomes_mapping.items())))
    return outcomes[outcomes["instance_id"].isin(battery["instance_id"])].reset_index(drop=True)


def _filter(battery: pd.DataFrame, column: str, wanted: list[str], key: str) -> pd.DataFrame:
    if not wanted:
        return battery
    unknown = sorted(set(wanted) - set(battery[column]))
    if unknown:
        raise InputError(f"key {key!r}: unknown {column}(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(battery[column].unique()))}")
    return battery[battery[column].isin(wanted)]


def fingerprint(config: ProfileConfig, scales: ScaleSet) -> str:
    """Hash of everything the outputs depend on: config, scale set, input files' contents, library version and method code."""
    digest = hashlib.sha256(config.model_dump_json().encode())
    digest.update(scales.hash.encode())
    digest.update(__version__.encode())
    digest.update(Path(abilities.__file__).read_bytes())
    for module in (irt_model, irt_profiles_module):
        digest.update(Path(module.__file__).read_bytes())
    for path in _input_files(config):
        check_regular(path)
        digest.update(path.name.encode())
        try:
            digest.update(path.read_bytes())
        except OSError as err:
            raise InputError(f"cannot read file ({err.strerror or err})", source=path) from None
    return digest.hexdigest()


def _input_files(config: ProfileConfig) -> list[Path]:
    files = [Path(config.battery), Path(config.outcomes)]
    if SAMPLE in (config.battery, config.outcomes):
        files = [f for f in files if str(f) != SAMPLE] + sorted(sample_dir().glob("*.parquet"))
    return files


def run_profile(config: ProfileConfig, *, force: bool = False) -> ProfileResult:
    """Profile one subject and write its outputs to ``config.output_dir`` (kept when already up to date)."""
    output_dir = outputs.prepare(Path(config.output_dir), MANIFEST, OUTPUT_FILES)
    scales = config.scale_set()
    fitted = config.fitted_scales(scales)
    stamp = fingerprint(config, scales)
    kept = None if force else _kept(config, scales, output_dir, stamp)
    if kept is not None:
        return kept
    battery, outcomes = load_inputs(config, scales)
    if outcomes.empty:
        raise InputError(f"key 'subject': {config.subject!r} has no outcomes on the selected battery items")
    annotated = battery.loc[battery[list(scales.level_codes)].notna().any(axis=1), "instance_id"]
    summary = {"n_instances": len(outcomes), "n_annotated": int(outcomes["instance_id"].isin(annotated).sum()),
               "accuracy": float(outcomes["correct"].mean())}
    if summary["n_annotated"] == 0:
        raise InputError(f"none of the {len(outcomes)} outcomes of {config.subject!r} is on an annotated item "
                         f"(the battery has {len(annotated)} item(s) with demand levels); annotate the battery first",
                         source=config.battery, column="levels")
    if config.method == "irt":
        table, empirical, _ = irt_profiles_module.irt_profiles(
            battery, population_outcomes(config, battery), [config.subject], scales=list(fitted),
            settings=config.irt.model_dump())
    else:
        table, empirical = profiles(battery, outcomes, [config.subject], scales=fitted,
                                    dominance_scales=scales.level_codes, ug_column=scales.unguessability,
                                    bootstrap=config.bootstrap, seed=config.seed, dominant_only=config.dominant_only,
                                    min_ug=config.min_ug, level_diff=config.level_diff,
                                    round_levels=config.round_levels)
    table = flag_evidence(table.drop(columns="subject"), config.min_n)
    result = ProfileResult(config, scales, table, empirical.drop(columns="subject"), **summary)
    with outputs.generation(output_dir, MANIFEST) as staging:
        write_report(result, staging, stamp)
    return result


def flag_evidence(abilities: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Add ``insufficient`` (fewer than ``min_n`` instances behind the curve, n = 0 included) and
    ``extrapolation`` (an ability above the highest annotated level, 5) to an ability table, and blank the
    intercept and slope of scales without instances (a curve fitted to nothing)."""
    ability = abilities["ability"].astype(float)
    empty = abilities["n"] == 0
    return abilities.assign(insufficient=abilities["n"] < min_n, extrapolation=ability.notna() & (ability > LEVEL_MAX),
                            intercept=abilities["intercept"].mask(empty), slope=abilities["slope"].mask(empty))


def profile(config: str | Path | ProfileConfig | None = None, *, force: bool = False,
            **settings: Any) -> ProfileResult:
    """Profile a subject as ``assess profile`` does: from a model.yaml path, a config, or its keys.

    >>> assess.profile("examples/model.yaml")                                   # doctest: +SKIP
    >>> assess.profile(subject="m", battery="b.csv", outcomes="o.csv", output_dir="out")  # doctest: +SKIP

    Keys given as keywords are model.yaml's (``rubrics``, ``scales``, ``bootstrap``, ...); relative
    paths are taken from the current folder.
    """
    if config is None:
        base = Path.cwd()
        config = validate_located(ProfileConfig, settings, {}, "assess.profile()", context={"base": base}).resolve(base)
    elif settings:
        raise InputError("give a config or model.yaml keys, not both")
    elif not isinstance(config, ProfileConfig):
        config = load_profile_config(config)
    return run_profile(config, force=force)


class _CallableModule(types.ModuleType):
    """Lets ``assess.profile(...)`` call :func:`profile` although ``assess.profile`` is also this module."""

    def __call__(self, *args: Any, **kwargs: Any) -> ProfileResult:
        return profile(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule


def _kept(config: ProfileConfig, scales: ScaleSet, output_dir: Path, stamp: str) -> ProfileResult | None:
    """The result stored in an up-to-date output folder, read back without touching the inputs; else None."""
    manifest = output_dir / MANIFEST
    if not manifest.is_file():
        return None
    try:
        recorded = json.loads(manifest.read_text())
        files = recorded.get("files", [])
        if recorded.get("fingerprint") != stamp or not all((output_dir / f).is_file() for f in files):
            return None
        stored = json.loads((output_dir / ABILITIES_JSON).read_text())
        summary = {key: stored[key] for key in ("n_instances", "n_annotated", "accuracy")}
        return ProfileResult(config, scales, pd.read_csv(output_dir / ABILITIES_CSV),
                             pd.read_csv(output_dir / EMPIRICAL_CSV), **summary, up_to_date=True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # unreadable or foreign: recompute and write a fresh generation
