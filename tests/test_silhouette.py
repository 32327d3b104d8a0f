"""The original app's background-subtracted silhouette."""

import cv2
import numpy as np

from gesture_app.core.silhouette import SilhouetteExtractor


def _background(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(80, 120, (160, 160, 3)).astype(np.uint8)


def test_no_background_means_no_silhouette():
    extractor = SilhouetteExtractor()
    assert not extractor.has_background
    assert extractor.extract(_background()) is None


def test_hand_becomes_white_on_black():
    background = _background()
    extractor = SilhouetteExtractor()
    extractor.capture_background(background)
    frame = background.copy()
    cv2.rectangle(frame, (50, 40), (110, 150), (70, 150, 220), -1)  # a skin-coloured "hand"
    silhouette = extractor.extract(frame)
    assert silhouette is not None and silhouette.shape == (160, 160, 3) and silhouette.dtype == np.uint8
    assert set(np.unique(silhouette)) <= {0, 255}
    assert (silhouette[90, 80] == 255).all() and (silhouette[5, 5] == 0).all()
    assert 0.15 < extractor.last_fraction < 0.4


def test_empty_scene_is_not_classified():
    background = _background()
    extractor = SilhouetteExtractor()
    extractor.capture_background(background)
    assert extractor.extract(background) is None
    tiny = background.copy()
    cv2.circle(tiny, (80, 80), 3, (255, 255, 255), -1)  # far under 3% of the crop
    assert extractor.extract(tiny) is None


def test_reset_and_resize_forget_the_background():
    background = _background()
    extractor = SilhouetteExtractor()
    extractor.capture_background(background)
    extractor.reset()
    assert not extractor.has_background
    extractor.capture_background(background)
    assert extractor.extract(cv2.resize(background, (100, 100))) is None
    assert not extractor.has_background  # a box of another size needs a new background
