"""Hugging Face transformers in process: CPU (float32) or GPU (bfloat16), batched generation and scoring."""
from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from ..errors import InputError
from .base import Completion, GenerationRequest, InProcessBackend, continuation_start
from .config import BackendConfig


class TransformersBackend(InProcessBackend):
    """``model`` is a hub id or a local directory. Options: ``device`` (auto: cuda if available, else cpu),
    ``batch_size`` (8), ``dtype`` (auto: bfloat16 on GPU, float32 on CPU). Remote code never runs."""

    def __init__(self, config: BackendConfig) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        options = config.options
        super().__init__(batch_size=int(options.get("batch_size", 8)))
        self._torch = torch
        self.device = options.get("device", "auto")
        if self.device == "auto":
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype_name = options.get("dtype", "auto")
        if dtype_name == "auto":
            dtype_name = "bfloat16" if self.device.startswith("cuda") else "float32"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(config.model, trust_remote_code=False)
            self.model = AutoModelForCausalLM.from_pretrained(config.model, dtype=getattr(torch, dtype_name),
                                                              trust_remote_code=False).to(self.device).eval()
        except OSError as err:
            raise InputError(f"cannot load transformers model {config.model!r}: {err}", column="model") from err
        #: The model's context window in tokens, for the pre-flight check of prompt lengths (None = unknown).
        self.context_tokens = getattr(self.model.config, "max_position_embeddings", None)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` takes under this model's tokenizer."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _text(self, request: GenerationRequest) -> str:
        if request.messages is None:
            return str(request.prompt)
        if not self.tokenizer.chat_template:
            raise InputError("this tokenizer has no chat template; send prompts instead of messages", column="model")
        return self.tokenizer.apply_chat_template(list(request.messages), tokenize=False, add_generation_prompt=True)

    def generate_sync(self, requests: list[GenerationRequest]) -> list[Completion]:
        """Requests sharing sampling settings run as one padded batch; answers come back in request order."""
        results: dict[int, Completion] = {}

        def settings(index: int) -> tuple[int, float, int | None]:
            return requests[index].max_tokens, requests[index].temperature, requests[index].seed

        for (max_tokens, temperature, seed), group in groupby(sorted(range(len(requests)), key=settings), settings):
            indices = list(group)
            for index, completion in zip(indices, self._batch([requests[i] for i in indices], max_tokens,
                                                              temperature, seed)):
                results[index] = completion
        return [results[i] for i in range(len(requests))]

    def _batch(self, requests: list[GenerationRequest], max_tokens: int, temperature: float,
               seed: int | None) -> list[Completion]:
        torch = self._torch
        encoded = self.tokenizer([self._text(r) for r in requests], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.device)
        if seed is not None:
            torch.manual_seed(seed)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        with torch.no_grad():
            output = self.model.generate(**encoded, max_new_tokens=max_tokens, pad_token_id=self.tokenizer.pad_token_id,
                                         **sampling)
        prompt_width = encoded["input_ids"].shape[1]
        completions = []
        for row, request in enumerate(requests):
            new = output[row, prompt_width:].tolist()
            ended = self.tokenizer.eos_token_id in new
            new = new[:new.index(self.tokenizer.eos_token_id)] if ended else new
            text = _cut_at_stop(self.tokenizer.decode(new, skip_special_tokens=True), request.stop)
            completions.append(Completion(text=text, prompt_tokens=int(encoded["attention_mask"][row].sum()),
                                          completion_tokens=len(new), finish_reason="stop" if ended else "length"))
        return completions

    def loglikelihoods(self, context: str, continuations: Sequence[str]) -> list[float]:
        """Sum of log-probabilities of each continuation's tokens after ``context`` (one padded batch)."""
        torch = self._torch
        context_ids = self.tokenizer(context, add_special_tokens=False)["input_ids"]
        fulls = [self.tokenizer(context + c, add_special_tokens=False)["input_ids"] for c in continuations]
        starts = [continuation_start(context_ids, full) for full in fulls]
        width = max(len(full) for full in fulls)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(f)) + f for f in fulls], device=self.device)
        mask = torch.tensor([[0] * (width - len(f)) + [1] * len(f) for f in fulls], device=self.device)
        with torch.no_grad():
            logprobs = torch.log_softmax(self.model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
        scores = []
        for row, (full, start) in enumerate(zip(fulls, starts)):
            offset = width - len(full)
            positions = range(offset + start, width)
            scores.append(float(sum(logprobs[row, p - 1, ids[row, p]] for p in positions)))
        return scores


def _cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """The text up to the first stop string, as servers do."""
    cuts = [text.index(s) for s in stop if s in text]
    return text[:min(cuts)] if cuts else text
