"""Distilled annotator study: how well text → levels reproduces the reference annotations, and what it buys.

1. ``agreement`` — cross-validation over the 1,800 reference-annotated items, grouped by task
   (5-fold GroupKFold) and by source benchmark (leave one out): per-scale quadratic-weighted
   kappa, exact and ±1 agreement of out-of-fold distilled levels with the reference ones, for each
   feature set (``hashing``; ``minilm`` when every annotated prompt's embedding is cached).
2. ``downstream`` — on the same folds, per subject: a DemandAssessor trained on the training
   items' reference levels predicts the test items from their reference levels and from their
   distilled (out-of-fold) levels; an EmbeddingAssessor (MiniLM, C by inner CV) is trained and
   tested on the same items. AUROC on pooled out-of-fold predictions, mean over subjects.
3. ``annotate`` — a hashing annotator distilled from all 1,800 items annotates every unannotated
   item of the sample through `assess annotate` (items/s measured end to end), written to
   ``results/distilled_annotations.parquet`` with its own provenance, apart from the reference.
4. ``mmlu`` — all 12,032 MMLU-Pro items with distilled levels (out-of-fold for the 1,260 annotated
   ones): DemandAssessor on those levels against EmbeddingAssessor on the same prompts (all of them
   embedded first, cached in chunks), in distribution, on new tasks and on new source benchmarks,
   per subject (``results/mmlu.csv``).

    python studies/distilled_annotator/run.py                      # every part
    python studies/distilled_annotator/run.py --parts agreement downstream
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from assess.annotate.agreement import agreement_report
from assess.annotate.prompts import instance_text
from assess.atomic import write_table, write_text
from assess.battery import join
from assess.cli import main as cli
from assess.datasets import load_sample
from assess.scales import ANNOTATED
from predictors import DemandAssessor, EmbeddingAssessor, evaluate
from predictors.distill import FEATURE_SETS, features, fit_distilled
from predictors.embeddings import DEFAULT_MODEL, cache_root, _cache_for, embed_texts, text_key
from predictors.metrics import auroc

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
GROUPINGS = {"task": "task", "benchmark": "source_benchmark"}


def instance_texts(battery: pd.DataFrame) -> list[str]:
    return [instance_text(p, t, f) for p, t, f in zip(battery["prompt"], battery["target"], battery["answer_format"])]


def cached(prompts: list[str]) -> np.ndarray:
    """Which prompts have a MiniLM embedding in the on-disk cache."""
    cache = _cache_for(str(cache_root() / "embeddings"), DEFAULT_MODEL)
    keys = [text_key(p) for p in prompts]
    known = cache.get(keys)
    return np.array([k in known for k in keys])


def splits_for(annotated: pd.DataFrame, grouping: str) -> list[tuple[np.ndarray, np.ndarray]]:
    groups = annotated[GROUPINGS[grouping]].astype(str).to_numpy()
    if grouping == "task":
        return list(GroupKFold(5, shuffle=True, random_state=0).split(annotated, groups=groups))
    return list(LeaveOneGroupOut().split(annotated, groups=groups))


def distill_oof(annotated: pd.DataFrame, X: np.ndarray, grouping: str, feature_set: str) -> pd.DataFrame:
    """Out-of-fold distilled levels of every annotated item under a grouping."""
    texts = instance_texts(annotated)
    out = annotated[["instance_id"]].copy()
    out[list(ANNOTATED)] = np.nan
    for train, test in splits_for(annotated, grouping):
        model = fit_distilled([texts[i] for i in train], annotated.iloc[train][list(ANNOTATED)],
                              feature_set=feature_set, X=X[train])
        out.iloc[test, 1:] = model.levels_from_features(X[test])
    return out


def agreement(annotated: pd.DataFrame, oof: dict) -> pd.DataFrame:
    rows = []
    for (feature_set, grouping), levels in oof.items():
        report = agreement_report({"reference": annotated, "distilled": levels}, ANNOTATED)
        rows.append(report.assign(features=feature_set, grouping=grouping))
    return pd.concat(rows, ignore_index=True)


def downstream(annotated: pd.DataFrame, outcomes: pd.DataFrame, oof: dict, with_embedding: bool,
               subjects: list[str]) -> pd.DataFrame:
    """Per (grouping, subject): AUROC of demand(reference), demand(distilled per feature set), embedding."""
    rows = []
    data = join(annotated, outcomes[outcomes["subject"].isin(subjects)])
    for grouping in GROUPINGS:
        splits = splits_for(annotated, grouping)
        for subject, subject_rows in data.groupby("subject"):
            ids = subject_rows.set_index("instance_id")
            preds: dict[str, list] = {}
            ys = []
            for train, test in splits:
                train_ids = [i for i in annotated["instance_id"].iloc[train] if i in ids.index]
                test_ids = [i for i in annotated["instance_id"].iloc[test] if i in ids.index]
                y_train, y_test = ids.loc[train_ids, "correct"].to_numpy(), ids.loc[test_ids, "correct"].to_numpy()
                if len(test_ids) == 0 or len(set(y_train)) < 2:
                    continue
                X_train, X_test = ids.loc[train_ids].reset_index(), ids.loc[test_ids].reset_index()
                demand = DemandAssessor().fit(X_train, y_train)
                preds.setdefault("demand (reference levels)", []).append(demand.predict_proba(X_test)[:, 1])
                for feature_set in FEATURE_SETS:
                    if (feature_set, grouping) not in oof:
                        continue
                    levels = oof[(feature_set, grouping)].set_index("instance_id").loc[test_ids, list(ANNOTATED)]
                    distilled = X_test.copy()
                    distilled[list(ANNOTATED)] = levels.to_numpy()
                    preds.setdefault(f"demand (distilled {feature_set})", []).append(
                        demand.predict_proba(distilled)[:, 1])
                if with_embedding and len(set(y_train)) == 2 and min(np.bincount(y_train)) >= 5:
                    embedding = EmbeddingAssessor().fit(X_train, y_train)
                    preds.setdefault("embedding", []).append(embedding.predict_proba(X_test)[:, 1])
                ys.append(y_test)
            y = np.concatenate(ys) if ys else np.array([])
            if len(set(y)) < 2:
                continue
            for name, parts in preds.items():
                if len(parts) == len(ys):
                    rows.append({"grouping": grouping, "subject": subject, "assessor": name,
                                 "auroc": auroc(y, np.concatenate(parts)), "n": len(y)})
    return pd.DataFrame(rows)


def annotate_rest(battery: pd.DataFrame, annotated: pd.DataFrame, scratch: Path) -> tuple[pd.DataFrame, dict]:
    """Distil (hashing) from every annotated item; annotate every other item through `assess annotate`."""
    train = scratch / "annotated.parquet"
    annotated.to_parquet(train)
    model_dir = scratch / "distilled"
    assert cli(["distill", "--battery", str(train), "--out", str(model_dir), "--features", "hashing"]) == 0
    rest = battery[~battery["instance_id"].isin(annotated["instance_id"])].reset_index(drop=True)
    rest.to_parquet(scratch / "rest.parquet")
    start = time.perf_counter()
    assert cli(["annotate", str(scratch / "rest.parquet"), "--annotator", str(model_dir / "annotator.yaml"),
                "--cache", str(scratch / "cache.sqlite"), "--out", str(scratch / "rest_annotated.parquet")]) == 0
    seconds = time.perf_counter() - start
    out = pd.read_parquet(scratch / "rest_annotated.parquet")
    columns = ["instance_id", *ANNOTATED, "annotator", "annotation_protocol", "rubric_hash"]
    return out[columns], {"items": len(out), "seconds": seconds, "items_per_second": len(out) / seconds,
                          "annotator": str(out["annotator"].iloc[0])}


def mmlu(battery: pd.DataFrame, outcomes: pd.DataFrame, distilled: pd.DataFrame, oof_task: pd.DataFrame,
         subjects: list[str], n_jobs: int) -> pd.DataFrame:
    """DemandAssessor on distilled levels against EmbeddingAssessor on the same prompts, on every MMLU-Pro item."""
    levels = pd.concat([distilled, oof_task.assign(annotator="distilled (out-of-fold)")], ignore_index=True)
    items = battery[battery["benchmark"] == "mmlu_pro"].drop(columns=list(ANNOTATED)).merge(
        levels[["instance_id", *ANNOTATED]], on="instance_id", how="left").reset_index(drop=True)
    assert items[list(ANNOTATED)].notna().all().all()
    embed_texts(items["prompt"].tolist(), progress=print_progress)  # once, cached in chunks: resumable
    protocols = ("in_distribution", "task_ood", "benchmark_ood")
    chosen = outcomes[outcomes["subject"].isin(subjects) & outcomes["instance_id"].isin(items["instance_id"])]
    rows = []
    for name, assessor in (("demand", DemandAssessor()), ("embedding", EmbeddingAssessor())):
        start = time.perf_counter()
        result = evaluate(assessor, items, chosen, protocols=protocols, benchmark_column="source_benchmark",
                          n_jobs=n_jobs)
        for _, row in result.table.iterrows():
            rows.append({"assessor": name, "n_items": len(items), "protocol": row["protocol"],
                         "subject": row["subject"], "n": int(row["n"]), "auroc": row["auroc"], "ece": row["ece"]})
        print(name, f"{time.perf_counter() - start:.0f} s", flush=True)
    return pd.DataFrame(rows)


def print_progress(event) -> None:
    """Print a progress report every 2,048 texts, and the last one."""
    if event.total and (event.done == event.total or event.done % 2048 == 0):
        print(f"{event.task}: {event.done}/{event.total}", flush=True)


def pick_subjects(outcomes: pd.DataFrame, n: int) -> list[str]:
    accuracy = outcomes.groupby("subject")["correct"].mean().sort_values()
    step = (len(accuracy) - 1) / max(n - 1, 1)
    return sorted({accuracy.index[round(i * step)] for i in range(n)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=["agreement", "downstream", "annotate", "mmlu"])
    parser.add_argument("--subjects", type=int, default=8, help="downstream: subjects spread over accuracy")
    parser.add_argument("--mmlu-subjects", type=int, default=6, help="MMLU-Pro subjects spread over accuracy")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--reuse-oof", action="store_true", help="read out-of-fold levels saved by an earlier run")
    args = parser.parse_args()
    battery, outcomes = load_sample()
    annotated = battery[battery[list(ANNOTATED)].notna().all(axis=1)].reset_index(drop=True)
    texts = instance_texts(annotated)
    have_minilm = bool(cached(annotated["prompt"].tolist()).all())
    feature_sets = ["hashing"] + (["minilm"] if have_minilm else [])
    print(f"feature sets: {feature_sets} (minilm needs every annotated prompt embedded)", flush=True)
    oof = {}
    if {"agreement", "downstream", "mmlu"} & set(args.parts):
        for fs in feature_sets:
            saved = {g: RESULTS / f"oof_levels_{fs}_{g}.parquet" for g in GROUPINGS}
            if args.reuse_oof and all(path.exists() for path in saved.values()):
                oof.update({(fs, g): pd.read_parquet(path) for g, path in saved.items()})
                continue
            X = features(texts, fs)
            for g in GROUPINGS:
                oof[(fs, g)] = distill_oof(annotated, X, g, fs)
                write_table(oof[(fs, g)], saved[g])
    if "agreement" in args.parts:
        table = agreement(annotated, oof)
        write_table(table, RESULTS / "agreement.csv")
        print(table.groupby(["features", "grouping"])[["qwk", "exact", "within_one"]].mean().round(3), flush=True)
    if "downstream" in args.parts:
        table = downstream(annotated, outcomes, oof, with_embedding=have_minilm,
                           subjects=pick_subjects(outcomes[outcomes["instance_id"].isin(annotated["instance_id"])],
                                                  args.subjects))
        write_table(table, RESULTS / "downstream.csv")
        print(table.groupby(["grouping", "assessor"])["auroc"].agg(["mean", "count"]).round(3), flush=True)
    if "annotate" in args.parts:
        with tempfile.TemporaryDirectory() as scratch:
            distilled, speed = annotate_rest(battery, annotated, Path(scratch))
        write_table(distilled, RESULTS / "distilled_annotations.parquet")
        write_text(RESULTS / "annotate_speed.csv", pd.DataFrame([speed]).to_csv(index=False))
        print(speed, flush=True)
    if "mmlu" in args.parts:
        distilled = pd.read_parquet(RESULTS / "distilled_annotations.parquet")  # written by the annotate part
        mmlu_items = battery.loc[battery["benchmark"] == "mmlu_pro", "instance_id"]
        subjects = pick_subjects(outcomes[outcomes["instance_id"].isin(mmlu_items)], args.mmlu_subjects)
        table = mmlu(battery, outcomes, distilled, oof[("hashing", "task")], subjects, args.n_jobs)
        write_table(table, RESULTS / "mmlu.csv")
        print(table.round(3).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
