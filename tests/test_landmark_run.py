"""`gesture-train --runs landmarks` end to end on the test photographs (tiny: 2 epochs of 3 steps): the
landmark-only bundle it writes, the no-hand report, the landmark cache and the manifest column,
evaluate and combine with a CNN, and bundles written before landmark heads existed."""

import csv
import json
import shutil

import numpy as np
import pytest

from models import CLASS_NAMES, default_bundle_path, load_bundle
from models.bundle import BundleError
from models.dataset_rules import MANIFEST_FIELDS, MANIFEST_LANDMARKS_FIELD, MANIFEST_NAME, format_landmarks
from training import cli

TINY = ["--runs", "landmarks", "--epochs", "2", "--steps-per-epoch", "3", "-q"]


@pytest.fixture(scope="module")
def landmark_run(tmp_path_factory, hand_crops):
    out = tmp_path_factory.mktemp("landmark-runs")
    assert cli.main(["--data", str(hand_crops), "--out", str(out), *TINY]) == 0
    return out


def test_the_run_writes_a_landmark_only_bundle_and_its_reports(landmark_run):
    run_dir = landmark_run / "landmarks"
    for name in ("history.csv", "curves.png", "confusion_matrix.png", "metrics.json", "config.json", "no_hand.txt"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "bundle" / "model.keras").exists()
    description = json.loads((run_dir / "bundle" / "bundle.json").read_text())
    assert list(description["heads"]) == ["landmarks"] and description["format_version"] == 2
    metrics = json.loads((run_dir / "metrics.json").read_text())
    head = description["heads"]["landmarks"]
    assert head["features"] == metrics["config"]["features"]
    assert head["test_metrics"]["accuracy"] == metrics["test"]["accuracy"]
    # 6 photographs a class: 4 train, 1 val, 1 test; every one of them counted as found or not.
    assert metrics["no_hand"]["of"] == 30
    assert metrics["no_hand"]["count"] == sum(len(files) for files in metrics["no_hand"]["files"].values())
    assert (run_dir / "no_hand.txt").read_text().startswith(f"# {metrics['no_hand']['count']} of 30 images")
    assert list((landmark_run / "landmark_cache").glob("landmarks-*.npz"))


def test_a_trained_landmark_bundle_predicts_through_the_bundle_api(landmark_run, hand_crops):
    from models.hands import HandLocaliser
    from models.images import read_image_bgr

    bundle = load_bundle(landmark_run / "landmarks" / "bundle")
    assert bundle.heads == ("landmarks",) and bundle.classes == CLASS_NAMES
    crop_bgr = read_image_bgr(sorted((hand_crops / "fist").glob("*.jpg"))[0])
    hand = HandLocaliser().find_in_region(crop_bgr, (0, 0, crop_bgr.shape[1], crop_bgr.shape[0]))
    result = bundle.predict_hand(crop_bgr, hand)
    assert result.cnn is None and result.fused.shape == (5,) and result.fused.sum() == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(result.fused, bundle.predict_landmarks(hand.landmarks_px, hand.handedness), atol=1e-6)


def test_evaluate_scores_a_landmark_only_bundle(landmark_run, hand_crops, tmp_path, capsys):
    scores_file = tmp_path / "scores.json"
    assert cli.main(["evaluate", "--model", str(landmark_run / "landmarks" / "bundle"), "--data", str(hand_crops),
                     "--split", "all", "--json", str(scores_file), "-q"]) == 0
    scores = json.loads(scores_file.read_text())
    assert scores["count"] == 30 and list(scores["heads"]) == ["landmarks"]
    assert scores["accuracy"] == scores["heads"]["landmarks"]["accuracy"]
    assert scores["no_hand"]["count"] == len(scores["no_hand"]["files"]) == scores["heads"]["landmarks"]["no_hand"]
    assert "30 images: accuracy" in capsys.readouterr().out


def test_combine_puts_a_cnn_and_a_landmark_head_in_one_bundle(landmark_run, tiny_bundle, hand_crops, tmp_path, capsys):
    out = tmp_path / "both"
    assert cli.main(["combine", "--cnn", str(tiny_bundle), "--landmarks", str(landmark_run / "landmarks" / "bundle"),
                     "--out", str(out), "--data", str(hand_crops), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "fused (mean" in printed and "cnn alone" in printed and "landmarks alone" in printed
    assert (out / "model.keras").read_bytes() == (tiny_bundle / "model.keras").read_bytes()  # not saved again
    bundle = load_bundle(out)
    assert bundle.heads == ("cnn", "landmarks")
    assert set(bundle.description["fusion"]["test_metrics"]) >= {"accuracy", "macro_f1", "confusion_matrix"}
    assert bundle.head_metrics("cnn")["count"] == bundle.head_metrics("landmarks")["count"] == 5  # the test split

    scores_file = tmp_path / "scores.json"
    assert cli.main(["evaluate", "--model", str(out), "--data", str(hand_crops), "--split", "test",
                     "--json", str(scores_file), "-q"]) == 0
    scores = json.loads(scores_file.read_text())
    assert scores["fusion"] == "mean" and set(scores["heads"]) == {"cnn", "landmarks"}
    assert scores["accuracy"] == pytest.approx(bundle.head_metrics("fusion")["accuracy"])
    assert scores["heads"]["cnn"]["confusion_matrix"] == bundle.head_metrics("cnn")["confusion_matrix"]


def test_combine_refuses_heads_trained_on_different_splits(landmark_run, tmp_path, hand_crops):
    other = shutil.copytree(landmark_run / "landmarks" / "bundle", tmp_path / "other-seed")
    description = json.loads((other / "bundle.json").read_text())
    description["provenance"]["config"]["settings"]["seed"] = 7
    (other / "bundle.json").write_text(json.dumps(description))
    with pytest.raises(BundleError, match="different splits"):
        from training.combine import combine_bundles

        combine_bundles(landmark_run / "landmarks" / "bundle", other, tmp_path / "x", data=hand_crops)


def test_a_second_run_reads_the_landmark_cache(landmark_run, hand_crops, caplog):
    caplog.set_level("INFO")
    assert cli.main(["--data", str(hand_crops), "--out", str(landmark_run), *TINY[:-1], "--overwrite"]) == 0
    assert "30 from the cache" in caplog.text and "found now" not in caplog.text


def test_the_cache_finds_a_changed_image_again(tmp_path, hand_crops):
    import cv2

    from training.landmark_data import image_landmarks

    data = shutil.copytree(hand_crops, tmp_path / "data")
    paths = sorted(data.glob("*/*.jpg"))[:4]
    first = image_landmarks(paths, data, tmp_path / "cache")
    assert first.origin == {"found now": 4}
    again = image_landmarks(paths, data, tmp_path / "cache")
    assert again.origin == {"cache": 4}
    np.testing.assert_array_equal(again.points_px, first.points_px)
    image = cv2.imread(str(paths[0]))
    cv2.imwrite(str(paths[0]), cv2.flip(image, 1))  # another image under the same name
    changed = image_landmarks(paths, data, tmp_path / "cache")
    assert changed.origin == {"cache": 3, "found now": 1}


def test_the_cache_is_keyed_by_the_hand_models(tmp_path, hand_crops, monkeypatch):
    from models.hands import files
    from training.landmark_data import image_landmarks

    paths = sorted(hand_crops.glob("ok/*.jpg"))[:2]
    assert image_landmarks(paths, hand_crops, tmp_path).origin == {"found now": 2}
    assert image_landmarks(paths, hand_crops, tmp_path, localiser=_Refuses()).origin == {"cache": 2}
    monkeypatch.setitem(files.SHA256, files.LANDMARK_MODEL.name, "0" * 64)  # as if another landmark model were pinned
    counting = _Counting()
    assert image_landmarks(paths, hand_crops, tmp_path, localiser=counting).origin == {"found now": 2}
    assert counting.calls == 2 and len(list(tmp_path.glob("landmarks-*.npz"))) == 2


class _Counting:
    """A localiser that finds no hand and counts how often it was asked."""

    calls = 0

    def find_in_region(self, *args, **kwargs):
        self.calls += 1
        return None


class _Refuses:
    """A localiser that must not be asked."""

    def find_in_region(self, *args, **kwargs):
        raise AssertionError("the localiser was asked although the manifest or the cache had the landmarks")


def test_landmarks_in_the_manifest_are_used_without_the_localiser(tmp_path, hand_crops):
    from training.landmark_data import image_landmarks

    data = shutil.copytree(hand_crops, tmp_path / "data")
    paths = sorted(data.glob("yo/*.jpg"))[:3]
    points = np.random.default_rng(0).uniform(0.1, 0.9, (21, 3)).astype(np.float32)
    cells = [format_landmarks(points, "right"), format_landmarks(None, None), format_landmarks(points, "left")]
    with open(data / MANIFEST_NAME, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*MANIFEST_FIELDS, MANIFEST_LANDMARKS_FIELD])
        writer.writeheader()
        for path, cell in zip(paths, cells):
            writer.writerow({"file": path.relative_to(data).as_posix(), "class": "yo", MANIFEST_LANDMARKS_FIELD: cell})
    found = image_landmarks(paths, data, None, localiser=_Refuses())
    assert found.origin == {"manifest": 3}
    assert found.found.tolist() == [True, False, True] and found.handedness.tolist() == ["right", None, "left"]
    from PIL import Image

    width, height = Image.open(paths[0]).size
    np.testing.assert_allclose(found.points_px[0], points * [width, height, width], rtol=1e-3, atol=0.05)


def test_landmark_augmentation_names_are_checked(hand_crops, tmp_path, caplog):
    code = cli.main(["--data", str(hand_crops), "--out", str(tmp_path), "--runs", "landmarks",
                     "--extra-augmentation", "light", "-q"])
    assert code == 2
    assert "valid: rotation, tilt" in caplog.text


# -- bundles from before landmark heads ------------------------------------------------------------------


def test_a_bundle_written_before_heads_existed_loads_as_a_cnn(tiny_bundle, tmp_path):
    old = shutil.copytree(tiny_bundle, tmp_path / "old")
    description = json.loads((old / "bundle.json").read_text())
    del description["heads"]
    description["format_version"] = 1
    (old / "bundle.json").write_text(json.dumps(description))
    bundle = load_bundle(old)
    assert bundle.heads == ("cnn",) and bundle.landmark_head is None
    image = np.full((70, 60, 3), 90, np.uint8)
    np.testing.assert_allclose(bundle.predict_bgr(image), load_bundle(tiny_bundle).predict_bgr(image), atol=1e-6)
    result = bundle.predict_hand(image, (np.zeros((21, 3)), "right"))  # landmarks given, no head to read them
    assert result.landmarks is None
    np.testing.assert_array_equal(result.fused, result.cnn)


def test_the_shipped_default_model_as_it_was_before_still_loads(tmp_path):
    """The default model's bundle.json before it gained a landmark head: no "heads", no "fusion"."""
    shipped = default_bundle_path()
    old = tmp_path / "default-before"
    old.mkdir()
    shutil.copy2(shipped / "model.keras", old / "model.keras")
    description = json.loads((shipped / "bundle.json").read_text())
    for key in ("heads", "fusion"):
        description.pop(key, None)
    description["format_version"] = 1
    (old / "bundle.json").write_text(json.dumps(description))
    before, now = load_bundle(old), load_bundle(shipped)
    assert before.heads == ("cnn",)
    image = np.random.default_rng(0).integers(0, 255, (90, 80, 3), dtype=np.uint8)
    np.testing.assert_allclose(before.predict_bgr(image), now.predict_bgr(image), atol=1e-6)


def test_a_newer_landmark_feature_version_is_refused(landmark_run, tmp_path):
    newer = shutil.copytree(landmark_run / "landmarks" / "bundle", tmp_path / "newer")
    description = json.loads((newer / "bundle.json").read_text())
    description["heads"]["landmarks"]["features_version"] = 99
    (newer / "bundle.json").write_text(json.dumps(description))
    with pytest.raises(BundleError, match="features version 99"):
        load_bundle(newer)
