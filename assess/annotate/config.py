"""annotator.yaml: who annotates (name), through which backend, and how persistently to ask for a parsable level."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..backends.config import BackendConfig
from ..scaleset import RubricsKey, resolve_folders
from ..yamlio import load_config


class AnnotatorConfig(BackendConfig):
    """A named annotator: the backend fields plus ``name`` (recorded in every row) and the repair budget."""

    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.:/@+-]+$")
    repair_attempts: int = Field(2, ge=0, description="extra requests with a repair prompt after an unparsable answer")
    rubrics: RubricsKey = Field(default_factory=list, description="rubric folders whose scales join the bundled ones")


def load_annotator(path: str | Path) -> AnnotatorConfig:
    """Read and validate an annotator YAML; errors name the file, line and key (``rubrics`` from its folder)."""
    config = load_config(AnnotatorConfig, path)
    return config.model_copy(update={"rubrics": resolve_folders(config.rubrics, Path(path).resolve().parent)})
