"""The capture window, offscreen, driven by a generated source and a fake clock so runs repeat exactly."""

import csv
import errno
import os

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gesture_app import capture_cli
from gesture_app.core.capture import DatasetWriter, draw_capture_overlay
from gesture_app.core.roi import DEFAULT_ROI
from gesture_app.core.sources import FrameSource
from gesture_app.core.stream import StreamControl, stream_frames
from gesture_app.qt.capture_window import CaptureWindow
from models.images import read_image_bgr


class GeneratedSource(FrameSource):
    """Frames whose ROI holds a brightness that grows with the frame index (so saves are traceable)."""

    def __init__(self, frames: int = 10_000, fps: float = 100.0, shape=(120, 160)):
        self.name = "generated"
        self.fps = fps
        self.frames = frames
        self.shape = shape
        self.index = 0

    def read(self):
        if self.index >= self.frames:
            return None
        frame = np.full((*self.shape, 3), 60, np.uint8)
        x0, y0, x1, y1 = DEFAULT_ROI.to_pixels(frame.shape)
        frame[y0:y1, x0:x1] = (self.index * 7) % 200 + 30
        self.index += 1
        return frame


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_window(qtbot, clock):
    def make(root, source=None, **kwargs):
        kwargs.setdefault("burst_fps", 10.0)
        window = CaptureWindow(source or GeneratedSource(), DatasetWriter(root), clock=clock, **kwargs)
        qtbot.addWidget(window)
        window.show()
        QApplication.processEvents()  # the side panel scrolls: its widgets get their places once the window shows
        return window

    return make


def step(window, clock, frames=1, dt=0.05):
    """Feed `frames` frames through the stream loop (mirrored as the window says), `dt` seconds apart."""
    for _ in range(frames):
        clock.now += dt
        window.process_frame(next(stream_frames(window.source, StreamControl(mirror=window.mirror))).frame_bgr)


def manifest_files(root):
    with open(root / "manifest.csv", newline="", encoding="utf-8") as handle:
        return sorted(row["file"] for row in csv.DictReader(handle))


def test_number_key_selects_a_class(tmp_path, make_window, qtbot):
    window = make_window(tmp_path)
    assert window.current_class == "cool"
    with qtbot.waitSignal(window.class_selected) as selected:
        qtbot.keyClick(window, Qt.Key.Key_3)
    assert selected.args == ["ok"] and window.current_class == "ok"
    qtbot.keyClick(window, Qt.Key.Key_9)  # no ninth class: nothing changes
    assert window.current_class == "ok"
    qtbot.mouseClick(window.class_table.rows["yo"].button, Qt.MouseButton.LeftButton)
    assert window.current_class == "yo"


def test_holding_space_records_a_burst_at_the_set_rate(tmp_path, make_window, qtbot, clock):
    window = make_window(tmp_path)
    qtbot.keyClick(window, Qt.Key.Key_2)
    step(window, clock)
    qtbot.keyPress(window, Qt.Key.Key_Space)
    assert window.recording and "Recording" in window.record_button.text()
    # 1 s at 20 frames per second with a 10-per-second burst: one shot on press, then every other frame.
    step(window, clock, frames=20, dt=0.05)
    qtbot.keyRelease(window, Qt.Key.Key_Space)
    assert not window.recording
    assert window.counts()["fist"] == 11
    assert window.class_table.rows["fist"].progress.text() == "11 / 30"
    assert window.class_table.rows["fist"].split.text() == "8·2·1"  # as training splits 11 images
    step(window, clock, frames=10)  # released: no more saves
    files = sorted((tmp_path / "fist").glob("*.jpg"))
    assert len(files) == 11
    assert manifest_files(tmp_path) == [f"fist/{f.name}" for f in files]
    assert len(window.recent_captures()) == 11


def test_auto_repeated_key_events_do_not_stop_the_burst(tmp_path, make_window, qtbot, clock):
    window = make_window(tmp_path)
    step(window, clock)
    qtbot.keyPress(window, Qt.Key.Key_Space)
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    repeat = QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " ", True)
    QApplication.sendEvent(window, repeat)
    assert window.recording
    qtbot.keyRelease(window, Qt.Key.Key_Space)
    assert not window.recording


def test_a_tap_saves_exactly_one_image(tmp_path, make_window, qtbot, clock):
    window = make_window(tmp_path)
    step(window, clock)
    with qtbot.waitSignal(window.image_saved) as saved:
        qtbot.mouseClick(window.record_button, Qt.MouseButton.LeftButton)
    step(window, clock, frames=5)
    assert window.counts()["cool"] == 1
    assert saved.args[0].path.exists()


def test_burst_rate_spinbox_changes_the_rate(tmp_path, make_window, qtbot, clock):
    window = make_window(tmp_path)
    window.fps_spin.setValue(2.0)
    step(window, clock)
    window.press_record()
    step(window, clock, frames=20, dt=0.05)  # 1 s
    window.release_record()
    assert window.counts()["cool"] == 3  # on press, at 0.5 s and at 1.0 s


def test_countdown_then_one_shot_or_a_burst(tmp_path, make_window, qtbot, clock):
    window = make_window(tmp_path, countdown_s=1.0)
    step(window, clock)
    window.press_record()
    window.release_record()  # a tap: one shot when the countdown ends
    step(window, clock, frames=19, dt=0.05)
    assert window.counts()["cool"] == 0 and window.recording
    step(window, clock, frames=3, dt=0.05)
    assert window.counts()["cool"] == 1 and not window.recording

    window.press_record()  # held through the countdown: a burst follows
    step(window, clock, frames=20 + 10, dt=0.05)
    window.release_record()
    assert window.counts()["cool"] == 1 + 5


def test_undo_and_delete_remove_the_file_and_its_row(tmp_path, make_window, qtbot, clock):
    window = make_window(tmp_path)
    step(window, clock)
    for _ in range(3):
        window.press_record()
        window.release_record()
        step(window, clock, dt=0.5)
    first, second, third = sorted(window.recent_captures(), key=lambda s: s.time)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not third.path.exists()
    assert window.counts()["cool"] == 2
    window.recent.setCurrentRow(window.recent_captures().index(first))
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    assert not first.path.exists() and second.path.exists()
    assert manifest_files(tmp_path) == [f"cool/{second.path.name}"]
    assert window.recent_captures() == [second]
    assert window.class_table.rows["cool"].progress.text() == "1 / 30"


def test_reopening_a_folder_resumes_counts_and_strip(tmp_path, make_window, clock):
    first = make_window(tmp_path)
    step(first, clock)
    first.select_class("stop")
    first.press_record()
    step(first, clock, frames=7, dt=0.1)
    first.release_record()
    first.close()
    DatasetWriter(tmp_path).save("thumbs_up", np.zeros((30, 30, 3), np.uint8))  # a class of the user's own

    classes = capture_cli._class_list(capture_cli.build_parser().parse_args(["--out", str(tmp_path)]), DatasetWriter(tmp_path))
    assert classes == ["cool", "fist", "ok", "stop", "yo", "thumbs_up"]
    second = make_window(tmp_path, classes=classes)
    assert second.counts() == {"cool": 0, "fist": 0, "ok": 0, "stop": 8, "yo": 0, "thumbs_up": 1}
    assert len(second.recent_captures()) == 9
    assert second.recent_captures()[0].class_name == "thumbs_up"  # newest first
    second.undo_last()  # earlier sessions' captures are not undone by accident
    assert second.counts()["stop"] == 8


def test_add_class_validates_the_name(tmp_path, make_window, qtbot, clock):
    window = make_window(tmp_path)
    qtbot.mouseClick(window.new_class, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(window.new_class, "../evil")
    qtbot.keyClick(window.new_class, Qt.Key.Key_Return)
    assert "path separator" in window.class_message.text() and window.class_message.isVisible()
    assert window.classes == ["cool", "fist", "ok", "stop", "yo"]
    assert window.add_class("cool") is False and "already" in window.class_message.text()

    window.new_class.setText("wave")
    qtbot.keyClick(window.new_class, Qt.Key.Key_Return)
    assert window.classes[-1] == "wave" and window.current_class == "wave"
    assert window.new_class.text() == "" and not window.class_message.isVisible()
    step(window, clock)
    window.press_record()
    window.release_record()
    assert len(list((tmp_path / "wave").glob("*.jpg"))) == 1
    qtbot.keyClick(window, Qt.Key.Key_6)
    assert window.current_class == "wave"


def test_a_full_disk_stops_recording_with_a_message(tmp_path, make_window, qtbot, clock, monkeypatch):
    window = make_window(tmp_path)
    step(window, clock)
    window.press_record()
    step(window, clock, frames=4, dt=0.1)
    saved_before = sorted((tmp_path / "cool").glob("*.jpg"))
    assert len(saved_before) == 5

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with qtbot.waitSignal(window.error_occurred) as error:
        step(window, clock, dt=0.1)
    assert "disk is full" in error.args[0]
    assert not window.recording
    assert window.error_banner.isVisible() and "disk is full" in window.error_banner.text()
    monkeypatch.undo()
    step(window, clock, frames=5, dt=0.1)  # still held, but recording stopped
    assert sorted((tmp_path / "cool").iterdir()) == saved_before
    assert manifest_files(tmp_path) == [f"cool/{p.name}" for p in saved_before]
    assert window.counts()["cool"] == 5


def test_silhouette_style_saves_white_on_black_after_background(tmp_path, make_window, qtbot, clock):
    window = make_window(tmp_path, input_style="silhouette")
    source = window.source
    step(window, clock)
    window.press_record()
    window.release_record()
    assert window.counts()["cool"] == 0  # no background yet
    assert "press B" in window.style_hint.text()
    source.index = 0
    step(window, clock)
    qtbot.keyClick(window, Qt.Key.Key_B)
    assert window.capturer.extractor.has_background
    step(window, clock, frames=5)  # the ROI brightness has changed since: a "hand"
    window.press_record()
    window.release_record()
    assert window.counts()["cool"] == 1
    image = read_image_bgr(next((tmp_path / "cool").glob("*.jpg")))
    assert image.mean() > 200
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert not window.capturer.extractor.has_background


def test_the_timer_plays_the_source_and_records_while_the_button_is_held(tmp_path, qtbot):
    window = CaptureWindow(GeneratedSource(fps=100), DatasetWriter(tmp_path), burst_fps=30.0)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.frames_shown >= 3, timeout=15000)
    qtbot.mousePress(window.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.counts()["cool"] >= 4, timeout=15000)
    qtbot.mouseRelease(window.record_button, Qt.MouseButton.LeftButton)
    count = window.counts()["cool"]
    qtbot.wait(100)
    assert window.counts()["cool"] == count
    window.close()


def test_source_end_is_reported(tmp_path, qtbot):
    window = CaptureWindow(GeneratedSource(frames=3), DatasetWriter(tmp_path))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.source_ended, timeout=15000):
        window.start()
    # Played at its frame rate, newest frame shown: the last one always is, earlier ones unless the GUI was busy.
    assert 1 <= window.frames_shown <= 3 and window.slot.index == 2
    assert "ended" in window.statusBar().currentMessage() and window.capture_worker is None


def test_overlay_marks_the_box_and_recording():
    frame = np.zeros((120, 160, 3), np.uint8)
    idle = draw_capture_overlay(frame, DEFAULT_ROI)
    recording = draw_capture_overlay(frame, DEFAULT_ROI, recording=True)
    x0, y0, x1, y1 = DEFAULT_ROI.to_pixels(frame.shape)
    assert idle[y0 + 20, x0 + 1].any() and not frame.any()  # drawn on a copy
    assert idle[y0 + 20, x0 + 1, 1] > idle[y0 + 20, x0 + 1, 2]  # green box
    assert recording[y0 + 20, x0 + 1, 2] > recording[y0 + 20, x0 + 1, 1]  # red while recording


def test_screenshot_option_writes_a_png(tmp_path, hand_crops):
    path = tmp_path / "shot.png"
    assert capture_cli.main(["--source", str(hand_crops), "--out", str(tmp_path / "data"), "--screenshot", str(path)]) == 0
    image = read_image_bgr(path)
    assert image.shape[0] > 500 and image.shape[1] > 900
    assert image.std() > 10  # not a blank window


class LiveSource(GeneratedSource):
    """A camera-like source: frames at their own pace, one interruption (a cable wiggle) on the way."""

    live = True

    def __init__(self, frames: int):
        super().__init__(frames=frames, fps=200)
        self.interrupted = False

    def read(self):
        import time

        from gesture_app.core.sources import SourceInterrupted

        time.sleep(0.005)
        if self.index == 5 and not self.interrupted:
            self.interrupted = True
            raise SourceInterrupted("camera 0 stopped delivering frames; retrying")
        return super().read()


def test_a_live_source_is_read_off_the_gui_thread_and_survives_an_interruption(tmp_path, qtbot):
    window = CaptureWindow(LiveSource(frames=30), DatasetWriter(tmp_path))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.source_ended, timeout=15000):
        window.start()
    assert window.source.interrupted
    assert 5 < window.frames_shown <= 30  # the newest frame is shown; stale ones may be skipped
    assert window.capture_worker is None  # stopped at the end


def test_dragging_and_scrolling_the_preview_moves_and_resizes_the_box(tmp_path, make_window, qtbot, clock):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    window = make_window(tmp_path)
    step(window, clock)
    qtbot.wait(10)  # paint once so the preview knows where the frame is
    window.preview.repaint()
    centre = window.preview.rect().center()
    target, roi = window.preview._target, window.capturer.roi
    box_centre = QPoint(int(target.x() + target.width() * roi.cx), int(target.y() + target.height() * roi.cy))
    qtbot.mouseClick(window.preview, Qt.MouseButton.LeftButton, pos=centre)
    assert window.capturer.roi == roi  # a click alone does not move the box
    qtbot.mousePress(window.preview, Qt.MouseButton.LeftButton, pos=box_centre)  # grab the box, drag it to the middle
    for i in range(1, 5):
        qtbot.mouseMove(window.preview, box_centre + (centre - box_centre) * i / 4)
    qtbot.mouseRelease(window.preview, Qt.MouseButton.LeftButton, pos=centre)
    assert window.capturer.roi.cx == pytest.approx(0.5, abs=0.02)
    assert window.capturer.roi.cy == pytest.approx(0.5, abs=0.02)
    size = window.capturer.roi.size
    wheel = QWheelEvent(
        QPointF(centre), QPointF(window.preview.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, -240),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(window.preview, wheel)
    assert window.capturer.roi.size == pytest.approx(size / 1.05**2)
    window.press_record()
    window.release_record()
    saved = window.recent_captures()[0]
    side = int(round(window.capturer.roi.size * 120))
    assert read_image_bgr(saved.path).shape[:2] == (side, side)


def test_counts_past_the_target_are_shown_as_they_are(tmp_path, make_window, clock):
    window = make_window(tmp_path, target=3)
    step(window, clock)
    window.press_record()
    step(window, clock, frames=5, dt=0.1)
    window.release_record()
    row = window.class_table.rows["cool"]
    assert window.counts()["cool"] == 6
    assert row.progress.text() == "6 / 3" and row.progress.value() == row.progress.maximum() == 3


class StillSource(FrameSource):
    """The same frame for ever."""

    name = "generated"

    def __init__(self, frame):
        self.frame = frame

    def read(self):
        return self.frame.copy()


def test_m_key_mirrors_the_frame_before_the_crop(tmp_path, make_window, qtbot, clock):
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:, 80:] = 200  # bright right half, where the default box is
    window = make_window(tmp_path, StillSource(frame))
    step(window, clock)
    assert window.controller.image_bgr.mean() > 150
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert window.mirror and window.mirror_check.isChecked()
    step(window, clock, dt=1)
    assert window.controller.image_bgr.mean() < 100  # the box now holds the (dark) mirrored left half
    window.press_record()
    window.release_record()
    with open(tmp_path / "manifest.csv", newline="", encoding="utf-8") as handle:
        assert next(csv.DictReader(handle))["source"] == "generated (mirrored)"


def test_l_toggles_finding_the_hand_and_no_hand_is_said_and_skipped(tmp_path, make_window, qtbot, clock):
    from hands_helpers import CLIP_PHOTO, read_test_image

    from gesture_app.core.capture import NO_HAND

    hand_bgr, room_bgr = read_test_image(CLIP_PHOTO), read_test_image("no_hand_room.jpg")
    source = StillSource(hand_bgr)
    window = make_window(tmp_path, source)
    step(window, clock)
    side = DEFAULT_ROI.to_pixels(hand_bgr.shape)[2] - DEFAULT_ROI.to_pixels(hand_bgr.shape)[0]
    assert not window.locate_check.isChecked() and window.controller.image_bgr.shape == (side, side, 3)

    qtbot.keyClick(window, Qt.Key.Key_L)
    assert window.locate_check.isChecked() and window.controller.locate == "auto"
    step(window, clock, dt=1)
    shot = window.controller.shot
    x0, y0, x1, y1 = shot.box_xyxy  # the preview's box follows the hand
    assert x1 - x0 < side and shot.landmarks_px.shape == (21, 3)
    points_xy = shot.landmarks_px[:, :2]
    assert (points_xy.min(axis=0) >= (x0, y0)).all() and (points_xy.max(axis=0) <= (x1, y1)).all()
    window.press_record()
    window.release_record()
    with open(tmp_path / "manifest.csv", newline="", encoding="utf-8") as handle:
        assert next(csv.DictReader(handle))["landmarks"].split()[0] in ("left", "right")

    source.frame = cv2.resize(room_bgr, hand_bgr.shape[1::-1])
    step(window, clock, dt=1)
    assert window.crop_preview.text() == NO_HAND
    window.press_record()
    window.release_record()
    assert window.writer.count("cool") == 1 and window.controller.no_hand_skips == 1
    assert "no hand in view" in window.statusBar().currentMessage()

    qtbot.keyClick(window, Qt.Key.Key_L)  # off: the box is saved whatever is in it
    step(window, clock, dt=1)
    assert window.controller.locate == "off" and window.controller.image_bgr.shape == (side, side, 3)
    window.style_combo.setCurrentText("silhouette")
    assert not window.locate_check.isEnabled()  # silhouettes are cut from the box


def test_overlay_draws_the_hands_box_skeleton_and_no_hand():
    frame = np.zeros((240, 320, 3), np.uint8)
    points = np.zeros((21, 3), np.float32)
    points[:, 0], points[:, 1] = np.linspace(100, 200, 21), 120
    drawn = draw_capture_overlay(frame, DEFAULT_ROI, box_xyxy=(90, 60, 210, 180), landmarks_px=points)
    assert drawn[120, 150].any()  # the skeleton
    assert drawn[120, 90, 1] > drawn[120, 90, 2]  # the hand's box (green), not the region of interest's
    x0, y0, _, _ = DEFAULT_ROI.to_pixels(frame.shape)
    assert not drawn[y0 + 30, x0 + 1].any()
    nothing = draw_capture_overlay(frame, None, message="no hand in view")
    assert nothing[:100].sum() == 0 and nothing[100:140].any()  # no box; the message across the middle
