"""What profiling one subject produces; shared by the pipeline (:mod:`assess.profile`) and the writers (:mod:`assess.report`)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .config import ProfileConfig
from .scaleset import ScaleSet


@dataclass(frozen=True)
class ProfileResult:
    """A subject's ability profile with the evidence behind it."""

    config: ProfileConfig
    scales: ScaleSet  # the active scale set the profile was fitted under
    abilities: pd.DataFrame  # one row per fitted scale: ability, ci_low, ci_high, n, intercept, slope,
    #                          insufficient, extrapolation (see assess.profile.flag_evidence)
    empirical: pd.DataFrame  # one row per scale × level: n, successes, rate
    n_instances: int  # outcomes of the subject on the selected battery items
    n_annotated: int  # of those, on items with at least one annotated scale
    accuracy: float
    up_to_date: bool = False
