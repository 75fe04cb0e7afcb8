"""`assess distill` → `assess annotate --annotator DIR/annotator.yaml`: offline levels with their own provenance."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import spearmanr

from assess.annotate.prompts import all_scales_messages, instance_text, read_prompt, rubric_set_hash, \
    split_instance_text
from assess.cli import main
from assess.errors import InputError
from assess.rubrics import load_rubrics
from assess.scales import ANNOTATED, SCALES, UG
from assess.scaleset import default_scale_set, load_scale_set
from predictors.distill import load_distilled

WORDS = ("trivial", "easy", "plain", "tricky", "hard", "brutal")
TOPICS = ("arithmetic", "poetry", "chemistry", "law")


def battery(n: int, seed: int, annotated: bool) -> pd.DataFrame:
    """Items whose text names their difficulty (levels follow it) and topic (KNs follows it)."""
    rng = np.random.default_rng(seed)
    difficulty, topic = rng.integers(0, 6, n), rng.integers(0, 4, n)
    frame = pd.DataFrame({
        "instance_id": [f"s{seed}/{i}" for i in range(n)], "benchmark": "toy", "task": [TOPICS[t] for t in topic],
        "prompt": [f"Question {i}: a {WORDS[d]} problem about {TOPICS[t]}." for i, (d, t) in enumerate(zip(difficulty, topic))],
        "target": "A", "answer_format": "multiple_choice_4"})
    if annotated:
        for code in SCALES:
            frame[code] = np.clip(difficulty + rng.integers(-1, 2, n), 0, 5).astype(float)
        frame["KNs"] = np.where(topic == 3, 4.0, 1.0)
        frame[UG] = 60.0 + 5 * difficulty
        frame["annotator"] = "some-llm"
        frame["annotation_protocol"] = "all-scales/v1"
        frame["rubric_hash"] = rubric_set_hash(load_rubrics(), ANNOTATED)
    return frame


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    root = tmp_path_factory.mktemp("distill")
    train = root / "train.csv"
    battery(150, 0, True).to_csv(train, index=False)
    assert main(["distill", "--battery", str(train), "--out", str(root / "model"), "--cache-dir", str(root / "emb")]) == 0
    return root


def test_distill_writes_a_pickle_free_fingerprinted_annotator(distilled):
    config = yaml.safe_load((distilled / "model" / "annotator.yaml").read_text())
    meta = json.loads((distilled / "model" / "distilled.json").read_text())
    assert config["backend"] == "distilled" and config["name"] == meta["name"] == f"distilled/{meta['fingerprint'][:12]}"
    assert meta["rubric_hash"] == rubric_set_hash(load_rubrics(), ANNOTATED) and meta["n_train"] == 150
    with np.load(distilled / "model" / "distilled.npz", allow_pickle=False) as arrays:
        assert arrays["coef"].shape == (19, 384 + 5)
    model = load_distilled(distilled / "model")
    assert model.scales == ANNOTATED and model.info["annotators"] == ["some-llm"]


def test_annotate_with_the_distilled_annotator_fills_every_scale_offline(distilled, tmp_path):
    unseen = battery(60, 1, False)
    unseen.to_csv(tmp_path / "new.csv", index=False)
    config = distilled / "model" / "annotator.yaml"
    args = ["annotate", str(tmp_path / "new.csv"), "--annotator", str(config), "--cache", str(tmp_path / "c.sqlite"),
            "--out", str(tmp_path / "out.csv")]
    assert main(args) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    name = yaml.safe_load(config.read_text())["name"]
    assert out[list(ANNOTATED)].notna().all().all() and len(out) == 60
    assert set(out["annotator"]) == {name} and name.startswith("distilled/")
    assert set(out["annotation_protocol"]) == {"all-scales/v1"}
    assert out[list(SCALES)].isin(range(6)).all().all() and out[UG].between(0, 100).all()
    truth = unseen["prompt"].str.extract(r"a (\w+) problem")[0].map({w: i for i, w in enumerate(WORDS)})
    assert spearmanr(out["QLq"], truth).statistic > 0.7
    assert (out.loc[unseen["task"] == "law", "KNs"].mean() - out.loc[unseen["task"] != "law", "KNs"].mean()) > 1.5
    per_scale = ["annotate", str(tmp_path / "new.csv"), "--annotator", str(config), "--mode", "per-scale",
                 "--scales", "QLq,UG", "--cache", str(tmp_path / "c2.sqlite"), "--out", str(tmp_path / "ps.csv")]
    assert main(per_scale) == 0
    again = pd.read_csv(tmp_path / "ps.csv")
    assert np.array_equal(again["QLq"], out["QLq"]) and np.array_equal(again[UG], out[UG])


def test_other_rubrics_and_distilled_training_labels_are_refused(distilled, tmp_path, capsys):
    rubrics = tmp_path / "rubrics"
    shutil.copytree(load_rubrics()["QLq"].source.rsplit("/", 1)[0], rubrics,
                    ignore=shutil.ignore_patterns("calibration"))
    qlq = next(rubrics.glob("*QLq*"))
    edited = yaml.safe_load(qlq.read_text())
    edited["measures"] = "An edited description. " + edited["measures"]
    edited["replaces"] = True  # an active scale set takes a bundled code only when the rubric says so
    qlq.write_text(yaml.safe_dump(edited, sort_keys=False))
    battery(20, 2, False).to_csv(tmp_path / "new.csv", index=False)
    args = ["annotate", str(tmp_path / "new.csv"), "--annotator", str(distilled / "model" / "annotator.yaml"),
            "--rubrics", str(rubrics), "--cache", str(tmp_path / "c.sqlite")]
    assert main(args) == 2
    assert "QLq rubric differs" in capsys.readouterr().err
    relabelled = battery(20, 3, True).assign(annotator="distilled/abc")
    relabelled.to_csv(tmp_path / "d.csv", index=False)
    assert main(["distill", "--battery", str(tmp_path / "d.csv"), "--out", str(tmp_path / "m")]) == 2
    assert "refusing to learn from levels a distilled annotator made" in capsys.readouterr().err


def test_fingerprint_follows_the_training_levels(tmp_path):
    first, second = battery(30, 4, True), battery(30, 4, True)
    second.loc[0, "QLq"] = 5 - second.loc[0, "QLq"]
    for name, frame in (("a", first), ("b", second)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        assert main(["distill", "--battery", str(tmp_path / f"{name}.csv"), "--out", str(tmp_path / name),
                     "--cache-dir", str(tmp_path / "emb")]) == 0
    assert load_distilled(tmp_path / "a").name != load_distilled(tmp_path / "b").name


def test_prompts_read_back_what_they_carry():
    rubrics = load_rubrics()
    text = instance_text("What is 2+2?\n\nReference answer:\nnot this", "4", "numeric")
    assert split_instance_text(text) == ("What is 2+2?\n\nReference answer:\nnot this", "4", "numeric")
    content = read_prompt(all_scales_messages([rubrics[c] for c in ("QLq", UG)], text))
    assert content.mode == "all-scales" and content.scales == ("QLq", UG) and content.instance == text
    assert content.rubric_texts["QLq"] == rubrics["QLq"].prompt_text().strip()


def test_hashing_features_distill_and_annotate_without_an_encoder(tmp_path):
    battery(150, 5, True).to_csv(tmp_path / "train.csv", index=False)
    assert main(["distill", "--battery", str(tmp_path / "train.csv"), "--out", str(tmp_path / "m"),
                 "--features", "hashing"]) == 0
    model = load_distilled(tmp_path / "m")
    assert model.feature_set == "hashing" and model.coef.shape == (19, 4096 + 5)
    unseen = battery(40, 6, False)
    unseen.to_csv(tmp_path / "new.csv", index=False)
    assert main(["annotate", str(tmp_path / "new.csv"), "--annotator", str(tmp_path / "m" / "annotator.yaml"),
                 "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "out.parquet")]) == 0
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out[list(ANNOTATED)].notna().all().all() and set(out["annotator"]) == {model.name}
    truth = unseen["prompt"].str.extract(r"a (\w+) problem")[0].map({w: i for i, w in enumerate(WORDS)})
    assert spearmanr(out["QLq"], truth).statistic > 0.5


def test_a_user_scale_is_distilled_and_filled_offline(tmp_path, capsys):
    """The PLn example: trained on the active set (bundled + PLn), the annotator fills PLn on new items."""
    example = Path(__file__).resolve().parents[1] / "examples" / "scales"
    scale_set = load_scale_set([example / "rubrics"])
    assert main(["distill", "--battery", str(example / "battery.csv"), "--rubrics", str(example / "rubrics"),
                 "--features", "hashing", "--out", str(tmp_path / "m")]) == 0
    assert "on 20 scale(s)" in capsys.readouterr().err
    model = load_distilled(tmp_path / "m")
    assert model.scales == scale_set.codes and model.kinds["PLn"] == "level" and model.kinds[UG] == "percentage"
    assert model.rubric_hash == rubric_set_hash(scale_set.rubrics) and "PLn" in model.rubric_text_hashes
    unseen = battery(12, 7, False)
    unseen.to_csv(tmp_path / "new.csv", index=False)
    config = tmp_path / "m" / "annotator.yaml"
    assert yaml.safe_load(config.read_text())["rubrics"] == [str((example / "rubrics").resolve())]
    assert main(["annotate", str(tmp_path / "new.csv"), "--annotator", str(config), "--cache",
                 str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["PLn"].isin(range(6)).all() and out[list(ANNOTATED)].notna().all().all()
    assert set(out["annotator"]) == {model.name} and set(out["scale_set_hash"]) == {scale_set.hash}
    only = ["distill", "--battery", str(example / "battery.csv"), "--rubrics", str(example / "rubrics"),
            "--features", "hashing", "--scales", "PLn,UG", "--out", str(tmp_path / "p")]
    assert main(only) == 0 and load_distilled(tmp_path / "p").scales == ("PLn", UG)
    assert main([*only[:-4], "--scales", " , ", "--out", str(tmp_path / "q")]) == 2
    assert "no scale code given" in capsys.readouterr().err


def test_rows_annotated_under_other_rubrics_are_refused(tmp_path, capsys):
    frame = battery(20, 8, True)
    frame.loc[5, "rubric_hash"] = "f" * 64
    frame.to_csv(tmp_path / "b.csv", index=False)
    assert main(["distill", "--battery", str(tmp_path / "b.csv"), "--features", "hashing",
                 "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "1 annotated row(s) were not made under the rubrics given" in err and "s8/5" in err
    frame.loc[5, "scale_set_hash"] = default_scale_set().hash  # made under the whole bundled set: accepted
    frame.to_csv(tmp_path / "b.csv", index=False)
    assert main(["distill", "--battery", str(tmp_path / "b.csv"), "--features", "hashing",
                 "--out", str(tmp_path / "m")]) == 0


def test_a_version_1_model_reads_with_the_bundled_kinds(distilled, tmp_path):
    shutil.copytree(distilled / "model", tmp_path / "v1")
    meta = json.loads((tmp_path / "v1" / "distilled.json").read_text())
    meta["format_version"] = 1
    del meta["kinds"]
    (tmp_path / "v1" / "distilled.json").write_text(json.dumps(meta))
    model = load_distilled(tmp_path / "v1")
    assert model.kinds[UG] == "percentage" and model.kinds["QLq"] == "level" and len(model.kinds) == 19
    meta["format_version"] = 2
    (tmp_path / "v1" / "distilled.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="malformed distilled annotator"):
        load_distilled(tmp_path / "v1")
