"""Write a profile's outputs: abilities (JSON, CSV), per-level success, plots and an HTML report."""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import __version__, atomic, outputs
from .plots import curves_grid, radar
from .profile_result import ProfileResult
from .schemas import AbilitiesFile, Excluded, ProfileSettings, ScaleAbility, read_file, write_file

ABILITIES_JSON = "abilities.json"
ABILITIES_CSV = "abilities.csv"
EMPIRICAL_CSV = "level_success.csv"
RADAR_PNG = "radar.png"
CURVES_PNG = "curves.png"
REPORT_HTML = "report.html"
MANIFEST = "manifest.json"
COMPARISON_CSV = "comparison.csv"
COMPARISON_PNG = "comparison.png"
COMPARISON_HTML = "comparison.html"
#: The comparison's own manifest (a comparison may share its folder with a profile's outputs).
COMPARISON_MANIFEST = "comparison_manifest.json"
COMPARISON_FILES = (COMPARISON_CSV, COMPARISON_PNG, COMPARISON_HTML)


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


#: How to read an ability, in two sentences: printed in the report (and the README says the same).
HOW_TO_READ = ("An ability is a demand level on the scale's 0-5 range: the subject is expected to succeed on most "
               "instances whose demand on that scale is below it and to fail on most above it (it is the area under "
               "the fitted success curve). Read it together with its interval and n: a grey entry rests on too few "
               "instances to count, and an ability above 5 lies beyond the annotated levels, an extrapolation.")


def abilities_document(result: ProfileResult) -> AbilitiesFile:
    """The ``abilities.json`` document of a profile."""
    config, scales = result.config, result.scales

    def number(value: float) -> float | None:
        return float(value) if pd.notna(value) else None

    settings = ProfileSettings(method=config.method, bootstrap=config.bootstrap, seed=config.seed,
                               dominant_only=config.dominant_only, min_ug=config.min_ug, level_diff=config.level_diff,
                               round_levels=config.round_levels, min_n=config.min_n,
                               filters=config.filters.model_dump(), rubrics=config.rubrics,
                               scale_set_hash=scales.hash,
                               irt=config.irt.model_dump() if config.method == "irt" else None)
    excluded = Excluded(low_ug=int(result.abilities["excluded_low_ug"].max()),
                        missing_ug=int(result.abilities["excluded_missing_ug"].max()))
    return AbilitiesFile(
        subject=config.subject, assess_version=__version__, n_instances=result.n_instances,
        n_annotated=result.n_annotated, accuracy=result.accuracy, settings=settings, excluded=excluded,
        scales={row["scale"]: ScaleAbility(name=scales[row["scale"]].name, family=scales[row["scale"]].family,
                                           kind=scales[row["scale"]].kind, ability=number(row["ability"]),
                                           ci95=(number(row["ci_low"]), number(row["ci_high"])), n=int(row["n"]),
                                           insufficient_evidence=bool(row["insufficient"]),
                                           extrapolation=bool(row["extrapolation"]),
                                           intercept=number(row["intercept"]), slope=number(row["slope"]))
                for _, row in result.abilities.iterrows()})


def read_abilities(path: str | Path) -> AbilitiesFile:
    """Read an ``abilities.json`` written by :func:`write_report` (checked against its schema)."""
    return read_file(path, AbilitiesFile)


def write_report(result: ProfileResult, output_dir: Path, fingerprint: str) -> list[str]:
    """Write every output file atomically, the manifest last; return the file names written."""
    config = result.config
    write_file(output_dir / ABILITIES_JSON, abilities_document(result))
    atomic.write_text(output_dir / ABILITIES_CSV, result.abilities.to_csv(index=False))
    atomic.write_text(output_dir / EMPIRICAL_CSV, result.empirical.to_csv(index=False))
    radar_png = _png(radar({config.subject: result.abilities}, f"Ability profile — {config.subject}", config.min_n))
    curves_png = _png(curves_grid(result.abilities, result.empirical, config.subject))
    atomic.write_bytes(output_dir / RADAR_PNG, radar_png)
    atomic.write_bytes(output_dir / CURVES_PNG, curves_png)
    atomic.write_text(output_dir / REPORT_HTML, _html(result, radar_png, curves_png))
    files = [ABILITIES_JSON, ABILITIES_CSV, EMPIRICAL_CSV, RADAR_PNG, CURVES_PNG, REPORT_HTML]
    atomic.write_json(output_dir / MANIFEST, {"fingerprint": fingerprint, "files": files})
    return files


def write_comparison(results: Mapping[str, pd.DataFrame], output_dir: Path, min_n: int | None = None,
                     names: Mapping[str, str] | None = None) -> list[str]:
    """Side-by-side profiles of several subjects: one radar, one wide CSV of abilities, one HTML page with
    intervals and n (insufficient evidence greyed); ``names`` are the scales' names (the active set's).

    Written as one generation (:mod:`assess.outputs`) with :data:`COMPARISON_MANIFEST` last, so a killed
    run leaves the previous comparison whole or files without a manifest; returns the file names."""
    output_dir = outputs.prepare(Path(output_dir), COMPARISON_MANIFEST, COMPARISON_FILES)
    wide = pd.DataFrame({name: table.set_index("scale")["ability"] for name, table in results.items()})
    wide.index.name = "scale"
    png = _png(radar(results, "Ability profiles", min_n))
    indexed = {name: table.set_index("scale") for name, table in results.items()}
    rows = [[_cell(code), _cell((names or {}).get(code, code), "name")]
            + [_ability_cell(frame.loc[code]) for frame in indexed.values()] for code in wide.index]
    body = (_img(png) + f"<p>{html.escape(HOW_TO_READ)}</p>"
            + _table(["scale", "name", *results], rows)
            + f"<p>ability [95 % interval] (n instances); † grey: fewer than {min_n or 'the minimum of'} instances, "
              "insufficient evidence; ↑ above level 5, an extrapolation</p>")
    with outputs.generation(output_dir, COMPARISON_MANIFEST) as staging:
        atomic.write_text(staging / COMPARISON_CSV, wide.reset_index().to_csv(index=False))
        atomic.write_bytes(staging / COMPARISON_PNG, png)
        atomic.write_text(staging / COMPARISON_HTML, _page("Ability profiles compared", body))
        atomic.write_json(staging / COMPARISON_MANIFEST, {"subjects": list(results), "files": list(COMPARISON_FILES)})
    return list(COMPARISON_FILES)


def _number(value: float, digits: int = 2) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _cell(text: str, css: str = "") -> str:
    return f"<td class='{css}'>{html.escape(text)}</td>" if css else f"<td>{html.escape(text)}</td>"


def _ability_cell(row: pd.Series) -> str:
    """``ability [low, high] (n)`` for a comparison table; grey with a note when the evidence is insufficient."""
    if row["n"] == 0:
        return "<td class='weak'>– (n=0)</td>"
    text = f"{_number(row['ability'])} [{_number(row['ci_low'])}, {_number(row['ci_high'])}] (n={int(row['n'])})"
    if row["insufficient"]:
        return f"<td class='weak' title='insufficient evidence'>{html.escape(text)} †</td>"
    return f"<td>{html.escape(text)}{' ↑' if row['extrapolation'] else ''}</td>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return f"<table><tr>{head}</tr>" + "".join(f"<tr>{''.join(r)}</tr>" for r in rows) + "</table>"


def _img(png: bytes) -> str:
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _page(title: str, body: str) -> str:
    style = ("body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}"
             "img{max-width:100%}.weak{color:#999}.name{text-align:left;color:#555}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{body}"
            f"<p><small>assess {__version__}</small></p></body></html>\n")


def _added_scales(result: ProfileResult) -> str:
    """Where the rubrics beyond the bundled ones came from, for the report's settings line."""
    if not result.config.rubrics:
        return ""
    return " · rubric folders: " + ", ".join(f"<code>{html.escape(f)}</code>" for f in result.config.rubrics)


def _html(result: ProfileResult, radar_png: bytes, curves_png: bytes) -> str:
    config = result.config
    rows = []
    for _, row in result.abilities.iterrows():
        fitted = row["n"] > 0
        note = ("no instances" if not fitted else f"insufficient evidence (n < {config.min_n})" if row["insufficient"]
                else "extrapolation (above level 5)" if row["extrapolation"] else "")
        css = "weak" if row["insufficient"] else ""
        values = [_number(row["ability"]), f"[{_number(row['ci_low'])}, {_number(row['ci_high'])}]", str(int(row["n"])),
                  _number(row["intercept"], 3), _number(row["slope"], 3), note]
        rows.append([_cell(row["scale"], css), _cell(result.scales.names.get(row["scale"], row["scale"]), "name")]
                    + [_cell(v, css) for v in values])
    table = _table(["scale", "name", "ability", "95 % interval", "n", "intercept", "slope", "note"], rows)
    settings = (f"<p>Battery: <code>{html.escape(config.battery)}</code> · outcomes: "
                f"<code>{html.escape(config.outcomes)}</code> · {result.n_instances} instances ({result.n_annotated} "
                f"annotated) · accuracy "
                f"{result.accuracy:.3f} · bootstrap {config.bootstrap} (seed {config.seed}) · dominance filter "
                f"{'on' if config.dominant_only else 'off'} · min_n {config.min_n} · scale set "
                f"<code>{result.scales.hash[:12]}</code>{_added_scales(result)}</p>")
    excluded = result.abilities[["excluded_low_ug", "excluded_missing_ug"]].max()
    method = ("<p>The published ADeLe method: instances with unguessability below "
              f"{config.min_ug:g} are left out ({int(excluded['excluded_low_ug'])} here, and "
              f"{int(excluded['excluded_missing_ug'])} without an unguessability label); per scale, a logistic "
              "curve of success against demand level is fitted on the instances where that scale is the highest "
              "demand, with the toolkit's level-balancing weights over levels 1–5 and a failure anchor at level 20; "
              "the ability is the area under that curve from level 0 to 100, in level units. "
              "Intervals: 95 % bootstrap over instances. Points: per-level success rates. "
              f"Scales with fewer than {config.min_n} instances (n) are greyed here and in the curves, and left "
              "out of the radar.</p>")
    if config.method == "irt":
        method = (f"<p>Joint demand-IRT ({html.escape(config.irt.form)} form), fitted on every subject of the "
                  "outcomes at once, on every item annotated on all scales (no unguessability filter: UG sets "
                  "each item's guessing floor): the ability on a scale is the level at which that scale's factor "
                  "sigmoid(a (ability - level)) is one half. Intervals: 95 % Laplace. Points: success rates on "
                  "the items demanding the scale, per level; the curve is the scale's own factor (without the "
                  "guessing floor and the other demands). n counts the outcomes on items demanding the scale; "
                  f"scales with fewer than {config.min_n} are greyed and left out of the radar.</p>")
    body = (settings + f"<h2>How to read an ability</h2><p>{html.escape(HOW_TO_READ)}</p>" + _img(radar_png)
            + "<h2>Abilities</h2>" + table
            + "<h2>Characteristic curves</h2>" + _img(curves_png) + "<h2>Method</h2>" + method)
    return _page(f"Ability profile — {config.subject}", body)
