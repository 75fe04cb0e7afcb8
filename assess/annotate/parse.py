"""Level extraction from annotator answers — strict, documented, and never a silent default.

A level counts only from the final answer, in the form the prompt asked for:

* **Per-scale** answers: the last non-empty line must be ``Level: N`` (any case; ``**``/``*``/`````
  emphasis around the word or the number, ``:`` or ``=``, a trailing ``.`` and, on a percentage scale, a ``%`` are
  tolerated, and so is a closing code fence after it). A number anywhere else — inside the reasoning ("the median is 5"), on an earlier
  ``Level:`` line, or a bare final number — never counts.
* **All-scales** answers: the last JSON object in the text (a code fence around it is fine), with
  nothing but whitespace or the closing fence after it, whose ``levels`` mapping (or the object
  itself) holds every requested code. Values must be numbers (numeric strings accepted).
* An answer that repeats the instructions (``Level: N`` with a literal N, ``where N is ...``, or
  the JSON template's ``<...>`` placeholders) is refused, even when a number follows.

Each scale's kind (from its rubric) sets what a value may be: on a level scale an integer 0-5
(``3.0`` is 3; ``3.5`` is refused), on a percentage scale such as UG a number 0-100 (``%``
allowed). Anything else raises :class:`ParseError` saying why, which the engine turns into a
repair prompt and, when repairs run out, a stored failure with the raw text.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..rubrics import KIND_RANGES

_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_EMPHASIS = r"[*_`]*"
#: The one accepted per-scale final line.
_FINAL_LINE = re.compile(rf"^{_EMPHASIS}\s*level\s*{_EMPHASIS}\s*[:=]\s*{_EMPHASIS}\s*({_NUMBER})\s*%?\s*{_EMPHASIS}\s*\.?$",
                         re.IGNORECASE)
#: Fragments of the prompts' own wording: an answer carrying one is repeating the instructions.
_ECHOES = (re.compile(r"^\W*level\W*:\W*n\W*$", re.IGNORECASE | re.MULTILINE),
           re.compile(r"\bwhere N is\b"),
           re.compile(r"<(?:an integer|a number|brief reasoning)[^>]*>"))
_CLOSING_FENCE = re.compile(r"^\s*(?:```\s*)?$")


class ParseError(ValueError):
    """An answer from which no valid level could be read; the message says what was wrong."""


def check_value(value: Any, code: str, kind: str) -> float:
    """A value of scale ``code`` of ``kind`` (level: integer 0-5; percentage: 0-100) as float, or ParseError."""
    if isinstance(value, bool):
        raise ParseError(f"{code}: {value!r} is not a number")
    if isinstance(value, str):
        value = value.strip().rstrip("%").strip()
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParseError(f"{code}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ParseError(f"{code}: {value!r} is not a finite number")
    low, high = KIND_RANGES[kind]
    if kind == "percentage":
        if not low <= number <= high:
            raise ParseError(f"{code}: {number:g} is outside {low:g}-{high:g}")
        return number
    if number != int(number):
        raise ParseError(f"{code}: {number:g} is not a whole level")
    if not low <= number <= high:
        raise ParseError(f"{code}: level {number:g} is outside {low:g}-{high:g}")
    return number


def json_objects(text: str) -> list[tuple[dict[str, Any], int]]:
    """Every top-level JSON object embedded in the text, in order, with the offset where it ends."""
    decoder, found, index = json.JSONDecoder(), [], text.find("{")
    while index != -1:
        try:
            obj, end = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        if isinstance(obj, dict):
            found.append((obj, end))
        index = text.find("{", end)
    return found


def _refuse_echo(text: str) -> None:
    for pattern in _ECHOES:
        match = pattern.search(text)
        if match:
            raise ParseError(f"the answer repeats the instructions ({match.group(0).strip()[:40]!r}) "
                             "instead of giving a level")


def parse_level(text: str, code: str, kind: str) -> float:
    """The value one per-scale answer gives for scale ``code`` of ``kind`` (rules in the module docstring)."""
    _refuse_echo(text)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _CLOSING_FENCE.match(line)]
    match = _FINAL_LINE.match(lines[-1]) if lines else None
    if match is None:
        last = f" (it is {lines[-1][:60]!r})" if lines else ""
        raise ParseError(f"no `Level: N` line at the end of the answer{last}")
    return check_value(match.group(1), code, kind)


def parse_levels(text: str, codes: Sequence[str], kinds: Mapping[str, str]) -> dict[str, float]:
    """Every requested value from one all-scales answer; ``kinds`` maps each code to its kind."""
    _refuse_echo(text)
    objects = json_objects(text)
    if not objects:
        raise ParseError("no JSON object found")
    obj, end = objects[-1]
    if not _CLOSING_FENCE.match(text[end:]):
        raise ParseError(f"text follows the JSON answer ({text[end:].strip()[:40]!r}); answer with only the object")
    levels = obj.get("levels", obj)
    if not isinstance(levels, dict):
        raise ParseError("\"levels\" in the JSON answer is not an object")
    missing = [code for code in codes if code not in levels]
    if missing:
        raise ParseError(f"JSON answer lacks level(s) for {', '.join(missing)}")
    return {code: check_value(levels[code], code, kinds[code]) for code in codes}


def parse_answer(text: str, codes: Sequence[str], mode: str, kinds: Mapping[str, str]) -> dict[str, float]:
    """Values by scale code from one answer under ``mode`` ('per-scale' carries exactly one code)."""
    if mode == "per-scale":
        return {codes[0]: parse_level(text, codes[0], kinds[codes[0]])}
    return parse_levels(text, codes, kinds)
