"""The bundled default model: it loads, recognises the demo photos, and its published figures are real.

tests/data/default-model-test/ is a copy of the held-out test split (seed 0) of the
photographs it was trained on, so the model is scored afresh here (the CNN, the landmark head
and their fusion, through `gesture-train evaluate`), and the figures in bundle.json, the README
and models/default/README.md are checked against that score rather than against each other.
"""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from models import CLASS_NAMES, default_bundle_path, load_bundle

REPO = Path(__file__).resolve().parents[1]
HELD_OUT = Path(__file__).resolve().parent / "data" / "default-model-test"
# Where the training photographs live in the development workspace (not in CI).
SHARED_DATA = REPO.parent / "shared" / "data" / "hand-crops"
MAX_BUNDLE_BYTES = 25 * 1024 * 1024
# The CNN as trained (models/default/README.md); adding the landmark head must not have re-saved it.
CNN_SHA256 = "f3f48ca49468c522656faeb8b0b28c79d78bc2ecda9606c16ae9f167de36dbf2"


@pytest.fixture(scope="module")
def bundle():
    path = default_bundle_path()
    assert path is not None, "models/default/ holds no bundle.json"
    return load_bundle(path)


@pytest.fixture(scope="module")
def recorded(bundle) -> dict:
    """What bundle.json records: {"cnn", "landmarks", "fusion"} test metrics."""
    return {"cnn": bundle.description["provenance"]["metrics"]["test"],
            "landmarks": bundle.description["heads"]["landmarks"]["test_metrics"],
            "fusion": bundle.description["fusion"]["test_metrics"]}


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict:
    """The shipped model scored now on the held-out copy, through `gesture-train evaluate`."""
    from training import cli

    scores_file = tmp_path_factory.mktemp("evaluate") / "scores.json"
    # No --model: `gesture-train evaluate` uses the bundled default model.
    assert cli.main(["evaluate", "--data", str(HELD_OUT), "--split", "all", "--json", str(scores_file), "-q"]) == 0
    scores = json.loads(scores_file.read_text())
    assert scores["model"] == str(default_bundle_path())
    return scores


# How the documents name each figure: "<label> ... accuracy 96.4 %, macro F1 0.9645", then (optionally)
# its confusion table, a row per class.
LABELS = {"cnn": "CNN alone", "landmarks": "Landmark head alone", "fusion": "Fused"}


def _published(text: str, label: str) -> tuple[float, float, list[list[int]]]:
    """(accuracy, macro F1, confusion matrix) as a document states them after `label`."""
    start = text.find(f"**{label}")
    assert start >= 0, f"no '**{label}' in the text"
    text = text[start:]
    found = re.search(r"accuracy (\d+(?:\.\d+)?) ?%, macro F1 (\d+(?:\.\d+)?)", text)
    assert found, f"no 'accuracy N %, macro F1 N' after '{label}'"
    following = re.search(r"\n\*\*(?!" + re.escape(label) + ")", text)  # up to the next figure's label
    text = text[: following.start()] if following else text
    rows = []
    for name in CLASS_NAMES:
        row = re.search(rf"^\| {name} \|(.*)\|\s*$", text, flags=re.M)
        if row:
            rows.append([int(cell.strip().strip("*")) for cell in row.group(1).split("|")])
    return float(found.group(1)) / 100, float(found.group(2)), rows


def test_default_bundle_loads_and_is_documented(bundle, measured):
    assert bundle.classes == CLASS_NAMES
    assert bundle.input_style == "colour"
    assert bundle.description["backbone"] == "compact"
    assert bundle.heads == ("cnn", "landmarks")
    folder = bundle.path
    assert sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) <= MAX_BUNDLE_BYTES
    for name in ("ATTRIBUTION.md", "README.md", "confusion_matrix.png", "train.toml", "train-landmarks.toml"):
        assert (folder / name).is_file(), name
    assert "HaGRID" in (folder / "ATTRIBUTION.md").read_text()
    assert hashlib.sha256((folder / "model.keras").read_bytes()).hexdigest() == CNN_SHA256
    # The quality bar of the issue, measured now on the held-out test split.
    assert measured["count"] == len(list(HELD_OUT.rglob("*.jpg"))) > 300
    for figures in (measured, *measured["heads"].values()):
        assert figures["accuracy"] >= 0.90
        assert figures["macro_f1"] >= 0.90


def test_the_fusion_is_at_least_as_good_as_the_better_head(measured):
    assert measured["fusion"] == "mean"
    assert measured["accuracy"] >= max(head["accuracy"] for head in measured["heads"].values())
    assert measured["macro_f1"] >= max(head["macro_f1"] for head in measured["heads"].values()) - 0.0005


@pytest.mark.parametrize("locate", ["auto", "off"])
def test_default_model_recognises_the_demo_photos(bundle, locate):
    from gesture_app.core.classifier import BundleClassifier
    from gesture_app.core.pipeline import GesturePipeline
    from gesture_app.core.sources import open_source

    pipeline = GesturePipeline(BundleClassifier(bundle), smoothing=1, locate=locate)
    source = open_source("demo")
    wrong, shown = [], 0
    for index, frame_bgr in enumerate(source):
        if index % source.hold_frames:
            continue  # a photo is held for several identical frames
        expected = source.label_at(index)
        prediction = pipeline.process(frame_bgr, index)
        shown += 1
        if prediction.label != expected:
            wrong.append((index // source.hold_frames, expected, prediction.label, round(prediction.confidence, 3)))
    assert shown == len(source.labels) >= len(CLASS_NAMES)
    assert not wrong, f"demo photos misread (photo, expected, got, confidence): {wrong}"


def _measured(measured: dict, name: str) -> dict:
    return measured if name == "fusion" else measured["heads"][name]


@pytest.mark.parametrize("name", ["cnn", "landmarks", "fusion"])
def test_recorded_metrics_match_a_fresh_evaluate(recorded, measured, name):
    fresh = _measured(measured, name)
    assert fresh["confusion_matrix"] == recorded[name]["confusion_matrix"]
    assert fresh["accuracy"] == pytest.approx(recorded[name]["accuracy"])
    assert fresh["macro_f1"] == pytest.approx(recorded[name]["macro_f1"])


@pytest.mark.parametrize("name", ["cnn", "landmarks", "fusion"])
def test_published_figures_are_the_measured_ones(measured, name):
    readme = (REPO / "README.md").read_text()
    section = readme.split("<!-- section: default-model -->")[1].split("<!-- section:")[0]
    model_readme = (default_bundle_path() / "README.md").read_text()
    fresh = _measured(measured, name)
    for where, text in (("README.md", section), ("models/default/README.md", model_readme)):
        accuracy, macro_f1, matrix = _published(text, LABELS[name])
        assert accuracy == pytest.approx(fresh["accuracy"], abs=0.0005), where
        assert macro_f1 == pytest.approx(fresh["macro_f1"], abs=0.00005), where
        if matrix:
            assert matrix == fresh["confusion_matrix"], where
    if name == "fusion":
        assert _published(section, LABELS[name])[2], "the README's default-model section has no fused confusion table"


def test_committed_config_is_what_trained_the_bundle(bundle):
    from training import cli

    config = cli.config_defaults(bundle.path / "train.toml")
    settings = bundle.description["provenance"]["config"]["settings"]
    run = bundle.description["provenance"]["config"]["run"]
    assert config["runs"] == run["name"] == "compact"
    assert config["weights"] is None and settings["weights"] is None
    for key in ("input_size", "epochs", "steps_per_epoch", "batch_size", "seed"):
        assert config[key] == settings[key], key
    assert list(config["extra_augmentation"]) == list(settings["extra_augmentation"]) == list(run["extra_augmentation"])


def test_the_landmark_head_was_trained_on_the_cnns_split(bundle):
    from training import cli

    cnn = bundle.description["provenance"]
    landmarks = bundle.description["heads"]["landmarks"]["provenance"]
    assert landmarks["run"] == "landmarks"
    assert landmarks["config"]["settings"]["seed"] == cnn["config"]["settings"]["seed"]
    assert landmarks["dataset"]["counts"] == cnn["dataset"]["counts"]  # the same split: the test split held out
    config = cli.config_defaults(bundle.path / "train-landmarks.toml")
    assert config["runs"] == "landmarks"
    for key in ("seed", "data"):
        assert str(config[key]) == str(landmarks["config"]["settings"][key]), key
    assert bundle.description["heads"]["landmarks"]["features"] == landmarks["config"]["run"]["features"]


def test_held_out_copy_is_exactly_the_test_split(bundle):
    counts = bundle.description["provenance"]["dataset"]["counts"]
    copied = {name: sorted(p.name for p in (HELD_OUT / name).glob("*.jpg")) for name in CLASS_NAMES}
    assert {name: len(files) for name, files in copied.items()} == counts["test"]
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the training photographs are not at {SHARED_DATA}")
    from training.dataset import split_files

    seed = bundle.description["provenance"]["config"]["settings"]["seed"]
    for name in CLASS_NAMES:
        split = split_files(sorted((SHARED_DATA / name).glob("*.jpg")), name, seed)
        assert copied[name] == sorted(p.name for p in split["test"]), name
