"""A tiny randomly initialised BERT with a word-level tokenizer: a CPU fixture for fine-tuning plumbing only."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def make_tiny_model(corpus: Sequence[str], directory: str | Path, *, hidden_size: int = 32, layers: int = 2,
                    vocab_size: int = 2000, seed: int = 0) -> Path:
    """Write a randomly initialised tiny BERT and a word-level tokenizer trained on ``corpus``."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

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
                        num_attention_heads=2, intermediate_size=2 * hidden_size, max_position_embeddings=512)
    BertModel(config).save_pretrained(directory, safe_serialization=True)
    return directory
