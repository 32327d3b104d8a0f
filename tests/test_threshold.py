"""One threshold rule everywhere: at or above the threshold is a gesture, and the percentage shown agrees."""

import numpy as np
import pytest

from gesture_app.core import overlay
from gesture_app.core.prediction import confidence_percent, is_gesture, make_prediction
from gesture_app.core.roi import DEFAULT_ROI
from models import NO_GESTURE


def _probs(best: float) -> np.ndarray:
    rest = (1.0 - best) / 4
    return np.array([best, rest, rest, rest, rest], np.float32)  # float32, as the models return them


def test_exactly_the_threshold_is_a_gesture():
    assert make_prediction(_probs(0.6), threshold=0.6).label == "cool"
    just_below_in_float32 = np.nextafter(np.float32(0.6), np.float32(0))  # 0.59999996: shows as 60 %
    assert make_prediction(_probs(just_below_in_float32), threshold=0.6).label == "cool"
    assert make_prediction(_probs(0.597), threshold=0.6).label == NO_GESTURE


def test_the_percentage_shown_never_contradicts_the_label():
    for threshold_percent in range(40, 81):
        threshold = threshold_percent / 100
        for confidence in np.arange(0.35, 0.85, 0.0005, dtype=np.float32):
            shown = confidence_percent(confidence)
            assert is_gesture(confidence, threshold) == (shown >= threshold_percent), (confidence, threshold)


def test_overlay_writes_the_rounded_down_percentage(monkeypatch):
    written = []
    real_text = overlay._text
    monkeypatch.setattr(overlay, "_text", lambda image, text, *a, **k: (written.append(text), real_text(image, text, *a, **k)))
    prediction = make_prediction(_probs(0.597), threshold=0.6)
    overlay.draw_overlay(np.zeros((480, 640, 3), np.uint8), prediction, DEFAULT_ROI)
    assert "no gesture" in written and "59%" in written and "60%" not in written
    assert "0.59" in written  # the top-3 list agrees


@pytest.mark.parametrize("probability, fires", [(0.5, True), (0.4999, False)])
def test_actions_use_the_same_rule(probability, fires):
    from gesture_app.actions import engine

    assert engine.is_gesture is is_gesture  # no second copy of the comparison
    assert is_gesture(np.float32(probability), 0.5) is fires
