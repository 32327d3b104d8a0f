"""The live window, offscreen: frames in, predictions out, overlay drawn, faults survived, threads stopped."""

import cv2
import numpy as np
import pytest
from app_helpers import FakeClassifier, GeneratedSource

from gesture_app.core.overlay import class_colour_bgr, label_area
from gesture_app.core.roi import DEFAULT_ROI
from gesture_app.qt.image import qimage_to_bgr
from models import NO_GESTURE

CONFIDENT_STOP = [0.02, 0.03, 0.05, 0.85, 0.05]
HESITANT_OK = [0.2, 0.1, 0.4, 0.2, 0.1]
WAIT_MS = 5000


def _wait_frames(qtbot, window, count):
    qtbot.waitUntil(lambda: window.frames_shown >= count, timeout=WAIT_MS)


def _has_colour(image_bgr, colour_bgr, tolerance=30, minimum=80):
    distance = np.abs(image_bgr.reshape(-1, 3).astype(int) - np.array(colour_bgr)).sum(axis=1)
    return (distance < tolerance).sum() >= minimum


def test_window_shows_frames_predicts_and_draws_the_overlay(qtbot, make_window):
    source = GeneratedSource(fps=60, size=(640, 480))
    window = make_window(source, FakeClassifier(CONFIDENT_STOP), smoothing=1)
    with qtbot.waitSignal(window.prediction_received, timeout=WAIT_MS) as blocker:
        pass
    assert blocker.args[0].label == "stop"
    _wait_frames(qtbot, window, window.frames_shown + 3)
    qtbot.waitUntil(lambda: window.last_prediction is not None, timeout=WAIT_MS)
    _wait_frames(qtbot, window, window.frames_shown + 2)
    x0, y0, x1, y1 = label_area(window.last_annotated_bgr.shape)
    assert _has_colour(window.last_annotated_bgr[y0:y1, x0:x1], class_colour_bgr("stop"))
    # and the same pixels reach the screen: grab the painted widget
    painted_bgr = qimage_to_bgr(window.video_view.grab().toImage())
    assert _has_colour(painted_bgr, class_colour_bgr("stop"), minimum=40)
    assert window.overlay_stats().display_fps is not None and window.overlay_stats().latency_ms is not None


def test_threshold_set_in_the_window_turns_a_label_into_no_gesture(qtbot, make_window):
    window = make_window(GeneratedSource(fps=60), FakeClassifier(CONFIDENT_STOP), smoothing=1)
    qtbot.waitUntil(lambda: window.last_prediction is not None and window.last_prediction.label == "stop", timeout=WAIT_MS)
    window.threshold_box.setValue(0.9)  # as the user would, through the spin box
    assert window.pipeline.threshold == pytest.approx(0.9)
    qtbot.waitUntil(lambda: window.last_prediction.label == NO_GESTURE, timeout=WAIT_MS)
    assert window.last_prediction.confidence == pytest.approx(0.85)


def test_smoothing_averages_and_can_be_turned_off(qtbot, make_window):
    alternating = FakeClassifier([CONFIDENT_STOP, HESITANT_OK] * 5000)
    window = make_window(GeneratedSource(fps=60), alternating, smoothing=1, threshold=0.5)
    labels = []
    window.prediction_received.connect(lambda p: labels.append(p.label))
    qtbot.waitUntil(lambda: len(labels) >= 6, timeout=WAIT_MS)
    assert {"stop", NO_GESTURE} <= set(labels)  # off: the label flickers with every frame
    window.smoothing_box.setValue(10)
    assert window.pipeline.smoothing == 10
    labels.clear()
    qtbot.waitUntil(lambda: len(labels) >= 12, timeout=WAIT_MS)
    # averaged, stop (0.85/0.2) beats ok (0.05/0.4) by far: after warm-up, stop every frame
    assert labels[2:] == ["stop"] * len(labels[2:])


def test_window_survives_a_source_that_raises_mid_stream(qtbot, make_window):
    source = GeneratedSource(fps=60, fail_at=5)
    window = make_window(source, FakeClassifier(CONFIDENT_STOP))
    with qtbot.waitSignal(window.capture_worker.source_failed, timeout=WAIT_MS) as blocker:
        pass
    assert "broke" in blocker.args[0]
    _wait_frames(qtbot, window, 10)  # frames keep coming after the fault
    assert window.capture_worker.isRunning()
    qtbot.waitUntil(lambda: window.banner_text == "", timeout=WAIT_MS)  # recovery clears the banner


def test_source_that_keeps_failing_is_given_up_with_a_message(qtbot, make_window, monkeypatch):
    from gesture_app.core import stream

    monkeypatch.setattr(stream, "ERROR_BACKOFF_S", 0.002)

    class Broken(GeneratedSource):
        def read(self):
            raise OSError("device unplugged")

    window = make_window(Broken(fps=60), FakeClassifier(CONFIDENT_STOP))
    qtbot.waitUntil(lambda: "Gave up" in window.banner_text, timeout=WAIT_MS * 2)
    assert window.isVisible()


def test_end_of_video_is_reported(qtbot, make_window):
    window = make_window(GeneratedSource(frames=4, fps=60), FakeClassifier(CONFIDENT_STOP))
    qtbot.waitUntil(lambda: "ended" in window.banner_text, timeout=WAIT_MS)
    assert window.frames_shown >= 1


def test_close_stops_threads_and_closes_the_source(qtbot, make_window):
    source = GeneratedSource(fps=60)
    window = make_window(source, FakeClassifier(CONFIDENT_STOP))
    _wait_frames(qtbot, window, 3)
    capture, inference = window.capture_worker, window.inference_worker
    window.close()
    assert capture.isFinished() and inference.isFinished()
    assert source.closed and window.capture_worker is None
    assert not window.display_timer.isActive()


def test_no_model_still_shows_video_and_says_so(qtbot, make_window):
    window = make_window(GeneratedSource(fps=60, size=(640, 480)))
    _wait_frames(qtbot, window, 3)
    assert window.overlay_stats().message == "no model loaded"
    assert "no model loaded" in window.statusBar().currentMessage()


def test_while_the_first_model_loads_the_window_says_so_and_keeps_the_camera_reason(qtbot, make_window, monkeypatch, tmp_path):
    import threading

    from gesture_app.core.overlay import LOADING_MODEL, confidence_bar_area
    from gesture_app.qt import workers

    release = threading.Event()

    def slow_load(path, **options):
        release.wait(timeout=10)  # the seconds TensorFlow takes to start, held for as long as the test needs
        return FakeClassifier(CONFIDENT_STOP)

    monkeypatch.setattr(workers, "read_description", lambda path: {})
    monkeypatch.setattr(workers, "select_device", lambda choice: "CPU")
    monkeypatch.setattr(workers.BundleClassifier, "load", staticmethod(slow_load))
    no_camera = "No camera found: this machine has no camera device (/dev/video*). Playing the demo instead."
    try:
        window = make_window(GeneratedSource(fps=60, size=(640, 480)), model_path=tmp_path / "default", banner=no_camera, smoothing=1)
        _wait_frames(qtbot, window, 3)
        # Both: why the demo plays, and that the model is on its way.
        assert no_camera in window.banner_text and "Loading model default" in window.banner_text
        stats = window.overlay_stats()
        assert stats.waiting == LOADING_MODEL and stats.message == ""  # not "no model loaded"
        assert "loading model default" in window.statusBar().currentMessage()
        assert "no model loaded" not in window.statusBar().currentMessage()
        x0, y0, x1, y1 = confidence_bar_area(window.last_annotated_bgr.shape)
        bar = window.last_annotated_bgr[y0:y1, x0:x1].reshape(-1, 3).astype(int)
        assert not (np.abs(bar - 70).sum(axis=1) < 6).mean() > 0.5  # no empty "0 %" bar drawn while loading
    finally:
        release.set()
    qtbot.waitUntil(lambda: window.last_prediction is not None and window.last_prediction.label == "stop", timeout=WAIT_MS)
    assert window.banner_text == no_camera and window.overlay_stats().waiting == ""
    assert "model: fake" in window.statusBar().currentMessage()


def test_mirror_pause_and_roi_controls(qtbot, make_window):
    from PySide6.QtCore import QPoint, Qt

    window = make_window(GeneratedSource(fps=60), FakeClassifier(CONFIDENT_STOP))
    _wait_frames(qtbot, window, 2)
    assert window.last_frame_bgr[5, 0, 1] < 20  # green ramps up left to right
    window.mirror_action.trigger()
    qtbot.waitUntil(lambda: window.last_frame_bgr[5, 0, 1] > 230, timeout=WAIT_MS)

    window.pause_action.trigger()
    qtbot.wait(150)
    shown = window.frames_shown
    qtbot.wait(200)
    assert window.frames_shown <= shown + 1 and window.overlay_stats().message == "paused"
    window.pause_action.trigger()
    _wait_frames(qtbot, window, shown + 3)

    before = window.pipeline.roi
    view = window.video_view
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(view.width() // 4, view.height() // 2))
    assert window.pipeline.roi == before  # a click (to bring the window forward) leaves the box alone; tests/test_box.py drags it


def test_screenshot_and_recording_write_files(qtbot, make_window, tmp_path):
    window = make_window(GeneratedSource(fps=60), FakeClassifier(CONFIDENT_STOP))
    _wait_frames(qtbot, window, 2)
    shot = window.save_frame_screenshot(tmp_path / "frame.png")
    assert cv2.imread(str(shot)).shape == window.last_annotated_bgr.shape
    window.record_action.trigger()
    assert window.recording_path is not None
    _wait_frames(qtbot, window, window.frames_shown + 6)
    window.record_action.trigger()
    capture = cv2.VideoCapture(str(window.recording_path))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count >= 6


def _damaged_bundle(tmp_path):
    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / "bundle.json").write_text("{ not json")
    return folder


def test_damaged_bundle_names_the_problem_and_keeps_the_previous_model(qtbot, make_window, tmp_path):
    previous = FakeClassifier(CONFIDENT_STOP)
    window = make_window(GeneratedSource(fps=60), previous, device="cpu")
    with qtbot.waitSignal(window.inference_worker.model_failed, timeout=30000):
        window.load_model(_damaged_bundle(tmp_path))
    box = window.model_error_box
    assert box is not None and box.isVisible()
    assert "damaged" in box.text() and "Still using fake" in box.text()
    assert window.pipeline.classifier is previous
    qtbot.waitUntil(lambda: window.last_prediction is not None and window.last_prediction.label == "stop", timeout=WAIT_MS)
    box.close()


def test_window_loads_a_real_bundle_and_classifies(qtbot, make_window, tiny_bundle):
    window = make_window(GeneratedSource(fps=30), model_path=tiny_bundle, device="cpu", threshold=0.0)
    with qtbot.waitSignal(window.inference_worker.model_loaded, timeout=60000):
        pass
    qtbot.waitUntil(lambda: window.last_prediction is not None and window.last_prediction.classified, timeout=WAIT_MS)
    prediction = window.last_prediction
    assert prediction.probs.sum() == pytest.approx(1.0, abs=1e-3) and prediction.label != NO_GESTURE
    # Named by its run (bundle.json), not by its folder, which gesture-train always calls "bundle".
    assert window.device_name.startswith("CPU") and window.model_name == "tiny-test"
    assert window.windowTitle() == "Gesture recognition — tiny-test"
    from gesture_app.core.bundles import RecentBundles

    assert [entry.path for entry in RecentBundles().entries()] == [tiny_bundle.resolve()]
    assert window.banner_text == ""


class BackgroundThenHand(GeneratedSource):
    """A still, slightly noisy scene; once `hand` is set, a skin-coloured block stands in the box's lower middle."""

    def __init__(self):
        super().__init__(fps=60, size=(320, 240))
        self.background = np.random.default_rng(1).integers(90, 110, (240, 320, 3)).astype(np.uint8)
        self.hand = False

    def read(self):
        self.frames_read += 1
        frame_bgr = self.background.copy()
        if self.hand:
            x0, y0, x1, y1 = DEFAULT_ROI.to_pixels(frame_bgr.shape)
            side = x1 - x0
            cv2.rectangle(frame_bgr, (x0 + side // 4, y0 + side // 4), (x1 - side // 4, y1 - 1), (60, 140, 220), -1)
        return frame_bgr


def test_background_key_drives_silhouette_models(qtbot, make_window):
    from gesture_app.core.overlay import inset_area
    from gesture_app.core.pipeline import NEEDS_BACKGROUND
    from gesture_app.core.prediction import NO_HAND_IN_BOX as NO_HAND

    class Seeing(FakeClassifier):
        def preprocess(self, crop_bgr):
            self.seen = crop_bgr.copy()  # what the model is shown
            return crop_bgr

    source, classifier = BackgroundThenHand(), Seeing(CONFIDENT_STOP, input_style="silhouette")
    window = make_window(source, classifier, smoothing=1)
    assert window.background_action.isEnabled()
    qtbot.waitUntil(lambda: window.last_prediction is not None and window.last_prediction.note == NEEDS_BACKGROUND, timeout=WAIT_MS)
    window.background_action.trigger()  # B, with no hand in the box
    qtbot.waitUntil(lambda: window.last_prediction.note == NO_HAND, timeout=WAIT_MS)  # the empty box is the background now
    assert classifier.calls == 0
    source.hand = True
    qtbot.waitUntil(lambda: window.last_prediction.classified and window.last_prediction.label == "stop", timeout=WAIT_MS)
    # The model was shown the white-on-black silhouette of the hand, not the colour crop.
    seen = classifier.seen
    side = seen.shape[0]
    assert set(np.unique(seen)) <= {0, 255}
    assert seen[side * 3 // 4, side // 2].min() == 255 and seen[side // 8, side // 8].max() == 0
    # and the window shows it in the inset, as the user checks the background worked
    _wait_frames(qtbot, window, window.frames_shown + 2)
    x0, y0, x1, y1 = inset_area(window.last_annotated_bgr.shape)
    inset = window.last_annotated_bgr[y0:y1, x0:x1]
    assert (inset == 255).all(axis=2).mean() > 0.2 and (inset == 0).all(axis=2).mean() > 0.2
    window.reset_background_action.trigger()  # R
    qtbot.waitUntil(lambda: window.last_prediction.note == NEEDS_BACKGROUND, timeout=WAIT_MS)


def test_background_key_is_off_for_colour_models(make_window):
    window = make_window(GeneratedSource(fps=60), FakeClassifier(CONFIDENT_STOP))
    assert not window.background_action.isEnabled()


def test_a_slow_model_never_holds_up_the_video(qtbot, make_window):
    import time

    class Slow(FakeClassifier):
        def infer(self, model_input):
            time.sleep(0.25)  # a heavy model on a small CPU
            return super().infer(model_input)

    slow = Slow(CONFIDENT_STOP)
    window = make_window(GeneratedSource(fps=40), slow)
    _wait_frames(qtbot, window, 5)
    start_shown, start_calls = window.frames_shown, slow.calls
    qtbot.wait(1000)
    shown, calls = window.frames_shown - start_shown, slow.calls - start_calls
    # The video runs at its own rate (40 fps, less on a loaded machine); the model manages about 4 a second.
    assert calls <= 5 and shown >= max(12, 3 * calls)
    # and those are recent, not a backlog: at most ~2 inference times (~20 frames at 40 fps) behind
    assert window.slot.index - window.last_prediction.frame_index <= 25


def test_camera_that_disappears_shows_a_banner_and_comes_back(qtbot, make_window):
    from app_helpers import FlakyCapture

    from gesture_app.core.sources import CameraSource

    FlakyCapture.opens, FlakyCapture.alive = 0, True
    camera = CameraSource(0, capture_factory=lambda i: FlakyCapture(i, die_after=10), retry_s=0.05)
    window = make_window(camera, FakeClassifier(CONFIDENT_STOP))
    qtbot.waitUntil(lambda: "stopped delivering" in window.banner_text, timeout=WAIT_MS)
    shown = window.frames_shown
    FlakyCapture.alive = True  # plugged back in
    qtbot.waitUntil(lambda: window.frames_shown > shown + 3 and window.banner_text == "", timeout=WAIT_MS)


def test_folder_with_an_unreadable_image_plays_and_counts_it(qtbot, make_window, tmp_path, hand_crops):
    import shutil

    from gesture_app.core.sources import FolderSource

    folder = tmp_path / "photos"
    folder.mkdir()
    for index, photo in enumerate(sorted((hand_crops / "ok").glob("*.jpg"))[:3]):
        shutil.copy(photo, folder / f"{index}.jpg")
    (folder / "1b.jpg").write_bytes(b"broken")
    window = make_window(FolderSource(folder, fps=60), FakeClassifier(CONFIDENT_STOP))
    qtbot.waitUntil(lambda: "ended" in window.banner_text, timeout=WAIT_MS)
    assert window.frames_shown >= 1
    qtbot.waitUntil(lambda: "1 unreadable image(s) skipped" in window.statusBar().currentMessage(), timeout=WAIT_MS)


def test_source_box_lists_and_switches_sources(qtbot, make_window, tmp_path):
    from app_helpers import write_video

    window = make_window(GeneratedSource(fps=60), FakeClassifier(CONFIDENT_STOP))
    assert window.source_box.currentText() == "generated (file)"
    video = write_video(tmp_path / "clip.avi", frames=30, fps=30)
    first = window.source
    assert window.open_source_spec(str(video))
    assert first.closed and window.source.name == "clip.avi"
    assert window.source_box.currentData() == str(video)
    _wait_frames(qtbot, window, window.frames_shown + 3)
    demo_row = window.source_box.findData("demo")
    window.source_box.activated.emit(demo_row)  # as if the user picked "demo"
    assert window.source.name == "demo" and window.source_box.currentIndex() == demo_row
    assert not window.open_source_spec(str(tmp_path / "missing.mp4"))
    assert "No such source" in window.banner_text and window.source.name == "demo"  # the old source keeps playing


class PhotoSource(GeneratedSource):
    """A steady hand: one shipped test photo, over and over (a video, not stills)."""

    def __init__(self, name: str, fps: float = 30.0):
        from hands_helpers import read_test_image

        super().__init__(fps=fps)
        self.photo = read_test_image(name)

    def read(self):
        self.frames_read += 1
        return self.photo.copy()


def test_find_hand_toggle_switches_between_the_hand_and_the_box(qtbot, make_window):
    from gesture_app.core.prediction import NO_HAND_IN_BOX

    window = make_window(PhotoSource("hand_7d846766.jpg"), FakeClassifier(CONFIDENT_STOP), smoothing=1, locate="auto")
    assert window.locate_action.isChecked() and window.locate_action.shortcut().toString() == "L"
    qtbot.waitUntil(lambda: window.last_prediction is not None and window.last_prediction.hand is not None, timeout=WAIT_MS)
    hand_box = window.last_prediction.hand.box_xyxy
    roi_box = window.pipeline.roi.to_pixels(window.source.photo.shape)
    assert hand_box != roi_box and window.shown_roi() is None  # the hand's own square, no fixed box drawn
    window.locate_action.trigger()  # L, as the user would
    assert window.pipeline.locate == "off" and not window.locate_action.isChecked()
    # The default box is on the right of this photo, away from the hand: "no hand in the box".
    qtbot.waitUntil(lambda: window.last_prediction.note == NO_HAND_IN_BOX, timeout=WAIT_MS)
    _wait_frames(qtbot, window, window.frames_shown + 2)
    assert window.shown_roi() is window.pipeline.roi
    x0, y0, x1, y1 = roi_box
    assert _has_colour(window.last_annotated_bgr[y0:y1, x0:x0 + 4], (160, 160, 160), minimum=20)  # the box, grey: no gesture
    window.locate_action.trigger()
    qtbot.waitUntil(lambda: window.last_prediction.hand is not None and window.last_prediction.label == "stop", timeout=WAIT_MS)
    assert window.pipeline.locate == "auto"


def test_landmarks_toggle_draws_the_skeleton_or_not(qtbot, make_window):
    from gesture_app.core.overlay import JOINT_BGR

    window = make_window(PhotoSource("hand_7d846766.jpg"), FakeClassifier(CONFIDENT_STOP), smoothing=1, locate="auto")
    qtbot.waitUntil(lambda: window.last_prediction is not None and window.last_prediction.hand is not None, timeout=WAIT_MS)
    _wait_frames(qtbot, window, window.frames_shown + 2)
    points = np.round(window.last_prediction.hand.landmarks_px[:, :2]).astype(int)

    def joints_drawn() -> int:
        image = window.last_annotated_bgr
        return sum(np.abs(image[y, x].astype(int) - JOINT_BGR).sum() < 40 for x, y in points)

    assert window.landmarks_action.isChecked() and joints_drawn() >= 15
    window.landmarks_action.trigger()  # K
    assert not window.show_landmarks
    _wait_frames(qtbot, window, window.frames_shown + 2)
    assert joints_drawn() == 0
    window.landmarks_action.trigger()
    _wait_frames(qtbot, window, window.frames_shown + 2)
    assert joints_drawn() >= 15


def test_mirror_tells_the_pipeline_which_hand_is_which(make_window):
    window = make_window(GeneratedSource(fps=30), FakeClassifier(CONFIDENT_STOP))
    assert not window.pipeline.mirrored
    window.mirror_action.trigger()
    assert window.pipeline.mirrored and window.capture_worker.control.mirror
