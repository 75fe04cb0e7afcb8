"""Battery rows → samples: the prompt a subject sees, per answer format, with optional few-shot.

A battery's ``answer_format`` is one of ``multiple_choice_<N>`` (options lettered "A." or "(A)"
in the prompt), ``binary`` (Yes/No, True/False, valid/invalid), ``numeric`` or ``free_text``.
Each format has a prompt template; few-shot demonstrations come from the same task and never
include the item itself. Anything a template cannot handle is an :class:`InputError` naming
the instance, not a silently skipped row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

FORMAT_FAMILIES: tuple[str, ...] = ("multiple_choice", "binary", "numeric", "free_text")

#: Templates per format family; ``{prompt}`` is replaced by the item's prompt (no other braces are read).
DEFAULT_TEMPLATES: dict[str, str] = {
    "multiple_choice": "Question: {prompt}\nAnswer with the letter of the correct option.\nAnswer:",
    "binary": "Question: {prompt}\nAnswer:",
    "numeric": "Question: {prompt}\nAnswer with a number only.\nAnswer:",
    "free_text": "Question: {prompt}\nAnswer:",
}

#: Closed answer sets of binary items, used as the candidates a log-likelihood solver ranks.
BINARY_PAIRS: tuple[tuple[str, str], ...] = (("Yes", "No"), ("yes", "no"), ("True", "False"), ("valid", "invalid"))

_MULTIPLE_CHOICE = re.compile(r"multiple_choice_(\d+)")
_OPTION_LINE = re.compile(r"^\s*(?:\(([A-Z])\)|([A-Z])[.)])\s", re.MULTILINE)


@dataclass(frozen=True)
class Sample:
    """What a solver needs for one instance.

    ``options`` are the option letters of a multiple-choice item (empty otherwise);
    ``candidates`` are the answers a log-likelihood solver ranks (letters, or a binary pair).
    """

    instance_id: str
    prompt: str
    target: str
    answer_format: str
    options: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()


def format_family(answer_format: str, instance_id: str = "") -> str:
    """The family ("multiple_choice", "binary", "numeric", "free_text") of a battery answer format."""
    if _MULTIPLE_CHOICE.fullmatch(answer_format):
        return "multiple_choice"
    if answer_format in FORMAT_FAMILIES:
        return answer_format
    raise InputError(f"unknown answer_format {answer_format!r}; known: multiple_choice_<N>, "
                     f"{', '.join(FORMAT_FAMILIES[1:])}", instance_id=instance_id or None, column="answer_format")


def listed_options(prompt: str) -> tuple[str, ...]:
    """The option letters listed in a prompt ("A. text" or "(A) text" lines): the last run A, B, C, ..."""
    letters = [m.group(1) or m.group(2) for m in _OPTION_LINE.finditer(prompt)]
    start = max((i for i, letter in enumerate(letters) if letter == "A"), default=None)
    run: list[str] = []
    for letter in letters[start:] if start is not None else []:
        if ord(letter) != ord("A") + len(run):
            break
        run.append(letter)
    return tuple(run)


def option_letters(prompt: str, target: str, instance_id: str) -> tuple[str, ...]:
    """The :func:`listed_options` of a multiple-choice prompt, checked against its target.

    The prompt is what the subject sees, so its options count (a battery's ``multiple_choice_<N>``
    may be off by some); fewer than two options, or a target letter not among them, is an error.
    """
    run = listed_options(prompt)
    if len(run) < 2:
        raise InputError(f"multiple-choice prompt lists {len(run)} lettered options (expected lines like "
                         "'A. text' or '(A) text')", instance_id=instance_id, column="prompt")
    letter = target.strip().strip("()[]. ").upper()
    if letter not in run:
        raise InputError(f"target {target!r} is not one of the prompt's options {', '.join(run)}",
                         instance_id=instance_id, column="target")
    return tuple(run)


def binary_pair(target: str, instance_id: str) -> tuple[str, str]:
    """The closed answer pair a binary target belongs to (its own spelling first found)."""
    for pair in BINARY_PAIRS:
        if target.strip() in pair:
            return pair
    known = ", ".join("/".join(pair) for pair in BINARY_PAIRS)
    raise InputError(f"binary target {target!r} is not one of {known}", instance_id=instance_id, column="target")


def shot_answer(row: pd.Series) -> str:
    """The answer a demonstration shows: the bare letter for multiple choice, the target otherwise."""
    target = str(row["target"]).strip()
    return target.strip("()") if format_family(str(row["answer_format"])) == "multiple_choice" else target


def render(template: str, prompt: str) -> str:
    """Fill a template's ``{prompt}`` slot (plain replacement: braces in prompts are safe)."""
    return template.replace("{prompt}", prompt)


def to_sample(row: pd.Series, templates: dict[str, str], shots: pd.DataFrame | None = None) -> Sample:
    """One battery row as a sample, with ``shots`` rows rendered before it as solved demonstrations."""
    instance_id, fmt = str(row["instance_id"]), str(row["answer_format"])
    family = format_family(fmt, instance_id)
    target = str(row["target"])
    options: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    if family == "multiple_choice":
        options = candidates = option_letters(str(row["prompt"]), target, instance_id)
    elif family == "binary":
        candidates = binary_pair(target, instance_id)
    demos = "" if shots is None else "".join(
        f"{render(templates[format_family(str(s['answer_format']))], str(s['prompt']))} {shot_answer(s)}\n\n"
        for _, s in shots.iterrows())
    return Sample(instance_id, demos + render(templates[family], str(row["prompt"])), target, family,
                  options, candidates)


def build_samples(rows: pd.DataFrame, *, pool: pd.DataFrame | None = None, fewshot: int = 0, seed: int = 0,
                  templates: dict[str, str] | None = None, skipped: list[InputError] | None = None) -> list[Sample]:
    """Samples for battery ``rows``; demonstrations (``fewshot`` per item) are drawn from ``pool``'s same task.

    An item that cannot become a sample (e.g. a truncated prompt without its options) raises, or,
    when a ``skipped`` list is given, has its error appended there for the caller to report.
    """
    chosen = {**DEFAULT_TEMPLATES, **(templates or {})}
    missing = [family for family, text in chosen.items() if "{prompt}" not in text]
    if missing:
        raise InputError(f"template for {missing[0]!r} lacks the {{prompt}} slot", column="templates")
    pool = rows if pool is None else pool
    rng = np.random.default_rng(seed)
    by_task = {key: group for key, group in pool.groupby(["benchmark", "task"], sort=False)} if fewshot else {}
    samples = []
    for _, row in rows.iterrows():
        shots = None
        if fewshot:
            group = by_task.get((row["benchmark"], row["task"]), pool.iloc[:0])
            others = group[group["instance_id"] != row["instance_id"]]
            if len(others) < fewshot:
                raise InputError(f"only {len(others)} other items of task {row['task']!r} for {fewshot}-shot",
                                 instance_id=str(row["instance_id"]))
            shots = others.iloc[np.sort(rng.choice(len(others), fewshot, replace=False))]
        try:
            samples.append(to_sample(row, chosen, shots))
        except InputError as err:
            if skipped is None:
                raise
            skipped.append(err)
    return samples


def stratified_sample(rows: pd.DataFrame, n: int, by: str, seed: int = 0) -> pd.DataFrame:
    """``n`` rows spread over the groups of column ``by`` in proportion to their sizes (seeded).

    Rows are shuffled, ranked within their group, and ordered by rank / group size, so every
    prefix of the order is close to proportional; the first ``n`` are returned in battery order.
    """
    rows = rows.reset_index(drop=True)
    if n >= len(rows):
        return rows
    rng = np.random.default_rng(seed)
    shuffled = rows.iloc[rng.permutation(len(rows))]
    groups = shuffled.groupby(by, sort=False)[by]
    quantile = (groups.cumcount() + rng.random(len(shuffled))) / groups.transform("size")
    keep = quantile.sort_values(kind="stable").index[:n]
    return rows.loc[rows.index.isin(keep)]


def select_rows(battery: pd.DataFrame, *, benchmarks: list[str] = (), tasks: list[str] = (),
                families: list[str] = (), instance_ids: list[str] | None = None, limit: int | None = None,
                stratify: str | None = None, seed: int = 0) -> pd.DataFrame:
    """Battery rows kept by the filters (empty = all) and ``instance_ids``, then ``limit`` of them (seeded).

    Unknown families, unknown ids and an empty result are errors, so a typo never runs nothing.
    """
    for family in families:
        if family not in FORMAT_FAMILIES:
            raise InputError(f"unknown answer format family {family!r}; known: {', '.join(FORMAT_FAMILIES)}",
                             column="select.answer_formats")
    rows = battery
    if instance_ids is not None:
        unknown = sorted(set(instance_ids) - set(battery["instance_id"]))
        if unknown:
            raise InputError(f"{len(unknown)} selected ids are not in the battery, e.g. {unknown[0]!r}",
                             column="select.instance_ids")
        rows = rows[rows["instance_id"].isin(instance_ids)]
    if benchmarks:
        rows = rows[rows["benchmark"].isin(benchmarks)]
    if tasks:
        rows = rows[rows["task"].isin(tasks)]
    if families:
        rows = rows[rows["answer_format"].map(format_family).isin(families)]
    if rows.empty:
        raise InputError("the selection keeps no battery item", column="select")
    if stratify and stratify not in rows.columns:
        raise InputError(f"cannot stratify by {stratify!r}: the battery has no such column", column="select.stratify")
    if limit is not None:
        rows = stratified_sample(rows, limit, stratify, seed) if stratify else \
            rows.iloc[np.sort(np.random.default_rng(seed).permutation(len(rows))[:limit])]
    return rows.reset_index(drop=True)
