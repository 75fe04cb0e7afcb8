"""The profiling pipeline behind ``assess profile``: config → battery + outcomes → abilities → files.

Re-runs are idempotent: the inputs' fingerprint is stored in ``manifest.json`` and an output
folder whose fingerprint matches is left as it is (unless forced) — checked before any input is
parsed, so an up-to-date rerun only hashes the input files. Outputs are written as one generation
(:mod:`assess.outputs`): a killed run never leaves new numbers beside an old manifest.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import __version__, abilities, outputs
from .irt import model as irt_model
from .irt import profiles as irt_profiles_module
from .abilities import profiles
from .battery import validate_outcomes
from .config import SAMPLE, ProfileConfig
from .datasets import load_sample, sample_dir
from .errors import InputError
from .files import check_regular
from .report import ABILITIES_CSV, ABILITIES_JSON, CURVES_PNG, EMPIRICAL_CSV, MANIFEST, RADAR_PNG, REPORT_HTML, \
    write_report
from .scales import LEVEL_MAX, SCALES
from .sources import read_battery, read_outcomes
from .suggest import did_you_mean


@dataclass(frozen=True)
class ProfileResult:
    """A subject's ability profile with the evidence behind it."""

    config: ProfileConfig
    abilities: pd.DataFrame  # one row per scale: ability, ci_low, ci_high, n, intercept, slope, insufficient,
    #                          extrapolation (see flag_evidence)
    empirical: pd.DataFrame  # one row per scale × level: n, successes, rate
    n_instances: int  # outcomes of the subject on the selected battery items
    n_annotated: int  # of those, on items with at least one annotated scale
    accuracy: float
    up_to_date: bool = False


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


def _battery(path: str, mapping: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    return _read_battery(path, mapping, _version_of(path))


@lru_cache(maxsize=4)
def _read_battery(path: str, mapping: tuple[tuple[str, str], ...], _version: tuple | None) -> pd.DataFrame:
    return _sample()[0] if path == SAMPLE else read_battery(path, dict(mapping))


def _outcomes(path: str, layout: str, battery_path: str, mapping: tuple[tuple[str, str], ...],
              subject: str, outcomes_mapping: tuple[tuple[str, str], ...] = ()) -> pd.DataFrame:
    """Outcomes of a config; a per-subject file (``instance_id, correct``) is the config's subject."""
    table = _read_outcomes(path, layout, battery_path, mapping, outcomes_mapping, _version_of(path),
                           _version_of(battery_path))
    if len(table) and (table["subject"] == _CONFIG_SUBJECT).all():
        return table.assign(subject=subject)
    return table


@lru_cache(maxsize=4)
def _read_outcomes(path: str, layout: str, battery_path: str, mapping: tuple[tuple[str, str], ...],
                   outcomes_mapping: tuple[tuple[str, str], ...], *_versions: tuple | None) -> pd.DataFrame:
    """An outcome table, read once however many configs (subjects) use it."""
    battery = _battery(battery_path, mapping)
    if path == SAMPLE:
        return validate_outcomes(_sample()[1], "bundled sample outcomes", battery)
    return read_outcomes(path, layout=layout, battery=battery, subject=_CONFIG_SUBJECT, mapping=dict(outcomes_mapping))


def load_inputs(config: ProfileConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The config's battery (filtered) and the subject's outcomes on it."""
    mapping = tuple(sorted(config.battery_mapping.items()))
    battery = _battery(config.battery, mapping)
    outcomes = _outcomes(config.outcomes, config.outcomes_layout, config.battery, mapping, config.subject,
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
                         tuple(sorted(config.outcomes_mapping.items())))
    return outcomes[outcomes["instance_id"].isin(battery["instance_id"])].reset_index(drop=True)


def _filter(battery: pd.DataFrame, column: str, wanted: list[str], key: str) -> pd.DataFrame:
    if not wanted:
        return battery
    unknown = sorted(set(wanted) - set(battery[column]))
    if unknown:
        raise InputError(f"key {key!r}: unknown {column}(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(battery[column].unique()))}")
    return battery[battery[column].isin(wanted)]


def fingerprint(config: ProfileConfig) -> str:
    """Hash of everything the outputs depend on: config, input files' contents, library version and method code."""
    digest = hashlib.sha256(config.model_dump_json().encode())
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
    stamp = fingerprint(config)
    kept = None if force else _kept(config, output_dir, stamp)
    if kept is not None:
        return kept
    battery, outcomes = load_inputs(config)
    if outcomes.empty:
        raise InputError(f"key 'subject': {config.subject!r} has no outcomes on the selected battery items")
    annotated = battery.loc[battery[list(SCALES)].notna().any(axis=1), "instance_id"]
    summary = {"n_instances": len(outcomes), "n_annotated": int(outcomes["instance_id"].isin(annotated).sum()),
               "accuracy": float(outcomes["correct"].mean())}
    if summary["n_annotated"] == 0:
        raise InputError(f"none of the {len(outcomes)} outcomes of {config.subject!r} is on an annotated item "
                         f"(the battery has {len(annotated)} item(s) with demand levels); annotate the battery first",
                         source=config.battery, column="levels")
    if config.method == "irt":
        table, empirical, _ = irt_profiles_module.irt_profiles(
            battery, population_outcomes(config, battery), [config.subject], scales=config.scales,
            settings=config.irt.model_dump())
    else:
        table, empirical = profiles(battery, outcomes, [config.subject], scales=tuple(config.scales),
                                    bootstrap=config.bootstrap, seed=config.seed, dominant_only=config.dominant_only,
                                    min_ug=config.min_ug, level_diff=config.level_diff,
                                    round_levels=config.round_levels)
    table = flag_evidence(table.drop(columns="subject"), config.min_n)
    result = ProfileResult(config, table, empirical.drop(columns="subject"), **summary)
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


def _kept(config: ProfileConfig, output_dir: Path, stamp: str) -> ProfileResult | None:
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
        return ProfileResult(config, pd.read_csv(output_dir / ABILITIES_CSV), pd.read_csv(output_dir / EMPIRICAL_CSV),
                             **summary, up_to_date=True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # unreadable or foreign: recompute and write a fresh generation
