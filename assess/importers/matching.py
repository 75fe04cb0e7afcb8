"""Join imported log records to a battery, by id or by normalised prompt text, reporting what did not match.

Records come from other harnesses' logs as a DataFrame with columns ``source`` (the file),
``row`` (where the record sits in it, 1-based), ``subject``, ``task`` (the harness's task name, or ""),
``record_id`` (the harness's id), ``layout_id`` (the battery id a known task layout gives, see
:mod:`.layouts`, or ""), ``text`` (the prompt it showed or the question field; may be empty),
``correct`` (0/1 or a score in [0, 1]), ``raw_output``, ``fields`` (the record's other scalar fields
that could serve as ids) and, for a record that stands for several attempts (Inspect epochs,
lm-eval repeats), ``successes`` and ``trials`` (NaN otherwise). When any record has counts, every
outcome gets them (a single attempt is 1 trial).

By id, the instance id is ``id_prefix + record_id`` when a prefix is given or no layout is known,
else ``layout_id``. By prompt, a record matches the battery item
whose normalised prompt equals its text, else the item whose prompt appears inside the text (the
last one: few-shot demonstrations come first), else the single item whose prompt starts with the
text (a question logged without its options). Every record that does not land on exactly one
item, or lands on an item already taken by the same subject, is in the unmatched report with
the reason, its original id and its original text — nothing is dropped silently.
:func:`suggest_id_flags` finds the ``--id-field`` / ``--id-prefix`` that would match most records.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ..battery import validate_outcomes
from ..errors import InputError

RECORD_COLUMNS: tuple[str, ...] = ("source", "row", "subject", "task", "record_id", "layout_id", "text", "correct",
                                   "raw_output", "fields", "successes", "trials")
REPORT_COLUMNS: tuple[str, ...] = ("source", "row", "subject", "task", "record_id", "tried_id", "reason", "text")
#: Length of the prompt prefix used to find battery prompts inside longer logged texts.
_ANCHOR = 40
_SPACES = re.compile(r"\s+")

MatchBy = Literal["id", "prompt"]


def normalise_prompt(text: str) -> str:
    """Case-folded text with all whitespace runs collapsed to one space, trimmed."""
    return _SPACES.sub(" ", str(text)).strip().casefold()


def scalar_fields(mapping: dict) -> dict[str, object]:
    """The string and integer values of a mapping (the fields that could hold an id)."""
    return {str(k): v for k, v in mapping.items() if isinstance(v, (str, int)) and not isinstance(v, bool)}


def record_id(value: object) -> str:
    """An id as text; integral numbers lose the ".0" a table reader may have given them."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


@dataclass(frozen=True)
class MatchResult:
    """Validated outcomes joined to the battery, and one report row per record left out."""

    outcomes: pd.DataFrame
    unmatched: pd.DataFrame

    def summary(self) -> str:
        return f"{len(self.outcomes)} outcomes matched, {len(self.unmatched)} rows unmatched"


class PromptIndex:
    """Battery prompts indexed for exact, contained and prefix look-ups of logged texts."""

    def __init__(self, battery: pd.DataFrame) -> None:
        prompts = battery["prompt"].map(normalise_prompt)
        self.exact: dict[str, list[str]] = {}
        self.anchors: dict[str, list[tuple[str, str]]] = {}
        for instance_id, prompt in zip(battery["instance_id"], prompts):
            if not prompt:
                continue
            self.exact.setdefault(prompt, []).append(instance_id)
            self.anchors.setdefault(prompt[:_ANCHOR], []).append((prompt, instance_id))
        self.sorted_prompts = sorted(self.exact)
        #: Anchor lengths: the full anchor, and the length of every prompt shorter than it.
        self.lengths = sorted({min(len(anchor), _ANCHOR) for anchor in self.anchors}, reverse=True)

    def find(self, text: str) -> tuple[list[str], str]:
        """Candidate instance ids for a logged text and how they were found."""
        text = normalise_prompt(text)
        if not text:
            return [], "no prompt text in the record"
        if text in self.exact:
            return self.exact[text], "exact"
        contained = self._contained(text)
        if contained:
            return contained, "contained"
        return self._prefixed(text), "prefix"

    def _contained(self, text: str) -> list[str]:
        """Items whose prompt occurs in ``text``: the occurrence ending last wins, then the longest prompt."""
        hits: list[tuple[int, int, str]] = []
        for start in range(len(text)):
            for length in self.lengths:
                for prompt, instance_id in self.anchors.get(text[start:start + length], ()):
                    if text.startswith(prompt, start):
                        hits.append((start + len(prompt), len(prompt), instance_id))
        if not hits:
            return []
        best = max(hits)[:2]
        return [instance_id for end, length, instance_id in hits if (end, length) == best]

    def _prefixed(self, text: str) -> list[str]:
        at = bisect.bisect_left(self.sorted_prompts, text)
        ids: list[str] = []
        while at < len(self.sorted_prompts) and self.sorted_prompts[at].startswith(text) and len(ids) < 2:
            ids.extend(self.exact[self.sorted_prompts[at]])
            at += 1
        return ids


def match_records(records: pd.DataFrame, battery: pd.DataFrame, *, by: MatchBy | str = "id",
                  id_prefix: str = "") -> MatchResult:
    """Outcomes of the records that land on exactly one battery item, and the report of the others."""
    if by not in ("id", "prompt"):
        raise InputError(f"match by 'id' or 'prompt', not {by!r}")
    known = set(battery["instance_id"])
    index = PromptIndex(battery) if by == "prompt" else None
    counted = "trials" in records.columns and bool(records["trials"].notna().any())
    kept: list[dict] = []
    report: list[dict] = []
    taken: dict[tuple[str, str], str] = {}
    for record in records.to_dict("records"):
        tried = ""
        if index is None:
            layout_id = record.get("layout_id") or ""
            tried = f"{id_prefix}{record['record_id']}" if id_prefix or not layout_id else layout_id
            candidates, how = ([tried], "id") if tried in known else ([], f"id {tried!r} not in battery")
        else:
            candidates, how = index.find(record["text"])
        reason = _problem(candidates, how, taken.get((record["subject"], candidates[0])) if candidates else None)
        if reason:
            report.append({"source": record["source"], "row": record["row"], "subject": record["subject"],
                           "task": record.get("task") or "", "record_id": str(record["record_id"]),
                           "tried_id": tried, "reason": reason, "text": str(record["text"])})
            continue
        taken[(record["subject"], candidates[0])] = f"{record['source']} row {record['row']}"
        row = {"subject": record["subject"], "instance_id": candidates[0], "correct": record["correct"],
               "raw_output": record["raw_output"]}
        if counted:
            single = pd.isna(record["trials"])
            row.update(successes=record["correct"] if single else record["successes"],
                       trials=1 if single else record["trials"])
        kept.append(row)
    columns = ["subject", "instance_id", "correct", "raw_output"] + (["successes", "trials"] if counted else [])
    outcomes = pd.DataFrame(kept, columns=columns)
    return MatchResult(validate_outcomes(outcomes, "<matched records>", battery), pd.DataFrame(report, columns=REPORT_COLUMNS))


def _problem(candidates: list[str], how: str, taken_by: str | None) -> str | None:
    """Why a record cannot be kept, or None when it matched exactly one free item."""
    if not candidates:
        return how if how not in ("prefix",) else "no battery prompt equals, is contained in or starts with its text"
    if len(candidates) > 1:
        return f"ambiguous: {len(candidates)} battery items match ({how}), e.g. {candidates[0]!r}, {candidates[1]!r}"
    if taken_by is not None:
        return f"{candidates[0]!r} already matched by {taken_by} for this subject"
    return None


@dataclass(frozen=True)
class IdSuggestion:
    """A choice of id field and prefix, and how many records it would match."""

    field: str
    prefix: str
    matches: int

    def flags(self, default_field: str) -> str:
        """The command-line flags that select this choice (``default_field`` needs no ``--id-field``)."""
        parts = [] if self.field == default_field else [f"--id-field {self.field}"]
        parts += [f"--id-prefix {self.prefix}"] if self.prefix else []
        return " ".join(parts) or "(no flags)"


def suggest_id_flags(records: pd.DataFrame, battery: pd.DataFrame) -> IdSuggestion | None:
    """The id field (of each record's ``fields``) and battery id prefix that match the most records.

    Prefixes tried: "" and every battery id up to its last ``/`` (``mmlu_pro/``, ``bbh/navigate/``, ...).
    A record with logged text counts only when the item's prompt (its first 40 normalised characters)
    occurs in that text, so ids that exist but name other questions (doc 3 of one task is not doc 3 of
    another) are not suggested.
    """
    anchors = dict(zip(battery["instance_id"], battery["prompt"].map(lambda p: normalise_prompt(p)[:_ANCHOR])))
    prefixes = {""} | {i.rsplit("/", 1)[0] + "/" for i in anchors if "/" in i}
    texts = [normalise_prompt(t) for t in records["text"]]
    values: dict[str, list[tuple[str, str]]] = {}
    for fields, text in zip(records["fields"], texts):
        for name, value in (fields or {}).items():
            values.setdefault(name, []).append((record_id(value), text))

    def agrees(instance_id: str, text: str) -> bool:
        anchor = anchors.get(instance_id)
        return anchor is not None and (not text or anchor in text)

    best: IdSuggestion | None = None
    for name, pairs in values.items():
        for prefix in prefixes:
            count = sum(agrees(f"{prefix}{i}", text) for i, text in pairs)
            if count and (best is None or count > best.matches):
                best = IdSuggestion(name, prefix, count)
    return best
