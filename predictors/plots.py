"""Figures of assessor predictions: calibration (reliability) diagrams and accuracy–rejection curves."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import pandas as pd  # noqa: E402

from assess.atomic import write_with  # noqa: E402

from .metrics import N_BINS, accuracy_rejection_curve, calibration_table  # noqa: E402


def calibration_figure(predictions: pd.DataFrame, by: str = "protocol", title: str = "Calibration") -> plt.Figure:
    """Observed success rate against mean predicted probability per bin, one line per value of ``by``."""
    fig, (curve, mass) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    curve.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    for name, group in predictions.groupby(by, sort=False):
        table = calibration_table(group["y"].to_numpy(), group["p"].to_numpy(), N_BINS)
        curve.plot(table["mean_predicted"], table["observed"], marker="o", label=str(name))
        mass.plot((table["bin_low"] + table["bin_high"]) / 2, table["count"] / len(group), marker=".")
    curve.set(ylabel="observed success rate", title=title, xlim=(0, 1), ylim=(0, 1))
    curve.legend(fontsize="small")
    mass.set(xlabel="predicted success probability", ylabel="share")
    fig.tight_layout()
    return fig


def rejection_figure(predictions: pd.DataFrame, by: str = "protocol", title: str = "Accuracy–rejection") -> plt.Figure:
    """Accuracy on the kept instances as the least confident ones are rejected, one line per ``by``."""
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, group in predictions.groupby(by, sort=False):
        kept, acc = accuracy_rejection_curve(group["y"].to_numpy(), group["p"].to_numpy())
        ax.plot(1 - kept, acc, label=str(name))
    ax.set(xlabel="rejection rate", ylabel="accuracy on kept", title=title, xlim=(0, 1))
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def save_figure(fig: plt.Figure, target: str | Path) -> Path:
    """Write ``fig`` atomically (format from the suffix) and close it."""
    try:
        return write_with(target, lambda tmp: fig.savefig(tmp, format=Path(target).suffix.lstrip(".") or "png",
                                                          dpi=110, bbox_inches="tight"))
    finally:
        plt.close(fig)
