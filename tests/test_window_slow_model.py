"""The window's video never waits on the model: a classifier stuck mid-frame does not stop new frames being shown."""

import threading

from app_helpers import FakeClassifier, GeneratedSource

CONFIDENT_STOP = [0.02, 0.03, 0.05, 0.85, 0.05]
WAIT_MS = 5000


class BlockingClassifier(FakeClassifier):
    """Blocks inside `infer` until `release` is set; `entered` says a frame has reached the model."""

    def __init__(self, probs):
        super().__init__(probs)
        self.entered = threading.Event()
        self.release = threading.Event()

    def infer(self, model_input):
        self.entered.set()
        # Bounded, so a failing test cannot leave the inference thread stuck for good.
        self.release.wait(timeout=10)
        return super().infer(model_input)


def test_new_frames_are_shown_while_the_model_is_stuck_then_predictions_follow(qtbot, make_window):
    classifier = BlockingClassifier(CONFIDENT_STOP)
    window = make_window(GeneratedSource(fps=60), classifier, smoothing=1)
    predictions = []
    window.prediction_received.connect(predictions.append)
    try:
        qtbot.waitUntil(classifier.entered.is_set, timeout=WAIT_MS)
        shown = set()
        window.frame_shown.connect(shown.add)
        # Distinct source frames, not repaints of one frame: the display follows the source alone.
        qtbot.waitUntil(lambda: len(shown) >= 10, timeout=WAIT_MS)
        assert predictions == [] and window.last_prediction is None
        newest_shown = max(shown)
    finally:
        classifier.release.set()
    qtbot.waitUntil(lambda: len(predictions) >= 2, timeout=WAIT_MS)
    assert [p.label for p in predictions[:2]] == ["stop", "stop"]
    assert window.last_prediction is predictions[-1]
    # The model goes on with the newest frame, skipping those that came while it was stuck (no backlog):
    # at least the newest one shown before the release, 9 or more frames after the stuck one.
    assert predictions[1].frame_index >= newest_shown >= predictions[0].frame_index + 9
