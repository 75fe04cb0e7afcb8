"""Fuzzing the loaders (issue 15): batteries, outcomes, configs and saved predictors.

Hypothesis mutates a seed corpus the tests build (valid files of each kind): byte edits with
tokens that tend to break parsers, truncation, and — for saved predictors — structured edits of
node indices and values. Every loader must return validated data or raise
:class:`~assess.errors.InputError`; a loaded predictor must give probabilities in [0, 1] or an
InputError. The budget is fixed and derandomised (the same examples on every CI run), a few
seconds per loader on two cores.
"""
from __future__ import annotations

import json
import math
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from assess.annotate import load_annotator
from assess.config import load_profile_config
from assess.errors import InputError
from assess.rubrics import load_rubric
from assess.runs.config import load_run_config
from assess.sources import read_battery, read_outcomes
from conftest import synthetic_battery, synthetic_outcomes
from predictors import DemandAssessor, load, save

BUDGET = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TOKENS = [b"nan", b"-1", b"1e309", b"99", b"-0", b"\x00", b'"', b",", b"\n", b"\r", b"[", b"{", b"}", b"]", b"\\",
          b"\xff\xfe", "é".encode(), b"[/x]", b"true", b"null", b"&a ", b"*a", b"<<: *a", b"!!python/object/apply:os.system",
          b": ", b"- ", b"\t", b"'"]
EXTREMES = [-1, 0, 1, 2, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 10 ** 6, 10 ** 18, 1e9, -1e9, 1e39, float("nan"),
            float("inf"), 0.5, True, None, "x", [], {}]


def _apply(seed: bytes, edits: list[tuple[int, str, bytes]], cut: int | None) -> bytes:
    data = bytearray(seed)
    for position, action, token in edits:
        at = position % (len(data) + 1)
        if action == "insert":
            data[at:at] = token
        elif action == "replace":
            data[at:at + len(token)] = token
        else:
            del data[at:at + max(1, len(token))]
    return bytes(data[:cut] if cut is not None else data)


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """Byte-level variants of ``seed``: a few insertions, replacements or deletions, maybe a truncation."""
    token = st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=6)
    edit = st.tuples(st.integers(0, max(len(seed) - 1, 0)), st.sampled_from(["insert", "replace", "delete"]), token)
    return st.builds(_apply, st.just(seed), st.lists(edit, max_size=6), st.none() | st.integers(0, len(seed)))


@lru_cache(maxsize=1)
def corpus() -> dict[str, object]:
    """Valid files of every kind, written once into a temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="assess-fuzz-"))
    battery = synthetic_battery(30)
    outcomes = synthetic_outcomes(battery, {"a": 3.0, "b": 1.0})
    battery.to_csv(root / "battery.csv", index=False)
    model = save(DemandAssessor(classifier="xgboost").fit(battery, outcomes.query("subject == 'a'")["correct"]),
                 root / "xgb")
    forest = save(DemandAssessor().fit(battery, outcomes.query("subject == 'a'")["correct"]), root / "forest")
    rubric = Path(__file__).resolve().parents[1] / "rubrics" / "QLq.yaml"
    return {
        "root": root, "battery": battery,
        "battery.csv": (root / "battery.csv").read_bytes(),
        "battery.jsonl": battery.head(10).to_json(orient="records", lines=True).encode(),
        "outcomes.csv": outcomes.head(40).to_csv(index=False).encode(),
        "model.yaml": b"subject: a\nbattery: battery.csv\noutcomes: outcomes.csv\noutput_dir: out\nbootstrap: 10\n"
                      b"filters: {benchmarks: [bench_a]}\nscales: [QLq, MCt]\n",
        "annotator.yaml": b"name: fuzz\nbackend: openai\nmodel: m\nbase_url: http://127.0.0.1:9/v1\napi_key_env: K\n"
                          b"retry: {max_attempts: 2}\ngeneration: {max_tokens: 10, stop: ['\\n']}\n",
        "run.yaml": b"subject: s\nbattery: battery.csv\noutput: out.parquet\nbackend: {backend: openai, model: m, "
                    b"base_url: 'http://127.0.0.1:9/v1'}\nselect: {limit: 3, stratify: null}\n",
        "rubric.yaml": rubric.read_bytes(),
        "xgb": model, "xgboost.json": json.loads((model / "xgboost.json").read_text()),
        "metadata.json": (forest / "metadata.json").read_bytes(), "forest": forest,
    }


def _write(name: str, data: bytes) -> Path:
    path = Path(corpus()["root"]) / "case" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["battery.csv", "battery.jsonl"])
def test_battery_loader(name):
    @BUDGET
    @given(mutated(corpus()[name]))
    def check(data):
        try:
            table = read_battery(_write(name, data))
        except InputError:
            return
        assert table["instance_id"].is_unique

    check()


def test_outcome_loader():
    battery = corpus()["battery"]

    @BUDGET
    @given(mutated(corpus()["outcomes.csv"]), st.sampled_from(["auto", "long", "wide", "per-subject"]))
    def check(data, layout):
        try:
            table = read_outcomes(_write("outcomes.csv", data), layout=layout, battery=battery, subject="s")
        except InputError:
            return
        assert set(table["correct"].unique()) <= {0, 1}
        assert table["subject"].notna().all() and (table["subject"] != "nan").all()

    check()


@pytest.mark.parametrize("name, loader", [("model.yaml", load_profile_config), ("annotator.yaml", load_annotator),
                                          ("run.yaml", load_run_config), ("rubric.yaml", load_rubric)])
def test_config_loaders(name, loader):
    @BUDGET
    @given(mutated(corpus()[name]))
    def check(data):
        try:
            loader(_write(name, data))
        except InputError:
            pass

    check()


def _predicts_in_range_or_refuses(folder: Path) -> None:
    try:
        p = load(folder).predict_proba(corpus()["battery"])
    except InputError:
        return
    assert p.shape == (30, 2) and np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


NODE_FIELDS = ["left_children", "right_children", "parents", "split_indices", "split_conditions", "default_left",
               "split_type", "base_weights"]


def test_xgboost_model_loader():
    """Structured edits of tree arrays: what would crash XGBoost's native predict if it got through."""
    @BUDGET
    @given(st.lists(st.tuples(st.integers(0, 199), st.sampled_from(NODE_FIELDS), st.integers(0, 40),
                              st.sampled_from(EXTREMES)), min_size=1, max_size=4),
           st.sampled_from(["", "num_nodes", "num_feature", "num_trees", "base_score"]), st.sampled_from(EXTREMES))
    def check(edits, param, value):
        doc = json.loads(json.dumps(corpus()["xgboost.json"]))
        trees = doc["learner"]["gradient_booster"]["model"]["trees"]
        for tree, field, node, new in edits:
            array = trees[tree % len(trees)][field]
            array[node % len(array)] = new
        if param == "num_nodes":
            trees[0]["tree_param"]["num_nodes"] = str(value)
        elif param == "num_feature":
            doc["learner"]["learner_model_param"]["num_feature"] = str(value)
        elif param == "num_trees":
            doc["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"] = str(value)
        elif param == "base_score":
            doc["learner"]["learner_model_param"]["base_score"] = f"[{value}]"
        folder = Path(corpus()["root"]) / "xgb-case"
        if not folder.exists():
            folder.mkdir()
            (folder / "metadata.json").write_bytes((Path(corpus()["xgb"]) / "metadata.json").read_bytes())
        text = json.dumps(doc, allow_nan=True)
        (folder / "xgboost.json").write_text(text)
        _predicts_in_range_or_refuses(folder)

    check()


def test_saved_predictor_metadata_loader():
    @BUDGET
    @given(mutated(corpus()["metadata.json"]))
    def check(data):
        folder = Path(corpus()["root"]) / "forest-case"
        if not folder.exists():
            folder.mkdir()
            (folder / "arrays.npz").write_bytes((Path(corpus()["forest"]) / "arrays.npz").read_bytes())
        (folder / "metadata.json").write_bytes(data)
        _predicts_in_range_or_refuses(folder)

    check()


def test_forest_array_loader():
    @BUDGET
    @given(st.integers(0, 99), st.sampled_from(["children_left", "children_right", "feature", "threshold", "value"]),
           st.integers(0, 50), st.sampled_from([v for v in EXTREMES if isinstance(v, (int, float)) and v is not None]))
    def check(tree, field, node, value):
        arrays = dict(np.load(Path(corpus()["forest"]) / "arrays.npz"))
        array = arrays[f"tree{tree}_{field}"]
        if array.dtype.kind == "i" and (isinstance(value, float) and not math.isfinite(value) or abs(value) > 2 ** 62):
            array = array.astype(np.float64)  # a saved file may change the dtype too
        array[node % len(array)] = value
        arrays[f"tree{tree}_{field}"] = array
        folder = Path(corpus()["root"]) / "forest-array-case"
        if not folder.exists():
            folder.mkdir()
            (folder / "metadata.json").write_bytes(corpus()["metadata.json"])
        with open(folder / "arrays.npz", "wb") as handle:
            np.savez(handle, **arrays)
        _predicts_in_range_or_refuses(folder)

    check()
