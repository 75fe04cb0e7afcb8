"""A distilled annotator: instance text → levels on the scales of an active scale set, learned from an
annotated battery (the bundled 18 demand scales and UG, and any user scale the battery carries).

Input: the text an LLM annotator is shown (:func:`assess.annotate.prompts.instance_text`: prompt,
reference answer, answer format). Two feature sets, each followed by five standardised surface
statistics of the whole text (log characters, log words, log lines, share of digits, share of
math symbols):

* ``minilm`` — the MiniLM sentence embedding of the prompt (the same vectors the embedding
  assessor uses, from the same on-disk cache); a few dozen texts per second on a CPU core;
* ``hashing`` — word uni- and bigram counts of the whole text hashed into 4,096 columns
  (l2-normalised per text and left unstandardised, no vocabulary to store); thousands of texts
  per second. One ridge regression per scale treats the levels as ordered numbers (an
ordinal model by least squares, which is what quadratic-weighted kappa rewards); its L2 strength
is chosen per scale by efficient leave-one-out error on the training items only. A prediction is
rounded to the nearest level and clipped to its scale's range by kind (a level scale to 0-5, a
percentage scale such as UG to a whole percentage in 0-100).

Saved without pickle (``distilled.npz`` read with ``allow_pickle=False``, plus ``distilled.json``)
and fingerprinted by its training data (instance texts and levels), the rubric-set hash the
training annotations were made under, the embedding model and the feature version. The rubrics,
their prompt-text hashes (checked by the distilled backend on every request) and the scales'
kinds come from the :class:`~assess.scaleset.ScaleSet` given to :func:`fit_distilled`.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV

from assess.annotate.prompts import sha256, split_instance_text
from assess.atomic import write_json
from assess.errors import InputError
from assess.rubrics import KIND_RANGES, Kind, rubric_set_hash
from assess.scaleset import ScaleSet, default_scale_set

from .embeddings import DEFAULT_MODEL, embed_texts
from .npz import save_npz
from .safeio import load_npz

FORMAT = "assess-distilled-annotator"
#: Version 2 records each scale's kind; a version-1 model (the bundled scales only) takes the bundled kinds.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
#: Feature set name → the version string recorded with (and required of) a saved model.
FEATURE_SETS: dict[str, str] = {"minilm": "minilm+surface/v1", "hashing": "hashing4096+surface/v1"}
HASH_FEATURES = 4096
#: Rows featurised at once when predicting (bounds memory on large batteries).
CHUNK = 2000
ARRAYS, METADATA = "distilled.npz", "distilled.json"
#: Ridge strengths tried per scale, per feature set.
ALPHAS: dict[str, tuple[float, ...]] = {"minilm": tuple(np.logspace(-1, 4, 11)), "hashing": tuple(np.logspace(-3, 2, 11))}
#: Trailing surface-statistic columns (always standardised).
N_SURFACE = 5
_MATH = re.compile(r"[=+\-*/^<>()\[\]{}|\\$%]")


def surface_features(texts: Sequence[str]) -> np.ndarray:
    """(n, 5): log characters, log words, log lines, digit share, math-symbol share of each text."""
    rows = []
    for text in texts:
        chars = max(len(text), 1)
        rows.append([np.log1p(len(text)), np.log1p(len(text.split())), np.log1p(text.count("\n") + 1),
                     sum(map(str.isdigit, text)) / chars, len(_MATH.findall(text)) / chars])
    return np.asarray(rows, dtype=float).reshape(len(texts), N_SURFACE)


def features(texts: Sequence[str], feature_set: str = "minilm", embedding_model: str = DEFAULT_MODEL,
             cache_dir: str | Path | None = None, sparse: bool = False):
    """(n, d + 5) features of instance ``texts``: prompt embeddings (cached on disk) or hashed n-grams, then surface.

    ``sparse`` keeps the hashed n-grams as a CSR matrix (for prediction; the embeddings are dense anyway).
    """
    if feature_set == "minilm":
        prompts = [split_instance_text(text)[0] for text in texts]
        return np.hstack([embed_texts(prompts, embedding_model, cache_dir), surface_features(texts)])
    if feature_set == "hashing":
        from scipy.sparse import csr_matrix, hstack
        from sklearn.feature_extraction.text import HashingVectorizer

        vectorizer = HashingVectorizer(n_features=HASH_FEATURES, ngram_range=(1, 2), alternate_sign=False)
        grams = vectorizer.transform(list(texts))
        if sparse:
            return hstack([grams, csr_matrix(surface_features(texts))], format="csr")
        return np.hstack([grams.toarray(), surface_features(texts)])
    raise InputError(f"unknown feature set {feature_set!r}; choose one of {', '.join(FEATURE_SETS)}")


def training_fingerprint(texts: Sequence[str], levels: np.ndarray, scales: Sequence[str], rubric_hash: str,
                         feature_set: str, embedding_model: str) -> str:
    """SHA-256 of what determines the fitted model: texts and levels (in order), scales, rubrics, features, encoder."""
    digest = hashlib.sha256()
    digest.update(json.dumps([FEATURE_SETS[feature_set], embedding_model, rubric_hash, list(scales)]).encode())
    for text, row in zip(texts, levels):
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
        digest.update(np.asarray(row, dtype=np.float64).tobytes())
    return digest.hexdigest()


@dataclass
class DistilledAnnotator:
    """A fitted text → levels model; ``name`` (``distilled/<12 hex>``) is its provenance in annotated rows."""

    scales: tuple[str, ...]
    feature_set: str
    embedding_model: str
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (len(scales), d)
    intercept: np.ndarray  # (len(scales),)
    alphas: np.ndarray  # chosen ridge strength per scale
    fingerprint: str
    rubric_hash: str
    #: SHA-256 of each scale's rubric prompt text, to check the rubrics an annotation asks about.
    rubric_text_hashes: dict[str, str]
    n_train: int
    #: ``level`` or ``percentage`` per scale: the range a prediction is clipped to.
    kinds: dict[str, Kind]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"distilled/{self.fingerprint[:12]}"

    def predict_raw(self, X) -> np.ndarray:
        """(n, k) unrounded predictions from a dense or sparse feature matrix (:func:`features`).

        The standardisation is folded into the weights, so a sparse matrix stays sparse.
        """
        weights = (self.coef / self.scale).T
        return np.asarray(X @ weights) + (self.intercept - (self.mean / self.scale) @ self.coef.T)

    def levels_from_features(self, X: np.ndarray) -> np.ndarray:
        """(n, k) levels: rounded, clipped to each scale's range (levels 0-5, percentages 0-100)."""
        low, high = np.array([KIND_RANGES[self.kinds[code]] for code in self.scales]).T  # (k,), (k,)
        return np.clip(np.rint(self.predict_raw(X)), low, high)

    def predict(self, texts: Sequence[str], cache_dir: str | Path | None = None) -> pd.DataFrame:
        """Levels of instance ``texts`` (one row per text, one column per scale)."""
        chunks = [self.levels_from_features(features(texts[i:i + CHUNK], self.feature_set, self.embedding_model,
                                                     cache_dir, sparse=True)) for i in range(0, len(texts), CHUNK)]
        return pd.DataFrame(np.vstack(chunks) if chunks else np.zeros((0, len(self.scales))), columns=list(self.scales))

    def save(self, directory: str | Path) -> Path:
        """Write ``distilled.npz`` and ``distilled.json`` into ``directory`` (created if needed)."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        save_npz(folder / ARRAYS, {"mean": self.mean, "scale": self.scale, "coef": self.coef,
                                   "intercept": self.intercept, "alphas": self.alphas})
        write_json(folder / METADATA, {
            "format": FORMAT, "format_version": FORMAT_VERSION, "features": FEATURE_SETS[self.feature_set],
            "feature_set": self.feature_set, "name": self.name,
            "scales": list(self.scales), "embedding_model": self.embedding_model, "fingerprint": self.fingerprint,
            "rubric_hash": self.rubric_hash, "rubric_text_hashes": self.rubric_text_hashes, "kinds": self.kinds,
            "n_train": self.n_train, "info": self.info})
        return folder


def fit_distilled(texts: Sequence[str], levels: pd.DataFrame, *, scale_set: ScaleSet | None = None,
                  feature_set: str = "minilm", embedding_model: str = DEFAULT_MODEL,
                  cache_dir: str | Path | None = None, X: np.ndarray | None = None,
                  info: Mapping[str, Any] | None = None) -> DistilledAnnotator:
    """Fit one ridge per column of ``levels`` (codes of ``scale_set``, default the bundled set) on ``texts``.

    The model records the rubric-set hash of those scales, each one's rubric prompt-text hash and
    kind, all from ``scale_set``. ``X`` passes precomputed :func:`features` of ``texts`` (the study
    reuses them across folds).
    """
    if feature_set not in FEATURE_SETS:
        raise InputError(f"unknown feature set {feature_set!r}; choose one of {', '.join(FEATURE_SETS)}")
    scale_set = scale_set or default_scale_set()
    scales = scale_set.check([str(c) for c in levels.columns], key="levels")
    values = levels.to_numpy(dtype=float)
    if len(texts) != len(values):
        raise InputError(f"{len(texts)} texts but {len(values)} rows of levels")
    if len(values) < 10:
        raise InputError(f"distilling needs at least 10 annotated items, got {len(values)}")
    if np.isnan(values).any():
        row, col = (int(i) for i in np.argwhere(np.isnan(values))[0])
        raise InputError("every training item needs every level", row=row + 1, column=scales[col])
    rubric_hash = rubric_set_hash(scale_set.rubrics, scales)
    X = features(texts, feature_set, embedding_model, cache_dir) if X is None else X
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    if feature_set == "hashing":  # n-gram weights stay as they are; standardising them amplifies rare n-grams
        mean[:-N_SURFACE], scale[:-N_SURFACE] = 0.0, 1.0
    ridge = RidgeCV(alphas=ALPHAS[feature_set], alpha_per_target=True).fit((X - mean) / scale, values)
    return DistilledAnnotator(
        scales=scales, feature_set=feature_set, embedding_model=embedding_model, mean=mean, scale=scale, coef=np.atleast_2d(ridge.coef_),
        intercept=np.atleast_1d(ridge.intercept_), alphas=np.atleast_1d(ridge.alpha_).astype(float),
        fingerprint=training_fingerprint(texts, values, scales, rubric_hash, feature_set, embedding_model),
        rubric_hash=rubric_hash, rubric_text_hashes={c: sha256(scale_set.rubrics[c].prompt_text().strip())
                                                     for c in scales},
        n_train=len(values), kinds={c: scale_set[c].kind for c in scales}, info=dict(info or {}))


def load_distilled(directory: str | Path) -> DistilledAnnotator:
    """Rebuild a distilled annotator from its directory (JSON and plain arrays only)."""
    folder = Path(directory)
    path = folder / METADATA
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("not a distilled annotator (no distilled.json)", source=folder) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"not valid JSON ({err})", source=path) from None
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or version not in READABLE_VERSIONS:
        raise InputError(f"not a distilled annotator of format {FORMAT} v{'/v'.join(map(str, READABLE_VERSIONS))}",
                         source=path, column="format")
    feature_set = meta.get("feature_set")
    if feature_set not in FEATURE_SETS or meta.get("features") != FEATURE_SETS[feature_set]:
        raise InputError(f"features {meta.get('features')!r} are not among this version's "
                         f"({', '.join(FEATURE_SETS.values())}); distil again", source=path, column="features")
    arrays = load_npz(folder / ARRAYS)
    try:
        model = DistilledAnnotator(
            scales=tuple(str(c) for c in meta["scales"]), feature_set=feature_set,
            embedding_model=str(meta["embedding_model"]),
            mean=arrays["mean"], scale=arrays["scale"], coef=arrays["coef"], intercept=arrays["intercept"],
            alphas=arrays["alphas"], fingerprint=str(meta["fingerprint"]), rubric_hash=str(meta["rubric_hash"]),
            rubric_text_hashes={str(k): str(v) for k, v in meta["rubric_text_hashes"].items()},
            n_train=int(meta["n_train"]), kinds=_kinds(meta), info=dict(meta.get("info") or {}))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InputError(f"malformed distilled annotator ({type(err).__name__}: {err})", source=folder) from None
    if set(model.kinds) != set(model.scales) or not set(model.kinds.values()) <= set(KIND_RANGES):
        raise InputError("distilled kinds do not give 'level' or 'percentage' for every scale", source=path,
                         column="kinds")
    k, d = len(model.scales), len(model.mean)
    shapes_ok = (model.coef.shape == (k, d) and model.scale.shape == (d,) and model.intercept.shape == (k,)
                 and all(np.issubdtype(a.dtype, np.floating) for a in (model.mean, model.scale, model.coef,
                                                                        model.intercept)))
    if not shapes_ok:
        raise InputError("distilled arrays have inconsistent shapes or types", source=folder / ARRAYS)
    return model


def _kinds(meta: dict) -> dict[str, Kind]:
    """Each scale's kind: recorded since version 2; a version-1 model held bundled scales only (KeyError else)."""
    if meta["format_version"] == 1:
        bundled = default_scale_set()
        return {str(c): bundled[str(c)].kind for c in meta["scales"]}
    return {str(k): v for k, v in meta["kinds"].items()}
