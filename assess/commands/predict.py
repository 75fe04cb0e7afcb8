"""`assess fit`, `assess predict` and `assess evaluate`: train, apply and evaluate instance-level assessors.

``predictors`` is imported inside the commands so that `assess --help` stays fast.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Console

from ..atomic import write_table
from ..errors import InputError
from ..scaleset import ScaleSet
from ..cli_options import RubricsOption, active_scale_set
from ..cli_progress import progress_bars
from ..suggest import did_you_mean
from .tables import frame_table

console = Console(stderr=True)

ASSESSOR_HELP = "demand, embedding, combined, finetune, multisubject, multisubject-combined or irt."


def _read_data(battery: Path | None, outcomes: Path | None, sample: bool, scales: ScaleSet,
               subject: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The battery (under the active scale set) and outcomes from files, or the bundled sample (annotated items only).

    ``subject`` names the outcomes of a per-subject file (``instance_id, correct``).
    """
    if sample:
        if battery or outcomes:
            raise InputError("give either --sample or --battery/--outcomes, not both")
        from ..battery import validate_battery
        from ..datasets import load_sample

        table, results = load_sample(annotated_only=True)
        return validate_battery(table, "bundled sample battery", scales), results
    if battery is None or outcomes is None:
        raise InputError("give --battery and --outcomes (or --sample)")
    from ..sources import read_battery, read_outcomes

    table = read_battery(battery, scales=scales)
    return table, read_outcomes(outcomes, subject=subject, battery=table)


def read_profile(path: Path, subject: str | None) -> dict[str, dict[str, float]]:
    """The abilities in an ``abilities.json`` written by ``assess profile``, as ``{subject: {scale: ability}}``.

    The subject is ``subject``, or the one the file names when ``subject`` is None.
    """
    from ..report import read_abilities

    document = read_abilities(path)
    return {subject or document.subject: document.abilities()}


def fit(
    output: Path = typer.Argument(..., metavar="MODEL_DIR", help="Directory to save the fitted assessor in."),
    battery: Path | None = typer.Option(None, help="Battery file (CSV, JSONL or Parquet)."),
    outcomes: Path | None = typer.Option(None, help="Outcomes file (long, per-subject or wide)."),
    sample: bool = typer.Option(False, "--sample", help="Use the bundled annotated sample."),
    subject: str | None = typer.Option(None, help="Subject to learn (all subjects for multisubject)."),
    assessor: str = typer.Option("demand", help=ASSESSOR_HELP),
    classifier: str | None = typer.Option(None, help="forest, xgboost or logistic (default per assessor)."),
    base_model: str | None = typer.Option(None, help="finetune: local model directory to fine-tune."),
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """Fit an assessor on a subject's outcomes (or every subject's, for multisubject) and save it.

    Graded outcomes train as success rates weighted by their trials.
    """
    from assess.battery import join
    from predictors import MultiSubjectAssessor, ability_profiles, make_assessor, save

    scales = active_scale_set(rubrics, console=console)
    table, results = _read_data(battery, outcomes, sample, scales, subject)
    model = make_assessor(assessor, classifier=classifier, base_model=base_model, features=scales.codes,
                          scale_set=scales)
    if isinstance(model, MultiSubjectAssessor):
        model.set_params(profiles=ability_profiles(table, results, scales=scales))
    elif subject is None and assessor != "irt":  # irt fits every subject's outcomes at once
        raise InputError(f"--subject is required for the {assessor} assessor")
    rows = join(table, results, subject)
    if rows.empty:
        raise InputError(f"no outcomes for subject {subject!r} on this battery"
                         f"{did_you_mean(str(subject), results['subject'].unique())}", column="subject")
    if "trials" in rows.columns:
        model.fit(rows, rows["correct"].to_numpy(), sample_weight=rows["trials"].to_numpy())
    else:
        model.fit(rows, rows["correct"].to_numpy())
    save(model, output, subject=None if assessor == "multisubject" else subject)
    console.print(f"fitted {type(model).__name__} on {len(rows)} outcomes; saved to {output}", highlight=False,
                  markup=False)


def predict(
    model_dir: Path = typer.Argument(..., metavar="MODEL_DIR", help="A saved assessor (assess fit)."),
    battery: Path = typer.Option(..., help="New instances (CSV, JSONL or Parquet battery)."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write instance_id, subject, p_success."),
    subject: str | None = typer.Option(None, help="Subject to predict (default: the one a single-subject assessor "
                                       "was fitted on, or the one --profile names)."),
    profile: Path | None = typer.Option(None, help="Ability profile of a new subject: the abilities.json "
                                        "`assess profile` wrote."),
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """Success probabilities of a subject on new instances."""
    from predictors import IRTAssessor, MultiSubjectAssessor, load
    from predictors.persistence import read_metadata

    from ..schemas import write_predictions
    from ..sources import read_battery

    model = load(model_dir)
    table = read_battery(battery, scales=active_scale_set(rubrics, console=console))
    if isinstance(model, (MultiSubjectAssessor, IRTAssessor)):
        extra = read_profile(profile, subject) if profile else None
        if extra is not None:
            subject = next(iter(extra))
        if subject is None:
            raise InputError("a multi-subject assessor needs --subject NAME (a subject it was fitted with) or "
                             "--profile abilities.json (from assess profile, for any other subject)")
        known = model.profiles_ if isinstance(model, MultiSubjectAssessor) else model.subjects_
        if extra is None and subject not in known:
            raise InputError(f"no ability profile for subject {subject!r} in this assessor{did_you_mean(subject, known)}; "
                             "give one with --profile abilities.json (written by assess profile)", source=model_dir)
        p = model.predict_proba(table.assign(subject=subject), extra)[:, 1]
    else:
        if profile is not None:
            raise InputError("--profile only applies to a multi-subject or IRT assessor")
        fitted_on = read_metadata(model_dir).get("subject")
        if subject is not None and fitted_on is not None and subject != fitted_on:
            raise InputError(f"this assessor was fitted on {fitted_on!r}, not {subject!r}; fit one for {subject!r} "
                             "or use a multi-subject assessor", source=model_dir)
        subject = subject or fitted_on
        p = model.predict_proba(table)[:, 1]
    write_predictions(pd.DataFrame({"instance_id": table["instance_id"], "subject": subject or "", "p_success": p}),
                      output)
    console.print(f"wrote {len(table)} predictions to {output}", highlight=False, markup=False)


def evaluate(
    output: Path = typer.Argument(..., metavar="OUT_DIR", help="Directory for table.csv, summary.csv, plots."),
    battery: Path | None = typer.Option(None, help="Battery file (CSV, JSONL or Parquet)."),
    outcomes: Path | None = typer.Option(None, help="Outcomes file (long, per-subject or wide)."),
    sample: bool = typer.Option(False, "--sample", help="Use the bundled annotated sample."),
    assessor: list[str] = typer.Option(["demand"], help=ASSESSOR_HELP + " Repeat for a side-by-side table."),
    classifier: str | None = typer.Option(None, help="forest, xgboost or logistic (default per assessor)."),
    base_model: str | None = typer.Option(None, help="finetune: local model directory to fine-tune."),
    protocol: list[str] = typer.Option(["in_distribution"], help="in_distribution, task_ood, benchmark_ood, "
                                       "new_subject (repeat the option for several)."),
    subject: list[str] | None = typer.Option(None, help="Restrict to these subjects (repeatable)."),
    folds: int = typer.Option(5, min=2, help="Number of folds."),
    seeds: int = typer.Option(1, min=1, help="Number of seeds (in-distribution protocol: averaged)."),
    tolerance: float = typer.Option(0.1, min=0.0, max=1.0, help="Error tolerance of the predictably-valid share."),
    task_column: str = typer.Option("task", help="Battery column grouping task-OOD folds."),
    benchmark_column: str = typer.Option("benchmark", help="Battery column for benchmark-OOD."),
    n_jobs: int = typer.Option(1, help="Parallel fits (-1: all cores)."),
    rubrics: list[Path] | None = RubricsOption,
) -> None:
    """Run the evaluation protocols and write the per-subject table, the summary and calibration plots."""
    from functools import partial

    from predictors import ability_profiles, evaluate as run_evaluation, make_assessor
    from predictors.plots import calibration_figure, rejection_figure, save_figure

    scales = active_scale_set(rubrics, console=console)
    table, results = _read_data(battery, outcomes, sample, scales)
    models = {name: make_assessor(name, classifier=classifier, base_model=base_model, features=scales.codes,
                                  scale_set=scales)
              for name in dict.fromkeys(assessor)}
    tables, summaries, skipped, predictions, results_by_name = [], [], [], [], {}
    for name, model in models.items():
        with progress_bars(console, transient=True) as progress:
            result = run_evaluation(model, table, results, protocols=protocol, subjects=subject or None,
                                    n_splits=folds, seeds=tuple(range(seeds)), task_column=task_column,
                                    benchmark_column=benchmark_column,
                                    profile_fn=partial(ability_profiles, scales=scales), tolerance=tolerance,
                                    n_jobs=n_jobs, progress=progress)
        results_by_name[name] = result
        tables.append(result.table.assign(assessor=name))
        summaries.append(result.summary().assign(assessor=name))
        skipped.append(result.skipped.assign(assessor=name))
        predictions.append(result.predictions.assign(assessor=name))
        first_seed = result.predictions[result.predictions["seed"] == result.predictions["seed"].min()]
        suffix = "" if len(models) == 1 else f"_{name}"
        save_figure(calibration_figure(first_seed, title=f"{name} assessor"), output / f"calibration{suffix}.png")
        save_figure(rejection_figure(first_seed, title=f"{name} assessor"), output / f"rejection{suffix}.png")
    summary = pd.concat(summaries, ignore_index=True)
    write_table(pd.concat(tables, ignore_index=True), output / "table.csv")
    write_table(summary, output / "summary.csv")
    write_table(pd.concat(skipped, ignore_index=True), output / "skipped.csv")
    write_table(pd.concat(predictions, ignore_index=True), output / "predictions.parquet")
    for name in models:
        Console().print(summary_table(summary[summary["assessor"] == name].drop(columns="assessor"),
                                      f"{name} assessor: evaluation summary"))
    choices = pd.concat([result.choices().assign(assessor=name) for name, result in results_by_name.items()],
                        ignore_index=True)
    if not choices.empty:
        Console().print(frame_table(choices[["assessor", "protocol", "chosen", "share"]].round(3),
                                    "what the combined assessors chose (share of held-out predictions)"))
    if len(models) > 1:
        Console().print(side_by_side_table(summary))
    console.print(f"wrote {output}/table.csv, summary.csv, predictions.parquet and plots", highlight=False,
                  markup=False)


def summary_table(summary: pd.DataFrame, title: str):
    """The evaluation summary as a rich table: one row per metric, one column per protocol and aggregate."""
    metrics = [c for c in summary.columns if c not in ("protocol", "aggregate", "subjects", "fit_seconds",
                                                        "predict_seconds")]
    wide = summary.set_index(["protocol", "aggregate", "subjects"])[metrics].T
    wide.columns = [f"{protocol}\n{aggregate.replace('accuracy_', '')} ({subjects} subjects)"
                    for protocol, aggregate, subjects in wide.columns]
    return frame_table(wide.rename_axis("metric").reset_index(), title)


def side_by_side_table(summary: pd.DataFrame):
    """Mean AUROC and ECE per protocol (rows) and assessor (columns)."""
    means = summary[summary["aggregate"] == "mean"]
    wide = means.pivot_table(index="protocol", columns="assessor", values=["auroc", "ece"], sort=False)
    wide.columns = [f"{metric} {assessor}" for metric, assessor in wide.columns]
    return frame_table(wide.reset_index(), "assessors side by side (mean over subjects)")


def register(app: typer.Typer) -> None:
    """Add `assess fit`, `assess predict` and `assess evaluate` to the app."""
    app.command("fit")(fit)
    app.command("predict")(predict)
    app.command("evaluate")(evaluate)
