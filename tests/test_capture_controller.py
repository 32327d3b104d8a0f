"""The capture controller without a window: the record state machine on a fake clock, what it tells its view."""

import numpy as np
import pytest

from gesture_app.core.capture import COUNTDOWN, IDLE, RECORDING, CaptureController, CaptureListener, DatasetWriter
from gesture_app.core.roi import DEFAULT_ROI
from models.dataset_rules import ClassNameError


class Clock:
    def __init__(self):
        self.now = 10.0

    def __call__(self):
        return self.now


class Heard(CaptureListener):
    def __init__(self):
        self.events = []

    def on_saved(self, saved, image_bgr):
        self.events.append(("saved", saved.class_name, image_bgr.shape))

    def on_deleted(self, saved):
        self.events.append(("deleted", saved.class_name))

    def on_recording_changed(self, recording):
        self.events.append(("recording", recording))

    def on_skipped(self, reason):
        self.events.append(("skipped", reason))

    def on_error(self, message):
        self.events.append(("error", message))


def frame(value=120):
    frame_bgr = np.full((120, 160, 3), 50, np.uint8)
    x0, y0, x1, y1 = DEFAULT_ROI.to_pixels(frame_bgr.shape)
    frame_bgr[y0:y1, x0:x1] = value
    return frame_bgr


@pytest.fixture
def made(tmp_path):
    clock, heard = Clock(), Heard()
    controller = CaptureController(DatasetWriter(tmp_path), classes=["fist", "ok"], roi=DEFAULT_ROI, burst_fps=10,
                                   clock=clock, listener=heard)
    return controller, clock, heard


def run(controller, clock, frames, dt=0.05):
    for _ in range(frames):
        clock.now += dt
        controller.process(frame())


def test_without_a_class_press_says_what_to_do(made):
    controller, clock, heard = made
    controller.press()
    assert heard.events == [("error", "Select a class first (a button on the right or keys 1–9).")]
    assert controller.state == IDLE and not controller.held


def test_hold_records_a_burst_and_release_stops_it(made):
    controller, clock, heard = made
    controller.select_class("ok")
    run(controller, clock, 1)
    controller.press()  # one shot at once
    run(controller, clock, 10)  # 0.5 s at 10 shots a second
    controller.release()
    run(controller, clock, 10)
    saved = [e for e in heard.events if e[0] == "saved"]
    assert len(saved) == 6 and controller.writer.count("ok") == 6
    assert heard.events[0] == ("recording", True) and heard.events[-1] == ("recording", False)
    assert saved[0] == ("saved", "ok", (72, 72, 3))  # the crop in the box


def test_a_tap_with_a_countdown_takes_one_shot_when_it_ends(made):
    controller, clock, heard = made
    controller.select_class("fist")
    controller.countdown_s = 1.0
    controller.press()
    controller.release()
    view = None
    for _ in range(19):
        clock.now += 0.05
        view = controller.process(frame())
        assert controller.state == COUNTDOWN and view.countdown_s > 0
    run(controller, clock, 5)
    assert controller.state == IDLE and controller.writer.count("fist") == 1


def test_another_class_or_stop_ends_recording_and_undo_takes_back_this_sessions_saves(made):
    controller, clock, heard = made
    controller.select_class("fist")
    run(controller, clock, 1)
    controller.press()
    assert controller.state == RECORDING
    controller.select_class("ok")
    assert controller.state == IDLE and not controller.held
    first = controller.session_saves[-1]
    assert controller.undo_last() == first and not first.path.exists()
    assert controller.undo_last() is None and heard.events[-1] == ("deleted", "fist")


def test_classes_are_validated_and_kept_unique(made):
    controller, _, _ = made
    assert controller.add_class(" wave ") == "wave"
    with pytest.raises(ClassNameError, match="already"):
        controller.add_class("ok")
    with pytest.raises(ClassNameError, match="reserved"):
        controller.add_class("train")
    assert controller.classes == ["fist", "ok", "wave"]


def test_silhouettes_need_a_background_and_moving_the_box_forgets_it(made):
    controller, clock, heard = made
    controller.input_style = "silhouette"
    assert not controller.capture_background()  # no frame yet
    controller.select_class("ok")
    run(controller, clock, 1)
    controller.press()
    controller.release()
    assert heard.events[-2][0] == "skipped" and "background" in heard.events[-2][1]
    assert controller.capture_background() and controller.has_background
    assert "white hand on black" in controller.style_hint()
    assert controller.set_roi(controller.roi.resized(0.4)) and not controller.has_background


def test_mirror_is_named_in_the_manifest(tmp_path):
    clock = Clock()
    controller = CaptureController(DatasetWriter(tmp_path), classes=["ok"], roi=DEFAULT_ROI, source_name="camera 0", clock=clock)
    controller.select_class("ok")
    controller.mirror = True  # the stream flips the frames; the controller says so in the manifest
    run(controller, clock, 1)
    controller.press()
    assert controller.writer.read_manifest()[0]["source"] == "camera 0 (mirrored)"
