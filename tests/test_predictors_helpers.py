"""Small synthetic batteries for the predictor tests: success falls with demand and rises with ability."""
from __future__ import annotations

import numpy as np
import pandas as pd

from assess.battery import validate_battery, validate_outcomes
from assess.scales import SCALES, UG
from conftest import synthetic_outcomes as outcomes_by_demand

WORDS = {0: "trivial", 1: "easy", 2: "plain", 3: "tricky", 4: "hard", 5: "brutal"}


def synthetic_battery(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """A validated battery: 2 benchmarks × 3 tasks each, demand levels 0-5, texts that mention difficulty."""
    rng = np.random.default_rng(seed)
    difficulty = rng.integers(0, 6, n)
    levels = np.clip(difficulty[:, None] + rng.integers(-1, 2, (n, len(SCALES))), 0, 5).astype(float)
    tasks = rng.integers(0, 6, n)
    frame = pd.DataFrame(levels, columns=list(SCALES))
    frame[UG] = rng.uniform(10, 90, n).round()
    frame["instance_id"] = [f"item/{i}" for i in range(n)]
    frame["benchmark"] = np.where(tasks < 3, "bench_a", "bench_b")
    frame["task"] = [f"task_{t}" for t in tasks]
    frame["prompt"] = [f"a {WORDS[d]} question number {i} about topic {t}" for i, (d, t) in enumerate(zip(difficulty, tasks))]
    return validate_battery(frame, "<synthetic>")


def synthetic_outcomes(battery: pd.DataFrame, abilities: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """Outcomes where P(success) = sigmoid(2·(ability − mean demand))."""
    demand = battery[list(SCALES)].mean(axis=1).to_numpy()
    return validate_outcomes(outcomes_by_demand(battery, abilities, seed, demand), "<synthetic>", battery)


def profiles_for(abilities: dict[str, float]) -> dict[str, dict[str, float]]:
    """Flat profiles: the same ability on every scale."""
    return {subject: {scale: ability for scale in SCALES} for subject, ability in abilities.items()}
