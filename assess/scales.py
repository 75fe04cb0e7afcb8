"""The bundled default: the 18 general scales of demand and unguessability, their codes, names and order.

No stage reads these constants to decide what a scale is: every stage takes the active
:class:`~assess.scaleset.ScaleSet` (bundled rubrics plus user folders). They remain the canonical
order of the bundled rubrics and a reference for tests and studies of the bundled set.
"""
from __future__ import annotations

from typing import Final

ELEMENTAL: Final = ("AS", "CEc", "CEe", "CL", "MCr", "MCt", "MCu", "MS", "QLl", "QLq", "SNs")
KNOWLEDGE: Final = ("KNa", "KNc", "KNf", "KNn", "KNs")
EXTRANEOUS: Final = ("AT", "VO")

#: The 18 demand scales in canonical order (levels 0-5).
SCALES: Final[tuple[str, ...]] = ELEMENTAL + KNOWLEDGE + EXTRANEOUS
#: Unguessability, a percentage 0-100.
UG: Final = "UG"
#: Every annotated column: the 18 scales and UG.
ANNOTATED: Final[tuple[str, ...]] = SCALES + (UG,)

LEVEL_MIN: Final = 0
LEVEL_MAX: Final = 5
UG_MIN: Final = 0.0
UG_MAX: Final = 100.0

SCALE_NAMES: Final[dict[str, str]] = {
    "AS": "Attention and scan",
    "CEc": "Verbal comprehension",
    "CEe": "Verbal expression",
    "CL": "Conceptualisation, learning and abstraction",
    "MCr": "Metacognition: identifying relevant information",
    "MCt": "Metacognition: critical thinking",
    "MCu": "Metacognition: calibrating knowns and unknowns",
    "MS": "Mind modelling and social cognition",
    "QLl": "Logical reasoning",
    "QLq": "Quantitative reasoning",
    "SNs": "Spatial and physical reasoning",
    "KNa": "Knowledge of applied sciences",
    "KNc": "Everyday (customary) knowledge",
    "KNf": "Knowledge of formal sciences",
    "KNn": "Knowledge of natural sciences",
    "KNs": "Knowledge of social sciences and humanities",
    "AT": "Atypicality",
    "VO": "Volume",
    "UG": "Unguessability",
}


def family(code: str) -> str:
    """Return 'elemental', 'knowledge', 'extraneous' or 'unguessability' for a scale code."""
    if code in ELEMENTAL:
        return "elemental"
    if code in KNOWLEDGE:
        return "knowledge"
    if code in EXTRANEOUS:
        return "extraneous"
    if code == UG:
        return "unguessability"
    raise KeyError(f"unknown scale code {code!r}; known: {', '.join(ANNOTATED)}")


def check_scale_codes(codes: list[str] | tuple[str, ...], *, allow_ug: bool = True) -> list[str]:
    """Validate user-given scale codes (case-sensitive) against the bundled set and return them; raise ValueError
    naming the bad ones (`assess demands` checks its codes here; the active set checks with ScaleSet.check)."""
    known = ANNOTATED if allow_ug else SCALES
    bad = [c for c in codes if c not in known]
    if bad:
        raise ValueError(f"unknown scale code(s) {', '.join(map(repr, bad))}; known: {', '.join(known)}")
    return list(codes)
