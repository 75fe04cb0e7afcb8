"""Save and load fitted assessors in safe formats — never pickle.

A saved assessor is a directory: ``metadata.json`` (format version, library version, class,
parameters, fitted state) plus, by classifier, ``arrays.npz`` (random-forest node arrays or
logistic coefficients, read with ``allow_pickle=False``), ``xgboost.json`` (XGBoost's JSON model) or
``model/`` (a fine-tuned transformer as safetensors + JSON config and tokenizer). Loading only
rebuilds known classes from numbers and JSON, so an untrusted file cannot execute code.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from assess.atomic import write_json, write_with
from assess.errors import InputError

from .assessors import CombinedAssessor, DemandAssessor, EmbeddingAssessor
from .finetune import TextFinetuneAssessor
from .forest import ForestArrays
from .irt import IRTAssessor
from .multisubject import MultiSubjectAssessor
from .npz import load_npz, save_npz

FORMAT = "assess-predictor"
FORMAT_VERSION = 1
METADATA = "metadata.json"
ASSESSOR_CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    DemandAssessor, EmbeddingAssessor, CombinedAssessor, MultiSubjectAssessor, TextFinetuneAssessor, IRTAssessor)}


def library_version() -> str:
    """The installed version of the ``assess`` distribution."""
    return version("assess")


def save(assessor: Any, directory: str | Path, *, subject: str | None = None) -> Path:
    """Write a fitted assessor to ``directory`` (replaced as a whole: a crash leaves the old one).

    ``subject`` records whose outcomes a single-subject assessor learnt (:func:`read_metadata` returns it).
    """
    name = type(assessor).__name__
    if name not in ASSESSOR_CLASSES or not (hasattr(assessor, "model_") or hasattr(assessor, "theta_")):
        raise InputError(f"can only save a fitted assessor ({', '.join(ASSESSOR_CLASSES)}), got {name}")
    target = Path(directory)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    staging.mkdir(parents=True)
    try:
        state = _save_state(assessor, staging)
        params = {k: v for k, v in assessor.get_params().items() if k != "profiles"}
        write_json(staging / METADATA, {"format": FORMAT, "format_version": FORMAT_VERSION,
                                        "library_version": library_version(), "class": name,
                                        "params": params, "state": state, "subject": subject})
        _swap_in(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def _swap_in(staging: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex}")
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    if old.exists():
        shutil.rmtree(old)


def _save_state(assessor: Any, folder: Path) -> dict[str, Any]:
    if isinstance(assessor, IRTAssessor):
        return assessor.save_state(folder)
    if isinstance(assessor, TextFinetuneAssessor):
        assessor.model_.save_pretrained(folder / "model", safe_serialization=True)
        assessor.tokenizer_.save_pretrained(folder / "model")
        return {"classifier": "transformer"}
    state = _save_classifier(assessor.model_, folder)
    if isinstance(assessor, MultiSubjectAssessor):
        state.update(ability_scales=assessor.ability_scales_, profiles=assessor.profiles_)
    return state


def _save_classifier(model: Any, folder: Path) -> dict[str, Any]:
    if isinstance(model, RandomForestClassifier):
        model = ForestArrays.from_sklearn(model)
    if isinstance(model, ForestArrays):
        save_npz(folder / "arrays.npz", model.to_arrays())
        return {"classifier": "forest", "n_trees": len(model.trees), "n_features": model.n_features}
    if isinstance(model, XGBClassifier):
        write_with(folder / "xgboost.json", lambda tmp: model.save_model(str(tmp)))
        return {"classifier": "xgboost"}
    if isinstance(model, Pipeline):
        scaler, logistic = model.named_steps["scale"], model.named_steps["logistic"]
        save_npz(folder / "arrays.npz", {"mean": scaler.mean_, "scale": scaler.scale_,
                                          "coef": logistic.coef_, "intercept": logistic.intercept_})
        return {"classifier": "logistic"}
    raise InputError(f"cannot save a classifier of type {type(model).__name__}")


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """The checked metadata of a saved assessor; raises on another format or version."""
    path = Path(directory) / METADATA
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("not a saved assessor (no metadata.json)", source=directory) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"metadata is not valid JSON ({err})", source=path) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"not an assess predictor (format {meta.get('format') if isinstance(meta, dict) else None!r})",
                         source=path, column="format")
    saved_format, saved_library = meta.get("format_version"), meta.get("library_version")
    if saved_format != FORMAT_VERSION or saved_library != library_version():
        raise InputError(f"version mismatch: saved with format {saved_format} by assess {saved_library}, "
                         f"this is format {FORMAT_VERSION} in assess {library_version()}; re-fit and save again",
                         source=path, column="format_version")
    if meta.get("class") not in ASSESSOR_CLASSES:
        raise InputError(f"unknown assessor class {meta.get('class')!r}; known: {', '.join(ASSESSOR_CLASSES)}",
                         source=path, column="class")
    return meta


def load(directory: str | Path) -> Any:
    """Rebuild a fitted assessor saved by :func:`save`, from JSON and plain arrays only."""
    folder = Path(directory)
    meta = read_metadata(folder)
    cls = ASSESSOR_CLASSES[meta["class"]]
    params = dict(meta.get("params") or {})
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise InputError(f"unknown parameter(s) {', '.join(sorted(unknown))} for {cls.__name__}",
                         source=folder / METADATA, column="params")
    if isinstance(params.get("features"), list):
        params["features"] = tuple(params["features"])
    state = meta.get("state") or {}
    try:
        assessor = cls(**params)
        if isinstance(assessor, TextFinetuneAssessor):
            _load_transformer(assessor, folder / "model")
        elif isinstance(assessor, IRTAssessor):
            assessor.load_state(state, folder)
        else:
            assessor.model_ = _load_classifier(state, folder)
        if isinstance(assessor, MultiSubjectAssessor):
            assessor.ability_scales_ = list(state["ability_scales"])
            assessor.profiles_ = {str(s): {str(k): float(v) for k, v in p.items()} for s, p in state["profiles"].items()}
            assessor.profiles = assessor.profiles_
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"malformed saved assessor ({type(err).__name__}: {err})", source=folder) from None
    assessor.classes_ = np.array([0, 1])
    return assessor


def _load_classifier(state: dict[str, Any], folder: Path) -> Any:
    kind = state.get("classifier")
    if kind == "forest":
        return ForestArrays.from_arrays(load_npz(folder / "arrays.npz"), int(state["n_trees"]), int(state["n_features"]))
    if kind == "xgboost":
        model = XGBClassifier()
        model.load_model(str(folder / "xgboost.json"))
        return model
    if kind == "logistic":
        arrays = load_npz(folder / "arrays.npz")
        if not all(np.issubdtype(arrays[k].dtype, np.floating) for k in ("mean", "scale", "coef", "intercept")):
            raise ValueError("logistic arrays must hold floats")
        scaler, logistic = StandardScaler(), LogisticRegression()
        scaler.mean_, scaler.scale_ = arrays["mean"], arrays["scale"]
        scaler.var_, scaler.n_features_in_, scaler.n_samples_seen_ = scaler.scale_ ** 2, len(scaler.mean_), 0
        logistic.coef_, logistic.intercept_ = arrays["coef"], arrays["intercept"]
        logistic.classes_, logistic.n_features_in_ = np.array([0, 1]), logistic.coef_.shape[1]
        if logistic.coef_.shape != (1, len(scaler.mean_)):
            raise ValueError("coefficient and scaler shapes disagree")
        return Pipeline([("scale", scaler), ("logistic", logistic)])
    raise InputError(f"unknown classifier {kind!r} in saved state", source=folder / METADATA, column="state")


def _load_transformer(assessor: TextFinetuneAssessor, folder: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if not (folder / "model.safetensors").exists():
        raise InputError("saved transformer lacks model.safetensors (other weight formats are refused)", source=folder)
    assessor.tokenizer_ = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    assessor.model_ = AutoModelForSequenceClassification.from_pretrained(
        folder, local_files_only=True, use_safetensors=True).to(assessor._device()).eval()
