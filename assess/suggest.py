"""'Did you mean …?' for names a user typed: subjects, benchmarks, scales.

Names are compared after normalisation (case, and punctuation such as ``-``, ``_``, ``.`` and
spaces dropped), so ``Llama-3.1-8B-Instruct`` finds ``Meta-Llama-3_1-8B-Instruct``.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_PUNCTUATION = re.compile(r"[\W_]+")


def normalise(name: str) -> str:
    """Lower-case ``name`` with every non-alphanumeric character removed."""
    return _PUNCTUATION.sub("", name.lower())


def close_names(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` known names closest to ``name``, best first; a name containing it (normalised) counts as close."""
    by_key: dict[str, str] = {}
    for candidate in known:
        by_key.setdefault(normalise(str(candidate)), str(candidate))
    wanted = normalise(name)
    if not wanted:
        return []
    matches = difflib.get_close_matches(wanted, list(by_key), n=n, cutoff=cutoff)
    containing = sorted((key for key in by_key if wanted in key and key not in matches), key=len)
    return [by_key[key] for key in (matches + containing)[:n]]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'X'?"`` (or ``'X' or 'Y'``) when close names exist, else an empty string."""
    names = close_names(name, known)
    if not names:
        return ""
    return "; did you mean " + " or ".join(repr(n) for n in names) + "?"
