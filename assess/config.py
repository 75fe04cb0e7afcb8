"""``model.yaml``: what to profile, from which battery and outcomes, and where to write the results."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .errors import InputError
from .scaleset import RubricsKey, ScaleSet, load_scale_set, resolve_folders
from .yamlio import LocatedValueError, load_config

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


class IRTSettings(BaseModel):
    """Options of ``method: irt`` (the joint demand-IRT model; see README "Joint demand-IRT abilities")."""

    model_config = ConfigDict(extra="forbid")
    form: Literal["conjunctive", "compensatory"] = "conjunctive"
    residual: Literal["empirical_bayes", "marginal", "joint", "none"] = "empirical_bayes"
    item_slopes: bool = False
    theta_prior_sd: float = Field(default=1.5, gt=0)
    residual_prior_sd: float = Field(default=1.0, gt=0)


class ProfileConfig(BaseModel):
    """One subject's profiling job, as written in ``model.yaml``."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1)
    battery: str = SAMPLE
    outcomes: str = SAMPLE
    output_dir: str
    battery_mapping: dict[str, str] = Field(default_factory=dict)
    #: {our outcome column: the file's column}, e.g. {instance_id: item, correct: is_correct}.
    outcomes_mapping: dict[str, str] = Field(default_factory=dict)
    outcomes_layout: Literal["auto", "long", "per-subject", "wide"] = "auto"
    filters: Filters = Field(default_factory=Filters)
    #: Rubric folders whose scales join the bundled ones (a folder or a list).
    rubrics: RubricsKey = Field(default_factory=list)
    #: Level scales to fit (default: every level scale of the active set).
    scales: list[str] | None = None
    bootstrap: int = Field(default=200, ge=0, le=100_000)
    seed: int = 0
    dominant_only: bool = True
    #: The published SCC method's filters (see assess.abilities): UG threshold and dominance slack.
    min_ug: float = Field(default=75.0, ge=0, le=100)
    level_diff: float = Field(default=0.0, ge=0, le=5)
    #: Round fractional (median) levels half-up into the integer bins; the published code weighs them zero.
    round_levels: bool = False
    min_n: int = Field(default=MIN_N, ge=1)
    method: Literal["scc", "irt"] = "scc"
    irt: IRTSettings = Field(default_factory=IRTSettings)

    @field_validator("scales")
    @classmethod
    def _some_scales(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("give at least one scale, or leave the key out for every level scale")
        return value

    @model_validator(mode="after")
    def _scales_of_the_set(self, info: ValidationInfo) -> "ProfileConfig":
        """With the file's folder in the context, check ``rubrics`` and ``scales`` at their lines."""
        base = (info.context or {}).get("base")
        if base is None:
            return self
        try:
            scales = load_scale_set(resolve_folders(self.rubrics, base))
        except InputError as err:
            raise LocatedValueError(("rubrics",), str(err)) from None
        try:
            self.fitted_scales(scales)
        except InputError as err:
            raise LocatedValueError(("scales",), err.reason) from None
        return self

    def scale_set(self) -> ScaleSet:
        """The active scale set: the bundled rubrics and the ``rubrics`` folders."""
        return load_scale_set(self.rubrics)

    def fitted_scales(self, scales: ScaleSet) -> tuple[str, ...]:
        """The level scales to fit: ``scales`` checked against the active set, or all its level scales."""
        if self.scales is None:
            return scales.level_codes
        return scales.check(self.scales, key="scales", kind="level")

    def resolve(self, base: Path) -> "ProfileConfig":
        """Paths relative to the YAML file's folder become absolute; ``sample`` stays as it is."""
        def absolute(value: str) -> str:
            return value if value == SAMPLE else str((base / value).resolve())

        return self.model_copy(update={"battery": absolute(self.battery), "outcomes": absolute(self.outcomes),
                                       "output_dir": str((base / self.output_dir).resolve()),
                                       "rubrics": resolve_folders(self.rubrics, base)})


def load_profile_config(path: str | Path) -> ProfileConfig:
    """Read and validate ``model.yaml``; relative paths are taken from the file's folder."""
    path = Path(path)
    base = path.resolve().parent
    return load_config(ProfileConfig, path, context={"base": base}).resolve(base)
