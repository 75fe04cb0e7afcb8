"""vLLM offline engine on a GPU (optional extra ``vllm``; imported only when this backend is chosen).

Not exercised by the test suite (no GPU or vllm wheel there); it maps our requests onto
``LLM.chat`` / ``LLM.generate`` with one ``SamplingParams`` per request and nothing more.
"""
from __future__ import annotations

from ..errors import InputError
from .base import Completion, GenerationRequest, InProcessBackend
from .config import BackendConfig

#: ``options`` keys passed through to ``vllm.LLM``.
ENGINE_OPTIONS = ("tensor_parallel_size", "gpu_memory_utilization", "max_model_len", "dtype", "quantization")


class VLLMBackend(InProcessBackend):
    """``model`` is a hub id or local directory; options: ``batch_size`` (256) and :data:`ENGINE_OPTIONS`."""

    def __init__(self, config: BackendConfig) -> None:
        try:
            import vllm
        except ImportError as err:
            raise InputError("backend 'vllm' needs the optional extra: pip install 'assess[vllm]' (GPU only)",
                             column="backend") from err
        super().__init__(batch_size=int(config.options.get("batch_size", 256)))
        self._vllm = vllm
        engine = {key: config.options[key] for key in ENGINE_OPTIONS if key in config.options}
        self._llm = vllm.LLM(model=config.model, seed=config.generation.seed or 0, **engine)

    def generate_sync(self, requests: list[GenerationRequest]) -> list[Completion]:
        chats = [i for i, r in enumerate(requests) if r.messages is not None]
        prompts = [i for i, r in enumerate(requests) if r.messages is None]
        outputs: dict[int, object] = {}
        if chats:
            results = self._llm.chat([list(requests[i].messages or ()) for i in chats],
                                     [self._params(requests[i]) for i in chats], use_tqdm=False)
            outputs.update(zip(chats, results))
        if prompts:
            results = self._llm.generate([str(requests[i].prompt) for i in prompts],
                                         [self._params(requests[i]) for i in prompts], use_tqdm=False)
            outputs.update(zip(prompts, results))
        return [_completion(outputs[i]) for i in range(len(requests))]

    def _params(self, request: GenerationRequest) -> object:
        return self._vllm.SamplingParams(max_tokens=request.max_tokens, temperature=request.temperature,
                                         seed=request.seed, stop=list(request.stop) or None)


def _completion(output: object) -> Completion:
    best = output.outputs[0]  # type: ignore[attr-defined]
    return Completion(text=best.text, prompt_tokens=len(output.prompt_token_ids or []),  # type: ignore[attr-defined]
                      completion_tokens=len(best.token_ids), finish_reason=str(best.finish_reason or ""))
