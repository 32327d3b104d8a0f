"""The window's explain toggle, offscreen: a heat map in the box from a real bundle, the video never held up."""

import numpy as np

from app_helpers import FakeClassifier, GeneratedSource
from gesture_app.core.classifier import BundleClassifier
from gesture_app.qt.window import MainWindow

WAIT_MS = 20000


def test_explain_toggle_overlays_the_heat_map_of_the_box(qtbot, tmp_path, tiny_bundle):
    window = MainWindow(GeneratedSource(fps=60, size=(320, 240)), classifier=BundleClassifier.load(tiny_bundle, device="cpu"),
                        cameras=[], save_dir=tmp_path, locate=None)  # generated frames hold no hand: classify the box
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.last_prediction is not None and window.frames_shown > 2, timeout=WAIT_MS)
        assert window.inference_worker.explainer.latest is None  # off by default: no Grad-CAM work
        x0, y0, x1, y1 = window.pipeline.roi.to_pixels((240, 320))
        window.explain_action.trigger()  # E, as the user would
        assert window.explain_action.isChecked()
        qtbot.waitUntil(lambda: window.inference_worker.explainer.latest is not None, timeout=WAIT_MS)
        first = window.inference_worker.explainer.latest
        shown = window.frames_shown
        qtbot.waitUntil(lambda: window.frames_shown >= shown + 3, timeout=WAIT_MS)
        annotated = window.last_annotated_bgr
        raw = window.last_frame_bgr
        # Jet colours in the box: the heat map is blended over the generated frame there.
        assert np.abs(annotated[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4].astype(int) - raw[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4]).mean() > 10
        # Reduced rate: a new map at most every interval, while predictions keep coming.
        predictions = []
        window.prediction_received.connect(predictions.append)
        qtbot.waitUntil(lambda: window.inference_worker.explainer.latest is not first, timeout=WAIT_MS)
        assert window.inference_worker.explainer.latest.computed_at - first.computed_at >= window.inference_worker.explainer.interval_s
        assert len(predictions) >= 2
        window.explain_action.trigger()
        assert window.inference_worker.explainer.latest is None
    finally:
        window.shutdown()


def test_explain_toggle_says_when_the_model_cannot_be_explained(qtbot, tmp_path):
    window = MainWindow(GeneratedSource(fps=60), classifier=FakeClassifier([0.1, 0.1, 0.6, 0.1, 0.1]), cameras=[], save_dir=tmp_path,
                        locate=None)
    qtbot.addWidget(window)
    window.show()
    try:
        window.explain_action.setChecked(True)
        qtbot.waitUntil(lambda: "cannot be explained" in window.inference_worker.explainer.message, timeout=WAIT_MS)
        shown = window.frames_shown
        qtbot.waitUntil(lambda: window.frames_shown >= shown + 2, timeout=WAIT_MS)
        assert window.last_prediction.label == "ok"  # predictions go on
    finally:
        window.shutdown()
