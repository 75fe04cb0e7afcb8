"""A whole subject run from its config: battery → selected samples → solver → scorer → files.

Writes the outcomes (Parquet or CSV by suffix) and, beside them, ``<output>.settings.json`` with
everything that produced them: backend and generation settings, solver, scorer, templates,
selection and the run summary (API keys are never in a config, only the name of their variable).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..atomic import write_with
from ..backends import make_backend
from ..battery import validate_outcomes
from ..config import SAMPLE
from ..datasets import reference_subset, sample_battery
from ..errors import InputError
from ..progress import ProgressCallback, report
from ..registry import SCORERS
from ..scaleset import ScaleSet, load_scale_set
from ..schemas import RunSettingsFile, read_file, write_file
from ..sources import read_battery
from .config import REFERENCE, RunConfig, resolve_model
from .dataset import DEFAULT_TEMPLATES, build_samples, select_rows
from .judge import JudgeScorer
from .runner import RunSummary, run_samples
from .scorers import Scorer
from .solvers import GenerateSolver, RankSolver, Solver
from .store import RunCache


def load_battery(spec: str, scales: ScaleSet | None = None) -> pd.DataFrame:
    """The bundled sample battery (``sample``) or a battery file, under a scale set (default: bundled)."""
    return sample_battery(scales) if spec == SAMPLE else read_battery(spec, scales=scales)


def selected_ids(spec: str | None) -> list[str] | None:
    """Ids from ``select.instance_ids``: the reference subset, a file of one id per line, or None (all)."""
    if spec is None:
        return None
    if spec == REFERENCE:
        return reference_subset()
    path = Path(spec)
    if not path.is_file():
        raise InputError("file not found", source=path, column="select.instance_ids")
    return path.read_text(encoding="utf-8").split()


def build_scorer(config: RunConfig, cache: RunCache) -> Scorer:
    """The scorer a config names, from :data:`assess.registry.SCORERS` (the judge shares the run cache)."""
    return SCORERS.get(config.scorer, key="scorer")(config, cache)


def build_solver(config: RunConfig) -> Solver:
    """The solver a config names, over the backend it names (model packages resolved to their file)."""
    backend = make_backend(resolve_model(config.backend))
    if config.solver == "rank":
        return RankSolver(backend)
    return GenerateSolver(backend, config.backend.generation, config.chat)


async def run_job(config: RunConfig, progress: ProgressCallback | None = None) -> tuple[pd.DataFrame, RunSummary]:
    """Run the configured subject, write its outcomes and settings, and return both with the summary.

    ``progress`` receives ``generating`` events and a ``run`` note about skipped items.
    """
    battery = load_battery(config.battery, load_scale_set(config.rubrics))
    sel = config.select
    rows = select_rows(battery, benchmarks=sel.benchmarks, tasks=sel.tasks, families=sel.answer_formats,
                       instance_ids=selected_ids(sel.instance_ids), limit=sel.limit, stratify=sel.stratify,
                       seed=sel.seed)
    skipped: list[InputError] = []
    samples = build_samples(rows, pool=battery, fewshot=config.fewshot, seed=sel.seed, templates=config.templates,
                            skipped=skipped)
    if not samples:
        raise InputError(f"none of the {len(rows)} selected items can be run; first problem: {skipped[0]}")
    if skipped:
        report(progress, "run", message=f"skipped {len(skipped)} unusable item(s), listed in the settings file; "
                                        f"first: {skipped[0]}")
    cache = RunCache(str(config.cache))
    solver = build_solver(config)
    scorer = build_scorer(config, cache)
    identity = {"subject": config.subject, "backend": config.backend.backend, "model": config.backend.model}
    try:
        outcomes, summary = await run_samples(samples, solver, scorer, cache, config.subject, identity, progress)
    finally:
        await solver.backend.aclose()
        if isinstance(scorer, JudgeScorer):
            await scorer.backend.aclose()
        cache.close()
    write_outcomes(outcomes, config.output)
    write_file(settings_path(config.output), run_settings(config, solver, summary, skipped))
    return outcomes, summary


def write_outcomes(outcomes: pd.DataFrame, output: str | Path) -> Path:
    """Validate and atomically write outcomes as Parquet (``.parquet``) or CSV (anything else)."""
    outcomes = validate_outcomes(outcomes, output)
    if str(output).endswith(".parquet"):
        return write_with(output, lambda tmp: outcomes.to_parquet(tmp, index=False))
    return write_with(output, lambda tmp: outcomes.to_csv(tmp, index=False))


def settings_path(output: str | Path) -> Path:
    """Where the settings of the run that wrote ``output`` are kept."""
    output = Path(output)
    return output.with_name(f"{output.stem}.settings.json")


def run_settings(config: RunConfig, solver: Solver, summary: RunSummary,
                 skipped: Sequence[InputError] = ()) -> RunSettingsFile:
    """Everything that produced the outcomes, for the record (the schema of ``<output>.settings.json``)."""
    return RunSettingsFile(
        subject=config.subject, battery=config.battery, outcomes=config.output, backend=config.backend.model_dump(),
        solver=solver.settings(), scorer=config.scorer, regex=config.regex if config.scorer == "regex" else None,
        tolerance=config.tolerance.model_dump(), judge=config.judge.model_dump() if config.judge else None,
        fewshot=config.fewshot, templates={**DEFAULT_TEMPLATES, **config.templates},
        select=config.select.model_dump(), rubrics=config.rubrics, summary=summary.as_dict(),
        skipped=[{"instance_id": e.instance_id, "problem": e.reason} for e in skipped])


def read_run_settings(output: str | Path) -> RunSettingsFile:
    """The settings of the run that wrote the outcomes ``output`` (checked against their schema)."""
    return read_file(settings_path(output), RunSettingsFile)
