"""The `gesture-capture` window: a thin view over the Qt-free `CaptureController`.

A CaptureWorker plays the source through the core's stream loop into a one-frame slot; a timer
shows the newest frame and hands it to the controller, which decides when to save. This module
only lays out widgets, shows the controller's state and turns keys and buttons into calls.

Train runs `gesture-train` in a child process (`core.training_job`; polled on a timer, as frames
are); Try it runs the trained bundle through the app's own pipeline and overlay on an
InferenceWorker, beside recording.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFileDialog,
    QComboBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from models import CLASS_NAMES
from models.dataset_rules import TARGET_PER_CLASS, ClassNameError, split_counts
from models.images import UnreadableImageError, read_image_bgr
from models.preprocess import INPUT_STYLES

from ..core.bundles import RecentBundles, title_of
from ..core.capture import NO_HAND, RECORDING, CaptureController, CaptureView, DatasetWriter, SavedImage, draw_capture_overlay
from ..core.frame_slot import FrameSlot
from ..core import training_job
from ..core.overlay import OverlayStats, draw_overlay
from ..core.pipeline import GesturePipeline
from ..core.prediction import Prediction
from ..core.rates import RateMeter
from ..core.roi import DEFAULT_ROI, RegionOfInterest
from ..core.stream import ENDED, FRAME, StreamControl, stream_frames
from ..core.training_job import FIRST_TARGET, TrainedBundle, TrainingJob
from .capture_widgets import ClassTable, RecentStrip
from .env import use_pyside_plugins
from .image import bgr_to_qimage
from .train_panel import TrainPanel
from .video_view import VideoView
from .workers import CaptureWorker, InferenceWorker

# Importing cv2 pointed Qt at OpenCV's own plugins; undo that before any QApplication exists.
use_pyside_plugins()

logger = logging.getLogger(__name__)

RECORD_LABEL = "● Record (hold Space)"
RECORDING_LABEL = "■ Recording… (release to stop)"


def _warm_up_keras() -> None:
    """Import Keras on a background thread while gesture-train works, so that Try it opens the new bundle
    at once instead of spending seconds on the import then (the app loads bundles through Keras)."""
    if "keras" not in sys.modules:
        threading.Thread(target=importlib.import_module, args=("keras",), name="warm-up keras", daemon=True).start()


def _no_focus(*widgets) -> None:
    """Buttons and boxes that never take the keyboard, so Space and 1–9 keep driving the recorder."""
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)


class CaptureWindow(QMainWindow):
    """Records the found hand's crop (Find the hand on), or the crop inside the box, into the selected class
    while Record (Space) is held."""

    image_saved = Signal(object)  # SavedImage
    image_deleted = Signal(object)  # SavedImage
    recording_changed = Signal(bool)
    class_selected = Signal(str)
    error_occurred = Signal(str)  # a message for the user; recording has stopped
    source_ended = Signal()
    training_finished = Signal(str)  # the job's final state: done, failed or cancelled
    prediction_shown = Signal(object)  # a Try it Prediction drawn on the preview

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
        locate: str = "off",
        skeleton: bool = True,
        notice: str = "",
        recent_size: int = 12,
        train_args: tuple[str, ...] = (),
        clock=time.monotonic,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.source = source
        self.writer = writer
        self.target = target
        self.controller = CaptureController(
            writer, classes=list(classes if classes is not None else CLASS_NAMES), roi=roi, input_style=input_style,
            extractor=extractor, save_full_frame=save_full_frame, source_name=source.name, mirror=mirror,
            burst_fps=burst_fps, countdown_s=countdown_s, locate=locate, stills=getattr(source, "stills", False),
            clock=clock, listener=self,
        )
        self.show_skeleton = bool(skeleton)
        self.frames_shown = 0
        self.initial_roi = roi  # where Reset box (0, Home, double-click) puts the box
        self._drag_origin = roi
        self.capture_worker: CaptureWorker | None = None
        self.slot = FrameSlot()
        self._shown_index = -1
        self._source_failing = False  # a failure not yet followed by frames: an end after it is a give-up
        # Training and Try it.
        self.runs = training_job.runs_dir(writer.root)
        self.train_args = tuple(train_args)  # added to the landmark run's command line (tests make it tiny)
        self.training: TrainingJob | None = None
        self.trained: TrainedBundle | None = None
        self.trained_title = ""
        self.exported: Path | None = None
        self.recent_bundles = RecentBundles()
        self.try_it = False
        self.pipeline: GesturePipeline | None = None
        self.inference_worker: InferenceWorker | None = None
        self.try_slot = FrameSlot()  # what Try it classifies: every frame the preview shows
        self.last_prediction: Prediction | None = None
        self.last_canvas_bgr: np.ndarray | None = None  # the preview as last drawn
        self._display_rate = RateMeter()
        self._inference_rate = RateMeter()
        self._train_pressed_at: float | None = None
        self.train_to_try_s: float | None = None  # Train pressed -> first prediction of the new bundle shown

        self.setWindowTitle(f"gesture-capture — {writer.root}")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build_ui(input_style, burst_fps, save_full_frame, recent_size)
        for name in self.controller.classes:
            self.class_table.add(name, writer.count(name))
        for saved in self.controller.recent_saves(recent_size):
            self._add_thumbnail(saved)
        first = initial_class if initial_class in self.controller.classes else next(iter(self.controller.classes), None)
        if first is not None:
            self.select_class(first)
        self._update_style_hint()
        self._update_train_buttons()
        self._show_opened_message()
        if notice:
            self.notice_banner.setText(notice)
            self.notice_banner.show()

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_display_tick)

    # -- layout ---------------------------------------------------------------------------------

    def _build_ui(self, input_style: str, burst_fps: float, save_full_frame: bool, recent_size: int) -> None:
        right = QVBoxLayout()
        right.addWidget(self._build_classes_box())
        right.addWidget(self._build_train_box())
        right.addWidget(self._build_recording_box(burst_fps, save_full_frame))
        right.addWidget(self._build_style_box(input_style))
        self.folder_label = QLabel(f"Dataset: {self.writer.root}")
        self.folder_label.setWordWrap(True)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right.addWidget(self.folder_label)
        right.addStretch(1)
        right_widget = QWidget()
        right_widget.setLayout(right)
        # Scrolls on a small screen rather than squeezing the buttons.
        right_scroll = QScrollArea()
        right_scroll.setWidget(right_widget)
        right_scroll.setWidgetResizable(True)
        right_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        right_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        right_scroll.setFixedWidth(460)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addLayout(self._build_preview_column(recent_size), 1)
        layout.addWidget(right_scroll)
        self.setCentralWidget(central)
        self.resize(1240, 760)

    def _build_preview_column(self, recent_size: int) -> QVBoxLayout:
        """The error banner, the live preview (drag moves the box, scroll resizes it, double-click resets it) and the strip of last captures."""
        self.error_banner = QLabel()
        self.error_banner.setWordWrap(True)
        self.error_banner.setStyleSheet("background: #8b1a1a; color: white; padding: 6px; font-weight: bold;")
        self.error_banner.hide()
        self.notice_banner = QLabel()  # not an error: e.g. no camera, so the demo plays
        self.notice_banner.setWordWrap(True)
        self.notice_banner.setStyleSheet("background: #f4c542; color: #1d1d1d; padding: 6px; font-weight: 600;")
        self.notice_banner.hide()
        self.preview = VideoView(minimum_size=(480, 360))
        self.preview.box_drag_started.connect(self._on_box_drag_started)
        self.preview.box_dragged.connect(self._on_box_dragged)
        self.preview.box_reset_requested.connect(self.reset_box)
        self.preview.roi_resized.connect(self._on_roi_resized)

        self.recent = RecentStrip(recent_size)
        self.undo_button = QPushButton("Undo last (Ctrl+Z)")
        self.delete_button = QPushButton("Delete selected (Del)")
        _no_focus(self.undo_button, self.delete_button)
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

        column = QVBoxLayout()
        column.addWidget(self.error_banner)
        column.addWidget(self.notice_banner)
        column.addWidget(self.preview, 1)
        column.addWidget(recent_box)
        return column

    def _build_classes_box(self) -> QGroupBox:
        """The classes with counts and splits, and the field that adds one."""
        self.class_table = ClassTable(self.target, FIRST_TARGET)
        self.class_table.class_clicked.connect(self.select_class)
        self.new_class = QLineEdit()
        self.new_class.setPlaceholderText("new class name")
        # Only a click gives it focus, so Space and the number keys keep driving the recorder.
        self.new_class.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.new_class.returnPressed.connect(self._on_add_class_requested)
        add_button = QPushButton("Add class")
        _no_focus(add_button)
        add_button.clicked.connect(self._on_add_class_requested)
        add_row = QHBoxLayout()
        add_row.addWidget(self.new_class, 1)
        add_row.addWidget(add_button)
        self.class_message = QLabel()
        self.class_message.setWordWrap(True)
        self.class_message.setStyleSheet("color: #c03030;")
        self.class_message.hide()
        split = " · ".join(f"{part} {count}" for part, count in split_counts(self.target).items())
        targets_note = QLabel(f"First target {FIRST_TARGET} a class (enough to Train the landmark head), "
                              f"then {self.target} for the full schedule ({split}).")
        targets_note.setWordWrap(True)
        layout = QVBoxLayout()
        layout.addWidget(targets_note)
        layout.addWidget(self.class_table)
        layout.addLayout(add_row)
        layout.addWidget(self.class_message)
        box = QGroupBox("Classes (keys 1–9)")
        box.setLayout(layout)
        return box

    def _build_train_box(self) -> QGroupBox:
        """Train (T), Cancel, the CNN offer, Try it (Y), Export and Open in gesture-app."""
        self.train_panel = TrainPanel()
        self.train_panel.train_button.clicked.connect(self.train)
        self.train_panel.cancel_button.clicked.connect(self.cancel_training)
        self.train_panel.cnn_button.clicked.connect(self.train_cnn)
        self.train_panel.try_button.toggled.connect(self.set_try_it)
        self.train_panel.export_button.clicked.connect(lambda: self.export_bundle())
        self.train_panel.open_app_button.clicked.connect(lambda: self.open_in_app())
        self._job_timer = QTimer(self)
        self._job_timer.timeout.connect(self._on_job_tick)
        return self.train_panel

    def _build_recording_box(self, burst_fps: float, save_full_frame: bool) -> QGroupBox:
        """Record (hold), the burst rate, the countdown, full frames and mirroring."""
        self.record_button = QPushButton(RECORD_LABEL)
        self.record_button.setMinimumHeight(44)
        self.record_button.setStyleSheet("QPushButton { font-weight: bold; } QPushButton:pressed { background: #c03030; color: white; }")
        self.record_button.pressed.connect(self.press_record)
        self.record_button.released.connect(self.release_record)
        self.fps_spin = QDoubleSpinBox()
        self.fps_spin.setRange(0.5, 30.0)
        self.fps_spin.setSingleStep(0.5)
        self.fps_spin.setSuffix(" per second")
        self.fps_spin.setValue(burst_fps)
        self.fps_spin.valueChanged.connect(self._on_burst_fps_changed)
        self.countdown_spin = QSpinBox()
        self.countdown_spin.setRange(0, 10)
        self.countdown_spin.setSuffix(" s")
        self.countdown_spin.setValue(int(round(self.controller.countdown_s)))
        self.countdown_spin.valueChanged.connect(self._on_countdown_changed)
        for spin in (self.fps_spin, self.countdown_spin):
            spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            spin.editingFinished.connect(self.setFocus)
        self.mirror_check = QCheckBox("Mirror (M)")
        self.mirror_check.setChecked(self.controller.mirror)
        self.mirror_check.toggled.connect(self.set_mirror)
        self.full_frame_check = QCheckBox("Also save the full frame")
        self.full_frame_check.setChecked(save_full_frame)
        self.full_frame_check.toggled.connect(self._on_full_frame_toggled)
        _no_focus(self.record_button, self.mirror_check, self.full_frame_check)
        timing = QHBoxLayout()
        timing.addWidget(QLabel("Burst"))
        timing.addWidget(self.fps_spin, 1)
        timing.addWidget(QLabel("Countdown"))
        timing.addWidget(self.countdown_spin)
        checks = QHBoxLayout()
        checks.addWidget(self.full_frame_check)
        checks.addWidget(self.mirror_check)
        form = QVBoxLayout()
        form.addWidget(self.record_button)
        form.addLayout(timing)
        form.addLayout(checks)
        box = QGroupBox("Recording")
        box.setLayout(form)
        return box

    def _build_style_box(self, input_style: str) -> QGroupBox:
        """What is saved: the input style, the background buttons and a preview of the crop."""
        self.style_combo = QComboBox()
        self.style_combo.addItems(list(INPUT_STYLES))
        self.style_combo.setCurrentText(input_style)
        self.style_combo.currentTextChanged.connect(self._on_input_style_changed)
        self.background_button = QPushButton("Capture background (B)")
        self.reset_background_button = QPushButton("Reset (R)")
        _no_focus(self.style_combo, self.background_button, self.reset_background_button)
        self.background_button.clicked.connect(self.capture_background)
        self.reset_background_button.clicked.connect(self.reset_background)
        background_row = QHBoxLayout()
        background_row.addWidget(self.background_button, 1)
        background_row.addWidget(self.reset_background_button)
        self.crop_preview = QLabel()
        self.crop_preview.setFixedSize(96, 96)
        self.crop_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.crop_preview.setStyleSheet("background: #202020; color: #c0c0c0;")
        self.style_hint = QLabel()
        self.style_hint.setWordWrap(True)
        crop_row = QHBoxLayout()
        crop_row.addWidget(self.crop_preview)
        crop_row.addWidget(self.style_hint, 1)
        self.locate_check = QCheckBox("Find the hand (L)")
        self.locate_check.setToolTip("On: the hand is found anywhere in the picture and its square crop is saved, "
                                     "with its landmarks; frames with no hand are skipped. Off: the crop in the box.")
        self.locate_check.setChecked(self.controller.locate == "auto")
        self.locate_check.toggled.connect(self.set_locate)
        self.skeleton_check = QCheckBox("Skeleton (K)")
        self.skeleton_check.setToolTip("Draw the 21 points the hand model found on the hand")
        self.skeleton_check.setChecked(self.show_skeleton)
        self.skeleton_check.toggled.connect(self.set_skeleton)
        _no_focus(self.locate_check, self.skeleton_check)
        locate_row = QHBoxLayout()
        locate_row.addWidget(self.locate_check, 1)
        locate_row.addWidget(self.skeleton_check)
        layout = QVBoxLayout()
        layout.addLayout(locate_row)
        layout.addWidget(self.style_combo)
        layout.addLayout(background_row)
        layout.addLayout(crop_row)
        box = QGroupBox("Saved image")
        box.setLayout(layout)
        return box

    def _show_opened_message(self) -> None:
        report = self.writer.last_reconcile
        if report.changed:
            self.statusBar().showMessage(
                f"Opened {self.writer.root}: manifest fixed ({report.rows_dropped} rows without a file dropped, "
                f"{report.rows_added} files without a row added).",
                10000,
            )
        else:
            self.statusBar().showMessage(f"Opened {self.writer.root}: {sum(self.counts().values())} images so far.", 5000)

    # -- what the window shows of the controller ------------------------------------------------

    @property
    def capturer(self):
        return self.controller.capturer

    @property
    def classes(self) -> list[str]:
        return list(self.controller.classes)

    @property
    def current_class(self) -> str | None:
        return self.controller.current_class

    @property
    def recording(self) -> bool:
        return self.controller.recording

    @property
    def mirror(self) -> bool:
        return self.controller.mirror

    def counts(self) -> dict[str, int]:
        """Images per class on disk, as last shown."""
        return {name: self.writer.count(name) for name in self.controller.classes}

    def recent_captures(self) -> list[SavedImage]:
        """The captures in the strip, newest first."""
        return self.recent.saves()

    # -- CaptureListener: the controller reports; the window shows ------------------------------

    def on_saved(self, saved: SavedImage, image_bgr: np.ndarray) -> None:
        self.error_banner.hide()
        self._add_thumbnail(saved, image_bgr)
        self.class_table.show_count(saved.class_name, self.writer.count(saved.class_name))
        self._update_train_buttons()
        self.statusBar().showMessage(f"Saved {saved.path.name}", 1500)
        self.image_saved.emit(saved)

    def on_deleted(self, saved: SavedImage) -> None:
        self.recent.remove(saved)
        if saved.class_name in self.class_table.rows:
            self.class_table.show_count(saved.class_name, self.writer.count(saved.class_name))
        self._update_train_buttons()
        self.statusBar().showMessage(f"Deleted {Path(saved.path).name}", 3000)
        self.image_deleted.emit(saved)

    def on_recording_changed(self, recording: bool) -> None:
        self.record_button.setText(RECORDING_LABEL if recording else RECORD_LABEL)
        self.recording_changed.emit(recording)

    def on_skipped(self, reason: str) -> None:
        skipped = self.controller.no_hand_skips
        count = f" ({skipped} frame{'s' if skipped != 1 else ''} skipped for no hand)" if skipped and reason == NO_HAND else ""
        self.statusBar().showMessage(f"Not saved: {reason}{count}.", 2000)

    def on_error(self, message: str) -> None:
        self.error_banner.setText(message)
        self.error_banner.show()
        self.statusBar().showMessage(message, 10000)
        self.error_occurred.emit(message)

    def _add_thumbnail(self, saved: SavedImage, image_bgr: np.ndarray | None = None) -> None:
        if image_bgr is None:
            try:
                image_bgr = read_image_bgr(saved.path)
            except UnreadableImageError:
                return
        self.recent.add(saved, image_bgr)

    # -- classes --------------------------------------------------------------------------------

    def add_class(self, name: str) -> bool:
        """Add a class from the "add class" field; False (and a message) when the name is not usable."""
        try:
            name = self.controller.add_class(name)
        except ClassNameError as exc:
            self.class_message.setText(str(exc))
            self.class_message.show()
            self.statusBar().showMessage(str(exc), 8000)
            return False
        self.class_table.add(name, self.writer.count(name))
        self.class_message.hide()
        self.select_class(name)
        return True

    def select_class(self, name: str) -> None:
        if self.controller.select_class(name):
            self.class_table.select(name)
            self.class_selected.emit(name)

    def _on_add_class_requested(self) -> None:
        if self.add_class(self.new_class.text()):
            self.new_class.clear()
            self.setFocus()

    # -- playing the source ---------------------------------------------------------------------

    def start(self) -> None:
        """Play the source on a capture thread (files at their frame rate) and show its newest frame."""
        self.capture_worker = CaptureWorker(self.source, self.slot, mirror=self.mirror, parent=self)
        self.capture_worker.source_failed.connect(self._on_source_failed)
        self.capture_worker.source_recovered.connect(self._on_source_recovered)
        self.capture_worker.source_ended.connect(self._on_source_ended)
        self.capture_worker.start()
        # Poll at twice the source's rate: each new frame is shown once, within half a frame of arriving.
        self._timer.start(max(5, int(round(500.0 / max(self.source.fps, 1.0)))))

    def stop(self) -> None:
        self._timer.stop()
        self.controller.stop()
        if self.capture_worker is not None:
            if not self.capture_worker.stop():
                logger.warning("capture thread did not stop in time")
            self.capture_worker = None

    def shutdown(self) -> None:
        """The window is going: stop the source, Try it's worker and a training under way (it can be resumed)."""
        self.stop()
        if self.training is not None and self.training.running:
            self.training.cancel()
            self.training.wait(timeout=training_job.CANCEL_GRACE_S + 2)
            self._job_timer.stop()
        if self.inference_worker is not None:
            self.try_slot.close()
            if not self.inference_worker.stop():
                logger.warning("inference thread did not stop in time")
            self.inference_worker = None

    def _on_display_tick(self) -> None:
        index, frame_bgr = self.slot.newest()
        if frame_bgr is not None and index != self._shown_index:
            self._shown_index = index
            self.process_frame(frame_bgr)

    def _on_source_failed(self, message: str) -> None:
        self._source_failing = True
        self.controller.stop()  # no burst of a frozen or broken picture
        self.statusBar().showMessage(message, 2000)

    def _on_source_recovered(self) -> None:
        self._source_failing = False

    def _on_source_ended(self, message: str) -> None:
        self._on_display_tick()  # the last frame, if the timer has not shown it yet
        gave_up = self._source_failing
        self.stop()
        if gave_up:
            self.on_error(message)
        else:
            self.statusBar().showMessage("The source has ended; restart with another --source to record more.")
        self.source_ended.emit()

    def process_frame(self, frame_bgr: np.ndarray) -> None:
        """Show one streamed frame; while recording the controller saves its crop when a shot is due."""
        self.frames_shown += 1
        if self.try_it:
            self.try_slot.put(frame_bgr)  # Try it's worker takes the newest, dropping what it cannot keep up with
        self._show(self.controller.process(frame_bgr))

    def _show(self, view: CaptureView) -> None:
        shot = view.shot
        locating = self.controller.capturer.locating
        hand = shot if shot is not None and not self.try_it else None  # Try it's overlay draws the hand itself
        canvas_bgr = draw_capture_overlay(
            view.frame_bgr, None if locating else self.controller.roi, recording=view.recording, countdown_s=view.countdown_s,
            box_xyxy=hand.box_xyxy if hand is not None else None,
            landmarks_px=hand.landmarks_px if hand is not None and self.show_skeleton else None,
            message=NO_HAND if shot is not None and shot.reason == NO_HAND else "",
        )
        canvas_bgr = self.last_canvas_bgr = self._draw_try_it(canvas_bgr)
        self.preview.set_image(bgr_to_qimage(canvas_bgr))
        if view.image_bgr is not None:
            crop = QPixmap.fromImage(bgr_to_qimage(view.image_bgr))
            self.crop_preview.setPixmap(
                crop.scaled(self.crop_preview.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            )
        else:
            self.crop_preview.setText(NO_HAND if shot is not None and shot.reason == NO_HAND else "no hand")

    def _show_latest(self) -> None:
        if self.controller.frame_bgr is not None:
            self._show(CaptureView(self.controller.frame_bgr, self.controller.image_bgr, self.controller.state == RECORDING,
                                   shot=self.controller.shot))

    # -- recording, undo, delete ----------------------------------------------------------------

    def press_record(self) -> None:
        """Record is pressed: one shot now (or after the countdown), and more while it stays held."""
        self.controller.press()

    def release_record(self) -> None:
        """Record is released: the burst stops (a countdown still ends in one shot)."""
        self.controller.release()

    def undo_last(self) -> SavedImage | None:
        """Delete the newest image saved in this session."""
        if not self.controller.session_saves:
            self.statusBar().showMessage("Nothing to undo in this session.", 3000)
            return None
        return self.controller.undo_last()

    def delete_selected(self) -> SavedImage | None:
        saved = self.recent.selected()
        if saved is None:
            self.statusBar().showMessage("Select a thumbnail in the strip to delete it.", 3000)
            return None
        return saved if self.controller.delete(saved) else None

    # -- input style, background, box, mirror ---------------------------------------------------

    def capture_background(self) -> None:
        if not self.controller.capture_background():
            self.statusBar().showMessage("No frame yet to take the background from.", 3000)
            return
        self.statusBar().showMessage("Background captured: now put your hand in the box.", 4000)
        self._update_style_hint()

    def reset_background(self) -> None:
        self.controller.reset_background()
        self._update_style_hint()

    def _update_style_hint(self) -> None:
        silhouette = self.controller.input_style == "silhouette"
        self.background_button.setEnabled(silhouette)
        self.reset_background_button.setEnabled(silhouette)
        self.locate_check.setEnabled(not silhouette)  # a silhouette is cut from the box, never from a found hand
        self.skeleton_check.setEnabled(self.controller.capturer.locating)
        self.style_hint.setText(self.controller.style_hint())

    def _on_input_style_changed(self, style: str) -> None:
        self.controller.input_style = style
        self._update_style_hint()
        self._show_latest()

    def set_locate(self, on: bool) -> None:
        """Save the hand found anywhere in the picture (on) or the crop in the box (off)."""
        self.controller.locate = "auto" if on else "off"
        self.locate_check.setChecked(bool(on))
        self._update_style_hint()
        self._show_latest()
        self.statusBar().showMessage("Finding the hand anywhere in the picture: the box follows it" if on else
                                     "Saving the box: drag it to move it, scroll to resize it", 4000)

    def set_skeleton(self, on: bool) -> None:
        """Draw the found hand's landmarks in the preview."""
        self.show_skeleton = bool(on)
        self.skeleton_check.setChecked(self.show_skeleton)
        self._show_latest()

    def set_mirror(self, on: bool) -> None:
        """Flip the picture left-right before the crop (in the stream, as gesture-app --mirror does)."""
        self.controller.mirror = on
        self.mirror_check.setChecked(self.controller.mirror)
        if self.pipeline is not None:
            self.pipeline.mirrored = self.controller.mirror  # which hand is which
        if self.capture_worker is not None:
            self.capture_worker.control.mirror = self.controller.mirror

    def _on_box_drag_started(self) -> None:
        roi, frame_bgr = self.controller.roi, self.controller.frame_bgr
        # From where the box is drawn: one pushed past the frame's edge then moves at once.
        self._drag_origin = roi.kept_clear_of((), frame_bgr.shape) if frame_bgr is not None else roi

    def _on_box_dragged(self, dx: float, dy: float) -> None:
        self._set_roi(self._drag_origin.dragged(dx, dy))

    def reset_box(self) -> None:
        """Put the box back where it started (0, Home, or a double-click in the preview)."""
        self._set_roi(self.initial_roi)

    def _on_roi_resized(self, steps: float) -> None:
        self._set_roi(self.controller.roi.resized(self.controller.roi.size * (1.05**steps)))

    def _set_roi(self, roi: RegionOfInterest) -> None:
        if self.controller.set_roi(roi):
            self._update_style_hint()
            self.statusBar().showMessage("The box moved: take your hand out and capture the background again (B).", 5000)
        self._show_latest()

    def _on_burst_fps_changed(self, value: float) -> None:
        self.controller.burst_clock.fps = value

    def _on_countdown_changed(self, value: int) -> None:
        self.controller.countdown_s = float(value)

    def _on_full_frame_toggled(self, checked: bool) -> None:
        self.controller.capturer.save_full_frame = checked

    # -- train, try it, export ------------------------------------------------------------------

    def _update_train_buttons(self) -> None:
        counts = self.counts()
        running = self.training is not None and self.training.running
        why_not = training_job.why_not_trainable(counts)
        self.train_panel.train_button.setEnabled(not running and why_not is None)
        self.train_panel.train_button.setToolTip(why_not or "Train the landmark head on what has been recorded (seconds to "
                                                 "a minute, in the background; the window stays live).")
        if not running:
            self.train_panel.set_cnn_offer(training_job.cnn_offered(counts), resume=training_job.unfinished_cnn_run(self.runs))
        ready = self.trained is not None
        self.train_panel.try_button.setEnabled(ready)
        self.train_panel.export_button.setEnabled(ready)
        self.train_panel.open_app_button.setEnabled(ready)
        if not running and self.trained is None:
            classes = training_job.trainable_classes(counts) or self.controller.classes
            self.train_panel.command_label.setText(training_job.landmark_steps(self.writer.root, classes, self.runs)[0].command_line())

    def train(self) -> bool:
        """Train the landmark head on what has been recorded, in the background; False when it cannot start."""
        return self._start_job(lambda classes: training_job.landmark_steps(self.writer.root, classes, self.runs, self.train_args))

    def train_cnn(self) -> bool:
        """The longer job: the compact CNN (resumed when an earlier one was interrupted), the landmark head, combined.

        It trains on a snapshot of the images recorded so far, so recording can go on meanwhile."""
        snapshot = training_job.cnn_snapshot(self.runs) if training_job.unfinished_cnn_run(self.runs) else None

        def steps(classes):
            if snapshot is not None:  # the images (and classes) the interrupted run was training on
                classes = sorted(p.name for p in snapshot.iterdir() if p.is_dir())
            data = snapshot or training_job.snapshot_dataset(self.writer.root, classes, self.runs)
            return training_job.cnn_steps(data, classes, self.runs, resume=snapshot is not None, extra=self.train_args)

        return self._start_job(steps)

    def _start_job(self, make_steps) -> bool:
        if self.training is not None and self.training.running:
            self.statusBar().showMessage("A training is already running; Cancel it first.", 4000)
            return False
        counts = self.counts()
        why_not = training_job.why_not_trainable(counts)
        if why_not is not None:
            self.train_panel.status.setText(why_not)
            self.statusBar().showMessage(why_not, 6000)
            return False
        steps = make_steps(training_job.trainable_classes(counts))
        self.training = TrainingJob(steps, self.runs)
        try:
            self.training.start()
        except OSError as exc:
            self.training = None
            self.on_error(f"Could not start gesture-train ({exc}); check that {self.runs} is writable.")
            return False
        self._train_pressed_at = time.monotonic()
        self.train_to_try_s = None
        _warm_up_keras()
        self.train_panel.command_label.setText("\n".join(step.command_line() for step in steps))
        self.train_panel.set_running(True)
        self.train_panel.show_status(self.training.status())
        self._update_train_buttons()
        self._job_timer.start(200)
        left_out = sorted(set(self.controller.classes) - set(training_job.trainable_classes(counts)))
        note = f" ({', '.join(left_out)} left out: fewer than 3 images)" if left_out else ""
        self.statusBar().showMessage(f"Training in the background{note}; keep recording if you like.", 6000)
        return True

    def cancel_training(self) -> None:
        """Stop the training under way: gesture-train stops as on Ctrl+C; no bundle is half written."""
        if self.training is not None and self.training.running:
            self.training.cancel()
            self.train_panel.status.setText("Cancelling…")

    def _on_job_tick(self) -> None:
        job = self.training
        if job is None:
            self._job_timer.stop()
            return
        status = job.poll()
        self.train_panel.show_status(status)
        if not status.finished:
            return
        self._job_timer.stop()
        self.train_panel.set_running(False)
        if status.state == "done" and job.result is not None:
            self._on_trained(job.result)
        elif status.state == "failed":
            self.statusBar().showMessage(f"Training failed: {status.message} (the full output is in {job.log_file}).", 15000)
        self._update_train_buttons()
        self.training_finished.emit(status.state)

    def _on_trained(self, result: TrainedBundle) -> None:
        self.trained = result
        self.trained_title = title_of(result.path)
        self.recent_bundles.add(result.path)
        self.class_table.clear_accuracy()
        for name, score in result.per_class.items():
            if name in self.class_table.rows:
                self.class_table.show_accuracy(name, score.correct, score.count)
        accuracy = f"{result.accuracy * 100:.0f} %" if result.accuracy is not None else "–"
        no_hand = f", no hand found in {result.no_hand}" if result.no_hand else ""
        self.train_panel.bundle_label.setText(
            f"<b>{self.trained_title}</b><br>test accuracy {accuracy} on {result.test_images} held-out images{no_hand}; "
            f"trained in {result.seconds:.0f} s"
        )
        self.train_panel.bundle_label.setToolTip(str(result.path))
        self.train_panel.status.setText("Trained: trying it live. Weak classes are marked: record more of them and Train again.")
        if self.try_it:
            self._load_trained()
        else:
            self.set_try_it(True)

    def set_try_it(self, on: bool) -> None:
        """Run the last trained bundle on the live preview with the app's overlay (recording still works)."""
        on = bool(on) and self.trained is not None
        self.try_it = on
        self.train_panel.try_button.blockSignals(True)
        self.train_panel.try_button.setChecked(on)
        self.train_panel.try_button.blockSignals(False)
        if on:
            if self.inference_worker is None:
                self._start_inference()
            self._load_trained()
        else:
            self.last_prediction = None
        self._show_latest()

    def _start_inference(self) -> None:
        # The app's own pipeline: find the hands anywhere, classify each, smooth, threshold.
        self.pipeline = GesturePipeline(None, roi=self.controller.roi, mirrored=self.controller.mirror)
        self.try_slot = FrameSlot()
        self.inference_worker = InferenceWorker(self.pipeline, self.try_slot, parent=self)
        self.inference_worker.prediction_ready.connect(self._on_prediction_ready)
        self.inference_worker.model_failed.connect(lambda path, message: self.on_error(f"Cannot try {path}: {message}"))
        self.inference_worker.start()

    def _load_trained(self) -> None:
        self.last_prediction = None
        self._inference_rate.reset()
        self.inference_worker.load_model(self.trained.path)

    def _on_prediction_ready(self, prediction: Prediction) -> None:
        if not self.try_it or self.inference_worker is None or self.inference_worker.loading:
            return
        self.last_prediction = prediction
        self._inference_rate.tick()
        if self.train_to_try_s is None and self._train_pressed_at is not None and (prediction.classified or prediction.no_hand):
            self.train_to_try_s = time.monotonic() - self._train_pressed_at
            logger.info("Train to Try it: %.1f s", self.train_to_try_s)
            self.statusBar().showMessage(f"From Train to trying it live: {self.train_to_try_s:.0f} s.", 10000)
        self.prediction_shown.emit(prediction)

    def _draw_try_it(self, canvas_bgr: np.ndarray) -> np.ndarray:
        if not self.try_it:
            return canvas_bgr
        self._display_rate.tick()
        loading = self.inference_worker is not None and self.inference_worker.loading
        prediction = None if loading else self.last_prediction
        read = prediction is not None and (prediction.classified or prediction.no_hand)
        stats = OverlayStats(
            display_fps=self._display_rate.rate, inference_fps=self._inference_rate.rate if read else None,
            latency_ms=prediction.latency_ms if read else None, device=self._try_it_device(),
            model=self.trained_title, message="loading model…" if loading else "trying it (Y: stop)",
        )
        return draw_overlay(canvas_bgr, prediction, None, stats, landmarks=True)

    def _try_it_device(self) -> str:
        classifier = self.pipeline.classifier if self.pipeline is not None else None
        if classifier is None:
            return ""
        device = self.inference_worker.device_name if self.inference_worker is not None else ""
        return f"{device or 'CPU'}, {classifier.runtime}"

    def export_bundle(self, folder: str | Path | None = None) -> Path | None:
        """Copy the trained bundle into a folder the user picks; returns the exported bundle's path."""
        if self.trained is None:
            return None
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Export the bundle into this folder", str(self.writer.root.parent))
            if not folder:
                return None
        try:
            self.exported = training_job.export_bundle(self.trained.path, folder)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export failed", f"Could not export the bundle to {folder}: {exc}")
            return None
        self.recent_bundles.add(self.exported)
        self.statusBar().showMessage(f"Exported to {self.exported}; gesture-app --model {self.exported} opens it.", 10000)
        return self.exported

    def open_in_app(self):
        """Start gesture-app on the exported bundle (or the trained one), on this window's source where it can share it."""
        bundle = self.exported or (self.trained.path if self.trained is not None else None)
        if bundle is None:
            return None
        source = "demo" if self.source.name == "demo" else None  # a camera is held by this window
        process = training_job.open_in_app(bundle, source)
        self.statusBar().showMessage(f"Started gesture-app on {title_of(bundle)}.", 6000)
        return process

    # -- keys and window events -----------------------------------------------------------------

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo_last()
        elif key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.press_record()
        elif Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            index = key - Qt.Key.Key_1
            if index < len(self.controller.classes):
                self.select_class(self.controller.classes[index])
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        elif key == Qt.Key.Key_B:
            self.capture_background()
        elif key == Qt.Key.Key_R:
            self.reset_background()
        elif key == Qt.Key.Key_M:
            self.set_mirror(not self.mirror)
        elif key == Qt.Key.Key_L:
            if self.locate_check.isEnabled():
                self.set_locate(self.controller.locate != "auto")
        elif key == Qt.Key.Key_K:
            self.set_skeleton(not self.show_skeleton)
        elif key == Qt.Key.Key_T and not event.isAutoRepeat():
            self.train()
        elif key == Qt.Key.Key_Y and not event.isAutoRepeat():
            if self.train_panel.try_button.isEnabled():
                self.set_try_it(not self.try_it)
        elif key == Qt.Key.Key_Escape:
            self.controller.stop()
        elif key in (Qt.Key.Key_0, Qt.Key.Key_Home) and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.reset_box()
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
        if event.type() == event.Type.ActivationChange and not self.isActiveWindow() and self.controller.held and not self.record_button.isDown():
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
        self.shutdown()
        super().closeEvent(event)

    # -- screenshots ----------------------------------------------------------------------------

    def save_screenshot(self, path: str | Path, frames: int = 20) -> int:
        """Show the window, stream `frames` frames through it, save a PNG of it; 0 on success (for the docs)."""
        self.show()
        app = QApplication.instance()
        events = stream_frames(self.source, StreamControl(mirror=self.mirror))
        shown = 0
        for event in events:
            if event.kind == FRAME:
                self.process_frame(event.frame_bgr)
                app.processEvents()
                shown += 1
            if shown >= frames or event.kind == ENDED:
                break
        events.close()
        app.processEvents()
        self._show_latest()  # scale the last frame to the preview's final size
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.grab().save(str(path), "PNG"):
            logger.error("Could not write the screenshot to %s; check the folder exists and is writable.", path)
            return 1
        logger.info("screenshot saved to %s", path)
        return 0
