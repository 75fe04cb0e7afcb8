"""A distilled annotator in process (``assess distill``): levels from a fitted text model, no LLM calls.

``model`` is the directory ``assess distill`` wrote. Each request's prompt is read back
(:func:`assess.annotate.prompts.read_prompt`) for its scales, rubric texts and instance text; a
rubric that differs from the ones the training annotations were made under is refused, and the
answer comes in the form the prompt asks for (a ``Level: N`` line or the all-scales JSON), so the
parser, the cache and the provenance (the annotator's ``name``, ``distilled/<fingerprint>``) work as
for any other annotator. Options: ``batch_size`` (requests per call, default 512), ``cache_dir``
(embedding cache).
"""
from __future__ import annotations

import hashlib
import json

from .base import BackendError, Completion, GenerationRequest, InProcessBackend
from .config import BackendConfig


class DistilledBackend(InProcessBackend):
    """Answers annotation requests from a distilled annotator's directory."""

    def __init__(self, config: BackendConfig) -> None:
        super().__init__(batch_size=int(config.options.get("batch_size", 512)))
        from predictors.distill import load_distilled

        self._model = load_distilled(config.model)
        self._cache_dir = config.options.get("cache_dir")
        self._checked: set[tuple[str, str]] = set()  # (code, rubric text) pairs already found to match

    def generate_sync(self, requests: list[GenerationRequest]) -> list[Completion]:
        from ..annotate.prompts import read_prompt

        contents = []
        for request in requests:
            if request.messages is None:
                raise BackendError(f"{request.label}: the distilled annotator answers annotation prompts only")
            try:
                contents.append(read_prompt(request.messages))
            except ValueError as err:
                raise BackendError(f"{request.label}: {err}") from None
            self._check_rubrics(contents[-1], request.label)
        levels = self._model.predict([c.instance for c in contents], self._cache_dir)
        column = {code: j for j, code in enumerate(levels.columns)}
        completions = []
        for content, row in zip(contents, levels.to_numpy(dtype=int).tolist()):
            values = {code: row[column[code]] for code in content.scales}
            if content.mode == "per-scale":
                text = f"{self._model.name}\nLevel: {values[content.scales[0]]}"
            else:
                text = json.dumps({"reasoning": self._model.name, "levels": values})
            completions.append(Completion(text=text, finish_reason="stop"))
        return completions

    def _check_rubrics(self, content, label: str) -> None:
        for code in content.scales:
            if (code, content.rubric_texts[code]) in self._checked:
                continue
            expected = self._model.rubric_text_hashes.get(code)
            if expected is None:
                raise BackendError(f"{label}: distilled annotator {self._model.name} has no model for scale {code}")
            if hashlib.sha256(content.rubric_texts[code].encode("utf-8")).hexdigest() != expected:
                raise BackendError(f"{label}: the {code} rubric differs from the one distilled annotator "
                                   f"{self._model.name} was trained under; distil again with these rubrics")
            self._checked.add((code, content.rubric_texts[code]))
