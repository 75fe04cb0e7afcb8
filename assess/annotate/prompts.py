"""Annotation prompts: the published protocol (rubric, then the instance, brief reasoning, a final level).

Two modes. ``per-scale``: one request per (instance, scale), answered as reasoning then a final
line ``Level: N``. ``all-scales``: one request per instance carrying every requested rubric,
answered as a JSON object ``{"reasoning": ..., "levels": {code: level, ..., "UG": percent}}`` —
one rubric set and one instance per request instead of one per scale, at a fraction of the tokens.
The text is a pure function of its inputs, so its SHA-256 (the prompt hash) identifies it.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Protocol

import pandas as pd

from ..backends import Message
from ..errors import InputError
from ..rubrics import rubric_set_hash
from ..runs.dataset import listed_options

#: Bump when any prompt wording changes; recorded in ``annotation_protocol``.
PROMPT_VERSION = "v1"
#: Protocol versions a job may be run under (``--protocol-version``); the wording is v1's in both.
#: v2 also requires every ``multiple_choice_<N>`` item's N to be the number of options its prompt
#: lists (the BBH answer-format fix of the bundled sample; v1 labels were made with N counted from
#: a task's distinct targets). v2 joins the request key, so v1 and v2 answers never share one.
PROTOCOL_VERSIONS: tuple[str, ...] = (PROMPT_VERSION, "v2")
MODES: tuple[str, ...] = ("per-scale", "all-scales")

SYSTEM = ("You are an expert annotator of the cognitive demands that task instances place on AI systems. "
          "You rate each instance against rubrics exactly as written, judging the demand of the task itself, "
          "not whether any particular system would solve it.")


class RubricLike(Protocol):
    """What prompts need of a rubric (see :class:`assess.rubrics.Rubric`)."""

    code: str
    name: str
    kind: str
    scale_max: int

    @property
    def content_hash(self) -> str: ...

    def prompt_text(self) -> str: ...


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def instance_text(prompt: str, target: str = "", answer_format: str = "") -> str:
    """How an instance is shown to the annotator: its prompt, and the reference answer and format if known."""
    parts = [f"Prompt:\n{prompt.strip()}"]
    if target.strip():
        parts.append(f"Reference answer:\n{target.strip()}")
    if answer_format.strip():
        parts.append(f"Answer format: {answer_format.strip()}")
    return "\n\n".join(parts)


_TARGET_MARK, _FORMAT_MARK = "\n\nReference answer:\n", "\n\nAnswer format: "


def split_instance_text(text: str) -> tuple[str, str, str]:
    """Invert :func:`instance_text`: its (prompt, target, answer format), stripped.

    The markers are read from the end, so a prompt may contain them; a target or format must not.
    """
    if not text.startswith("Prompt:\n"):
        raise ValueError("not an instance text (it must start with 'Prompt:')")
    body, target, answer_format = text[len("Prompt:\n"):], "", ""
    at = body.rfind(_FORMAT_MARK)
    if at >= 0 and "\n" not in body[at + len(_FORMAT_MARK):]:
        body, answer_format = body[:at], body[at + len(_FORMAT_MARK):]
    at = body.rfind(_TARGET_MARK)
    if at >= 0:
        body, target = body[:at], body[at + len(_TARGET_MARK):]
    return body, target, answer_format


def value_spec(rubric: RubricLike) -> str:
    """What a valid value of a scale looks like, in words."""
    if rubric.kind == "percentage":
        return f"a number from 0 to {rubric.scale_max} (a percentage)"
    return f"an integer from 0 to {rubric.scale_max}"


INSTANCE_START, INSTANCE_END = "=== TASK INSTANCE ===\n", "\n=== END OF TASK INSTANCE ==="


def _instance_block(text: str) -> str:
    return f"{INSTANCE_START}{text}{INSTANCE_END}"


def _json_escaped(text: str) -> str:
    """``text`` as it appears inside a JSON string of :func:`messages_hash`'s canonical form (no quotes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


@dataclass(frozen=True)
class PromptTemplate:
    """The fixed text before and after the instance block of one prompt form, built once per job.

    ``messages(text)`` is the conversation for an instance text and ``prompt_hash(text)`` its
    :func:`messages_hash`, computed from a hasher that has already read the fixed prefix (JSON
    escaping works character by character, so the canonical JSON splits at the instance block).
    """

    head: str
    tail: str

    def messages(self, text: str) -> tuple[Message, ...]:
        return ({"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"{self.head}{_instance_block(text)}{self.tail}"})

    @cached_property
    def _hash_prefix(self):
        system = json.dumps(SYSTEM, ensure_ascii=False)
        return hashlib.sha256(f'[{{"content":{system},"role":"system"}},{{"content":"{_json_escaped(self.head)}'
                              .encode("utf-8"))

    @cached_property
    def _hash_suffix(self) -> bytes:
        return f'{_json_escaped(self.tail)}","role":"user"}}]'.encode("utf-8")

    def prompt_hash(self, text: str) -> str:
        digest = self._hash_prefix.copy()
        digest.update(_json_escaped(_instance_block(text)).encode("utf-8"))
        digest.update(self._hash_suffix)
        return digest.hexdigest()


def per_scale_template(rubric: RubricLike) -> PromptTemplate:
    """The rubric, the instance, and the request for brief reasoning and a final ``Level: N`` line."""
    unit = "percentage" if rubric.kind == "percentage" else "level"
    return PromptTemplate(
        f"=== RUBRIC ===\n{rubric.prompt_text().strip()}\n=== END OF RUBRIC ===\n\n",
        f"\n\nUsing the rubric, rate the {unit} of {rubric.code} ({rubric.name}) this task instance demands. "
        "Give brief reasoning (at most three sentences), then finish with a last line of exactly this form:\n"
        f"Level: N\nwhere N is {value_spec(rubric)}.")


def all_scales_template(rubrics: Sequence[RubricLike]) -> PromptTemplate:
    """Every rubric, the instance, and the request for one JSON object holding all levels."""
    blocks = "\n\n".join(f"=== RUBRIC {r.code} ===\n{r.prompt_text().strip()}" for r in rubrics)
    template = json.dumps({"reasoning": "<brief reasoning, at most five sentences>",
                           "levels": {r.code: f"<{value_spec(r)}>" for r in rubrics}}, indent=1)
    return PromptTemplate(
        f"{blocks}\n=== END OF RUBRICS ===\n\n",
        f"\n\nUsing each rubric, rate what this task instance demands on each of the {len(rubrics)} scales. "
        f"Answer with only a JSON object of this form, with every one of these keys in \"levels\":\n{template}")


def per_scale_messages(rubric: RubricLike, text: str) -> tuple[Message, ...]:
    """The per-scale conversation for one instance text (:func:`per_scale_template`)."""
    return per_scale_template(rubric).messages(text)


def all_scales_messages(rubrics: Sequence[RubricLike], text: str) -> tuple[Message, ...]:
    """The all-scales conversation for one instance text (:func:`all_scales_template`)."""
    return all_scales_template(rubrics).messages(text)


@dataclass(frozen=True)
class PromptContent:
    """What an annotation prompt asks: its mode, the scales (in order), each one's rubric text, the instance text."""

    mode: str
    scales: tuple[str, ...]
    rubric_texts: dict[str, str]
    instance: str


_ALL_SCALES_RUBRIC = re.compile(r"=== RUBRIC (\S+) ===\n(.*?)(?=\n\n=== RUBRIC \S+ ===\n|\n=== END OF RUBRICS ===)", re.S)
_PER_SCALE = re.compile(r"^=== RUBRIC ===\n(.*?)\n=== END OF RUBRIC ===\n", re.S)
_PER_SCALE_CODE = re.compile(r"Using the rubric, rate the (?:level|percentage) of (\S+) \(")


def read_prompt(messages: Sequence[Message]) -> PromptContent:
    """Invert :func:`per_scale_messages` / :func:`all_scales_messages` (repair turns are ignored): for
    annotators that are models of the rubric-rated levels rather than readers of the prompt."""
    user = next((m["content"] for m in messages if m.get("role") == "user"), None)
    if user is None or INSTANCE_START not in user or INSTANCE_END not in user:
        raise ValueError("not an annotation prompt: no task-instance block in the first user message")
    end = user.rindex(INSTANCE_END)
    instance = user[user.index(INSTANCE_START, 0, end) + len(INSTANCE_START):end]
    head = user[:user.index(INSTANCE_START)]
    single = _per_scale_rubric(head)
    if single is not None:
        code = _PER_SCALE_CODE.search(user, end)
        if code is None:
            raise ValueError("per-scale prompt without the scale it asks for")
        return PromptContent("per-scale", (code.group(1),), {code.group(1): single}, instance)
    rubrics = _all_scales_rubrics(head)
    if not rubrics:
        raise ValueError("not an annotation prompt: no rubric block")
    return PromptContent("all-scales", tuple(code for code, _ in rubrics), dict(rubrics), instance)


@lru_cache(maxsize=64)
def _per_scale_rubric(head: str) -> str | None:
    """The rubric text of a per-scale prompt's head, or None (a job's requests share a few heads: parsed once)."""
    single = _PER_SCALE.match(head)
    return single.group(1) if single else None


@lru_cache(maxsize=64)
def _all_scales_rubrics(head: str) -> tuple[tuple[str, str], ...]:
    """(code, rubric text) of each rubric block of an all-scales prompt's head, in order."""
    return tuple(_ALL_SCALES_RUBRIC.findall(head))


def repair_messages(original: Sequence[Message], answer: str, problem: str, mode: str) -> tuple[Message, ...]:
    """The original conversation, the unusable answer, and a request to restate it in the required form."""
    form = ("a last line of exactly the form `Level: N`" if mode == "per-scale"
            else "only the JSON object, with every requested key in \"levels\"")
    note = f"Your answer could not be used: {problem}. Reply again with {form}."
    return (*original, {"role": "assistant", "content": answer}, {"role": "user", "content": note})


def messages_hash(messages: Sequence[Message]) -> str:
    """SHA-256 of the canonical JSON of a conversation: the recorded prompt hash."""
    return sha256(json.dumps(list(messages), sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def protocol_label(mode: str, version: str = PROMPT_VERSION) -> str:
    """The ``annotation_protocol`` provenance value, e.g. ``all-scales/v1``."""
    return f"{mode}/{version}"


def check_listed_options(battery: pd.DataFrame) -> None:
    """Protocol v2's condition: every ``multiple_choice_<N>`` row's N is the count of options its prompt lists."""
    for number, row in enumerate(battery.itertuples(index=False), start=1):
        fmt = str(row.answer_format)
        if fmt.startswith("multiple_choice_") and fmt != f"multiple_choice_{len(listed_options(str(row.prompt)))}":
            raise InputError(f"protocol v2: answer_format {fmt!r} but the prompt lists "
                             f"{len(listed_options(str(row.prompt)))} options", row=number,
                             instance_id=str(row.instance_id), column="answer_format")


@dataclass(frozen=True)
class AnnotationRequest:
    """One request to an annotator: which instance and scales, its prompt, and the cache key naming it."""

    key: str
    instance_id: str
    instance_hash: str
    scales: tuple[str, ...]
    mode: str
    rubric_hash: str
    prompt_hash: str
    messages: tuple[Message, ...]
    #: Kind of each of ``scales`` (level or percentage), for parsing the answer.
    kinds: Mapping[str, str]

    @property
    def label(self) -> str:
        return f"instance {self.instance_id!r} scale(s) {','.join(self.scales)} [{self.key[:12]}]"


def build_requests(battery: pd.DataFrame, rubrics: Mapping[str, RubricLike], scales: Sequence[str],
                   mode: str, annotator: str, version: str = PROMPT_VERSION) -> list[AnnotationRequest]:
    """Every request the battery needs under a mode; the key hashes instance content, scales, rubric hash,
    annotator, mode, prompt hash and (from v2 on) the protocol version, so any change to one of them asks afresh."""
    groups = [(code,) for code in scales] if mode == "per-scale" else [tuple(scales)]
    forms = []
    for codes in groups:
        template = (per_scale_template(rubrics[codes[0]]) if mode == "per-scale"
                    else all_scales_template([rubrics[c] for c in codes]))
        forms.append((codes, template, rubric_set_hash(rubrics, codes), {c: rubrics[c].kind for c in codes}))
    requests = []
    for row in battery.itertuples(index=False):
        text = instance_text(row.prompt, row.target, row.answer_format)
        instance_hash = sha256(text)
        for codes, template, rubric_hash, kinds in forms:
            prompt_hash = template.prompt_hash(text)
            parts = [instance_hash, list(codes), rubric_hash, annotator, mode, prompt_hash]
            key = sha256(json.dumps(parts if version == PROMPT_VERSION else [*parts, version]))
            requests.append(AnnotationRequest(key, str(row.instance_id), instance_hash, codes, mode,
                                              rubric_hash, prompt_hash, template.messages(text), kinds))
    return requests
