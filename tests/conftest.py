"""Shared fixtures: small batteries and outcome tables built in each test's tmp folder."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assess.scales import SCALES


def synthetic_battery(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A battery in our layout: three random scales per instance carry levels 0-5, the rest 0-1."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "instance_id": [f"toy/{i}" for i in range(n)],
        "benchmark": np.where(np.arange(n) % 3 == 0, "bench_a", "bench_b"),
        "task": [f"task_{i % 4}" for i in range(n)],
        "prompt": [f"Question number {i}?" for i in range(n)],
        "target": "A",
        "answer_format": "multiple_choice_4",
    })
    levels = rng.integers(0, 2, (n, len(SCALES))).astype(float)
    for row in range(n):
        levels[row, rng.choice(len(SCALES), 3, replace=False)] = rng.integers(0, 6, 3)
    for s, scale in enumerate(SCALES):
        df[scale] = levels[:, s]
    df["UG"] = 75.0
    return df


def synthetic_outcomes(battery: pd.DataFrame, subjects: dict[str, float], seed: int = 0,
                       demand: np.ndarray | None = None) -> pd.DataFrame:
    """Outcomes with P(success) = sigmoid(2 (midpoint - demand)); ``subjects`` maps name → midpoint.

    ``demand`` per instance defaults to its highest level over the 18 scales.
    """
    rng = np.random.default_rng(seed)
    if demand is None:
        demand = battery[list(SCALES)].max(axis=1).to_numpy()
    frames = []
    for name, midpoint in subjects.items():
        p = 1 / (1 + np.exp(-2.0 * (midpoint - demand)))
        frames.append(pd.DataFrame({"subject": name, "instance_id": battery["instance_id"],
                                    "correct": (rng.random(len(demand)) < p).astype(int)}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def battery() -> pd.DataFrame:
    return synthetic_battery()


@pytest.fixture
def outcomes(battery: pd.DataFrame) -> pd.DataFrame:
    return synthetic_outcomes(battery, {"strong": 4.5, "weak": 2.0})
