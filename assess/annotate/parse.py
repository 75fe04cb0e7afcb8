"""Level extraction from annotator answers — documented, strict, and never a silent default.

Per-scale answers (first rule that finds something wins):

1. **JSON**: a JSON object in the text with key ``level`` or the scale code → that value.
2. **Level marker**: the *last* ``Level: N`` (any case, optional ``**`` markdown, ``:``/``=``/``is``) → N.
3. **Last number**: otherwise the last number on the last non-empty line (e.g. a bare ``3``).

All-scales answers: the last JSON object in the text (code fences allowed) whose ``levels`` mapping
(or the object itself) holds every requested code. Values must be numbers (numeric strings accepted).

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
_LEVEL_MARKER = re.compile(rf"\blevel\**\s*(?:[:=]|is)?\s*\**\s*({_NUMBER})", re.IGNORECASE)
_LAST_NUMBER = re.compile(rf"({_NUMBER})\s*%?")


class ParseError(ValueError):
    """An answer from which no valid level could be read; the message says what was wrong."""


def check_value(value: Any, code: str, kind: str) -> float:
    """A value of scale ``code`` of ``kind`` (level: integer 0-5; percentage: 0-100) as float, or ParseError."""
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


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object embedded in the text, in order."""
    decoder, found, index = json.JSONDecoder(), [], text.find("{")
    while index != -1:
        try:
            obj, end = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        index = text.find("{", end)
    return found


def parse_level(text: str, code: str, kind: str) -> float:
    """The value one per-scale answer gives for scale ``code`` of ``kind`` (rules in the module docstring)."""
    for obj in reversed(json_objects(text)):
        for key in ("level", code, "Level"):
            if key in obj:
                return check_value(obj[key], code, kind)
    markers = _LEVEL_MARKER.findall(text)
    if markers:
        return check_value(markers[-1], code, kind)
    lines = [line for line in text.splitlines() if line.strip()]
    numbers = _LAST_NUMBER.findall(lines[-1]) if lines else []
    if numbers:
        return check_value(numbers[-1], code, kind)
    raise ParseError("no `Level: N` line, JSON level or final number found")


def parse_levels(text: str, codes: Sequence[str], kinds: Mapping[str, str]) -> dict[str, float]:
    """Every requested value from one all-scales answer; ``kinds`` maps each code to its kind."""
    objects = json_objects(text)
    if not objects:
        raise ParseError("no JSON object found")
    best_missing: list[str] = list(codes)
    for obj in reversed(objects):
        levels = obj.get("levels", obj)
        if not isinstance(levels, dict):
            continue
        missing = [code for code in codes if code not in levels]
        if not missing:
            return {code: check_value(levels[code], code, kinds[code]) for code in codes}
        if len(missing) < len(best_missing):
            best_missing = missing
    raise ParseError(f"JSON answer lacks level(s) for {', '.join(best_missing)}")


def parse_answer(text: str, codes: Sequence[str], mode: str, kinds: Mapping[str, str]) -> dict[str, float]:
    """Values by scale code from one answer under ``mode`` ('per-scale' carries exactly one code)."""
    if mode == "per-scale":
        return {codes[0]: parse_level(text, codes[0], kinds[codes[0]])}
    return parse_levels(text, codes, kinds)
