"""An annotation job: a battery, an annotator, rubrics, scales and a mode, turned into keyed requests."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError
from ..scaleset import ScaleSet
from .attempts import annotator_id
from .config import AnnotatorConfig
from .prompts import (MODES, PROMPT_VERSION, PROTOCOL_VERSIONS, AnnotationRequest, RubricLike, build_requests,
                      check_listed_options, rubric_set_hash)
from .results import fill_battery
from .store import AnnotationStore



@dataclass(frozen=True)
class AnnotationJob:
    """Everything that decides which requests exist; ``requests`` are built once, deterministically."""

    battery: pd.DataFrame
    config: AnnotatorConfig
    rubrics: Mapping[str, RubricLike]
    scales: tuple[str, ...]
    mode: str
    requests: tuple[AnnotationRequest, ...]
    version: str = PROMPT_VERSION

    @classmethod
    def build(cls, battery: pd.DataFrame, config: AnnotatorConfig, rubrics: Mapping[str, RubricLike] | ScaleSet,
              scales: Sequence[str] | None = None, mode: str = "all-scales",
              version: str = PROMPT_VERSION) -> AnnotationJob:
        """Check scales (default: every scale of the set), mode and protocol version, then build the requests.

        ``rubrics`` is the active :class:`~assess.scaleset.ScaleSet` or a mapping code → rubric.
        """
        if isinstance(rubrics, ScaleSet):
            rubrics = rubrics.rubrics
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}", column="--mode")
        if version not in PROTOCOL_VERSIONS:
            raise InputError(f"unknown protocol version {version!r}; use one of {', '.join(PROTOCOL_VERSIONS)}",
                             column="--protocol-version")
        if version != PROMPT_VERSION:
            check_listed_options(battery)
        codes = tuple(scales) if scales else tuple(rubrics)
        missing = [code for code in codes if code not in rubrics]
        if missing or not codes:
            raise InputError(f"no rubric for scale(s) {', '.join(map(repr, missing)) or '(none requested)'}; "
                             f"rubrics available: {', '.join(rubrics) or 'none'}", column="--scales")
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise InputError(f"scale(s) listed more than once: {', '.join(repeated)}", column="--scales")
        requests = build_requests(battery, rubrics, codes, mode, annotator_id(config), version)
        return cls(battery, config, rubrics, codes, mode, tuple(requests), version)

    @property
    def rubric_hash(self) -> str:
        """Hash of the rubrics of the scales this job annotates."""
        return rubric_set_hash(self.rubrics, self.scales)

    @property
    def scale_set_hash(self) -> str:
        """Hash of the whole scale set the job was built under (:attr:`assess.scaleset.ScaleSet.hash`)."""
        return rubric_set_hash(self.rubrics)

    def annotated(self, store: AnnotationStore) -> pd.DataFrame:
        """The battery with this job's stored levels and provenance on the rows it answered; other rows as they were."""
        answers = store.get(r.key for r in self.requests)
        return fill_battery(self.battery, self.requests, answers, annotator=self.config.name, mode=self.mode,
                            rubric_hash=self.rubric_hash, scale_set_hash=self.scale_set_hash, version=self.version)
