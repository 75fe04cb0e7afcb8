"""``model.yaml``: what to profile, from which battery and outcomes, and where to write the results."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .scales import SCALES, check_scale_codes
from .yamlio import load_config

#: The value of ``battery``/``outcomes`` that selects the bundled sample.
SAMPLE = "sample"
#: Fewest instances behind a curve for its ability to count as evidence. A curve is a logistic fit over six
#: levels; with fewer than about 30 dominant instances (five a level) its bootstrap interval spans most of the
#: 0-5 range or collapses to a point (the sample's MS: 9.02 [9.02, 9.02] from n=3), so the number says little.
MIN_N = 30


class Filters(BaseModel):
    """Restrict the battery to some benchmarks and/or tasks (empty = all)."""

    model_config = ConfigDict(extra="forbid")
    benchmarks: list[str] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)


class ProfileConfig(BaseModel):
    """One subject's profiling job, as written in ``model.yaml``."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1)
    battery: str = SAMPLE
    outcomes: str = SAMPLE
    output_dir: str
    battery_mapping: dict[str, str] = Field(default_factory=dict)
    outcomes_layout: Literal["auto", "long", "per-subject", "wide"] = "auto"
    filters: Filters = Field(default_factory=Filters)
    scales: list[str] = Field(default_factory=lambda: list(SCALES))
    bootstrap: int = Field(default=200, ge=0, le=100_000)
    seed: int = 0
    dominant_only: bool = True
    #: The published SCC method's filters (see assess.abilities): UG threshold and dominance slack.
    min_ug: float = Field(default=75.0, ge=0, le=100)
    level_diff: float = Field(default=0.0, ge=0, le=5)
    #: Round fractional (median) levels half-up into the integer bins; the published code weighs them zero.
    round_levels: bool = False
    min_n: int = Field(default=MIN_N, ge=1)
    method: Literal["scc"] = "scc"

    @field_validator("scales")
    @classmethod
    def _known_scales(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one scale, or leave the key out for all 18")
        repeated = sorted({code for code in value if value.count(code) > 1})
        if repeated:
            raise ValueError(f"scale(s) listed more than once: {', '.join(repeated)}")
        return check_scale_codes(value, allow_ug=False)

    def resolve(self, base: Path) -> "ProfileConfig":
        """Paths relative to the YAML file's folder become absolute; ``sample`` stays as it is."""
        def absolute(value: str) -> str:
            return value if value == SAMPLE else str((base / value).resolve())

        return self.model_copy(update={"battery": absolute(self.battery), "outcomes": absolute(self.outcomes),
                                       "output_dir": str((base / self.output_dir).resolve())})


def load_profile_config(path: str | Path) -> ProfileConfig:
    """Read and validate ``model.yaml``; relative paths are taken from the file's folder."""
    path = Path(path)
    return load_config(ProfileConfig, path).resolve(path.resolve().parent)
