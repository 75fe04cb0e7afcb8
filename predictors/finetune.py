"""A transformers sequence classifier fine-tuned on instance text to predict success.

Real sizes load from ``model_name_or_path`` (a local directory, or a hub name with
``allow_download=True``); :func:`make_tiny_model` writes a tiny BERT with a tokenizer trained on
the given texts, for CPU tests and smoke runs.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from assess.errors import InputError

from .features import TEXT_COLUMN, binary_target, checked_proba, require_table, texts

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def make_tiny_model(corpus: Sequence[str], directory: str | Path, *, hidden_size: int = 32, layers: int = 2,
                    vocab_size: int = 2000, seed: int = 0) -> Path:
    """Write a randomly initialised tiny BERT classifier and a word-level tokenizer trained on ``corpus``."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    directory = Path(directory)
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(list(corpus), trainers.WordLevelTrainer(vocab_size=vocab_size,
                                                                          special_tokens=list(SPECIAL_TOKENS)))
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                             special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]", model_max_length=512)
    fast.save_pretrained(directory)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=hidden_size, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden_size, max_position_embeddings=512,
                        num_labels=2)
    BertForSequenceClassification(config).save_pretrained(directory, safe_serialization=True)
    return directory


class TextFinetuneAssessor(ClassifierMixin, BaseEstimator):
    """Fine-tunes a sequence classifier (2 labels) on ``X[text_column]`` → success."""

    def __init__(self, model_name_or_path: str | None = None, text_column: str = TEXT_COLUMN, epochs: int = 3,
                 batch_size: int = 16, learning_rate: float = 5e-5, max_length: int = 256,
                 device: str | None = None, allow_download: bool = False, random_state: int = 0) -> None:
        self.model_name_or_path = model_name_or_path
        self.text_column = text_column
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_length = max_length
        self.device = device
        self.allow_download = allow_download
        self.random_state = random_state

    def _device(self) -> str:
        import torch

        return self.device or ("cuda" if torch.cuda.is_available() else "cpu")

    def _load_pretrained(self):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        source = self.model_name_or_path
        if not source:
            raise InputError("TextFinetuneAssessor needs model_name_or_path (a local model directory or hub name)")
        if not Path(source).is_dir() and not self.allow_download:
            raise InputError(f"model {source!r} is not a local directory; pass allow_download=True to fetch it")
        local = not self.allow_download
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=2, local_files_only=local,
                                                                   use_safetensors=True)
        return tokenizer, model

    def _encode(self, batch: list[str]):
        return self.tokenizer_(batch, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt").to(self._device())

    def fit(self, X: pd.DataFrame, y: Sequence[int]) -> "TextFinetuneAssessor":
        """Fine-tune the whole network with AdamW and cross-entropy for ``epochs`` passes."""
        import torch

        who = type(self).__name__
        corpus = texts(require_table(X, who), self.text_column, who)
        target = torch.tensor(binary_target(y, len(X), who))
        torch.manual_seed(self.random_state)
        self.tokenizer_, model = self._load_pretrained()
        model.to(self._device()).train()
        optimiser = torch.optim.AdamW(model.parameters(), lr=self.learning_rate)
        generator = torch.Generator().manual_seed(self.random_state)
        for _ in range(self.epochs):
            for idx in torch.randperm(len(corpus), generator=generator).split(self.batch_size):
                loss = model(**self._encode([corpus[i] for i in idx]), labels=target[idx].to(self._device())).loss
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        self.model_ = model.eval()
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2) softmax probabilities of failure and success."""
        import torch

        check_is_fitted(self, "model_")
        corpus = texts(require_table(X, type(self).__name__), self.text_column, type(self).__name__)
        out = []
        with torch.no_grad():
            for start in range(0, len(corpus), self.batch_size * 4):
                logits = self.model_(**self._encode(corpus[start:start + self.batch_size * 4])).logits
                out.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        return checked_proba(np.concatenate(out), type(self).__name__) if out else np.zeros((0, 2))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted outcome (1 when success probability ≥ 0.5)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
