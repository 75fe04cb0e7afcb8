"""Matplotlib figures of ability profiles: a radar of abilities and a grid of characteristic curves.

Both take ability tables flagged by :func:`assess.profile.flag_evidence`: scales with
``insufficient`` evidence are greyed (curves) or left out (radar) and never set the radar's range.
"""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
from matplotlib.lines import Line2D  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .abilities import ANCHOR_LEVEL  # noqa: E402
from .scales import LEVEL_MAX  # noqa: E402

CURVE_RANGE = 8.0
CURVE_COLUMNS = 3
GREY = "0.6"


def radar(profiles: Mapping[str, pd.DataFrame], title: str = "Ability profile", min_n: int | None = None) -> plt.Figure:
    """Polar plot of ability per scale for one or several subjects, with 95 % bands.

    Abilities with insufficient evidence are not drawn (each subject's polygon joins its evidenced
    scales only); a scale label is grey when no subject has enough evidence on it. The radius runs to the largest plotted ability or
    interval end, rounded up; a dashed circle marks level 5, the top of the annotated range, when
    the radius passes it.
    """
    first = next(iter(profiles.values()))
    scales = list(first["scale"])
    angles = np.linspace(0, 2 * np.pi, len(scales), endpoint=False)
    fig, ax = plt.subplots(figsize=(7.5, 7.5), subplot_kw={"projection": "polar"})
    top, evidenced = 0.0, np.zeros(len(scales), dtype=bool)
    for name, table in profiles.items():
        table = table.set_index("scale").loc[scales]
        shown = ~table["insufficient"].to_numpy(dtype=bool) & table["ability"].notna().to_numpy()
        evidenced |= shown
        ring = np.append(np.flatnonzero(shown), np.flatnonzero(shown)[:1])  # the evidenced spokes, closed
        values, low, high = (table[c].to_numpy(dtype=float)[ring] for c in ("ability", "ci_low", "ci_high"))
        top = max([top, *values, *high[np.isfinite(high)]])
        line, = ax.plot(angles[ring], values, marker="o", label=name)
        if np.isfinite(low).all() and len(ring) > 1:
            ax.fill_between(angles[ring], low, high, color=line.get_color(), alpha=0.15, linewidth=0)
    top = float(np.ceil(top)) if top > 0 else float(LEVEL_MAX)
    if top > LEVEL_MAX:
        circle = np.linspace(0, 2 * np.pi, 200)
        ax.plot(circle, np.full_like(circle, LEVEL_MAX), color="0.3", linestyle="--", linewidth=0.8,
                label=f"level {LEVEL_MAX}: top of the annotated range")
    ax.set_ylim(0, top)
    ax.set_xticks(angles, scales)
    for label, angle, ok in zip(ax.get_xticklabels(), angles, evidenced):
        label.set_color("black" if ok else GREY)
        label.set_horizontalalignment("left" if 0.05 < angle < np.pi - 0.05 else
                                      "right" if np.pi + 0.05 < angle < 2 * np.pi - 0.05 else "center")
    ax.tick_params(axis="x", pad=6)
    ax.set_rlabel_position(np.degrees(angles[1] / 2) if len(angles) > 1 else 45.0)  # between the first two spokes
    ax.tick_params(axis="y", labelsize="small", labelcolor="0.35")
    few = f"fewer than {min_n} instances" if min_n else "too few instances"
    ax.set_title(f"{title}\n(grey label, no point: {few} — insufficient evidence)", pad=28, fontsize="medium")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), fontsize="small", ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def _marker_size(n: np.ndarray, largest: float) -> np.ndarray:
    return 10 + 90 * np.sqrt(np.asarray(n, dtype=float) / max(largest, 1.0))


def curves_grid(abilities: pd.DataFrame, empirical: pd.DataFrame, subject: str) -> plt.Figure:
    """One panel per scale with evidence: per-level success rates (area ∝ count), the fitted curve, the ability.

    Scales with no instance (n = 0) get no panel; they are listed under the grid. Scales with
    insufficient evidence are drawn in grey.
    """
    empty = abilities.loc[abilities["n"] == 0, "scale"].tolist()
    drawn = abilities[abilities["n"] > 0]
    rows = max(1, int(np.ceil(len(drawn) / CURVE_COLUMNS)))
    fig, axes = plt.subplots(rows, CURVE_COLUMNS, figsize=(3.6 * CURVE_COLUMNS, 2.6 * rows + 1.0), sharex=True,
                             sharey=True, squeeze=False, layout="constrained")
    largest = float(empirical["n"].max()) if len(empirical) else 1.0
    x = np.linspace(0, CURVE_RANGE, 200)
    for ax, (_, row) in zip(axes.flat, drawn.iterrows()):
        weak = bool(row["insufficient"])
        colour, curve = ("0.55", "0.55") if weak else ("tab:blue", "tab:red")
        points = empirical[empirical["scale"] == row["scale"]]
        ax.axvspan(LEVEL_MAX, CURVE_RANGE, color="0.94", linewidth=0)
        ax.scatter(points["level"], points["rate"], s=_marker_size(points["n"], largest), alpha=0.6, color=colour)
        ax.plot(x, 1 / (1 + np.exp(-(row["intercept"] + row["slope"] * x))), color=curve)
        ax.axvline(row["ability"], color="0.4", linestyle="--", linewidth=1)
        note = "  insufficient" if weak else ("  extrapolated" if row["extrapolation"] else "")
        ax.set_title(f"{row['scale']}  {row['ability']:.2f}  (n={int(row['n'])}){note}", fontsize=9,
                     color=GREY if weak else "black")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(-0.3, CURVE_RANGE)
    for ax in list(axes.flat)[len(drawn):]:
        ax.set_visible(False)
    for column in range(CURVE_COLUMNS):  # x ticks and label under the lowest visible panel of each column
        visible = [axes[r, column] for r in range(rows) if axes[r, column].get_visible()]
        if visible:
            visible[-1].xaxis.set_tick_params(labelbottom=True)
            visible[-1].set_xlabel("demand level")
    fig.supylabel("success rate")
    fig.suptitle(f"Characteristic curves — {subject} (dashed: ability; anchor at level {ANCHOR_LEVEL:g} not shown)")
    counts = sorted({int(c) for c in np.unique(np.round(np.geomspace(1, max(largest, 1), 3)))})
    handles = [Line2D([], [], linestyle="", marker="o", markersize=float(np.sqrt(_marker_size(np.array([c]), largest)[0])),
                      color="tab:blue", alpha=0.6) for c in counts]
    title = f"marker area: instances at that level · shaded: beyond the annotated levels 0-{LEVEL_MAX}"
    if empty:
        title += f"\nno panel for {', '.join(empty)}: no instance has it as its highest demand (n = 0)"
    fig.legend(handles, [f"{c} instance{'s' if c > 1 else ''}" for c in counts], title=title,
               loc="outside lower center", ncol=len(counts), fontsize="small", title_fontsize="small", frameon=False)
    return fig
