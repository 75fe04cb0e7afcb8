"""The transformers backend on a tiny randomly initialised causal LM built here (no downloads)."""
from __future__ import annotations

import asyncio
import math

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from annotate_fixtures import write_annotator, write_battery
from assess.annotate import AnnotationJob, AnnotationStore, annotate, load_annotator
from assess.backends import BackendConfig, GenerationRequest, make_backend
from assess.errors import InputError
from assess.rubrics import load_rubrics
from assess.sources import read_battery

CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A byte-level BPE tokenizer trained on rubric text and a 2-layer Llama with seeded random weights.

    Seeded so every run tests the same weights: greedy decoding then takes the same tokens whether
    a prompt is batched (left-padded) or alone, unless two logits tie to within float noise. With
    these weights, on the three prompts of the batched test, the smallest gap between the two best
    logits over the greedy steps was 5e-4, some ten thousand times the batched-versus-single logit
    difference (6e-8); an unseeded draw can land a gap below that noise."""
    directory = tmp_path_factory.mktemp("tiny-llm")
    corpus = [r.prompt_text() for r in load_rubrics().values()] + ["Level: 0 1 2 3 4 5 Paris banana"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|end|>", "<|pad|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|end|>", pad_token="<|pad|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(directory)
    config = LlamaConfig(vocab_size=fast.vocab_size + 2, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
                         eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id)
    with torch.random.fork_rng():  # the seed stays inside the fixture
        torch.manual_seed(0)
        LlamaForCausalLM(config).save_pretrained(directory)
    return str(directory)


def _backend(model: str, batch_size: int = 4):
    return make_backend(BackendConfig(backend="transformers", model=model, options={"batch_size": batch_size,
                                                                                    "device": "cpu"}))


def test_batched_generation_matches_one_by_one(tiny_model):
    backend = _backend(tiny_model)
    requests = [GenerationRequest(messages=({"role": "user", "content": text},), max_tokens=8)
                for text in ("Level", "What is the level of this rather longer question?", "Paris")]
    batched = asyncio.run(backend.generate(requests))
    single = [asyncio.run(backend.generate([r]))[0] for r in requests]
    assert [c.text for c in batched] == [c.text for c in single]
    assert all(c.prompt_tokens > 0 and 0 < c.completion_tokens <= 8 for c in batched)
    raw = asyncio.run(backend.generate([GenerationRequest(prompt="Level: 3", max_tokens=4, stop=("Level",))]))[0]
    assert "Level" not in raw.text


def test_loglikelihoods_are_normalised_probabilities(tiny_model):
    backend = _backend(tiny_model)
    scores = backend.loglikelihoods("The level is", [" 1", " 2", " Paris banana"])
    assert all(s < 0 for s in scores) and len(set(scores)) == 3
    vocab_items = [backend.tokenizer.decode([i]) for i in range(backend.tokenizer.vocab_size)]
    singles = [t for t in vocab_items if t and backend.tokenizer(" is" + t, add_special_tokens=False)["input_ids"][-1:]
               == backend.tokenizer(t, add_special_tokens=False)["input_ids"]][:50]
    assert math.fsum(math.exp(s) for s in backend.loglikelihoods("The level is", singles)) <= 1.0 + 1e-6


def test_transformers_annotator_runs_the_pipeline(tmp_path, tiny_model):
    write_battery(tmp_path)
    annotator = write_annotator(tmp_path, f"name: tiny\nbackend: transformers\nmodel: {tiny_model}\nrepair_attempts: 1\n"
                                          "options: {batch_size: 3, device: cpu}\ngeneration: {max_tokens: 6}\n")
    config = load_annotator(annotator)
    job = AnnotationJob.build(read_battery(tmp_path / "battery.csv"), config, load_rubrics(), ["QLq"], "per-scale")
    with AnnotationStore(tmp_path / "c.sqlite") as store:
        summary = asyncio.run(annotate(job.requests, make_backend(config), store, config))
        answers = store.get(r.key for r in job.requests)
    assert summary.answered + summary.failures == 3 and summary.calls >= 3
    for answer in answers.values():  # random weights: failures expected, each with its raw text and reason
        assert (answer.status == "ok") == (answer.levels is not None) and answer.transcript
        assert answer.status == "ok" or (answer.error and answer.attempts == 2)


def test_unloadable_model_is_named(tmp_path):
    with pytest.raises(InputError, match="cannot load transformers model"):
        _backend(str(tmp_path / "no-such-model"))


def test_vllm_backend_without_vllm_names_the_extra():
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match=r"pip install 'assess\[vllm\]'"):
            make_backend(BackendConfig(backend="vllm", model="any"))
    else:
        pytest.skip("vllm is installed here; this test covers its absence")
