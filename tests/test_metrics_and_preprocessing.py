"""Metrics against the seed's figures, the shared preprocessing, and the augmentation."""

import math

import numpy as np
import pytest

from models.preprocess import Preprocessing, featurewise_stats
from models.schedule import SCHEDULE, resolve_runs
from training.reports import classification_metrics, labels_from_confusion


def test_model1_confusion_matrix_gives_the_seeds_macro_f1():
    matrix = SCHEDULE["model1"].reported.confusion_matrix
    y_true, y_pred = labels_from_confusion(matrix)
    metrics = classification_metrics(y_true, y_pred, ["cool", "fist", "ok", "stop", "yo"])
    # The seed truncates to four decimals: 0.88648... is reported as 0.8864.
    assert math.floor(metrics["macro_f1"] * 1e4) / 1e4 == 0.8864
    assert metrics["confusion_matrix"] == [list(r) for r in matrix]
    assert metrics["accuracy"] == pytest.approx(224 / 250)
    assert metrics["error_rate"] == pytest.approx(26 / 250)
    assert metrics["per_class"]["yo"]["recall"] == 1.0
    assert metrics["per_class"]["yo"]["precision"] == pytest.approx(50 / 67)


@pytest.mark.parametrize("run", [name for name, spec in SCHEDULE.items() if spec.reported])
def test_every_reported_f1_matches_its_confusion_matrix(run):
    reported = SCHEDULE[run].reported
    metrics = classification_metrics(*labels_from_confusion(reported.confusion_matrix), list("abcde"))
    assert metrics["macro_f1"] == pytest.approx(reported.macro_f1, abs=5e-4)


def test_macro_f1_covers_only_classes_present_in_the_data():
    metrics = classification_metrics([2, 2, 3, 3], [2, 2, 3, 0], ["cool", "fist", "ok", "stop", "yo"])
    assert metrics["macro_f1"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert len(metrics["confusion_matrix"]) == 5


def test_schedule_holds_the_documented_values():
    m1, m2, m3, m4, ft = (SCHEDULE[n] for n in ("model1", "model2", "model3", "model4", "model4_ft"))
    assert (m1.learning_rate, m1.epochs, m1.steps_per_epoch, m1.batch_size, m1.validation_steps) == (1e-3, 50, 100, 15, 50)
    assert (m2.learning_rate, m2.epochs, m2.batch_size, m2.validation_steps) == (2e-5, 100, 32, None)
    assert (m3.learning_rate, m3.epochs) == (1e-4, 200) and ("dropout", 0.5) in m3.top
    assert ("dropout", 0.5) not in m4.top
    assert (ft.init_from, ft.unfreeze_from, ft.epochs) == ("model4", "block5_conv1", 100)
    assert [s.name for s in resolve_runs("model4_ft,model1")] == ["model1", "model4_ft"]
    with pytest.raises(ValueError, match="model5"):
        resolve_runs("model5")


def test_normalize_is_the_same_in_numpy_and_tensorflow():
    import tensorflow as tf

    p = Preprocessing(32, mean_rgb=(0.5, 0.4, 0.3), std_rgb=(0.2, 0.25, 0.3))
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(p.normalize(images), p.normalize(tf.constant(images)).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(p.normalize(images)[0, 0, 0], (images[0, 0, 0] / 255 - [0.5, 0.4, 0.3]) / (np.array([0.2, 0.25, 0.3]) + 1e-6), rtol=1e-5)


def test_resize_gives_rgb_at_the_input_size():
    p = Preprocessing(40)
    image_bgr = np.zeros((90, 60, 3), np.uint8)
    image_bgr[..., 0] = 255  # pure blue in BGR
    image_rgb = p.resize_rgb(image_bgr)
    assert image_rgb.shape == (40, 40, 3)
    assert image_rgb[0, 0].tolist() == [0, 0, 255]
    assert p.resize_rgb(np.zeros((20, 20), np.uint8)).shape == (40, 40, 3)


def test_featurewise_stats_match_numpy():
    images = np.random.default_rng(1).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    mean, std = featurewise_stats(images)
    scaled = images / 255.0
    np.testing.assert_allclose(mean, scaled.mean(axis=(0, 1, 2)), rtol=1e-9)
    np.testing.assert_allclose(std, scaled.std(axis=(0, 1, 2)), rtol=1e-9)


def test_augmenter_is_the_documented_transform_set():
    from training.augment import build_augmenter

    layers = {layer.__class__.__name__: layer for layer in build_augmenter(0).layers}
    assert list(layers) == ["RandomRotation", "RandomTranslation", "RandomShear", "RandomZoom", "RandomFlip"]
    assert layers["RandomRotation"].factor == pytest.approx((-45 / 360, 45 / 360))
    assert layers["RandomShear"].x_factor == pytest.approx((-math.tan(math.radians(0.2)), math.tan(math.radians(0.2))))
    assert layers["RandomZoom"].height_factor == (-0.2, 0.2) and layers["RandomZoom"].width_factor == (-0.2, 0.2)
    image = np.zeros((1, 64, 64, 3), np.float32)
    image[:, 10:30, 20:30] = 255
    out = build_augmenter(3)(image, training=True).numpy()
    assert out.shape == image.shape and not np.array_equal(out, image)
    # fill_mode='nearest' leaves no black-filled corners on a white image.
    white = np.full((1, 64, 64, 3), 255, np.float32)
    assert build_augmenter(4)(white, training=True).numpy().min() > 250
