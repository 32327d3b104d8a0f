"""The user's box (gesture-app --locate off, and gesture-capture): a click never moves it, a drag does,
Reset box puts it back, and it never slides under the overlay's readout."""

import numpy as np
import pytest
from app_helpers import FakeClassifier, GeneratedSource
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from gesture_app.core.overlay import class_colour_bgr, draw_overlay, label_area, panel_on_right, readout_area
from gesture_app.core.prediction import make_prediction
from gesture_app.core.roi import DEFAULT_ROI, RegionOfInterest

CONFIDENT_STOP = [0.02, 0.03, 0.05, 0.85, 0.05]
WAIT_MS = 5000


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# ---- the core: where the box may go, where the panel goes ------------------------------------------

@pytest.mark.parametrize("shape", [(480, 640, 3), (720, 1280, 3), (240, 320, 3), (480, 480, 3)])
def test_a_box_is_kept_off_the_readout_wherever_it_is_put(shape):
    for size in (0.3, 0.45, 0.6):
        for cx in np.linspace(0, 1, 21):
            for cy in np.linspace(0, 1, 11):
                roi = RegionOfInterest(float(cx), float(cy), size).kept_clear_of([readout_area(shape, RegionOfInterest(float(cx), float(cy), size))], shape)
                box = roi.to_pixels(shape)
                assert not _overlaps(box, readout_area(shape, roi)), (shape, size, cx, cy, box)
                assert 0 <= box[0] and box[2] <= shape[1] and 0 <= box[1] and box[3] <= shape[0]


def test_kept_clear_moves_the_box_as_little_as_it_can():
    shape = (480, 640, 3)
    assert DEFAULT_ROI.kept_clear_of([readout_area(shape, DEFAULT_ROI)], shape).to_pixels(shape) == DEFAULT_ROI.to_pixels(shape)
    # Just left of where it may go (its left edge 20 px into the readout): pushed down or right, by the lesser
    area = readout_area(shape)
    roi = RegionOfInterest.from_pixels((area[2] - 20, 60, area[2] - 20 + 200, 260), shape)
    x0, y0, _, _ = roi.kept_clear_of([area], shape).to_pixels(shape)
    assert (x0, y0) == (area[2], 60)  # 20 px right rather than 88 px down
    # A box pushed past the frame's edge is kept where it is drawn (no overshoot carried into the next drag).
    over = RegionOfInterest(1.0, 0.5, 0.5)
    kept = over.kept_clear_of((), shape)
    assert kept.to_pixels(shape) == over.to_pixels(shape) and kept.cx < 1.0


def test_the_panel_takes_the_corner_the_box_leaves_free():
    frame_bgr = np.full((480, 640, 3), 120, np.uint8)
    stop = make_prediction(np.array(CONFIDENT_STOP, np.float32))
    left_box = RegionOfInterest(0.25, 0.5, 0.5)
    assert not panel_on_right(frame_bgr.shape, DEFAULT_ROI) and panel_on_right(frame_bgr.shape, left_box)
    for roi in (DEFAULT_ROI, left_box):
        image = draw_overlay(frame_bgr, stop, roi)
        x0, y0, x1, y1 = readout_area(frame_bgr.shape, roi)
        title = image[label_area(frame_bgr.shape)[1]:label_area(frame_bgr.shape)[3], x0:x1]
        distance = np.abs(title.reshape(-1, 3).astype(int) - np.array(class_colour_bgr("stop"))).sum(axis=1)
        assert (distance < 30).sum() > 80  # STOP is written in the readout on the box's far side
        assert not _overlaps(roi.to_pixels(frame_bgr.shape), (x0, y0, x1, y1))


# ---- the mouse ----------------------------------------------------------------------------------------

def _mouse(widget, kind, pos, buttons=Qt.MouseButton.LeftButton):
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else buttons
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos.toPoint())), button, held, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _drag(widget, start: QPointF, end: QPointF, steps: int = 5) -> None:
    _mouse(widget, QEvent.Type.MouseButtonPress, start)
    for i in range(1, steps + 1):
        _mouse(widget, QEvent.Type.MouseMove, start + (end - start) * (i / steps))
    _mouse(widget, QEvent.Type.MouseButtonRelease, end)


def _click(widget, pos: QPointF, jitter: float = 0.0) -> None:
    _mouse(widget, QEvent.Type.MouseButtonPress, pos)
    if jitter:
        _mouse(widget, QEvent.Type.MouseMove, pos + QPointF(jitter, jitter / 2))
    _mouse(widget, QEvent.Type.MouseButtonRelease, pos)


def _double_click(widget, pos: QPointF) -> None:
    _click(widget, pos)
    _mouse(widget, QEvent.Type.MouseButtonDblClick, pos)
    _mouse(widget, QEvent.Type.MouseButtonRelease, pos)


@pytest.fixture
def box_window(qtbot, make_window):
    window = make_window(GeneratedSource(fps=60, size=(640, 480)), FakeClassifier(CONFIDENT_STOP), locate="off")
    qtbot.waitUntil(lambda: window.frames_shown >= 2, timeout=WAIT_MS)
    window.video_view.repaint()
    return window


def test_a_click_in_the_video_does_not_move_the_box(box_window):
    view, before = box_window.video_view, box_window.pipeline.roi
    _click(view, QPointF(view.width() / 4, view.height() / 2))
    _click(view, QPointF(view.width() / 4, view.height() / 2), jitter=QApplication.startDragDistance() / 3)  # a shaky click
    assert box_window.pipeline.roi == before


def test_a_drag_moves_the_box_by_as_much_as_the_mouse_moved(box_window):
    view, before = box_window.video_view, box_window.pipeline.roi
    target = view._target
    start = QPointF(target.x() + target.width() * before.cx, target.y() + target.height() * before.cy)
    _drag(view, start, start + QPointF(target.width() * 0.05, target.height() * 0.1))  # clear of the readout there
    after = box_window.pipeline.roi
    assert after.cx == pytest.approx(before.cx + 0.05, abs=0.01) and after.cy == pytest.approx(before.cy + 0.1, abs=0.01)
    assert after.size == before.size


def test_a_box_dragged_into_the_corner_stays_off_the_readout_and_the_panel_moves_over(qtbot, box_window):
    view, target = box_window.video_view, box_window.video_view._target
    roi = box_window.pipeline.roi
    start = QPointF(target.x() + target.width() * roi.cx, target.y() + target.height() * roi.cy)
    _drag(view, start, QPointF(target.x() + 2, target.y() + 2))  # as far up and left as the video goes
    shape = box_window.last_frame_bgr.shape
    box = box_window.pipeline.roi.to_pixels(shape)
    assert box[0] == 0  # at the left edge, as dragged
    assert panel_on_right(shape, box_window.pipeline.roi)
    assert not _overlaps(box, readout_area(shape, box_window.pipeline.roi))
    # and dragged back to the right half, under where the panel was: pushed clear of it there too
    _drag(view, QPointF(target.x() + 2, target.y() + 2), QPointF(target.x() + target.width() * 0.55, target.y() + 2))
    box = box_window.pipeline.roi.to_pixels(shape)
    assert not panel_on_right(shape, box_window.pipeline.roi)
    assert not _overlaps(box, readout_area(shape, box_window.pipeline.roi))


def test_reset_box_by_double_click_or_key_puts_it_back(qtbot, box_window):
    view, target = box_window.video_view, box_window.video_view._target
    start = QPointF(target.center())
    _drag(view, start, start + QPointF(-80, 60))
    assert box_window.pipeline.roi != DEFAULT_ROI
    _double_click(view, QPointF(target.center()))
    assert box_window.pipeline.roi.to_pixels((480, 640)) == DEFAULT_ROI.to_pixels((480, 640))
    _drag(view, start, start + QPointF(-80, 60))
    assert [key.toString() for key in box_window.reset_box_action.shortcuts()] == ["0", "Home"]
    box_window.reset_box_action.trigger()
    assert box_window.pipeline.roi.to_pixels((480, 640)) == DEFAULT_ROI.to_pixels((480, 640))


def test_with_the_hand_found_anywhere_a_drag_moves_no_box(qtbot, make_window):
    window = make_window(GeneratedSource(fps=60, size=(640, 480)), FakeClassifier(CONFIDENT_STOP), locate="auto")
    qtbot.waitUntil(lambda: window.frames_shown >= 2, timeout=WAIT_MS)
    window.video_view.repaint()
    view, before = window.video_view, window.pipeline.roi
    _drag(view, QPointF(view._target.center()), QPointF(view._target.center()) + QPointF(-100, 50))
    assert window.pipeline.roi == before and "press L" in window.statusBar().currentMessage()


def test_the_capture_preview_moves_on_a_drag_not_a_click_and_resets(qtbot, tmp_path):
    from gesture_app.core.capture import DatasetWriter
    from gesture_app.qt.capture_window import CaptureWindow

    window = CaptureWindow(GeneratedSource(fps=60, size=(640, 480)), DatasetWriter(tmp_path), roi=RegionOfInterest(0.7, 0.5, 0.5))
    qtbot.addWidget(window)
    window.show()
    window.process_frame(np.full((480, 640, 3), 90, np.uint8))
    qtbot.wait(10)  # lay out and paint once, so the preview knows where the frame is
    window.preview.repaint()
    assert not window.preview._target.isEmpty()
    view, target, start_roi = window.preview, window.preview._target, window.capturer.roi
    _click(view, QPointF(target.x() + 5, target.y() + 5))
    assert window.capturer.roi == start_roi
    centre = QPointF(target.x() + target.width() * 0.7, target.y() + target.height() * 0.5)
    _drag(view, centre, centre - QPointF(target.width() * 0.2, 0))
    assert window.capturer.roi.cx == pytest.approx(0.5, abs=0.01)
    qtbot.keyClick(window, Qt.Key.Key_0)
    assert window.capturer.roi == start_roi  # back to where --roi put it
    _drag(view, centre, centre - QPointF(target.width() * 0.2, 0))
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.capturer.roi == start_roi
    _drag(view, centre, centre - QPointF(target.width() * 0.2, 0))
    _double_click(view, centre)
    assert window.capturer.roi == start_roi
