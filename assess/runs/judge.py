"""An LLM judge for open-ended answers, through the same backends as annotation.

The judge sees the question, the reference answer and the subject's answer and must reply
CORRECT or INCORRECT. Verdicts are cached (they are paid calls); a reply holding neither word
is an error naming the instance, never a guessed verdict.
"""
from __future__ import annotations

import re

from ..backends import Backend, BackendError, GenerationSettings
from .dataset import Sample
from .scorers import Score
from .store import RunCache, cache_key

JUDGE_TEMPLATE = (
    "You are grading an answer against a reference answer.\n\n"
    "Question:\n{question}\n\nReference answer:\n{target}\n\nSubmitted answer:\n{output}\n\n"
    "Does the submitted answer say the same as the reference answer? "
    "Reply with exactly one word: CORRECT or INCORRECT."
)
_VERDICT = re.compile(r"\b(INCORRECT|CORRECT)\b", re.IGNORECASE)


def parse_verdict(text: str) -> bool | None:
    """True for CORRECT, False for INCORRECT (the first such word counts), None when neither appears."""
    found = _VERDICT.search(text)
    return None if found is None else found.group(1).upper() == "CORRECT"


class JudgeScorer:
    """Asks a judge model whether an output matches the target; verdicts cached under their inputs."""

    name = "judge"

    def __init__(self, backend: Backend, model: str, generation: GenerationSettings, cache: RunCache | None = None,
                 template: str = JUDGE_TEMPLATE) -> None:
        self.backend, self.model, self.generation = backend, model, generation
        self.cache, self.template = cache, template

    def prompt(self, sample: Sample, output: str) -> str:
        return (self.template.replace("{question}", sample.prompt).replace("{target}", sample.target)
                .replace("{output}", output))

    async def score(self, sample: Sample, output: str) -> Score:
        prompt = self.prompt(sample, output)
        key = cache_key({"judge": self.model, "prompt": prompt, "generation": self.generation.model_dump()})
        cached = self.cache.get_many([key]).get(key) if self.cache is not None else None
        text = cached["text"] if cached else await self._ask(sample, prompt)
        verdict = parse_verdict(text)
        if verdict is None:
            raise BackendError(f"judge reply for instance {sample.instance_id} is neither CORRECT nor INCORRECT: "
                               f"{text[:120]!r}")
        if self.cache is not None and not cached:
            self.cache.put_many({key: {"text": text}})
        return Score(verdict, "CORRECT" if verdict else "INCORRECT")

    async def _ask(self, sample: Sample, prompt: str) -> str:
        request = self.generation.request(messages=({"role": "user", "content": prompt},),
                                          label=f"judge, instance {sample.instance_id}")
        (completion,) = await self.backend.generate([request])
        return completion.text
