"""The crop a bundle's CNN sees of a found hand is cut the way its training images were (bundle.json "crop").

Round trip through save/load, the default for bundles written before the key, the tight crop on a
shipped frame, gesture-train's rule for new bundles, and the app and `evaluate --locate` both cutting
with the bundle's style.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from app_helpers import FakeClassifier
from hands_helpers import read_test_image

from models.bundle import LEGACY_CROP, BundleError, crop_style_of, load_bundle, read_description, save_bundle
from models.hands import HAGRID_MARGINS, SQUARE, CropStyle, HandLocaliser, crop_for, hand_crop_bgr, pixel_box

ONE_HAND = "hand_7d846766.jpg"
CONFIDENT_STOP = [0.02, 0.03, 0.05, 0.85, 0.05]
ODD_MARGINS = (0.1, 0.2, 0.3, 0.4)  # different on every side, so a side mixed up shows


@pytest.fixture(scope="module")
def hand():
    """The localiser's hand on a shipped frame (a real person's hand)."""
    found = HandLocaliser().find(read_test_image(ONE_HAND))
    assert len(found) == 1
    return found[0]


def tiny_bundle(path, crop=None):
    """A minimal CNN bundle (global pooling + softmax at 32 px): enough to save and load."""
    import keras

    from models import CLASS_NAMES, Preprocessing

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(len(CLASS_NAMES), activation="softmax")])
    extra = {} if crop is None else {"crop": crop}
    return save_bundle(model, path, CLASS_NAMES, Preprocessing(32), {"run": "crop-test"}, "compact", **extra)


@pytest.mark.parametrize("crop", [CropStyle.tight(ODD_MARGINS), CropStyle("square", pad=0.25)])
def test_the_crop_style_round_trips_through_save_and_load(tmp_path, crop):
    path = tiny_bundle(tmp_path / "bundle", crop)
    assert load_bundle(path).crop == crop
    assert read_description(path)["crop"]["style"] == crop.style


def test_bundles_without_a_crop_load_as_the_padded_square_and_the_default_model_says_tight(tmp_path):
    path = tiny_bundle(tmp_path / "bundle", CropStyle.tight())
    file = path / "bundle.json"
    description = json.loads(file.read_text())
    del description["crop"]  # as a bundle written before the key
    file.write_text(json.dumps(description))
    assert load_bundle(path).crop == LEGACY_CROP == SQUARE
    from models import default_bundle_path

    assert crop_style_of(read_description(default_bundle_path())) == CropStyle.tight(HAGRID_MARGINS)


def test_a_bad_crop_entry_is_refused_naming_the_key(tmp_path):
    path = tiny_bundle(tmp_path / "bundle")
    file = path / "bundle.json"
    description = json.loads(file.read_text())
    description["crop"] = {"style": "round"}
    file.write_text(json.dumps(description))
    with pytest.raises(BundleError, match="'crop'"):
        read_description(path)


def test_the_tight_crop_is_the_landmark_box_plus_its_margins(hand):
    frame = read_test_image(ONE_HAND)
    x0, y0, x1, y1 = hand.box_xyxy
    width, height = x1 - x0, y1 - y0
    left, top, right, bottom = ODD_MARGINS
    expected = (x0 - left * width, y0 - top * height, x1 + right * width, y1 + bottom * height)
    crop_bgr = crop_for(frame, hand, CropStyle.tight(ODD_MARGINS))
    rows, cols = crop_bgr.shape[:2]
    assert abs(rows - height * (1 + top + bottom)) <= 1 and abs(cols - width * (1 + left + right)) <= 1
    assert np.array_equal(crop_bgr, hand_crop_bgr(frame, expected))
    # The same hand's square crop is the localiser's padded square: another shape.
    square_bgr = crop_for(frame, hand, SQUARE)
    assert np.array_equal(square_bgr, hand_crop_bgr(frame, hand.crop_box_xyxy))
    assert square_bgr.shape[0] == square_bgr.shape[1] and square_bgr.shape != crop_bgr.shape


def test_the_app_pipeline_cuts_with_the_classifiers_crop_style(hand):
    from gesture_app.core.pipeline import GesturePipeline

    frame = read_test_image(ONE_HAND)
    tight = FakeClassifier(CONFIDENT_STOP)
    tight.crop = CropStyle.tight(ODD_MARGINS)
    pipeline = GesturePipeline(tight, smoothing=1)
    pipeline.reset_history(stills=True)
    prediction = pipeline.process(frame)
    (shape, _), = tight.given
    x0, y0, x1, y1 = pixel_box(tight.crop.box_for(hand.landmarks_px))
    assert shape == (y1 - y0, x1 - x0, 3) and shape[0] != shape[1]
    assert np.allclose(prediction.hand.box_xyxy, tight.crop.box_for(hand.landmarks_px), atol=1e-3)
    # A classifier that names no crop gets the padded square, as before.
    plain = FakeClassifier(CONFIDENT_STOP)
    pipeline.classifier = plain
    pipeline.process(frame)
    (shape, _), = plain.given
    assert shape[0] == shape[1]


def test_evaluate_locate_cuts_with_the_bundles_crop_style(hand):
    from models.bundle import HeadProbs
    from training.evaluate_located import read_photo

    class Bundle:
        has_cnn = True
        crop = CropStyle.tight(ODD_MARGINS)
        shapes = []

        def predict_hand(self, crop_bgr, hand=None):
            self.shapes.append(crop_bgr.shape)
            probs = np.asarray(CONFIDENT_STOP, np.float32)
            return HeadProbs(probs, None, probs, {})

    class OneHand:
        def find(self, frame_bgr):
            return [hand]

    bundle = Bundle()
    read_photo(bundle, OneHand(), read_test_image(ONE_HAND))
    x0, y0, x1, y1 = pixel_box(bundle.crop.box_for(hand.landmarks_px))
    assert bundle.shapes == [(y1 - y0, x1 - x0, 3)]


def test_gesture_train_records_square_for_capture_data_and_tight_for_hand_shaped_crops(tmp_path):
    import cv2

    from training.dataset import Dataset, ScanReport, Split, crop_style_for

    def dataset(name, size, manifest=False):
        root = tmp_path / name
        (root / "fist").mkdir(parents=True)
        paths = []
        for i in range(5):
            paths.append(root / "fist" / f"{i}.jpg")
            cv2.imwrite(str(paths[-1]), np.zeros(size[::-1] + (3,), np.uint8))
        if manifest:
            (root / "manifest.csv").write_text("file,class\n")
        split = Split(np.zeros((5, 8, 8, 3), np.uint8), np.zeros(5, np.int64), paths)
        return Dataset(root, ("fist", "ok"), {"train": split}, "per-class", ScanReport())

    assert crop_style_for(dataset("hagrid", (76, 100))) == CropStyle.tight(HAGRID_MARGINS)
    assert crop_style_for(dataset("squares", (120, 120))) == SQUARE
    assert crop_style_for(dataset("capture", (76, 100), manifest=True)) == SQUARE
