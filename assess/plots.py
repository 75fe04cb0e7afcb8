"""Matplotlib figures of ability profiles: a radar of abilities and a grid of characteristic curves."""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .abilities import ANCHOR_LEVEL  # noqa: E402

CURVE_RANGE = 8.0
#: Below this many instances on a scale the curve rests on too little evidence; plots and tables mark it.
FEW_INSTANCES = 30


def radar(profiles: Mapping[str, pd.DataFrame], title: str = "Ability profile") -> plt.Figure:
    """Polar plot of ability per scale for one or several subjects (with 95 % bands when present)."""
    first = next(iter(profiles.values()))
    scales = list(first["scale"])
    angles = np.linspace(0, 2 * np.pi, len(scales), endpoint=False)
    closed = np.append(angles, angles[0])
    fig, ax = plt.subplots(figsize=(7, 7), subplot_kw={"projection": "polar"})
    top = 5.0
    for name, table in profiles.items():
        table = table.set_index("scale").loc[scales]
        values = table["ability"].to_numpy(dtype=float)
        top = max(top, float(np.nanmax(np.append(table["ci_high"].to_numpy(dtype=float), values))))
        line, = ax.plot(closed, np.append(values, values[0]), label=name)
        few = table["n"].to_numpy() < FEW_INSTANCES
        ax.scatter(angles[~few], values[~few], color=line.get_color(), zorder=3)
        ax.scatter(angles[few], values[few], facecolors="white", edgecolors=line.get_color(), zorder=3)
        low, high = table["ci_low"].to_numpy(dtype=float), table["ci_high"].to_numpy(dtype=float)
        if np.isfinite(low).any():
            ax.fill_between(closed, np.append(low, low[0]), np.append(high, high[0]), color=line.get_color(), alpha=0.15)
    ax.set_xticks(angles, scales)
    ax.set_ylim(0, np.ceil(top))
    ax.set_title(f"{title}\n(hollow: fewer than {FEW_INSTANCES} instances)", pad=24)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def curves_grid(abilities: pd.DataFrame, empirical: pd.DataFrame, subject: str) -> plt.Figure:
    """One panel per scale: per-level success rates (size ∝ count), the fitted curve and the ability."""
    scales = list(abilities["scale"])
    cols = 6
    rows = int(np.ceil(len(scales) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.6 * rows), sharex=True, sharey=True, squeeze=False)
    x = np.linspace(0, CURVE_RANGE, 200)
    for ax, (_, row) in zip(axes.flat, abilities.iterrows()):
        points = empirical[empirical["scale"] == row["scale"]]
        ax.scatter(points["level"], points["rate"], s=10 + 60 * np.sqrt(points["n"] / max(points["n"].max(), 1)),
                   alpha=0.6, color="tab:blue")
        if np.isfinite(row["ability"]):
            ax.plot(x, 1 / (1 + np.exp(-(row["intercept"] + row["slope"] * x))), color="tab:red")
            ax.axvline(row["ability"], color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"{row['scale']}  {row['ability']:.2f}  (n={int(row['n'])})", fontsize=9)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(-0.3, CURVE_RANGE)
    for ax in list(axes.flat)[len(scales):]:
        ax.set_visible(False)
    fig.supxlabel("demand level")
    fig.supylabel("success rate")
    fig.suptitle(f"Characteristic curves — {subject} (anchor at level {ANCHOR_LEVEL:g} not shown)")
    fig.tight_layout()
    return fig
