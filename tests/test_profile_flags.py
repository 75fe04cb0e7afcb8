"""`assess profile --subject …` without a YAML, --json/--quiet, did-you-mean, and the min_n / extrapolation flags
in abilities.json, the report and the plots."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from assess.cli import main
from assess.plots import curves_grid, radar
from assess.profile import flag_evidence
from assess.scales import SCALES
from assess.suggest import close_names


@pytest.fixture
def files(tmp_path, battery, outcomes):
    battery = battery.assign(CEe=np.nan)  # CEe is never annotated: its curve has n = 0
    battery.to_csv(tmp_path / "battery.csv", index=False)
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    return ["--battery", str(tmp_path / "battery.csv"), "--outcomes", str(tmp_path / "outcomes.csv")]


def test_subject_flags_profile_like_a_yaml_and_json_is_all_of_stdout(tmp_path, files, capsys):
    out = tmp_path / "out"
    assert main(["profile", "--subject", "strong", *files, "--out", str(out), "--bootstrap", "20", "--json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document == json.loads((out / "abilities.json").read_text())
    assert document["subject"] == "strong" and document["settings"]["bootstrap"] == 20
    assert document["settings"]["method"] == "scc" and document["settings"]["min_n"] == 30
    assert "strong: 600 instances" in captured.err
    for name in ("radar.png", "curves.png", "report.html"):
        assert (out / name).stat().st_size > 0


def test_quiet_prints_nothing_and_default_output_folder(tmp_path, files, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "--subject", "weak", *files, "--bootstrap", "0", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert json.loads((tmp_path / "out" / "weak" / "abilities.json").read_text())["subject"] == "weak"


@pytest.mark.parametrize("extra, message", [
    (["--bootstrap", "-1"], "option --bootstrap: Input should be greater than or equal to 0"),
    (["--method", "magic"], "option --method: Input should be 'scc'"),
    (["--min-n", "0"], "option --min-n: Input should be greater than or equal to 1"),
])
def test_flag_values_are_validated_as_the_yaml_is(tmp_path, files, capsys, extra, message):
    assert main(["profile", "--subject", "strong", *files, "--out", str(tmp_path / "o"), *extra]) == 2
    assert message in capsys.readouterr().err.replace("\n", "")


def test_unknown_subject_gets_did_you_mean(tmp_path, files, capsys):
    assert main(["profile", "--subject", "Strong_", *files, "--out", str(tmp_path / "o")]) == 2
    assert "did you mean 'strong'?" in capsys.readouterr().err.replace("\n", "")


def test_close_names_ignore_case_and_punctuation():
    known = ["Meta-Llama-3_1-8B-Instruct", "Meta-Llama-3_1-70B-Instruct", "gemma-7b", "Yi-6B"]
    assert close_names("Llama-3.1-8B-Instruct", known)[0] == "Meta-Llama-3_1-8B-Instruct"
    assert close_names("GEMMA 7B", known) == ["gemma-7b"]
    assert close_names("completely-different", known) == []


def test_min_n_flags_insufficient_evidence_and_the_report_says_so(tmp_path, files, capsys):
    out = tmp_path / "out"
    assert main(["profile", "--subject", "strong", *files, "--out", str(out), "--bootstrap", "0",
                 "--min-n", "100"]) == 0
    table = capsys.readouterr().out
    document = json.loads((out / "abilities.json").read_text())
    scales = document["scales"]
    assert document["settings"]["min_n"] == 100
    for code, entry in scales.items():
        assert entry["insufficient_evidence"] == (entry["n"] < 100), code
    weak = [c for c, e in scales.items() if 0 < e["n"] < 100]
    assert weak, "the fixture should leave some scales under 100 instances"
    assert scales[weak[0]]["ability"] is not None  # kept, with its flag
    assert scales["CEe"]["n"] == 0 and scales["CEe"]["intercept"] is None and scales["CEe"]["slope"] is None
    assert pd.read_csv(out / "abilities.csv").set_index("scale").loc["CEe", ["intercept", "slope"]].isna().all()
    assert "†" in table and "fewer than 100 instances" in " ".join(table.split())
    html = (out / "report.html").read_text()
    assert "How to read an ability" in html and "insufficient evidence (n &lt; 100)" in html
    ce_row = html[html.index("'>CEe</td>"):].split("</tr>")[0]
    assert "no instances" in ce_row and ce_row.count("<td class='weak'>–</td>") >= 3


def _table(abilities, n, low=None, high=None):
    abilities = np.asarray(abilities, dtype=float)
    table = pd.DataFrame({"scale": list(SCALES), "ability": abilities, "n": n,
                          "ci_low": abilities - 0.5 if low is None else low,
                          "ci_high": abilities + 0.5 if high is None else high,
                          "intercept": 3.0, "slope": -1.0})
    return flag_evidence(table, 30)


def test_extrapolation_flag_and_radar_range_from_the_evidence():
    abilities = np.full(len(SCALES), 2.0)
    n = np.full(len(SCALES), 100)
    abilities[SCALES.index("MS")], n[SCALES.index("MS")] = 9.02, 3  # the sample's Llama MS: n=3
    abilities[SCALES.index("VO")] = 5.4
    table = _table(abilities, n)
    assert table.set_index("scale").loc["VO", "extrapolation"] and not table.set_index("scale").loc["QLq", "extrapolation"]
    assert table.set_index("scale").loc["MS", "insufficient"]
    fig = radar({"s": table}, min_n=30)
    assert fig.axes[0].get_ylim()[1] == 6.0  # VO's interval end 5.9, not MS's 9.02
    grey = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_color() != "black"]
    assert grey == ["MS"]
    only_thin = _table(np.full(len(SCALES), 9.0), np.full(len(SCALES), 3))
    assert radar({"s": only_thin}).axes[0].get_ylim()[1] == 5.0


def test_curves_have_no_panel_for_n_zero_and_list_them():
    n = np.full(len(SCALES), 50)
    n[[SCALES.index("CEe"), SCALES.index("CL")]] = 0
    table = _table(np.where(n > 0, 2.0, np.nan), n)
    empirical = pd.DataFrame({"scale": [s for s in SCALES if s not in ("CEe", "CL")], "level": 2.0, "n": 50,
                              "successes": 25, "rate": 0.5})
    fig = curves_grid(table, empirical, "s")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 16
    assert not any(ax.get_title().startswith(("CEe", "CL")) for ax in panels)
    legend = fig.legends[0]
    assert "no panel for CEe, CL" in legend.get_title().get_text()
    assert all("instance" in t.get_text() for t in legend.get_texts())


def test_comparison_page_shows_intervals_and_n(tmp_path, files):
    import yaml

    battery, outcomes = files[1], files[3]
    paths = []
    for subject in ("strong", "weak"):
        path = tmp_path / f"{subject}.yaml"
        path.write_text(yaml.safe_dump({"subject": subject, "battery": battery, "outcomes": outcomes,
                                        "output_dir": f"out_{subject}", "bootstrap": 20, "min_n": 60}))
        paths.append(str(path))
    assert main(["profile", *paths, "--compare-out", str(tmp_path / "cmp"), "--quiet"]) == 0
    page = (tmp_path / "cmp" / "comparison.html").read_text()
    strong = pd.read_csv(tmp_path / "out_strong" / "abilities.csv").set_index("scale").loc["QLq"]
    assert f"{strong['ability']:.2f} [{strong['ci_low']:.2f}, {strong['ci_high']:.2f}] (n={int(strong['n'])})" in page
    assert "fewer than 60 instances" in page and "– (n=0)" in page
