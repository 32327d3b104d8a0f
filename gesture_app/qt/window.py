"""The live recogniser's window: Qt at the edge only.

It owns the two worker threads (capture, inference), polls the newest frame on
a timer at the source's frame rate, draws the overlay with the latest
prediction and paints it; the UI thread never waits on the model. Everything it
shows comes from the Qt-free core (sources, pipeline, overlay).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from models.bundle import default_bundle_path

from ..actions import ActionEngine, load_action_map
from .actions_bar import ActionsBar
from ..core.bundles import RecentBundles, title_of
from ..core.frame_slot import FrameSlot
from ..core.overlay import LOADING_MODEL, OverlayStats, draw_overlay, inset_area, readout_area
from ..core.locate import DEFAULT_LOCATE, DEFAULT_MAX_HANDS
from ..core.pipeline import DEFAULT_SMOOTHING, NO_MODEL, GesturePipeline
from ..core.prediction import DEFAULT_THRESHOLD, Prediction
from .env import use_pyside_plugins
from .image import bgr_to_qimage
from .open_model_dialog import OpenModelDialog
from ..core.rates import RateMeter
from ..core.roi import DEFAULT_ROI, RegionOfInterest
from ..core.sources import CameraSource, FrameSource, SourceError, list_cameras, open_source
from ..core.video import VideoRecorder
from .video_view import VideoView
from .workers import CaptureWorker, InferenceWorker

logger = logging.getLogger(__name__)

# Importing cv2 (above) pointed Qt at OpenCV's own plugins; undo that before any QApplication exists.
use_pyside_plugins()

BANNER_STYLE = "QLabel { background: #f4c542; color: #1d1d1d; padding: 6px 10px; font-weight: 600; }"


def classifier_style(classifier) -> str:
    return classifier.input_style if classifier is not None else ""


class MainWindow(QMainWindow):
    frame_shown = Signal(int)            # index of the frame just painted
    prediction_received = Signal(object)  # every Prediction from the inference worker
    screenshot_saved = Signal(str)
    closed = Signal()

    def __init__(
        self,
        source: FrameSource | None = None,
        *,
        model_path=None,
        classifier=None,
        device: str = "auto",
        runtime: str = "auto",
        device_name: str = "",
        threshold: float = DEFAULT_THRESHOLD,
        smoothing: int = DEFAULT_SMOOTHING,
        roi: RegionOfInterest = DEFAULT_ROI,
        mirror: bool = False,
        loop: bool = False,
        cameras: list[int] | None = None,
        banner: str = "",
        save_dir=None,
        actions: ActionEngine | None = None,
        locate: str | None = DEFAULT_LOCATE,
        max_hands: int = DEFAULT_MAX_HANDS,
        landmarks: bool = True,
        parent=None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Gesture recognition")
        self.recent_bundles = RecentBundles()
        self.loop = loop
        self.save_dir = Path(save_dir) if save_dir is not None else Path.cwd()
        self.slot = FrameSlot()
        self.pipeline = GesturePipeline(classifier, roi=roi, threshold=threshold, smoothing=smoothing, locate=locate,
                                        max_hands=max_hands, mirrored=mirror)
        self.show_landmarks = bool(landmarks)
        self.initial_roi = roi  # where Reset box (0, Home, double-click) puts the box
        self._drag_origin: RegionOfInterest | None = None  # the box when the current drag began
        self.source: FrameSource | None = None
        self.capture_worker: CaptureWorker | None = None
        self.mirror = mirror
        self.paused = False
        self.model_name = classifier.name if classifier is not None else ""
        self.device_name = device_name
        self.last_prediction: Prediction | None = None
        self.last_frame_bgr: np.ndarray | None = None  # as captured, without the overlay
        self.last_annotated_bgr: np.ndarray | None = None
        self.frames_shown = 0
        self.model_error_box: QMessageBox | None = None
        self._shown_index = -1
        self._display_rate = RateMeter()
        self._inference_rate = RateMeter()
        self._recorder: VideoRecorder | None = None
        self.recording_path: Path | None = None
        self._closed = False
        # The banner's two lines: the source's (no camera, ended ...) and the model's (loading, failed),
        # so "Loading model" never hides why the demo plays instead of the camera.
        self._source_message = ""
        self._model_message = ""
        self._loading_name = ""  # the bundle being loaded, while it is
        self._skipped_shown = 0  # unreadable images of a folder source, as last shown in the status bar

        self._build_ui(cameras)
        self._build_actions_bar(actions)
        self.inference_worker = InferenceWorker(self.pipeline, self.slot, device=device, runtime=runtime, parent=self)
        self.inference_worker.prediction_ready.connect(self._on_prediction_ready)
        self.inference_worker.model_loaded.connect(self._on_model_loaded)
        self.inference_worker.model_failed.connect(self._on_model_failed)
        self.inference_worker.device_selected.connect(self._on_device_selected)
        self.inference_worker.failed.connect(self.show_banner)
        self.display_timer = QTimer(self)
        self.display_timer.timeout.connect(self._on_display_tick)
        self.inference_worker.start()

        if banner:
            self.show_banner(banner)
        if model_path is not None:
            self.load_model(model_path)
        if source is not None:
            self.set_source(source)
        self._update_status()

    # ---- building -----------------------------------------------------------------------------
    def _build_ui(self, cameras: list[int] | None) -> None:
        self._build_controls_bar(cameras)
        # Settings on a second row, so a normal-width window shows every control.
        self.addToolBarBreak()
        self._build_settings_bar()
        self._action(None, "Quit", QKeySequence.StandardKey.Quit, self.close)
        self._build_video_area()
        self.resize(900, 680)

    def _toolbar(self, title: str) -> QToolBar:
        toolbar = QToolBar(title, self)
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        return toolbar

    def _build_controls_bar(self, cameras: list[int] | None) -> None:
        """Source, Open model, Mirror, Pause, Screenshot, Record."""
        toolbar = self._toolbar("Controls")
        self.source_box = QComboBox(self)
        self.source_box.setToolTip("Choose a camera, the demo, or open a video file or image folder")
        self.source_box.addItem("demo", "demo")
        for index in cameras if cameras is not None else list_cameras():
            self.source_box.addItem(f"camera {index}", str(index))
        self.source_box.addItem("Open video…", "open-video")
        self.source_box.addItem("Open image folder…", "open-folder")
        self.source_box.activated.connect(self._on_source_chosen)
        toolbar.addWidget(QLabel(" Source ", self))
        toolbar.addWidget(self.source_box)

        self.open_model_action = self._action(toolbar, "Open model…", "Ctrl+O", self._on_open_model_triggered)
        toolbar.addSeparator()
        self.mirror_action = self._action(toolbar, "Mirror", "M", self.set_mirror, checkable=True, checked=self.mirror)
        self.pause_action = self._action(toolbar, "Pause", "Space", self.set_paused, checkable=True)
        self.screenshot_action = self._action(toolbar, "Screenshot", "S", self._on_screenshot_triggered)
        self.record_action = self._action(toolbar, "Record", "Ctrl+R", self.set_recording, checkable=True)

    def _build_settings_bar(self) -> None:
        """Find hand, Landmarks, Background (silhouette models), Explain, Threshold, Smoothing."""
        toolbar = self._toolbar("Settings")
        self.locate_action = self._action(toolbar, "Find hand", "L", self.set_locate, checkable=True,
                                          checked=self.pipeline.locate == "auto")
        self.locate_action.setToolTip("On: find the hands anywhere in the picture and classify each one (L). "
                                      "Off: classify the box; drag it to move it, scroll to resize it, "
                                      "double-click or 0 to put it back")
        self.landmarks_action = self._action(toolbar, "Landmarks", "K", self.set_landmarks, checkable=True,
                                             checked=self.show_landmarks)
        self.landmarks_action.setToolTip("Draw the 21 points the hand model found on each hand (K)")
        toolbar.addSeparator()
        self.background_action = self._action(toolbar, "Background", "B", self.pipeline.request_background)
        self.background_action.setToolTip("Silhouette models: with no hand in the box, take it as the background (B); R resets")
        self.reset_background_action = self._action(None, "Reset background", "R", self.pipeline.reset_background)
        self.reset_box_action = self._action(None, "Reset box", "0", self.reset_box)
        self.reset_box_action.setShortcuts([QKeySequence("0"), QKeySequence("Home")])
        self.explain_action = self._action(toolbar, "Explain", "E", self.set_explain, checkable=True)
        self.explain_action.setToolTip("Overlay where the model looks in the box (Grad-CAM, refreshed about every second; E)")
        silhouette = classifier_style(self.pipeline.classifier) == "silhouette"
        self.background_action.setEnabled(silhouette)
        self.reset_background_action.setEnabled(silhouette)
        self.locate_action.setEnabled(not silhouette)  # a silhouette is cut from the box, never from a found hand
        toolbar.addSeparator()

        self.threshold_box = QDoubleSpinBox(self)
        self.threshold_box.setRange(0.0, 1.0)
        self.threshold_box.setSingleStep(0.05)
        self.threshold_box.setDecimals(2)
        self.threshold_box.setValue(self.pipeline.threshold)
        self.threshold_box.setToolTip("Below this confidence the app shows \"no gesture\"")
        self.threshold_box.valueChanged.connect(self.set_threshold)
        toolbar.addWidget(QLabel(" Threshold ", self))
        toolbar.addWidget(self.threshold_box)

        self.smoothing_box = QSpinBox(self)
        self.smoothing_box.setRange(1, 60)
        self.smoothing_box.setValue(self.pipeline.smoothing)
        self.smoothing_box.setSuffix(" frames")
        self.smoothing_box.setSpecialValueText("off")  # shown for the minimum, 1 frame
        self.smoothing_box.setToolTip("Average the probabilities over this many recent frames (off = 1)")
        self.smoothing_box.valueChanged.connect(self.set_smoothing)
        toolbar.addWidget(QLabel(" Smoothing ", self))
        toolbar.addWidget(self.smoothing_box)

    def _build_video_area(self) -> None:
        """The banner over the video; drag in the video to move the box, scroll to resize it, double-click to reset it."""
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = QLabel(self)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.video_view = VideoView(self)
        self.video_view.box_drag_started.connect(self._on_box_drag_started)
        self.video_view.box_dragged.connect(self._on_box_dragged)
        self.video_view.box_reset_requested.connect(self.reset_box)
        self.video_view.roi_resized.connect(self._on_roi_resized)
        layout.addWidget(self.banner)
        layout.addWidget(self.video_view, 1)
        self.setCentralWidget(central)

    def _build_actions_bar(self, engine: ActionEngine | None) -> None:
        """Gesture actions on a third row; without an engine, the default map, disarmed."""
        self.addToolBarBreak()
        self.actions_bar = ActionsBar(engine if engine is not None else ActionEngine(load_action_map(), None), map_dir=self.save_dir, parent=self)
        self.actions_bar.failed.connect(self.show_banner)
        self.prediction_received.connect(self.actions_bar.on_prediction)
        self.addToolBar(self.actions_bar)

    def _action(self, toolbar, text, shortcut, slot, checkable=False, checked=False) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if checkable:
            action.setChecked(checked)
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work even for actions not on the toolbar
        if toolbar is not None:
            toolbar.addAction(action)
        return action

    # ---- sources ------------------------------------------------------------------------------
    def set_source(self, source: FrameSource) -> None:
        """Show this source from now on (the previous one is stopped and closed)."""
        self._stop_capture()
        self.source = source
        # A folder's photos are unrelated: each is looked at afresh (no tracking, no smoothing across them).
        self.pipeline.reset_history(stills=source.stills)
        self._display_rate.reset()
        self.capture_worker = CaptureWorker(source, self.slot, mirror=self.mirror, paused=self.paused, parent=self)
        self.capture_worker.source_failed.connect(self.show_banner)
        self.capture_worker.source_recovered.connect(self.hide_banner)
        self.capture_worker.source_ended.connect(self._on_source_ended)
        self.capture_worker.start()
        # Poll at twice the source's rate: each new frame is painted once, within half a frame of arriving.
        self.display_timer.start(max(5, int(round(500.0 / max(source.fps, 1.0)))))
        self._show_source_in_box(source)
        self._update_status()

    def _show_source_in_box(self, source: FrameSource) -> None:
        """Select the source in the Source box (adding it: an open camera may not answer a probe)."""
        key = str(source.index) if isinstance(source, CameraSource) else str(getattr(source, "path", source.name))
        row = self.source_box.findData(key)
        if row < 0:
            label = source.name if isinstance(source, CameraSource) else f"{source.name} (file)"
            row = self.source_box.count() - 2  # before the two "Open …" entries
            self.source_box.insertItem(row, label, key)
        self.source_box.setCurrentIndex(row)

    def open_source_spec(self, spec) -> bool:
        """Open "0", a file, a folder or "demo" and show it; a failure becomes a banner."""
        try:
            source = open_source(spec, loop=self.loop or str(spec) == "demo")
        except SourceError as exc:
            self.show_banner(str(exc))
            return False
        self.hide_banner()
        self.set_source(source)
        return True

    def _on_source_chosen(self, row: int) -> None:
        choice = self.source_box.itemData(row)
        if choice == "open-video":
            path, _ = QFileDialog.getOpenFileName(self, "Open a video", str(self.save_dir), "Videos (*.mp4 *.avi *.mkv *.mov *.webm *.m4v);;All files (*)")
            if path:
                self.open_source_spec(path)
        elif choice == "open-folder":
            path = QFileDialog.getExistingDirectory(self, "Open a folder of images", str(self.save_dir))
            if path:
                self.open_source_spec(path)
        else:
            self.open_source_spec(choice)

    def _on_source_ended(self, message: str) -> None:
        self.actions_bar.release_keys("source stopped")
        self.show_banner(message)
        self._update_status()

    def _stop_capture(self) -> None:
        self.actions_bar.release_keys("source stopped")
        if self.capture_worker is not None:
            if not self.capture_worker.stop():
                logger.warning("capture thread did not stop in time")
            self.capture_worker = None
        if self.source is not None:
            self.source.close()
            self.source = None

    # ---- model --------------------------------------------------------------------------------
    def load_model(self, path) -> None:
        """Load a bundle in the background; on failure a dialog names the problem and the old model stays."""
        self.inference_worker.load_model(path)
        self._loading_name = title_of(path)
        self._show_model_message(f"Loading model {self._loading_name}…")
        self._update_status()

    def _on_open_model_triggered(self) -> None:
        """The Open model dialog: recent bundles by run, data and date, the bundled default, or a folder."""
        dialog = OpenModelDialog(self.recent_bundles.entries(), browse_from=self.save_dir, parent=self)
        if dialog.exec() and dialog.chosen_path is not None:
            self.load_model(dialog.chosen_path)

    def _on_model_loaded(self, name: str) -> None:
        self.model_name = name
        self._loading_name = ""
        self._show_model_message("")
        self.setWindowTitle(f"Gesture recognition — {name}")
        path = getattr(getattr(self.pipeline.classifier, "bundle", None), "path", None)
        default = default_bundle_path()
        if path is not None and (default is None or Path(path).resolve() != default.resolve()):
            self.recent_bundles.add(path)  # the bundled default is always in the dialog anyway
        silhouette = classifier_style(self.pipeline.classifier) == "silhouette"
        self.background_action.setEnabled(silhouette)
        self.reset_background_action.setEnabled(silhouette)
        self.locate_action.setEnabled(not silhouette)
        if silhouette:
            self._show_model_message("Silhouette model: clear the box and press B to capture the background; R resets it.")
        self._update_status()

    def _on_model_failed(self, path: str, message: str) -> None:
        keeps = f"Still using {self.model_name}." if self.model_name else "No model is loaded; the video keeps playing."
        self._loading_name = ""
        self._show_model_message("" if self.model_name else
                                 f"No model loaded ({Path(path).name} could not be used). Open one with Open model… (Ctrl+O).")
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot load the model", f"{message}\n\n{keeps}", QMessageBox.StandardButton.Ok, self)
        # open(), not exec(): a modal loop here would stall the video behind the dialog.
        box.open()
        self.model_error_box = box
        self._update_status()

    def _on_device_selected(self, name: str) -> None:
        self.device_name = name

    # ---- settings -----------------------------------------------------------------------------
    def set_threshold(self, value: float) -> None:
        self.pipeline.threshold = float(value)
        if self.threshold_box.value() != value:
            self.threshold_box.setValue(value)

    def set_smoothing(self, frames: int) -> None:
        self.pipeline.smoothing = int(frames)
        if self.smoothing_box.value() != frames:
            self.smoothing_box.setValue(frames)

    def set_mirror(self, on: bool) -> None:
        self.mirror = bool(on)
        self.pipeline.mirrored = self.mirror  # which hand is which depends on it
        if self.capture_worker is not None:
            self.capture_worker.control.mirror = self.mirror

    def set_locate(self, on: bool) -> None:
        """Find the hands anywhere (on) or classify the user's box (off)."""
        self.pipeline.locate = "auto" if on else "off"
        self._sync_action(self.locate_action, bool(on))
        self.statusBar().showMessage("Finding the hand anywhere in the picture" if on else
                                     "Classifying the box: drag it to move it, scroll to resize it, 0 to put it back", 4000)

    def set_landmarks(self, on: bool) -> None:
        self.show_landmarks = bool(on)
        self._sync_action(self.landmarks_action, self.show_landmarks)

    def set_explain(self, on: bool) -> None:
        self.inference_worker.explainer.set_enabled(on)

    def set_paused(self, on: bool) -> None:
        self.paused = bool(on)
        if self.paused:
            self.actions_bar.release_keys("paused")
        if self.capture_worker is not None:
            self.capture_worker.control.paused = self.paused
        self._update_status()

    # ---- the box (--locate off) ---------------------------------------------------------------
    def set_roi(self, roi: RegionOfInterest) -> None:
        """Classify this box from now on, moved as little as it takes to keep it off the overlay's readout."""
        self.pipeline.roi = self._clear_of_overlay(roi)

    def reset_box(self) -> None:
        """Put the box back where it started (0, Home, or a double-click in the video)."""
        self.set_roi(self.initial_roi)
        if self.shown_roi() is not None:
            self.statusBar().showMessage("The box is back where it started.", 3000)

    def _clear_of_overlay(self, roi: RegionOfInterest, frame_shape=None) -> RegionOfInterest:
        """The box kept off the panel's readout (and the silhouette inset): the panel never hides the hand."""
        shape = frame_shape if frame_shape is not None else getattr(self.last_frame_bgr, "shape", None)
        if shape is None:
            return roi
        areas = [readout_area(shape, roi)]
        if classifier_style(self.pipeline.classifier) == "silhouette":
            areas.append(inset_area(shape))
        return roi.kept_clear_of(areas, shape)

    def _on_box_drag_started(self) -> None:
        # With the hand found anywhere there is no box: a drag then moves nothing.
        self._drag_origin = self.pipeline.roi if self.shown_roi() is not None else None
        if self._drag_origin is None:
            self.statusBar().showMessage("The hand is found anywhere, so there is no box to move; press L to use the box.", 4000)

    def _on_box_dragged(self, dx: float, dy: float) -> None:
        if self._drag_origin is not None:
            self.set_roi(self._drag_origin.dragged(dx, dy))

    def _on_roi_resized(self, steps: float) -> None:
        if self.shown_roi() is not None:
            self.set_roi(self.pipeline.roi.resized(self.pipeline.roi.size * (1.05 ** steps)))

    # ---- screenshots and recording ------------------------------------------------------------
    def _timestamped(self, suffix: str) -> Path:
        return self.save_dir / f"gesture-app-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"

    def save_frame_screenshot(self, path=None) -> Path | None:
        """Save the annotated frame as shown (full resolution) as a PNG."""
        if self.last_annotated_bgr is None:
            self.show_banner("Nothing to save yet: no frame has been shown.")
            return None
        path = Path(path) if path is not None else self._timestamped(".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), self.last_annotated_bgr):
            self.show_banner(f"Could not write {path}; choose a writable folder with --save-dir.")
            return None
        self.statusBar().showMessage(f"Saved {path}", 5000)
        self.screenshot_saved.emit(str(path))
        return path

    def _on_screenshot_triggered(self) -> None:
        self.save_frame_screenshot()

    def save_window_screenshot(self, path) -> Path:
        """The whole window (toolbar, banner, video) as a PNG."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"Could not write {path}")
        return path

    def set_recording(self, on: bool) -> None:
        """Start or stop recording the annotated video (file named by time, in save_dir)."""
        if not on:
            if self._recorder is not None:
                self._recorder.close()
                self._recorder = None
                self.statusBar().showMessage(f"Recorded {self.recording_path}", 5000)
            self._sync_action(self.record_action, False)
            return
        if self._recorder is not None:
            return
        if self.last_frame_bgr is None:
            self.show_banner("Nothing to record yet: no frame has been shown.")
            self._sync_action(self.record_action, False)
            return
        path = self._timestamped(".mp4")
        fps = self.source.fps if self.source is not None else 30.0
        try:
            self._recorder = VideoRecorder(path, fps, self.last_frame_bgr.shape)
        except OSError as exc:
            self.show_banner(str(exc))
            self._sync_action(self.record_action, False)
            return
        self.recording_path = path
        self._sync_action(self.record_action, True)
        self._update_status()

    @staticmethod
    def _sync_action(action: QAction, checked: bool) -> None:
        if action.isChecked() != checked:
            action.blockSignals(True)
            action.setChecked(checked)
            action.blockSignals(False)

    # ---- the live loop ------------------------------------------------------------------------
    def _on_prediction_ready(self, prediction: Prediction) -> None:
        self.last_prediction = prediction
        if prediction.classified or prediction.no_hand:
            self._inference_rate.tick()
        self.prediction_received.emit(prediction)

    def _on_display_tick(self) -> None:
        index, frame_bgr = self.slot.newest()
        if frame_bgr is None or index == self._shown_index:
            return
        self._shown_index = index
        self._display_rate.tick()
        self.last_frame_bgr = frame_bgr
        roi = self.shown_roi()
        if roi is not None:  # a new source's frame shape, or the box just shown (L off), may put it under the panel
            kept = self._clear_of_overlay(roi, frame_bgr.shape)
            if kept.to_pixels(frame_bgr.shape) != roi.to_pixels(frame_bgr.shape):
                self.pipeline.roi = kept
        # Silhouette models: show the silhouette, so the user sees whether the background capture worked.
        inset_bgr = self.pipeline.last_model_view_bgr if classifier_style(self.pipeline.classifier) == "silhouette" else None
        # The explain heat map goes under the overlay, in the box it was computed for, with its age.
        shown_bgr = self.inference_worker.explainer.draw(frame_bgr)
        self.last_annotated_bgr = draw_overlay(shown_bgr, self.last_prediction, self.shown_roi(), self.overlay_stats(), inset_bgr,
                                               landmarks=self.show_landmarks)
        if self._recorder is not None:
            self._recorder.write(self.last_annotated_bgr)
        self.video_view.set_image(bgr_to_qimage(self.last_annotated_bgr))
        self.frames_shown += 1
        if getattr(self.source, "skipped_count", 0) != self._skipped_shown:
            self._update_status()
        self.frame_shown.emit(index)

    def shown_roi(self) -> RegionOfInterest | None:
        """The user's box when it is what gets classified; None when the hands are found anywhere."""
        silhouette = classifier_style(self.pipeline.classifier) == "silhouette"
        return None if self.pipeline.locate == "auto" and not silhouette else self.pipeline.roi

    def overlay_stats(self) -> OverlayStats:
        prediction = self.last_prediction
        # A frame with no hand was processed too (the hands were looked for): its rate and latency count.
        classified = prediction is not None and (prediction.classified or prediction.no_hand)
        message = waiting = ""
        if self.inference_worker.loading:
            if self.pipeline.classifier is None:
                waiting = LOADING_MODEL  # in place of the gesture: nothing is classified yet
            else:
                message = LOADING_MODEL  # the previous model goes on classifying meanwhile
        elif self.pipeline.classifier is None:
            message = NO_MODEL
        elif self.paused:
            message = "paused"
        if self._recorder is not None:
            message = (message + "   " if message else "") + "● recording"
        device = self.device_name or ("" if self.pipeline.classifier is None else "CPU")
        runtime = getattr(self.pipeline.classifier, "runtime", "")
        return OverlayStats(
            display_fps=self._display_rate.rate,
            inference_fps=self._inference_rate.rate if classified else None,
            latency_ms=prediction.latency_ms if classified else None,
            device=f"{device}, {runtime}" if device and runtime else device,
            model=self.model_name,
            message=message,
            waiting=waiting,
        )

    # ---- messages -----------------------------------------------------------------------------
    def show_banner(self, message: str) -> None:
        """Say this over the video (replacing the last such message; the model's line stays)."""
        self._source_message = message
        self._render_banner()

    def hide_banner(self) -> None:
        self._source_message = ""
        self._render_banner()

    def _show_model_message(self, message: str) -> None:
        self._model_message = message
        self._render_banner()

    def _render_banner(self) -> None:
        text = "\n".join(part for part in (self._source_message, self._model_message) if part)
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    @property
    def banner_text(self) -> str:
        return "" if self.banner.isHidden() else self.banner.text()

    def _update_status(self) -> None:
        parts = [f"source: {self.source.name}" if self.source is not None else "no source"]
        self._skipped_shown = getattr(self.source, "skipped_count", 0)
        if self._skipped_shown:
            parts[0] += f" ({self._skipped_shown} unreadable image(s) skipped)"
        if self._loading_name and not self.model_name:
            parts.append(f"loading model {self._loading_name}…")
        else:
            parts.append(f"model: {self.model_name}" if self.model_name else NO_MODEL)
        if self.paused:
            parts.append("paused")
        if self._recorder is not None:
            parts.append(f"recording to {self.recording_path}")
        self.statusBar().showMessage("   |   ".join(parts))

    # ---- shutting down ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the timer and both threads, close the source and any recording (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.actions_bar.shutdown()  # before anything else: no key may stay held down
        self.display_timer.stop()
        self._stop_capture()
        self.slot.close()
        if not self.inference_worker.stop():
            logger.warning("inference thread did not stop in time")
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
        self.closed.emit()
