"""Save and load fitted assessors in safe formats — never pickle.

A saved assessor is a directory: ``metadata.json`` (format version, library version, class,
parameters, fitted state) plus, by classifier, ``arrays.npz`` (random-forest node arrays or
logistic coefficients, read with ``allow_pickle=False``), ``xgboost.json`` (XGBoost's JSON model) or
``model/`` (a fine-tuned transformer as safetensors + JSON config and tokenizer); a combined
assessor keeps the parts its chosen variant uses in ``part0/`` and ``part1/``, its second stage in
``combiner.npz`` (stack weights, ridge coefficients or PCA projection, the boosted trees in
``booster/``) and its calibrator in ``calibrator.npz``. Loading only
rebuilds known classes from numbers and JSON, so an untrusted file cannot execute code.

Everything read is checked before numpy, scikit-learn, XGBoost or transformers see it
(:mod:`predictors.safeio`, :func:`predictors.forest.check_tree`, :mod:`predictors.xgbjson`): file
kinds and sizes, parameter types, array dtypes, shapes and ranges, tree links. Parameters that
touch the filesystem, the network or a device (:data:`CALLER_PARAMS`) are never saved; whoever
loads chooses them.
"""
from __future__ import annotations

import json
import math
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
from assess.files import check_regular

from .assessors import CombinedAssessor, DemandAssessor, EmbeddingAssessor
from .finetune import TextFinetuneAssessor
from .classifiers import CLASSIFIERS
from .embeddings import PACKAGED_MODELS
from .forest import ForestArrays
from .irt import IRTAssessor
from .multisubject import MultiSubjectAssessor
from .multisubject_combined import MultiSubjectCombinedAssessor
from .npz import save_npz
from .safeio import load_npz, read_json
from .combine import CALIBRATIONS, VARIANTS, Calibrator, ChosenModel, Linear, Projection
from .xgbjson import ModelError, checked_model

FORMAT = "assess-predictor"
FORMAT_VERSION = 1
METADATA = "metadata.json"
ASSESSOR_CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    DemandAssessor, EmbeddingAssessor, CombinedAssessor, MultiSubjectAssessor, MultiSubjectCombinedAssessor,
    TextFinetuneAssessor, IRTAssessor)}
#: Parameters chosen by whoever loads (they touch the filesystem, the network or a device); never saved.
CALLER_PARAMS: tuple[str, ...] = ("cache_dir", "allow_download", "device", "model_name_or_path")
#: Largest metadata file and profile table accepted.
MAX_METADATA_BYTES = 16 * 2 ** 20
MAX_SUBJECTS = 100_000
#: Bound on the magnitude of saved logistic numbers (keeps every product finite).
MAX_COEFFICIENT = 1e12


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _names(value: Any) -> bool:
    return isinstance(value, list) and 0 < len(value) <= 1000 and all(isinstance(v, str) for v in value) \
        and len(set(value)) == len(value)


#: Type and range of every saved parameter: a check returning True when the value is acceptable.
PARAM_CHECKS: dict[str, Any] = {
    "classifier": lambda v: v in CLASSIFIERS,
    "features": _names,
    "C": lambda v: v is None or _is_number(v) and 0 < v <= 1e12,
    "inner_splits": lambda v: _is_int(v) and 2 <= v <= 20,
    "random_state": lambda v: v is None or _is_int(v) and 0 <= v < 2 ** 32,
    "n_jobs": lambda v: v is None or _is_int(v) and -1 <= v <= 1024 and v != 0,
    "model": lambda v: v in PACKAGED_MODELS,
    "text_column": lambda v: isinstance(v, str) and 0 < len(v) <= 200,
    "subject_column": lambda v: isinstance(v, str) and 0 < len(v) <= 200,
    "epochs": lambda v: _is_int(v) and 0 <= v <= 1000,
    "batch_size": lambda v: _is_int(v) and 1 <= v <= 4096,
    "learning_rate": lambda v: _is_number(v) and 0 <= v <= 1,
    "max_length": lambda v: _is_int(v) and 1 <= v <= 8192,
    "max_steps": lambda v: v is None or _is_int(v) and 0 <= v <= 10_000_000,
    "freeze_fraction": lambda v: _is_number(v) and 0 <= v <= 1,
    "warmup_fraction": lambda v: _is_number(v) and 0 <= v <= 1,
    "head_learning_rate": lambda v: _is_number(v) and 0 <= v <= 1,
    "mixed_precision": lambda v: isinstance(v, bool),
    "variants": lambda v: isinstance(v, list) and 0 < len(v) <= len(VARIANTS) and len(set(v)) == len(v)
    and all(x in VARIANTS for x in v),
    "calibrations": lambda v: isinstance(v, list) and 0 < len(v) <= len(CALIBRATIONS) and len(set(v)) == len(v)
    and all(x in CALIBRATIONS for x in v),
    "margin": lambda v: _is_number(v) and 0 <= v <= 0.5,
    "components": lambda v: _is_int(v) and 1 <= v <= 256,
    # IRTAssessor (its saved state is checked by IRTAssessor.load_state)
    "scales": lambda v: v is None or isinstance(v, list) and len(v) <= 1000
    and all(isinstance(c, str) and 0 < len(c) <= 64 for c in v) and len(set(v)) == len(v),
    "rubrics": lambda v: isinstance(v, list) and len(v) <= 100 and all(isinstance(f, str) and 0 < len(f) <= 4096
                                                                      for f in v),
    "ug_column": lambda v: v is None or isinstance(v, str) and 0 < len(v) <= 64,
    "form": lambda v: v in ("conjunctive", "compensatory"),
    "residual": lambda v: v in ("none", "joint", "marginal", "empirical_bayes"),
    "item_slopes": lambda v: isinstance(v, bool),
    "item_slope_prior_sd": lambda v: _is_number(v) and 0 < v <= 100,
    "theta_prior_sd": lambda v: _is_number(v) and 0 < v <= 100,
    "base_prior_sd": lambda v: _is_number(v) and 0 < v <= 100,
    "residual_prior_sd": lambda v: _is_number(v) and 0 < v <= 100,
    "discrimination_prior_sd": lambda v: _is_number(v) and 0 < v <= 100,
    "missing_ug_floor": lambda v: _is_number(v) and 0 <= v < 1,
    "max_iter": lambda v: _is_int(v) and 1 <= v <= 100_000,
    "tol": lambda v: _is_number(v) and 0 < v < 1,
}


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
        params = {k: v for k, v in assessor.get_params().items() if k != "profiles" and k not in CALLER_PARAMS}
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
        head = assessor.head_
        save_npz(folder / "head.npz", {"weight": head.weight.detach().cpu().float().numpy(),
                                       "bias": head.bias.detach().cpu().float().numpy()})
        return {"classifier": "transformer"}
    state = _save_classifier(assessor.model_, folder)
    if isinstance(assessor, MultiSubjectAssessor):
        state.update(ability_scales=assessor.ability_scales_, profiles=assessor.profiles_)
    return state


def _save_classifier(model: Any, folder: Path) -> dict[str, Any]:
    if isinstance(model, ChosenModel):
        return _save_chosen(model, folder)
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


def _save_chosen(model: ChosenModel, folder: Path) -> dict[str, Any]:
    parts = []
    for i, part in enumerate(model.parts):
        if part is not None:
            (folder / f"part{i}").mkdir()
        parts.append(None if part is None else _save_classifier(part, folder / f"part{i}"))
    combiner = model.combiner
    if model.variant == "stack":
        save_npz(folder / "combiner.npz", {"coef": combiner.coef_, "intercept": combiner.intercept_})
    elif model.variant == "residual":
        save_npz(folder / "combiner.npz", {"coef": combiner.coef, "intercept": np.array([combiner.intercept])})
    elif model.variant == "boost":
        projection, booster = combiner
        save_npz(folder / "combiner.npz", {"mean": projection.mean, "components": projection.components})
        (folder / "booster").mkdir()
        _save_classifier(booster, folder / "booster")
    save_npz(folder / "calibrator.npz", {"params": np.asarray(model.calibrator.params, float)})
    return {"classifier": "chosen", "variant": model.variant, "calibration": model.calibrator.kind, "parts": parts}


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """The checked metadata of a saved assessor; raises on another format or version."""
    folder = Path(directory)
    path = folder / METADATA
    if folder.exists() and not folder.is_dir():
        raise InputError("not a saved assessor (a file, not a directory)", source=directory)
    if not path.exists() and not path.is_symlink():
        raise InputError("not a saved assessor (no metadata.json)", source=directory)
    try:
        meta = read_json(path, MAX_METADATA_BYTES)
    except InputError as err:
        raise InputError(f"metadata is not valid JSON or not readable ({err.reason})", source=path) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"not an assess predictor (format {meta.get('format') if isinstance(meta, dict) else None!r})",
                         source=path, column="format")
    saved_format, saved_library = meta.get("format_version"), meta.get("library_version")
    if saved_format != FORMAT_VERSION or saved_library != library_version():
        raise InputError(f"version mismatch: saved with format {saved_format} by assess {saved_library}, "
                         f"this is format {FORMAT_VERSION} in assess {library_version()}; re-fit and save again",
                         source=path, column="format_version")
    if not isinstance(meta.get("class"), str) or meta["class"] not in ASSESSOR_CLASSES:
        raise InputError(f"unknown assessor class {str(meta.get('class'))[:80]!r}; known: {', '.join(ASSESSOR_CLASSES)}",
                         source=path, column="class")
    for key in ("params", "state"):
        if not isinstance(meta.get(key, {}), dict):
            raise InputError(f"{key} must be a JSON object", source=path, column=key)
    subject = meta.get("subject")
    if subject is not None and not (isinstance(subject, str) and 0 < len(subject) <= 500):
        raise InputError("subject must be a name (a non-empty string)", source=path, column="subject")
    return meta


def load(directory: str | Path, *, cache_dir: str | None = None, allow_download: bool = False,
         device: str | None = None, embedding_model: str | None = None) -> Any:
    """Rebuild a fitted assessor saved by :func:`save`, from checked JSON and plain arrays only.

    ``cache_dir``, ``allow_download`` and ``device`` are the caller's (a saved file cannot choose where
    embeddings are cached, whether anything is downloaded or which device runs). A saved embedding
    model must be one of the packaged models; ``embedding_model`` substitutes a local one.
    """
    folder = Path(directory)
    meta = read_metadata(folder)
    source = folder / METADATA
    cls = ASSESSOR_CLASSES[meta["class"]]
    params = _checked_params(meta.get("params") or {}, cls, source)
    caller = {"cache_dir": cache_dir, "allow_download": allow_download, "device": device}
    params.update({k: v for k, v in caller.items() if k in cls._get_param_names()})
    if embedding_model is not None and "model" in cls._get_param_names():
        params["model"] = embedding_model
    state = meta.get("state") or {}
    try:
        assessor = cls(**params)
        if isinstance(assessor, TextFinetuneAssessor):
            _load_transformer(assessor, folder / "model")
        elif isinstance(assessor, IRTAssessor):
            assessor.load_state(state, folder)
        else:
            if isinstance(assessor, MultiSubjectAssessor):
                assessor.ability_scales_ = _ability_scales(state.get("ability_scales"))
                assessor.profiles_ = _profiles(state.get("profiles"))
                assessor.profiles = assessor.profiles_
            assessor.model_ = _load_classifier(state, folder, _expected_features(assessor))
            if isinstance(assessor.model_, ChosenModel):
                assessor.chosen_ = assessor.model_.name
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"malformed saved assessor ({type(err).__name__}: {err})", source=folder) from None
    assessor.classes_ = np.array([0, 1])
    return assessor


def _checked_params(params: dict[str, Any], cls: type, source: Path) -> dict[str, Any]:
    """The saved parameters, each of the right type and range; caller-only ones are refused."""
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise InputError(f"unknown parameter(s) {', '.join(sorted(map(str, unknown)))[:200]} for {cls.__name__}",
                         source=source, column="params")
    for name, value in params.items():
        if name in CALLER_PARAMS:
            raise InputError(f"parameter {name!r} is chosen by whoever loads the assessor, not by the saved file",
                             source=source, column=f"params.{name}")
        if name == "profiles" or not PARAM_CHECKS[name](value):
            hint = f"; saved embedding models must be one of {', '.join(PACKAGED_MODELS)}" if name == "model" else ""
            raise InputError(f"parameter {name!r} has an invalid value {str(value)[:60]!r}{hint}", source=source,
                             column=f"params.{name}")
    checked = dict(params)
    if "features" in checked:
        checked["features"] = tuple(check_feature_codes(checked["features"], source))
    return checked


def check_feature_codes(features: list[str], source: Path) -> list[str]:
    """Saved demand features must be known scale codes."""
    from .features import check_features

    try:
        return check_features(features)
    except InputError as err:
        raise InputError(err.reason, source=source, column="params.features") from None


def _ability_scales(value: Any) -> list[str]:
    if not _names(value) or not all(0 < len(v) <= 64 for v in value):
        raise ValueError("state.ability_scales must be a list of distinct scale names")
    return list(value)


def _profiles(value: Any) -> dict[str, dict[str, float]]:
    """Saved profiles: subject → {scale: ability}, abilities finite numbers (null: no ability)."""
    if not isinstance(value, dict) or not 0 < len(value) <= MAX_SUBJECTS:
        raise ValueError("state.profiles must be a non-empty object of subjects")
    profiles = {}
    for subject, profile in value.items():
        if not isinstance(profile, dict) or not all(
                isinstance(k, str) and (v is None or _is_number(v) and abs(v) <= 1e6) for k, v in profile.items()):
            raise ValueError(f"state.profiles[{subject[:60]!r}] must map scales to finite numbers")
        profiles[subject] = {k: float("nan") if v is None else float(v) for k, v in profile.items()}
    return profiles


def _expected_features(assessor: Any) -> int | None:
    """How many columns the classifier of ``assessor`` reads, where the parameters fix it (None: embeddings)."""
    if isinstance(assessor, EmbeddingAssessor) and not isinstance(assessor, CombinedAssessor):
        return None
    n = len(assessor.features)
    if isinstance(assessor, MultiSubjectAssessor):
        scales = assessor.ability_scales_
        n += len(scales) + sum(s in assessor.features for s in scales)
    return n


def _count(state: dict[str, Any], key: str, low: int, high: int) -> int:
    value = state.get(key)
    if not _is_int(value) or not low <= value <= high:
        raise ValueError(f"state.{key} must be an integer in {low}-{high}, got {str(value)[:40]!r}")
    return value


def _load_classifier(state: dict[str, Any], folder: Path, n_features: int | None) -> Any:
    kind = state.get("classifier")
    if kind == "forest":
        n_trees, declared = _count(state, "n_trees", 1, 10_000), _count(state, "n_features", 1, 100_000)
        if n_features is not None and declared != n_features:
            raise ValueError(f"state.n_features is {declared}, the parameters give {n_features}")
        return ForestArrays.from_arrays(load_npz(folder / "arrays.npz"), n_trees, declared)
    if kind == "xgboost":
        path = folder / "xgboost.json"
        doc = read_json(path)
        try:
            declared = int(doc["learner"]["learner_model_param"]["num_feature"]) if n_features is None else n_features
            checked = checked_model(doc, declared)
        except (ModelError, KeyError, TypeError, ValueError) as err:
            raise InputError(f"not an XGBoost model this version accepts ({err})", source=path) from None
        model = XGBClassifier()
        model.load_model(bytearray(json_bytes(checked)))
        return model
    if kind == "logistic":
        return _logistic_pipeline(load_npz(folder / "arrays.npz"), n_features, folder / "arrays.npz")
    if kind == "chosen":
        return _load_chosen(state, folder, n_features)
    raise InputError(f"unknown classifier {str(kind)[:40]!r} in saved state", source=folder / METADATA,
                     column="state.classifier")


#: Which parts each variant of a combined assessor keeps (tabular, text).
VARIANT_PARTS = {"demand": (True, False), "embedding": (False, True), "stack": (True, True),
                 "residual": (True, False), "boost": (False, False)}


def _load_chosen(state: dict[str, Any], folder: Path, n_tabular: int | None) -> ChosenModel:
    """A combined assessor's chosen model from checked state and arrays (``n_tabular``: columns of its tabular part)."""
    variant, calibration, parts = state.get("variant"), state.get("calibration"), state.get("parts")
    if variant not in VARIANT_PARTS or calibration not in CALIBRATIONS:
        raise ValueError("state.variant or state.calibration is not a known choice")
    if not isinstance(parts, list) or len(parts) != 2 or [p is not None for p in parts] != list(VARIANT_PARTS[variant]) \
            or not all(p is None or isinstance(p, dict) and p.get("classifier") in CLASSIFIERS for p in parts):
        raise ValueError(f"state.parts must hold exactly the parts a {variant} model uses")
    loaded = tuple(None if part is None else _load_classifier(part, folder / f"part{i}", n_tabular if i == 0 else None)
                   for i, part in enumerate(parts))
    combiner: Any = None
    if variant == "stack":
        combiner = _logistic(load_npz(folder / "combiner.npz"), folder / "combiner.npz")
        if combiner.coef_.shape != (1, 2):
            raise ValueError("a stack's meta-model weighs exactly two parts")
    elif variant == "residual":
        arrays = _finite_arrays(folder / "combiner.npz", {"coef": 1, "intercept": 1})
        if arrays["intercept"].shape != (1,):
            raise ValueError("the residual model's intercept must be one number")
        combiner = Linear(arrays["coef"], float(arrays["intercept"][0]))
    elif variant == "boost":
        arrays = _finite_arrays(folder / "combiner.npz", {"mean": 1, "components": 2})
        d, (k, d2) = len(arrays["mean"]), arrays["components"].shape
        if d2 != d or not 1 <= k <= 256:
            raise ValueError("the PCA projection's mean and components disagree")
        booster = _load_classifier({"classifier": "xgboost"}, folder / "booster",
                                   None if n_tabular is None else n_tabular + k)
        combiner = (Projection(arrays["mean"], arrays["components"]), booster)
    params = _finite_arrays(folder / "calibrator.npz", {"params": None})["params"]
    expected = {"none": (0,), "platt": (2,)}.get(calibration)
    if expected is not None and params.shape != expected or calibration == "isotonic" and (
            params.ndim != 2 or params.shape[0] != 2 or params.shape[1] < 1 or (np.diff(params[0]) < 0).any()
            or (params[1] < 0).any() or (params[1] > 1).any()):
        raise ValueError(f"calibrator arrays do not fit a {calibration} calibration")
    return ChosenModel(variant, loaded, combiner, Calibrator(calibration, params))


def _finite_arrays(path: Path, ndims: dict[str, int | None]) -> dict[str, np.ndarray]:
    """Float arrays ``ndims`` names (with their number of dimensions, None: any), finite and bounded, as float64."""
    arrays = load_npz(path)
    if set(arrays) != set(ndims):
        raise InputError(f"arrays must be {', '.join(sorted(ndims))}, got {sorted(arrays)[:6]}", source=path)
    for name, ndim in ndims.items():
        a = arrays[name]
        if a.dtype.kind != "f" or ndim is not None and a.ndim != ndim or a.size > 10_000_000 \
                or not (np.isfinite(a) & (np.abs(a) <= MAX_COEFFICIENT)).all():
            raise InputError(f"array {name!r} must be finite floats with {ndim} dimension(s)", source=path)
    return {k: v.astype(np.float64) for k, v in arrays.items()}


def json_bytes(doc: Any) -> bytes:
    """Compact JSON of a checked document."""
    return json.dumps(doc, allow_nan=False).encode("utf-8")


def _logistic_pipeline(arrays: dict[str, np.ndarray], n_features: int | None, source: Path) -> Pipeline:
    """A scaler + logistic pipeline from checked float arrays: mean (d,), scale (d,) > 0, coef (1, d), intercept (1,)."""
    if set(arrays) != {"mean", "scale", "coef", "intercept"}:
        raise InputError(f"logistic arrays must be mean, scale, coef and intercept, got {sorted(arrays)[:6]}",
                         source=source)
    d = len(arrays["mean"]) if arrays["mean"].ndim == 1 else -1
    shapes = {"mean": (d,), "scale": (d,), "coef": (1, d), "intercept": (1,)}
    for name, shape in shapes.items():
        array = arrays[name]
        if array.dtype.kind != "f" or array.shape != shape or d < 1:
            raise InputError(f"logistic array {name!r} must be floats of shape {shape}, got {array.dtype} "
                             f"{array.shape}", source=source)
        if not (np.isfinite(array) & (np.abs(array) <= MAX_COEFFICIENT)).all():
            raise InputError(f"logistic array {name!r} holds non-finite or huge values", source=source)
    if n_features is not None and d != n_features:
        raise InputError(f"logistic arrays have {d} features, the parameters give {n_features}", source=source)
    if (arrays["scale"] <= 0).any():
        raise InputError("logistic array 'scale' must be positive", source=source)
    arrays = {k: v.astype(np.float64) for k, v in arrays.items()}
    scaler, logistic = StandardScaler(), LogisticRegression()
    scaler.mean_, scaler.scale_ = arrays["mean"], arrays["scale"]
    scaler.var_, scaler.n_features_in_, scaler.n_samples_seen_ = scaler.scale_ ** 2, d, 0
    logistic.coef_, logistic.intercept_ = arrays["coef"], arrays["intercept"]
    logistic.classes_, logistic.n_features_in_ = np.array([0, 1]), d
    return Pipeline([("scale", scaler), ("logistic", logistic)])


#: Files a saved transformer may hold (weights only as safetensors); JSON ones are checked before loading.
TRANSFORMER_FILES = frozenset({"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                               "special_tokens_map.json", "vocab.txt", "generation_config.json"})
#: Largest integer a transformer config may hold (vocabulary sizes, widths, positions).
MAX_CONFIG_INT = 10_000_000


def _check_transformer_files(folder: Path) -> None:
    """Every file is a known, regular, capped file; JSON files are objects with bounded numbers, no remote code."""
    if not folder.is_dir():
        raise InputError("saved transformer directory missing", source=folder)
    names = {entry.name for entry in folder.iterdir()}
    if "model.safetensors" not in names:
        raise InputError("saved transformer lacks model.safetensors (other weight formats are refused)", source=folder)
    if "config.json" not in names:
        raise InputError("saved transformer lacks config.json", source=folder)
    unknown = sorted(names - TRANSFORMER_FILES)
    if unknown:
        raise InputError(f"unexpected file(s) in a saved transformer: {', '.join(unknown)[:200]}", source=folder)
    for name in sorted(names):
        path = folder / name
        check_regular(path)
        if name.endswith(".json"):
            doc = read_json(path)
            if not isinstance(doc, dict):
                raise InputError("expected a JSON object", source=path)
            if name == "config.json":
                _check_config(doc, path)


def _check_config(config: dict[str, Any], path: Path) -> None:
    if "auto_map" in config or config.get("trust_remote_code"):
        raise InputError("refusing a config that asks for remote code (auto_map)", source=path)
    labels = config.get("id2label", {"0": "LABEL_0", "1": "LABEL_1"})
    if not isinstance(labels, dict) or len(labels) != 2:
        raise InputError("a saved success classifier has exactly two labels", source=path, column="id2label")
    stack = [config]
    while stack:
        item = stack.pop()
        values = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for value in values:
            if isinstance(value, (dict, list)):
                stack.append(value)
            elif _is_int(value) and abs(value) > MAX_CONFIG_INT or isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"config value {value!r} out of range", source=path)


def _logistic(arrays: dict[str, np.ndarray], source: Path) -> LogisticRegression:
    """A stack's meta-model rebuilt from checked ``coef`` (1, d) and ``intercept`` (1,) float arrays."""
    if set(arrays) != {"coef", "intercept"}:
        raise InputError(f"meta-model arrays must be coef and intercept, got {sorted(arrays)[:6]}", source=source)
    coef, intercept = arrays["coef"], arrays["intercept"]
    if coef.dtype.kind != "f" or intercept.dtype.kind != "f" or coef.ndim != 2 or coef.shape[0] != 1 \
            or intercept.shape != (1,):
        raise InputError("meta-model arrays must be floats of shapes (1, d) and (1,)", source=source)
    if not all(np.isfinite(v).all() and (np.abs(v) <= MAX_COEFFICIENT).all() for v in (coef, intercept)):
        raise InputError("meta-model arrays hold non-finite or huge values", source=source)
    logistic = LogisticRegression()
    logistic.coef_, logistic.intercept_ = coef.astype(np.float64), intercept.astype(np.float64)
    logistic.classes_, logistic.n_features_in_ = np.array([0, 1]), coef.shape[1]
    return logistic


def _load_transformer(assessor: TextFinetuneAssessor, folder: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    _check_transformer_files(folder)
    try:
        assessor.tokenizer_ = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        assessor.model_ = AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True,
                                                    trust_remote_code=False).to(assessor._device()).eval()
    except Exception as err:  # transformers, tokenizers and safetensors raise many types on bad files
        raise InputError(f"saved transformer cannot be loaded ({type(err).__name__}: {str(err)[:300]})",
                         source=folder) from None
    arrays = load_npz(folder.parent / "head.npz")
    hidden = assessor.model_.config.hidden_size
    if set(arrays) != {"weight", "bias"} or arrays["weight"].shape != (2, hidden) or arrays["bias"].shape != (2,) \
            or not all(np.isfinite(v).all() and (np.abs(v) <= MAX_COEFFICIENT).all() for v in arrays.values()):
        raise InputError(f"head arrays must be finite weight (2, {hidden}) and bias (2,)", source=folder.parent / "head.npz")
    head = torch.nn.Linear(hidden, 2)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(arrays["weight"].astype(np.float32)))
        head.bias.copy_(torch.from_numpy(arrays["bias"].astype(np.float32)))
    assessor.head_ = head.to(assessor._device()).eval()
