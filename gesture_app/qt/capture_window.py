"""The `gesture-capture` window: live preview with the region of interest, classes with counts, hold-to-record.

Thin Qt over the core in `dataset_writer`: a timer polls the source for the newest frame, the
`Capturer` turns it into the image to save and the `DatasetWriter` saves it; this module only
shows state and turns keys and buttons into calls.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from models.images import UnreadableImageError, read_image_bgr
from models.preprocess import INPUT_STYLES

from ..core.dataset_writer import (
    TARGET_PER_CLASS,
    BurstClock,
    Capturer,
    ClassNameError,
    DatasetWriteError,
    DatasetWriter,
    SavedImage,
    default_classes,
    split_counts,
    validate_class_name,
)
from .env import use_pyside_plugins
from .image import bgr_to_qimage
from ..core.roi import DEFAULT_ROI, RegionOfInterest
from .video_view import VideoView

# Importing cv2 pointed Qt at OpenCV's own plugins; undo that before any QApplication exists.
use_pyside_plugins()

logger = logging.getLogger(__name__)

BOX_IDLE_BGR = (80, 200, 80)
BOX_RECORDING_BGR = (40, 40, 230)
BOX_COUNTDOWN_BGR = (0, 200, 255)
THUMB_SIZE = 72
RECORD_LABEL = "● Record (hold Space)"


def draw_capture_overlay(
    frame_bgr: np.ndarray, roi: RegionOfInterest, *, recording: bool = False, countdown_s: float | None = None
) -> np.ndarray:
    """A copy of the frame with the region-of-interest box, a REC mark and the countdown drawn on it."""
    canvas_bgr = frame_bgr.copy()
    x0, y0, x1, y1 = roi.to_pixels(canvas_bgr.shape)
    colour = BOX_COUNTDOWN_BGR if countdown_s is not None else BOX_RECORDING_BGR if recording else BOX_IDLE_BGR
    thickness = max(2, canvas_bgr.shape[0] // 160)
    cv2.rectangle(canvas_bgr, (x0, y0), (x1 - 1, y1 - 1), colour, thickness, cv2.LINE_AA)
    scale = canvas_bgr.shape[0] / 480
    if recording:
        cv2.circle(canvas_bgr, (int(24 * scale), int(24 * scale)), int(9 * scale), BOX_RECORDING_BGR, -1, cv2.LINE_AA)
        origin = (int(40 * scale), int(33 * scale))
        weight = max(1, int(2 * scale))
        cv2.putText(canvas_bgr, "REC", origin, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, BOX_RECORDING_BGR, weight, cv2.LINE_AA)
    if countdown_s is not None:
        text = f"{max(1, int(np.ceil(countdown_s)))}"
        font_scale = 3.0 * scale
        weight = max(2, int(6 * scale))
        (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, weight)
        origin = ((x0 + x1 - width) // 2, (y0 + y1 + height) // 2)
        cv2.putText(canvas_bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), weight + 4, cv2.LINE_AA)
        cv2.putText(canvas_bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, BOX_COUNTDOWN_BGR, weight, cv2.LINE_AA)
    return canvas_bgr


def _thumbnail_icon(image_bgr: np.ndarray) -> QIcon:
    height, width = image_bgr.shape[:2]
    scale = THUMB_SIZE / max(height, width)
    small_bgr = cv2.resize(image_bgr, (max(1, int(width * scale)), max(1, int(height * scale))), interpolation=cv2.INTER_AREA)
    return QIcon(QPixmap.fromImage(bgr_to_qimage(small_bgr)))


_NO_NEW_FRAME = object()


class _LiveReader:
    """Reads a live source on its own thread into a one-frame slot, so the window never waits on a camera."""

    def __init__(self, source):
        from ..core.frame_slot import FrameSlot

        self.source = source
        self.slot = FrameSlot()
        self.ended = False
        self._problem: Exception | None = None  # SourceInterrupted (passing) or SourceError (final)
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from ..core.sources import SourceError, SourceInterrupted

        while not self._stop_event.is_set():
            try:
                frame_bgr = self.source.read()
            except SourceInterrupted as exc:
                self._problem = exc
                continue
            except SourceError as exc:
                self._problem = exc
                return
            if frame_bgr is None:
                self.ended = True
                return
            self._problem = None
            self.slot.put(frame_bgr)

    def raise_problem(self) -> None:
        """Raise what stopped the frames (if anything), in the GUI thread."""
        problem = self._problem
        if problem is not None:
            raise problem

    def stop(self) -> None:
        self._stop_event.set()
        self._thread.join(timeout=2.0)


class _ClassRow:
    """The widgets of one class: its select button, progress against the target and split line."""

    def __init__(self, name: str, target: int):
        self.name = name
        self.button = QPushButton(name)
        self.button.setCheckable(True)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.setMinimumWidth(90)
        self.button.setStyleSheet("QPushButton:checked { background: #2f6db5; color: white; font-weight: bold; }")
        self.progress = QProgressBar()
        self.progress.setRange(0, target)
        self.progress.setMinimumWidth(120)
        self.split = QLabel()
        self.split.setToolTip("How this class's images divide into train · val · test")


class CaptureWindow(QMainWindow):
    """Records the crop inside the box into the selected class while Record (Space) is held."""

    image_saved = Signal(object)  # SavedImage
    image_deleted = Signal(object)  # SavedImage
    recording_changed = Signal(bool)
    class_selected = Signal(str)
    error_occurred = Signal(str)  # a message for the user; recording has stopped
    source_ended = Signal()

    def __init__(
        self,
        source,
        writer: DatasetWriter,
        *,
        classes: list[str] | None = None,
        roi: RegionOfInterest = DEFAULT_ROI,
        input_style: str = "colour",
        extractor=None,
        target: int = TARGET_PER_CLASS,
        burst_fps: float = 5.0,
        countdown_s: float = 0.0,
        save_full_frame: bool = False,
        initial_class: str | None = None,
        mirror: bool = False,
        recent_size: int = 12,
        clock=time.monotonic,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._clock = clock  # seconds; tests pass a fake one
        self.source = source
        self.writer = writer
        self.target = target
        self.recent_size = recent_size
        self.countdown_s = float(countdown_s)
        self.capturer = Capturer(
            writer, roi=roi, input_style=input_style, extractor=extractor, save_full_frame=save_full_frame, source_name=source.name
        )
        self.burst_clock = BurstClock(burst_fps)
        self.mirror = mirror
        self.frames_shown = 0
        self.current_class: str | None = None
        self._rows: dict[str, _ClassRow] = {}
        self._counts: dict[str, int] = {}
        self._session_saves: list[SavedImage] = []  # what Undo takes back, newest last
        self._frame_bgr: np.ndarray | None = None
        self._image_bgr: np.ndarray | None = None  # what would be saved for the current frame
        self._held = False
        self._state = "idle"  # idle | countdown | recording
        self._countdown_end = 0.0

        self.setWindowTitle(f"gesture-capture — {writer.root}")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build_ui(input_style, burst_fps, save_full_frame)
        self.set_mirror(mirror)
        for name in classes if classes is not None else default_classes():
            self._add_class_row(validate_class_name(name))
        self._load_recent_from_manifest()
        if initial_class and initial_class in self._rows:
            self.select_class(initial_class)
        elif self._rows:
            self.select_class(next(iter(self._rows)))
        self._update_style_hint()
        report = writer.last_reconcile
        if report.changed:
            self.statusBar().showMessage(
                f"Opened {writer.root}: manifest fixed ({report.rows_dropped} rows without a file dropped, "
                f"{report.rows_added} files without a row added).",
                10000,
            )
        else:
            total = sum(self.counts().values())
            self.statusBar().showMessage(f"Opened {writer.root}: {total} images so far.", 5000)

        self._timer = QTimer(self)
        self._live_reader: _LiveReader | None = None
        self._live_index = -1
        self._timer.timeout.connect(self._on_tick)
        self.image_saved.connect(self._on_image_saved)
        self.recording_changed.connect(self._on_recording_changed)
        self.image_deleted.connect(self._on_image_deleted)

    # -- layout ---------------------------------------------------------------------------------

    def _build_ui(self, input_style: str, burst_fps: float, save_full_frame: bool) -> None:
        self.preview = VideoView(minimum_size=(480, 360))
        self.preview.roi_moved.connect(self._on_roi_moved)
        self.preview.roi_resized.connect(self._on_roi_resized)

        self.error_banner = QLabel()
        self.error_banner.setWordWrap(True)
        self.error_banner.setStyleSheet("background: #8b1a1a; color: white; padding: 6px; font-weight: bold;")
        self.error_banner.hide()

        self.recent = QListWidget()
        self.recent.setViewMode(QListView.ViewMode.IconMode)
        self.recent.setFlow(QListView.Flow.LeftToRight)
        self.recent.setWrapping(False)
        self.recent.setMovement(QListView.Movement.Static)
        self.recent.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.recent.setFixedHeight(THUMB_SIZE + 44)
        self.recent.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.undo_button = QPushButton("Undo last (Ctrl+Z)")
        self.delete_button = QPushButton("Delete selected (Del)")
        for button in (self.undo_button, self.delete_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.undo_button.clicked.connect(self.undo_last)
        self.delete_button.clicked.connect(self.delete_selected)
        strip_buttons = QVBoxLayout()
        strip_buttons.addWidget(self.undo_button)
        strip_buttons.addWidget(self.delete_button)
        strip_buttons.addStretch(1)
        strip = QHBoxLayout()
        strip.addWidget(self.recent, 1)
        strip.addLayout(strip_buttons)
        recent_box = QGroupBox("Last captures")
        recent_box.setLayout(strip)

        left = QVBoxLayout()
        left.addWidget(self.error_banner)
        left.addWidget(self.preview, 1)
        left.addWidget(recent_box)

        # Classes: select button, progress against the target, train/val/test split.
        self.class_group = QButtonGroup(self)
        self.class_group.setExclusive(True)
        self.class_group.buttonClicked.connect(self._on_class_button_clicked)
        self.class_grid = QGridLayout()
        self.class_grid.setColumnStretch(1, 1)
        for column, title in enumerate(("class", "images", "train · val · test")):
            header = QLabel(title)
            header.setStyleSheet("color: gray;")
            self.class_grid.addWidget(header, 0, column)
        self.new_class = QLineEdit()
        self.new_class.setPlaceholderText("new class name")
        # Only a click gives it focus, so Space and the number keys keep driving the recorder.
        self.new_class.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.new_class.returnPressed.connect(self._on_add_class_requested)
        add_button = QPushButton("Add class")
        add_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        add_button.clicked.connect(self._on_add_class_requested)
        add_row = QHBoxLayout()
        add_row.addWidget(self.new_class, 1)
        add_row.addWidget(add_button)
        self.class_message = QLabel()
        self.class_message.setWordWrap(True)
        self.class_message.setStyleSheet("color: #c03030;")
        self.class_message.hide()
        split = " · ".join(f"{part} {count}" for part, count in split_counts(self.target).items())
        targets_note = QLabel(f"Target {self.target} per class ({split}).")
        targets_note.setWordWrap(True)
        classes_layout = QVBoxLayout()
        classes_layout.addWidget(targets_note)
        classes_layout.addLayout(self.class_grid)
        classes_layout.addLayout(add_row)
        classes_layout.addWidget(self.class_message)
        classes_box = QGroupBox("Classes (keys 1–9)")
        classes_box.setLayout(classes_layout)

        # Recording.
        self.record_button = QPushButton(RECORD_LABEL)
        self.record_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.record_button.setMinimumHeight(44)
        self.record_button.setStyleSheet("QPushButton { font-weight: bold; } QPushButton:pressed { background: #c03030; color: white; }")
        self.record_button.pressed.connect(self._on_record_pressed)
        self.record_button.released.connect(self._on_record_released)
        self.fps_spin = QDoubleSpinBox()
        self.fps_spin.setRange(0.5, 30.0)
        self.fps_spin.setSingleStep(0.5)
        self.fps_spin.setSuffix(" per second")
        self.fps_spin.setValue(burst_fps)
        self.fps_spin.valueChanged.connect(self._on_burst_fps_changed)
        self.countdown_spin = QSpinBox()
        self.countdown_spin.setRange(0, 10)
        self.countdown_spin.setSuffix(" s")
        self.countdown_spin.setValue(int(round(self.countdown_s)))
        self.countdown_spin.valueChanged.connect(self._on_countdown_changed)
        for spin in (self.fps_spin, self.countdown_spin):
            spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            spin.editingFinished.connect(self.setFocus)
        self.mirror_check = QCheckBox("Mirror (M)")
        self.mirror_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.mirror_check.setChecked(self.mirror)
        self.mirror_check.toggled.connect(self.set_mirror)
        self.full_frame_check = QCheckBox("Also save the full frame")
        self.full_frame_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.full_frame_check.setChecked(save_full_frame)
        self.full_frame_check.toggled.connect(self._on_full_frame_toggled)
        record_form = QFormLayout()
        record_form.addRow(self.record_button)
        record_form.addRow("Burst rate", self.fps_spin)
        record_form.addRow("Countdown", self.countdown_spin)
        record_form.addRow(self.full_frame_check)
        record_form.addRow(self.mirror_check)
        record_box = QGroupBox("Recording")
        record_box.setLayout(record_form)

        # What is saved: the crop in the chosen input style.
        self.style_combo = QComboBox()
        self.style_combo.addItems(list(INPUT_STYLES))
        self.style_combo.setCurrentText(input_style)
        self.style_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.style_combo.currentTextChanged.connect(self._on_input_style_changed)
        self.background_button = QPushButton("Capture background (B)")
        self.reset_background_button = QPushButton("Reset (R)")
        for button in (self.background_button, self.reset_background_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.background_button.clicked.connect(self.capture_background)
        self.reset_background_button.clicked.connect(self.reset_background)
        background_row = QHBoxLayout()
        background_row.addWidget(self.background_button, 1)
        background_row.addWidget(self.reset_background_button)
        self.crop_preview = QLabel()
        self.crop_preview.setFixedSize(128, 128)
        self.crop_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.crop_preview.setStyleSheet("background: #202020; color: #c0c0c0;")
        self.style_hint = QLabel()
        self.style_hint.setWordWrap(True)
        crop_row = QHBoxLayout()
        crop_row.addWidget(self.crop_preview)
        crop_row.addWidget(self.style_hint, 1)
        style_layout = QVBoxLayout()
        style_layout.addWidget(self.style_combo)
        style_layout.addLayout(background_row)
        style_layout.addLayout(crop_row)
        style_box = QGroupBox("Saved image")
        style_box.setLayout(style_layout)

        self.folder_label = QLabel(f"Dataset: {self.writer.root}")
        self.folder_label.setWordWrap(True)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        right = QVBoxLayout()
        right.addWidget(classes_box)
        right.addWidget(record_box)
        right.addWidget(style_box)
        right.addWidget(self.folder_label)
        right.addStretch(1)
        right_widget = QWidget()
        right_widget.setLayout(right)
        right_widget.setFixedWidth(400)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addLayout(left, 1)
        layout.addWidget(right_widget)
        self.setCentralWidget(central)
        self.resize(1240, 760)

    # -- classes and counts ---------------------------------------------------------------------

    @property
    def classes(self) -> list[str]:
        return list(self._rows)

    def counts(self) -> dict[str, int]:
        """Images per class on disk, as last shown."""
        return dict(self._counts)

    def _add_class_row(self, name: str) -> None:
        row = _ClassRow(name, self.target)
        index = len(self._rows)
        self._rows[name] = row
        if index < 9:
            row.button.setText(f"{index + 1}  {name}")
            row.button.setToolTip(f"Select {name!r} (key {index + 1})")
        self.class_group.addButton(row.button)
        self.class_grid.addWidget(row.button, index + 1, 0)  # row 0 holds the headers
        self.class_grid.addWidget(row.progress, index + 1, 1)
        self.class_grid.addWidget(row.split, index + 1, 2)
        self._refresh_count(name)

    def add_class(self, name: str) -> bool:
        """Add a class from the "add class" field; False (and a message) when the name is not usable."""
        try:
            name = validate_class_name(name)
        except ClassNameError as exc:
            self._show_class_message(str(exc))
            return False
        if name in self._rows:
            self._show_class_message(f"There is already a class {name!r}; pick it in the list.")
            return False
        self._add_class_row(name)
        self.class_message.hide()
        self.select_class(name)
        return True

    def _show_class_message(self, message: str) -> None:
        self.class_message.setText(message)
        self.class_message.show()
        self.statusBar().showMessage(message, 8000)

    def select_class(self, name: str) -> None:
        if name not in self._rows:
            raise KeyError(f"unknown class {name!r}; known: {', '.join(self._rows)}")
        if name == self.current_class:
            return
        self._stop("idle")
        self.current_class = name
        self._rows[name].button.setChecked(True)
        self.class_selected.emit(name)

    def _refresh_count(self, name: str) -> None:
        row = self._rows.get(name)
        if row is None:
            return
        count = self.writer.count(name)
        self._counts[name] = count
        row.progress.setValue(min(count, self.target))
        row.progress.setFormat(f"{count} / {self.target}")
        parts = split_counts(count)
        row.split.setText(f"{parts['train']} · {parts['val']} · {parts['test']}")
        done = count >= self.target
        row.progress.setStyleSheet("QProgressBar::chunk { background: #3a9d3a; }" if done else "")

    # -- the frame loop -------------------------------------------------------------------------

    def start(self) -> None:
        """Start showing the source: files at their frame rate; a live camera on its own reader thread."""
        if getattr(self.source, "live", False):
            self._live_reader = _LiveReader(self.source)
            self._timer.start(10)  # polls the newest frame; cheap when there is none
        else:
            fps = getattr(self.source, "fps", 30.0) or 30.0
            self._timer.start(max(1, min(int(1000 / fps), 200)))

    def stop(self) -> None:
        self._timer.stop()
        self._stop("idle")
        if self._live_reader is not None:
            self._live_reader.stop()
            self._live_reader = None

    def _on_tick(self) -> None:
        from ..core.sources import SourceError, SourceInterrupted

        try:
            frame_bgr = self._read_frame()
        except SourceInterrupted as exc:
            self._stop("idle")
            self.statusBar().showMessage(str(exc), 2000)
            return
        except SourceError as exc:
            self.stop()
            self._report_error(str(exc))
            return
        if frame_bgr is None:
            self.stop()
            self.statusBar().showMessage("The source has ended; restart with another --source to record more.")
            self.source_ended.emit()
            return
        if frame_bgr is not _NO_NEW_FRAME:
            self.process_frame(frame_bgr)

    def _read_frame(self):
        """The next frame, None at the end, or _NO_NEW_FRAME while a live source has nothing newer."""
        reader = self._live_reader
        if reader is None:
            return self.source.read()
        index, frame_bgr = reader.slot.newest()
        if index > self._live_index:
            self._live_index = index
            return frame_bgr
        reader.raise_problem()
        return None if reader.ended else _NO_NEW_FRAME

    def process_frame(self, frame_bgr: np.ndarray) -> None:
        """Show one frame and, while recording, save its crop when a shot is due."""
        if self.mirror:
            # Flipped before the crop, as gesture-app --mirror does, so the box means the same in both.
            frame_bgr = cv2.flip(frame_bgr, 1)
        self._frame_bgr = frame_bgr
        self.frames_shown += 1
        self._image_bgr = self.capturer.image_for(frame_bgr)
        now = self._clock()
        countdown_left = None
        if self._state == "countdown":
            countdown_left = self._countdown_end - now
            if countdown_left <= 0:
                countdown_left = None
                self._set_state("recording")
                self.burst_clock.reset()
                self._shoot(now)
                if not self._held:
                    self._set_state("idle")
        elif self._state == "recording":
            self._shoot(now)
        self._show_frame(frame_bgr, countdown_left)

    def _show_frame(self, frame_bgr: np.ndarray, countdown_left: float | None) -> None:
        canvas_bgr = draw_capture_overlay(
            frame_bgr, self.capturer.roi, recording=self._state == "recording", countdown_s=countdown_left
        )
        self.preview.set_image(bgr_to_qimage(canvas_bgr))
        if self._image_bgr is not None:
            crop = QPixmap.fromImage(bgr_to_qimage(self._image_bgr))
            self.crop_preview.setPixmap(
                crop.scaled(self.crop_preview.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            )
        else:
            self.crop_preview.setText("no hand")

    # -- recording ------------------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        return self._state != "idle"

    def press_record(self) -> None:
        """Record is pressed: one shot now (or after the countdown), and more while it stays held."""
        if self._held:
            return
        self._held = True
        if self.current_class is None:
            self._report_error("Select a class first (a button on the right or keys 1–9).")
            self._held = False
            return
        if self.countdown_s > 0:
            self._countdown_end = self._clock() + self.countdown_s
            self._set_state("countdown")
            return
        self._set_state("recording")
        self.burst_clock.reset()
        if self._frame_bgr is not None:
            self._shoot(self._clock())

    def release_record(self) -> None:
        """Record is released: the burst stops (a countdown still ends in one shot)."""
        if not self._held:
            return
        self._held = False
        if self._state == "recording":
            self._set_state("idle")

    def _shoot(self, now: float) -> None:
        if self._frame_bgr is None or self.current_class is None or not self.burst_clock.due(now):
            return
        try:
            saved = self.capturer.capture(self._frame_bgr, self.current_class, self._image_bgr)
        except DatasetWriteError as exc:
            self._stop("idle")
            self._report_error(str(exc))
            return
        if saved is None:
            self.statusBar().showMessage(f"Not saved: {self.capturer.skip_reason}.", 2000)
            return
        self.error_banner.hide()
        self.image_saved.emit(saved)

    def _set_state(self, state: str) -> None:
        was_recording = self.recording
        self._state = state
        if self.recording != was_recording:
            self.recording_changed.emit(self.recording)

    def _stop(self, state: str) -> None:
        self._held = False
        self._set_state(state)

    def _report_error(self, message: str) -> None:
        logger.warning("%s", message)
        self.error_banner.setText(message)
        self.error_banner.show()
        self.statusBar().showMessage(message, 10000)
        self.error_occurred.emit(message)

    # -- captures: the strip, undo, delete ------------------------------------------------------

    def _on_image_saved(self, saved: SavedImage) -> None:
        self._session_saves.append(saved)
        self._add_thumbnail(saved, self._image_bgr if self._image_bgr is not None else read_image_bgr(saved.path))
        self._refresh_count(saved.class_name)
        self.statusBar().showMessage(f"Saved {saved.path.name}", 1500)

    def _add_thumbnail(self, saved: SavedImage, image_bgr: np.ndarray) -> None:
        item = QListWidgetItem(_thumbnail_icon(image_bgr), saved.class_name)
        item.setData(Qt.ItemDataRole.UserRole, saved)
        item.setToolTip(str(saved.path))
        self.recent.insertItem(0, item)
        while self.recent.count() > self.recent_size:
            self.recent.takeItem(self.recent.count() - 1)

    def _load_recent_from_manifest(self) -> None:
        """Show the newest captures already in the folder, so a resumed session sees where it left off."""
        rows = sorted(self.writer.read_manifest(), key=lambda row: row["time"])[-self.recent_size :]
        for row in rows:
            path = self.writer.root / row["file"]
            try:
                image_bgr = read_image_bgr(path)
            except UnreadableImageError:
                continue
            full_frame = self.writer.root / row["full_frame"] if row["full_frame"] else None
            saved = SavedImage(path, row["class"], row["time"], row["source"], row["region"], row["input_style"], full_frame)
            self._add_thumbnail(saved, image_bgr)

    def recent_captures(self) -> list[SavedImage]:
        """The captures in the strip, newest first."""
        return [self.recent.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.recent.count())]

    def undo_last(self) -> SavedImage | None:
        """Delete the newest image saved in this session."""
        if not self._session_saves:
            self.statusBar().showMessage("Nothing to undo in this session.", 3000)
            return None
        saved = self._session_saves[-1]
        return saved if self.delete_capture(saved) else None

    def delete_selected(self) -> SavedImage | None:
        items = self.recent.selectedItems()
        if not items:
            self.statusBar().showMessage("Select a thumbnail in the strip to delete it.", 3000)
            return None
        saved = items[0].data(Qt.ItemDataRole.UserRole)
        return saved if self.delete_capture(saved) else None

    def delete_capture(self, saved: SavedImage) -> bool:
        try:
            self.writer.delete(saved)
        except DatasetWriteError as exc:
            self._report_error(str(exc))
            return False
        self.image_deleted.emit(saved)
        return True

    def _on_image_deleted(self, saved: SavedImage) -> None:
        self._session_saves = [s for s in self._session_saves if s.path != saved.path]
        for index in range(self.recent.count()):
            if self.recent.item(index).data(Qt.ItemDataRole.UserRole).path == saved.path:
                self.recent.takeItem(index)
                break
        self._refresh_count(saved.class_name)
        self.statusBar().showMessage(f"Deleted {Path(saved.path).name}", 3000)

    # -- input style and background -------------------------------------------------------------

    def capture_background(self) -> None:
        if self._frame_bgr is None:
            self.statusBar().showMessage("No frame yet to take the background from.", 3000)
            return
        if self.capturer.extractor is None:
            from ..core.silhouette import SilhouetteExtractor

            self.capturer.extractor = SilhouetteExtractor()
        self.capturer.extractor.capture_background(self.capturer.roi.crop(self._frame_bgr))
        self.statusBar().showMessage("Background captured: now put your hand in the box.", 4000)
        self._update_style_hint()

    def reset_background(self) -> None:
        if self.capturer.extractor is not None:
            self.capturer.extractor.reset()
        self._update_style_hint()

    def _update_style_hint(self) -> None:
        silhouette = self.capturer.input_style == "silhouette"
        self.background_button.setEnabled(silhouette)
        self.reset_background_button.setEnabled(silhouette)
        if not silhouette:
            self.style_hint.setText("The colour crop inside the box is saved, as the app sees it.")
        elif self.capturer.extractor is None or not self.capturer.extractor.has_background:
            self.style_hint.setText("Silhouette: take your hand out of the box and press B to capture the background.")
        else:
            self.style_hint.setText("Silhouette: white hand on black is saved. R resets the background.")

    def set_mirror(self, on: bool) -> None:
        self.mirror = bool(on)
        self.mirror_check.setChecked(self.mirror)
        source_name = getattr(self.source, "name", "source")
        self.capturer.source_name = f"{source_name} (mirrored)" if self.mirror else source_name

    def _on_roi_moved(self, cx: float, cy: float) -> None:
        self._set_roi(self.capturer.roi.moved_to(cx, cy))

    def _on_roi_resized(self, steps: float) -> None:
        self._set_roi(self.capturer.roi.resized(self.capturer.roi.size * (1.05**steps)))

    def _set_roi(self, roi: RegionOfInterest) -> None:
        self.capturer.roi = roi
        extractor = self.capturer.extractor
        if extractor is not None and extractor.has_background:
            # The background was of the old box; a silhouette against it would be noise.
            extractor.reset()
            self._update_style_hint()
            self.statusBar().showMessage("The box moved: take your hand out and capture the background again (B).", 5000)
        if self._frame_bgr is not None:
            self._image_bgr = self.capturer.image_for(self._frame_bgr)
            self._show_frame(self._frame_bgr, None)

    def _on_input_style_changed(self, style: str) -> None:
        self.capturer.input_style = style
        self._update_style_hint()

    # -- controls -------------------------------------------------------------------------------

    def _on_class_button_clicked(self, button) -> None:
        for name, row in self._rows.items():
            if row.button is button:
                self.select_class(name)
                return

    def _on_add_class_requested(self) -> None:
        if self.add_class(self.new_class.text()):
            self.new_class.clear()
            self.setFocus()

    def _on_record_pressed(self) -> None:
        self.press_record()

    def _on_record_released(self) -> None:
        self.release_record()

    def _on_recording_changed(self, recording: bool) -> None:
        self.record_button.setText("■ Recording… (release to stop)" if recording else RECORD_LABEL)

    def _on_burst_fps_changed(self, value: float) -> None:
        self.burst_clock.fps = value

    def _on_countdown_changed(self, value: int) -> None:
        self.countdown_s = float(value)

    def _on_full_frame_toggled(self, checked: bool) -> None:
        self.capturer.save_full_frame = checked

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo_last()
        elif key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.press_record()
        elif Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            index = key - Qt.Key.Key_1
            if index < len(self._rows):
                self.select_class(self.classes[index])
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        elif key == Qt.Key.Key_B:
            self.capture_background()
        elif key == Qt.Key.Key_R:
            self.reset_background()
        elif key == Qt.Key.Key_M:
            self.set_mirror(not self.mirror)
        elif key == Qt.Key.Key_Escape:
            self._stop("idle")
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.release_record()
        else:
            super().keyReleaseEvent(event)

    def changeEvent(self, event) -> None:
        # A key released while another window has focus never arrives: stop rather than record on.
        if event.type() == event.Type.ActivationChange and not self.isActiveWindow() and self._held and not self.record_button.isDown():
            self.release_record()
        super().changeEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.setFocus()

    def mousePressEvent(self, event) -> None:
        # Clicking the preview hands the keys back from a text field.
        self.setFocus()
        super().mousePressEvent(event)

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)

    # -- screenshots ----------------------------------------------------------------------------

    def save_screenshot(self, path: str | Path, frames: int = 20) -> int:
        """Show the window, process `frames` frames, save a PNG of it; 0 on success (for the docs)."""
        self.show()
        app = QApplication.instance()
        for _ in range(frames):
            frame_bgr = self.source.read()
            if frame_bgr is None:
                break
            self.process_frame(frame_bgr)
            app.processEvents()
        app.processEvents()
        # Scale the last frame to the preview's final size.
        if self._frame_bgr is not None:
            self._show_frame(self._frame_bgr, None)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.grab().save(str(path), "PNG"):
            logger.error("Could not write the screenshot to %s; check the folder exists and is writable.", path)
            return 1
        logger.info("screenshot saved to %s", path)
        return 0
