"""Write a demand profile's outputs: ``demand_profile.csv``/``.json``, figures and a self-contained HTML report."""
from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from . import atomic
from .demand_plots import comparison, curves_over_demand, heatmap, predicted_vs_actual, profile_grid
from .demands import DemandProfile
from .report import _img, _page, _png

DEMAND_CSV = "demand_profile.csv"
DEMAND_JSON = "demand_profile.json"
EXPECTED_CSV = "expected_accuracy.csv"
PROFILES_PNG = "profiles.png"
COMPARISON_PNG = "comparison.png"
HEATMAP_PNG = "heatmap.png"
REPORT_HTML = "report.html"
#: At most this many groups in the side-by-side comparison, and this many curve figures in the report.
MAX_COMPARED = 8
MAX_CURVE_FIGURES = 12

DEFINITIONS = {
    "counts, shares": "instances per level 0–5 among those annotated on the scale (non-integer levels to the "
                      "nearest level, halves up; a percentage scale in its rubric's six bands, UG: 0–25, 25–50, "
                      "50–70, 70–85, 85–97, 97–100 %)",
    "n_annotated, n_missing": "instances with and without a level on the scale; missing levels are never imputed",
    "mean, sd": "of the raw levels (percentage scales: percentages); population standard deviation",
    "dominant_share": "share of annotated instances where the scale is the highest demand (ties count)",
    "demand_share": "the scale's part of the group's summed demand levels over all analysed level scales",
    "sensitivity": "normalised entropy of the level distribution, −Σ p ln p / ln 6: 0 = one level only, "
                   "1 = spread evenly over 0–5, so the group separates abilities at every level",
    "span": "levels holding at least 5 % of the annotated instances",
    "specificity": "share of the group's demand mass on its intended scales (given with --intended, else "
                   "derived: non-extraneous scales whose dominant share is at least half the group's largest)",
}


def compared_groups(profile: DemandProfile, wanted: list[str] | None = None) -> list[str]:
    """Groups of the side-by-side comparison: ``wanted``, or all when few, else the most annotated."""
    if wanted:
        return wanted
    ranked = sorted(profile.groups, key=lambda g: -g.n_annotated)
    return [g.group for g in ranked[:MAX_COMPARED]]


def write_outputs(profile: DemandProfile, output_dir: Path, *, compare: list[str] | None = None,
                  curves: Mapping[tuple[str, str], pd.DataFrame] | None = None) -> list[str]:
    """Write every output atomically; ``curves`` maps (subject, group) to the curves used for it."""
    output_dir = Path(output_dir)
    table = profile.table()
    groups = [g.group for g in profile.groups]
    shown = compared_groups(profile, compare)
    atomic.write_text(output_dir / DEMAND_CSV, table.to_csv(index=False))
    atomic.write_text(output_dir / DEMAND_JSON, profile.model_dump_json(indent=2) + "\n")
    what = f"{profile.battery} by {profile.grouping}"
    figures = {PROFILES_PNG: _png(profile_grid(table, groups, f"Demand profiles — {what}")),
               COMPARISON_PNG: _png(comparison(table, shown, f"Side by side — {what}")),
               HEATMAP_PNG: _png(heatmap(table, groups, f"Mean demand level — {what}"))}
    for name, png in figures.items():
        atomic.write_bytes(output_dir / name, png)
    files = [DEMAND_CSV, DEMAND_JSON, *figures]
    body = _summary(profile) + "<h2>Scales × groups</h2>" + _img(figures[HEATMAP_PNG])
    body += (f"<h2>Side by side</h2><p>{html.escape(', '.join(shown))}"
             + (f" (the {MAX_COMPARED} most annotated of {len(groups)}; choose with --compare)"
                if compare is None and len(groups) > MAX_COMPARED else "") + "</p>" + _img(figures[COMPARISON_PNG]))
    body += "<h2>Demand profile per group</h2>" + _img(figures[PROFILES_PNG])
    if profile.expectations:
        expected = pd.DataFrame([e.model_dump() for e in profile.expectations])
        atomic.write_text(output_dir / EXPECTED_CSV, expected.to_csv(index=False))
        files.append(EXPECTED_CSV)
        body += _ability_section(profile, expected, table, curves or {})
    body += "<h2>Per group and scale</h2>" + table.round(3).to_html(index=False, na_rep="–")
    body += "<h2>Definitions</h2><dl>" + "".join(
        f"<dt><b>{html.escape(k)}</b></dt><dd>{html.escape(v)}</dd>" for k, v in DEFINITIONS.items()) + "</dl>"
    atomic.write_text(output_dir / REPORT_HTML, _page(f"Demand profile — {what}", body))
    return files + [REPORT_HTML]


def _summary(profile: DemandProfile) -> str:
    rows = pd.DataFrame([{"group": g.group, "instances": g.n_instances, "annotated": g.n_annotated,
                          "intended": ", ".join(g.intended) + f" ({g.intended_source})",
                          "specificity": g.specificity} for g in profile.groups])
    scales = pd.DataFrame([{"scale": code, "name": profile.names.get(code, ""), "kind": profile.kinds[code],
                            "bands": ", ".join(f"{low:g}–{high:g}" for low, high in profile.bands.get(code, [])),
                            "rubric": profile.rubric_hashes.get(code, "")[:10]} for code in profile.scales])
    set_hash = f"; scale set <code>{profile.scale_set_hash[:12]}</code>" if profile.scale_set_hash else ""
    return (f"<p>Battery <code>{html.escape(profile.battery)}</code>, grouped by {html.escape(profile.grouping)} "
            f"(column <code>{html.escape(profile.group_column)}</code>){set_hash}; schema {profile.schema_version}.</p>"
            + "<h2>Scales</h2>" + scales.to_html(index=False) + "<h2>Groups</h2>"
            + rows.round(3).to_html(index=False, na_rep="–"))


def _ability_section(profile: DemandProfile, expected: pd.DataFrame, table: pd.DataFrame,
                     curves: Mapping[tuple[str, str], pd.DataFrame]) -> str:
    settings = profile.prediction
    text = (f"<h2>Ability against demand</h2><p>Expected accuracy = mean predicted success over the group's "
            f"annotated instances, from the subject's curves fitted on its outcomes outside the group; rule "
            f"<code>{html.escape(settings.rule)}</code>, guessing correction {'on' if settings.guess else 'off'}, "
            f"{'anchored to the subject' + chr(39) + 's training accuracy' if settings.anchored else 'not anchored'}, "
            f"curves with at least {settings.min_n} instances; ci: 95 % bootstrap over the training outcomes "
            f"({settings.bootstrap} replicates, seed {settings.seed}); pi: also the sampling of the group's "
            f"outcomes. <i>actual</i> is the subject's accuracy on the same instances, where it has outcomes.</p>")
    text += expected.round(3).to_html(index=False, na_rep="–")
    if expected["actual"].notna().any():
        text += _img(_png(predicted_vs_actual(expected)))
    for (subject, group), curve in list(curves.items())[:MAX_CURVE_FIGURES]:
        text += _img(_png(curves_over_demand(curve, table[table["group"] == group], subject, group,
                                             settings.min_n)))
    if len(curves) > MAX_CURVE_FIGURES:
        text += f"<p>Curve figures of the other {len(curves) - MAX_CURVE_FIGURES} subject × group pairs left out.</p>"
    return text
