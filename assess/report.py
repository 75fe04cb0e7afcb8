"""Write a profile's outputs: abilities (JSON, CSV), per-level success, plots and an HTML report."""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from . import __version__, atomic
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


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def abilities_document(result: ProfileResult) -> AbilitiesFile:
    """The ``abilities.json`` document of a profile."""
    config, scales = result.config, result.scales

    def number(value: float) -> float | None:
        return float(value) if pd.notna(value) else None

    settings = ProfileSettings(bootstrap=config.bootstrap, seed=config.seed, dominant_only=config.dominant_only,
                               min_ug=config.min_ug, level_diff=config.level_diff, round_levels=config.round_levels,
                               filters=config.filters.model_dump(), rubrics=config.rubrics,
                               scale_set_hash=scales.hash)
    excluded = Excluded(low_ug=int(result.abilities["excluded_low_ug"].max()),
                        missing_ug=int(result.abilities["excluded_missing_ug"].max()))
    return AbilitiesFile(
        subject=config.subject, assess_version=__version__, n_instances=result.n_instances,
        n_annotated=result.n_annotated, accuracy=result.accuracy, settings=settings, excluded=excluded,
        scales={row["scale"]: ScaleAbility(name=scales[row["scale"]].name, family=scales[row["scale"]].family,
                                           kind=scales[row["scale"]].kind, ability=number(row["ability"]),
                                           ci95=(number(row["ci_low"]), number(row["ci_high"])), n=int(row["n"]),
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
    radar_png = _png(radar({config.subject: result.abilities}, f"Ability profile — {config.subject}"))
    curves_png = _png(curves_grid(result.abilities, result.empirical, config.subject))
    atomic.write_bytes(output_dir / RADAR_PNG, radar_png)
    atomic.write_bytes(output_dir / CURVES_PNG, curves_png)
    atomic.write_text(output_dir / REPORT_HTML, _html(result, radar_png, curves_png))
    files = [ABILITIES_JSON, ABILITIES_CSV, EMPIRICAL_CSV, RADAR_PNG, CURVES_PNG, REPORT_HTML]
    atomic.write_json(output_dir / MANIFEST, {"fingerprint": fingerprint, "files": files})
    return files


def write_comparison(results: Mapping[str, pd.DataFrame], output_dir: Path) -> None:
    """Side-by-side profiles of several subjects: one radar, one wide CSV, one HTML page."""
    wide = pd.DataFrame({name: table.set_index("scale")["ability"] for name, table in results.items()})
    wide.index.name = "scale"
    atomic.write_text(output_dir / "comparison.csv", wide.reset_index().to_csv(index=False))
    png = _png(radar(results, "Ability profiles"))
    atomic.write_bytes(output_dir / "comparison.png", png)
    body = _img(png) + wide.round(2).to_html(classes="abilities", na_rep="–")
    atomic.write_text(output_dir / "comparison.html", _page("Ability profiles compared", body))


def _img(png: bytes) -> str:
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _page(title: str, body: str) -> str:
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}"
             "img{max-width:100%}")
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
    table = result.abilities.assign(name=result.abilities["scale"].map(result.scales.names))
    table = table[["scale", "name", "ability", "ci_low", "ci_high", "n", "intercept", "slope"]].round(3)
    settings = (f"<p>Battery: <code>{html.escape(config.battery)}</code> · outcomes: "
                f"<code>{html.escape(config.outcomes)}</code> · {result.n_instances} instances ({result.n_annotated} "
                f"annotated) · accuracy "
                f"{result.accuracy:.3f} · bootstrap {config.bootstrap} (seed {config.seed}) · dominance filter "
                f"{'on' if config.dominant_only else 'off'} · scale set <code>{result.scales.hash[:12]}</code>"
                f"{_added_scales(result)}</p>")
    excluded = result.abilities[["excluded_low_ug", "excluded_missing_ug"]].max()
    method = ("<p>The published ADeLe method: instances with unguessability below "
              f"{config.min_ug:g} are left out ({int(excluded['excluded_low_ug'])} here, and "
              f"{int(excluded['excluded_missing_ug'])} without an unguessability label); per scale, a logistic "
              "curve of success against demand level is fitted on the instances where that scale is the highest "
              "demand, with the toolkit's level-balancing weights over levels 1–5 and a failure anchor at level 20; "
              "the ability is the area under that curve from level 0 to 100, in level units. "
              "Intervals: 95 % bootstrap over instances. Points: per-level success rates.</p>")
    body = (settings + _img(radar_png) + "<h2>Abilities</h2>" + table.to_html(index=False, na_rep="–")
            + "<h2>Characteristic curves</h2>" + _img(curves_png) + "<h2>Method</h2>" + method)
    return _page(f"Ability profile — {config.subject}", body)
