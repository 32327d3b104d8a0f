"""The fusion rule, and the per-frame bundle call the app makes: both heads with a hand, the CNN alone
without, a landmark-only bundle with nothing to say when there is no hand."""

import numpy as np
import pytest

from models.bundle import BundleError, add_landmark_head, load_bundle, save_landmark_bundle
from models.fusion import fuse

CNN = np.array([0.6, 0.1, 0.1, 0.1, 0.1], np.float32)
LANDMARKS = np.array([0.0, 0.8, 0.1, 0.1, 0.0], np.float32)


def test_fuse_averages_two_heads():
    np.testing.assert_allclose(fuse(CNN, LANDMARKS), [0.3, 0.45, 0.1, 0.1, 0.05], atol=1e-6)
    assert fuse(CNN, LANDMARKS).sum() == pytest.approx(1)
    # The surer head wins: the landmark head's 0.8 outweighs the CNN's 0.6.
    assert fuse(CNN, LANDMARKS).argmax() == 1


def test_fuse_without_landmarks_is_the_cnn_and_without_a_cnn_the_landmarks():
    np.testing.assert_array_equal(fuse(CNN, None), CNN)
    np.testing.assert_array_equal(fuse(None, LANDMARKS), LANDMARKS)
    assert fuse(None, None) is None


def test_fuse_refuses_heads_with_different_classes():
    with pytest.raises(ValueError, match="disagree on the classes"):
        fuse(CNN, LANDMARKS[:3])


# -- through a bundle ---------------------------------------------------------------------------------


def _landmark_bundle(path, seed=0):
    """A landmark-only bundle with an untrained (random) head: enough to check the plumbing."""
    import keras

    from models import CLASS_NAMES
    from models.architectures import build_landmark_mlp
    from models.landmark_features import feature_count
    from models.schedule import SCHEDULE

    keras.utils.set_random_seed(seed)
    spec = SCHEDULE["landmarks"]
    count = feature_count(spec.features)
    model = build_landmark_mlp(spec, count, len(CLASS_NAMES), np.full(count, 0.5), np.full(count, 0.04))
    return save_landmark_bundle(model, path, CLASS_NAMES, spec.features, {"run": "random-landmarks"})


@pytest.fixture(scope="module")
def hand(hand_crops):
    """A real hand: the localiser's landmarks on a test crop, and the crop."""
    from models.hands import HandLocaliser
    from models.images import read_image_bgr

    crop_bgr = read_image_bgr(sorted((hand_crops / "stop").glob("*.jpg"))[0])
    found = HandLocaliser().find_in_region(crop_bgr, (0, 0, crop_bgr.shape[1], crop_bgr.shape[0]))
    assert found is not None
    return crop_bgr, found


@pytest.fixture(scope="module")
def both(tiny_bundle, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fusion")
    return load_bundle(add_landmark_head(tiny_bundle, _landmark_bundle(folder / "landmarks"), folder / "both"))


def test_a_bundle_with_both_heads_averages_them_when_there_is_a_hand(both, hand):
    crop_bgr, found = hand
    assert both.heads == ("cnn", "landmarks")
    result = both.predict_hand(crop_bgr, found)
    np.testing.assert_allclose(result.cnn, both.predict_bgr(crop_bgr), atol=1e-6)
    np.testing.assert_allclose(result.landmarks, both.predict_landmarks(found.landmarks_px, found.handedness), atol=1e-6)
    np.testing.assert_allclose(result.fused, (result.cnn + result.landmarks) / 2, atol=1e-6)
    assert set(result.timings_ms) == {"cnn", "landmarks"}
    # A (points, handedness) pair is the same hand.
    pair = both.predict_hand(crop_bgr, (found.landmarks_px, found.handedness))
    np.testing.assert_allclose(pair.fused, result.fused, atol=1e-6)


def test_without_a_confident_hand_the_bundle_uses_the_cnn_alone(both, hand):
    from dataclasses import replace

    crop_bgr, found = hand
    no_hand = both.predict_hand(crop_bgr, None)
    assert no_hand.landmarks is None
    np.testing.assert_array_equal(no_hand.fused, no_hand.cnn)
    unsure = both.predict_hand(crop_bgr, replace(found, presence=0.2))
    assert unsure.landmarks is None
    np.testing.assert_array_equal(unsure.fused, unsure.cnn)


def test_a_landmark_only_bundle_reads_hands_and_nothing_else(tmp_path, hand):
    crop_bgr, found = hand
    bundle = load_bundle(_landmark_bundle(tmp_path / "landmarks"))
    assert bundle.heads == ("landmarks",) and bundle.input_size is None and bundle.input_style == "colour"
    result = bundle.predict_hand(crop_bgr, found)  # the crop is ignored: no CNN
    assert result.cnn is None and result.landmarks.shape == (5,)
    np.testing.assert_array_equal(result.fused, result.landmarks)
    assert bundle.predict_hand(crop_bgr, None).fused is None  # no hand: nothing to read
    with pytest.raises(BundleError, match="landmark head only"):
        bundle.predict_bgr(crop_bgr)


def test_the_numpy_pass_is_the_keras_model(both, hand):
    _, found = hand
    head = both.landmark_head
    assert head.runs_in_numpy
    rows = np.stack([head.features(found.landmarks_px * s, found.handedness) for s in (1.0, 0.5, 2.0)])
    rows += np.random.default_rng(0).normal(0, 0.3, rows.shape).astype(np.float32)  # rows that differ
    np.testing.assert_allclose(head.predict_features(rows), np.asarray(head.model(rows, training=False)), atol=1e-5)
