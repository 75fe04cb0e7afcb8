"""Matplotlib figures of demand profiles: stacked level bars per group, a side-by-side comparison,
a scales × groups heat map, and a subject's curves over a group's demand distribution.

Every figure takes :meth:`assess.demands.DemandProfile.table`, whose ``kind`` column says which
scales are percentages (UG or a user one): those are shown in their rubric's bands, divided by 20
in the comparison, and left out of the heat map and the curves."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .demands import LEVELS  # noqa: E402

#: Level 0 is pale grey (no demand); 1–5 go from pale to dark, as the ADeLe paper's bars.
LEVEL_COLOURS = ["#e6e6e6"] + [plt.get_cmap("YlOrRd")(x) for x in np.linspace(0.2, 0.95, 5)]
PANELS_PER_ROW = 6


def _bars(ax: plt.Axes, rows: pd.DataFrame) -> None:
    """Horizontal stacked bars of level shares, one per scale (first at the top), as one collection."""
    y = np.arange(len(rows))[::-1]
    shares = rows[[f"share_{lv}" for lv in LEVELS]].astype(float).fillna(0.0).to_numpy()  # (S, 6)
    left = np.cumsum(shares, axis=1) - shares
    boxes = [Rectangle((left[i, lv], y[i] - 0.4), shares[i, lv], 0.8)
             for i in range(len(rows)) for lv in LEVELS if shares[i, lv] > 0]
    colours = [LEVEL_COLOURS[lv] for i in range(len(rows)) for lv in LEVELS if shares[i, lv] > 0]
    ax.add_collection(PatchCollection(boxes, facecolors=colours, edgecolors="white", linewidths=0.3))
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_yticks(y, [f"{s} (bands)" if kind == "percentage" else s for s, kind in zip(rows["scale"], rows["kind"])],
                  fontsize=8)
    ax.set_xlim(0, 1.0)
    ax.set_xticks([0, 0.5, 1.0], ["0", "½", "1"], fontsize=7)
    uniform = rows["n_annotated"].nunique() == 1  # then the panel title says it once
    for yy, (_, row) in zip(y, rows.iterrows()):
        if not uniform:
            note = f"{int(row['n_annotated'])}" + (f" ({int(row['n_missing'])} missing)" if row["n_missing"] else "")
            ax.text(1.01, yy, note, fontsize=6, va="center", color="dimgrey", clip_on=False)
        if row["intended"]:
            ax.text(-0.01, yy, "◆", fontsize=6, va="center", ha="right", color="tab:blue", clip_on=False)


def profile_grid(table: pd.DataFrame, groups: Sequence[str], title: str) -> plt.Figure:
    """The demand profile of each group as stacked level bars per scale, panels side by side.

    ``table`` is :meth:`DemandProfile.table` (one row per group × scale). ◆ marks intended scales;
    annotated counts are in each panel's title, or per scale at the right when they differ.
    """
    cols = min(PANELS_PER_ROW, len(groups))
    n_rows = int(np.ceil(len(groups) / cols))
    height = 4.4 * n_rows + 1.9
    fig, axes = plt.subplots(n_rows, cols, figsize=(3.1 * cols + 0.8, height), squeeze=False, sharey=True)
    for ax, group in zip(axes.flat, groups):
        rows = table[table["group"] == group]
        _bars(ax, rows)
        n, annotated = int(rows["n_instances"].iloc[0]), rows["n_annotated"]
        count = f"{int(annotated.iloc[0])} annotated" if annotated.nunique() == 1 else "annotated: right"
        ax.set_title(f"{_short(group)}\n{n} instances, {count}", fontsize=8)
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    handles = [Rectangle((0, 0), 1, 1, color=LEVEL_COLOURS[lv]) for lv in LEVELS]
    fig.legend(handles, [str(lv) for lv in LEVELS], title="level (percentage scale: band)", loc="lower center", ncol=6,
               fontsize=7, title_fontsize=7, frameon=False)
    fig.suptitle(f"{title}\nshare of annotated instances per level; ◆ intended scale", fontsize=10)
    fig.subplots_adjust(left=0.8 / (3.1 * cols + 0.8), right=0.97, top=1 - 1.3 / height, bottom=0.6 / height,
                        hspace=0.9 / 4.4, wspace=0.25)
    return fig


def comparison(table: pd.DataFrame, groups: Sequence[str], title: str) -> plt.Figure:
    """Mean level ± sd per scale, the groups side by side (percentages divided by 20 to share the axis)."""
    scales = list(dict.fromkeys(table["scale"]))
    percentage = table.drop_duplicates("scale").set_index("scale").loc[scales, "kind"].to_numpy() == "percentage"
    fig, ax = plt.subplots(figsize=(8, 0.36 * len(scales) + 1.6))
    offsets = np.linspace(0.25, -0.25, len(groups)) if len(groups) > 1 else np.zeros(1)
    y = np.arange(len(scales))[::-1]
    for yy in y[:-1]:
        ax.axhline(yy - 0.5, color="lightgrey", linewidth=0.5)
    for offset, group in zip(offsets, groups):
        rows = table[table["group"] == group].set_index("scale").loc[scales]
        factor = np.where(percentage, 1 / 20, 1.0)
        mean = rows["mean"].astype(float).to_numpy() * factor
        sd = rows["sd"].astype(float).to_numpy() * factor
        ax.errorbar(mean, y + offset, xerr=sd, fmt="o", markersize=4, capsize=2, linewidth=1, label=_short(group))
    ax.set_yticks(y, [f"{s} (÷20)" if pct else s for s, pct in zip(scales, percentage)], fontsize=8)
    ax.set_xlim(-0.2, 5.2)
    ax.set_xlabel("mean demand level ± sd over annotated instances")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", ncol=1 + len(groups) // 10)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def heatmap(table: pd.DataFrame, groups: Sequence[str], title: str) -> plt.Figure:
    """Scales (rows) × groups (columns), coloured by mean demand level 0–5; numbers in the cells."""
    demand = table[table["kind"] == "level"]
    scales = list(dict.fromkeys(demand["scale"]))
    matrix = demand.pivot(index="scale", columns="group", values="mean").reindex(index=scales, columns=list(groups))
    values = matrix.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.42 * len(groups) + 2.5), 0.34 * len(scales) + 2.4))
    image = ax.imshow(np.ma.masked_invalid(values), cmap="YlOrRd", vmin=0, vmax=5, aspect="auto")
    ax.set_yticks(range(len(scales)), scales, fontsize=8)
    ax.set_xticks(range(len(groups)), [_short(g, 24) for g in groups], rotation=60, ha="right", fontsize=7)
    if len(groups) <= 20:
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=8 if len(groups) <= 12 else 5.5,
                        color="white" if value > 3 else "black")
    fig.colorbar(image, ax=ax, shrink=0.6, label="mean level")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def curves_over_demand(curves: pd.DataFrame, rows: pd.DataFrame, subject: str, group: str,
                       min_n: int) -> plt.Figure:
    """Per demand scale: the group's level shares (bars) under the subject's fitted curve (line)."""
    rows = rows[rows["kind"] == "level"].set_index("scale")
    scales = [s for s in curves["scale"] if s in rows.index]
    cols = PANELS_PER_ROW
    n_rows = int(np.ceil(len(scales) / cols))
    fig, axes = plt.subplots(n_rows, cols, figsize=(2.8 * cols, 2.3 * n_rows), sharex=True, sharey=True,
                             squeeze=False)
    x = np.linspace(0, 5, 100)
    for ax, scale in zip(axes.flat, scales):
        shares = rows.loc[scale, [f"share_{lv}" for lv in LEVELS]].astype(float).fillna(0.0).to_numpy()
        ax.bar(LEVELS, shares, color=[LEVEL_COLOURS[lv] for lv in LEVELS], edgecolor="grey", linewidth=0.3)
        curve = curves.set_index("scale").loc[scale]
        usable = curve["n"] >= min_n and np.isfinite(curve["intercept"])
        if usable:
            ax.plot(x, 1 / (1 + np.exp(-(curve["intercept"] + curve["slope"] * x))), color="tab:blue")
        ax.set_title(f"{scale}  curve n={int(curve['n'])}" + ("" if usable else " (unused)"), fontsize=8)
        ax.set_ylim(0, 1.02)
    for ax in list(axes.flat)[len(scales):]:
        ax.set_visible(False)
    fig.supxlabel("demand level")
    fig.supylabel("P(success) · level share", fontsize=9)
    fig.suptitle(f"{subject}: characteristic curves (fitted outside {_short(group)}) over {_short(group)}'s "
                 "level distribution", fontsize=10)
    fig.tight_layout()
    return fig


def _short(name: str, width: int = 30) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def predicted_vs_actual(expectations: pd.DataFrame) -> plt.Figure:
    """Expected accuracy (with its prediction interval) against the accuracy observed on the same instances."""
    rows = expectations.dropna(subset=["predicted", "actual"])
    fig, ax = plt.subplots(figsize=(5, 5))
    for subject, part in rows.groupby("subject"):
        low = (part["predicted"] - part["pi_low"]).clip(lower=0).fillna(0)
        high = (part["pi_high"] - part["predicted"]).clip(lower=0).fillna(0)
        ax.errorbar(part["actual"], part["predicted"], yerr=[low, high], fmt="o", markersize=4, capsize=2,
                    linewidth=0.8, label=_short(str(subject)))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("actual accuracy")
    ax.set_ylabel("expected accuracy (95 % prediction interval)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
