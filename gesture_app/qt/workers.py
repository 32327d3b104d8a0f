"""The window's two worker threads (Qt at the edge: they own threads and emit signals; the work is Qt-free).

CaptureWorker reads the source at its own pace into a FrameSlot that keeps
only the newest frame. InferenceWorker always takes the newest frame from that
slot, runs the pipeline and emits the Prediction; frames that arrive while it
is busy are dropped, never queued. Errors cross back to the window as signals
carrying a message, never as tracebacks.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
from PySide6.QtCore import QThread, Signal

from models import BundleError
from models.bundle import read_description

from ..core.classifier import BundleClassifier, DeviceError, select_device
from ..core.explain_view import LiveExplainer
from ..core.frame_slot import FrameSlot
from ..core.pipeline import GesturePipeline
from ..core.sources import FrameSource, SourceInterrupted

logger = logging.getLogger(__name__)

MAX_CONSECUTIVE_ERRORS = 20  # a source that fails this often in a row is given up
ERROR_BACKOFF_S = 0.05  # wait this much longer after each failed read, up to 10x


class CaptureWorker(QThread):
    source_failed = Signal(str)     # a transient problem, shown as a banner; reading goes on
    source_recovered = Signal()     # frames flow again after source_failed
    source_ended = Signal(str)      # no more frames (end of file, or given up)

    def __init__(self, source: FrameSource, slot: FrameSlot, *, mirror: bool = False, parent=None):
        super().__init__(parent)
        self.source = source
        self.slot = slot
        self.mirror = mirror
        self.paused = False
        self.frames_captured = 0
        self._stopping = False
        self.setObjectName(f"capture: {source.name}")

    def stop(self, timeout_ms: int = 5000) -> bool:
        self._stopping = True
        return self.wait(timeout_ms)

    def run(self) -> None:
        period = 1.0 / max(self.source.fps, 1.0)
        next_due = time.perf_counter()
        failing = 0
        while not self._stopping:
            if self.paused:
                time.sleep(0.03)
                next_due = time.perf_counter()
                continue
            try:
                frame_bgr = self.source.read()
            except SourceInterrupted as exc:
                # The camera's own reader is already retrying; keep asking.
                failing += 1
                if failing == 1:
                    self.source_failed.emit(str(exc))
                time.sleep(0.01)
                continue
            except Exception as exc:  # any source fault becomes a message, not a dead thread
                failing += 1
                logger.warning("reading %s failed: %s", self.source.name, exc, exc_info=logger.isEnabledFor(logging.DEBUG))
                self.source_failed.emit(f"Reading {self.source.name} failed: {exc}")
                if failing >= MAX_CONSECUTIVE_ERRORS:
                    self.source_ended.emit(f"Gave up on {self.source.name} after {failing} failed reads; choose another source.")
                    return
                time.sleep(ERROR_BACKOFF_S * min(failing, 10))
                continue
            if frame_bgr is None:
                self.source_ended.emit(f"{self.source.name} ended; open another source, or start with --loop to repeat it.")
                return
            if failing:
                failing = 0
                self.source_recovered.emit()
            if self.mirror:
                frame_bgr = cv2.flip(frame_bgr, 1)
            self.slot.put(frame_bgr)
            self.frames_captured += 1
            if not self.source.live:
                # Files and the demo have no clock of their own: play them at their frame rate.
                next_due += period
                delay = next_due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -period:
                    next_due = time.perf_counter()  # fell behind (a slow disk): do not race to catch up


class InferenceWorker(QThread):
    prediction_ready = Signal(object)   # a Prediction
    model_loaded = Signal(str)          # the model's name
    model_failed = Signal(str, str)     # (path, why): the previous model stays loaded
    device_selected = Signal(str)       # "GPU: ..." or "CPU (n cores)"
    failed = Signal(str)                # a frame could not be processed

    def __init__(self, pipeline: GesturePipeline, slot: FrameSlot, *, device: str = "auto", runtime: str = "auto", parent=None):
        super().__init__(parent)
        self.pipeline = pipeline
        self.slot = slot
        self.device_choice = device
        self.runtime_choice = runtime
        self.device_name = ""
        self.frames_processed = 0
        self._pending_model: Path | None = None
        self._stopping = False
        # The explain toggle's heat maps, made here between predictions at a reduced rate.
        self.explainer = LiveExplainer()
        self.setObjectName("inference")

    def load_model(self, path) -> None:
        """Load a bundle on this worker's thread, between frames; the window is never blocked."""
        self._pending_model = Path(path)

    @property
    def loading(self) -> bool:
        return self._pending_model is not None

    def stop(self, timeout_ms: int = 20000) -> bool:
        self._stopping = True
        return self.wait(timeout_ms)

    def run(self) -> None:
        last_index = -1
        while not self._stopping:
            if self._pending_model is not None:
                self._load(self._pending_model)
                self._pending_model = None
                continue
            item = self.slot.wait_newer(last_index, timeout=0.05)
            if item is None:
                continue
            last_index, frame_bgr = item
            try:
                prediction = self.pipeline.process(frame_bgr, last_index)
            except Exception as exc:  # a model fault must not kill the thread
                logger.warning("inference failed on frame %d: %s", last_index, exc, exc_info=logger.isEnabledFor(logging.DEBUG))
                self.failed.emit(f"The model failed on a frame: {type(exc).__name__}: {exc}")
                time.sleep(0.1)
                continue
            self.frames_processed += 1
            self.prediction_ready.emit(prediction)
            self.explainer.update(self.pipeline, last_index)

    def _load(self, path: Path) -> None:
        try:
            # A folder that is no bundle is named at once, before seconds of TensorFlow start-up.
            read_description(path)
            if not self.device_name:
                # Before TensorFlow builds anything: visible devices are fixed after that.
                self.device_name = select_device(self.device_choice)
                self.device_selected.emit(self.device_name)
            classifier = BundleClassifier.load(path, device=self.device_choice, runtime=self.runtime_choice)
        except (BundleError, DeviceError) as exc:
            self.model_failed.emit(str(path), str(exc))
            return
        except Exception as exc:  # TensorFlow raises many kinds; the user needs the message only
            logger.warning("loading %s failed", path, exc_info=True)
            self.model_failed.emit(str(path), f"{type(exc).__name__}: {exc}")
            return
        self.pipeline.classifier = classifier
        self.model_loaded.emit(classifier.name)
