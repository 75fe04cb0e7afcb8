"""Helpers for the rubric tests: edited copies of bundled files and the line a fragment sits on."""
from __future__ import annotations

from pathlib import Path

RUBRICS_DIR = Path(__file__).resolve().parents[1] / "rubrics"
CALIBRATION_DIR = RUBRICS_DIR / "calibration"


def edited_copy(source_dir: Path, target_dir: Path, code: str, old: str, new: str) -> Path:
    """Copy ``<source_dir>/<code>.yaml`` into ``target_dir`` with the first ``old`` replaced by ``new``."""
    text = (source_dir / f"{code}.yaml").read_text()
    assert old in text, f"{old!r} not in {code}.yaml"
    path = target_dir / f"{code}.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(text: str, fragment: str) -> int:
    """1-based number of the first line of ``text`` containing ``fragment``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)
