"""annotator.yaml: who annotates (name), through which backend, and how persistently to ask for a parsable level."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..backends.config import BackendConfig
from ..errors import InputError
from ..yamlio import load_yaml, validate_located


class AnnotatorConfig(BackendConfig):
    """A named annotator: the backend fields plus ``name`` (recorded in every row) and the repair budget."""

    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.:/@+-]+$")
    repair_attempts: int = Field(2, ge=0, description="extra requests with a repair prompt after an unparsable answer")


def load_annotator(path: str | Path) -> AnnotatorConfig:
    """Read and validate an annotator YAML; errors name the file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read annotator config: {err.strerror}", source=path) from err
    data, lines = load_yaml(text, path)
    if not isinstance(data, dict):
        raise InputError("an annotator config must be a mapping of keys (name, backend, model, ...)", source=path)
    return validate_located(AnnotatorConfig, data, lines, path)
