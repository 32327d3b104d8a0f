"""The window's two worker threads (Qt at the edge: they own threads and emit signals; the work is Qt-free).

CaptureWorker runs the core's stream loop (`core.stream`) on its thread, into a
FrameSlot that keeps only the newest frame. InferenceWorker always takes the newest frame from that
slot, runs the pipeline and emits the Prediction; frames that arrive while it
is busy are dropped, never queued. Errors cross back to the window as signals
carrying a message, never as tracebacks.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from models import BundleError
from models.bundle import read_description

from models.device import DeviceError, select_device

from ..core.classifier import BundleClassifier
from ..core.explain_view import LiveExplainer
from ..core.frame_slot import FrameSlot
from ..core.pipeline import GesturePipeline
from ..core.sources import FrameSource
from ..core.stream import ENDED, FAILED, INTERRUPTED, RECOVERED, FrameStream, StreamControl, StreamEvent

logger = logging.getLogger(__name__)



class CaptureWorker(QThread):
    """Plays a source on this thread through the core's one stream loop, the newest frame into `slot`."""

    source_failed = Signal(str)     # a transient problem, shown as a banner; reading goes on
    source_recovered = Signal()     # frames flow again after source_failed
    source_ended = Signal(str)      # no more frames (end of file, or given up)

    def __init__(self, source: FrameSource, slot: FrameSlot, *, mirror: bool = False, paused: bool = False, parent=None):
        super().__init__(parent)
        self.source = source
        # Paced: files and the demo play at their frame rate, as a camera would deliver them.
        self.control = StreamControl(mirror=mirror, paused=paused, paced=True)
        self.stream = FrameStream(source, self.control, slot, on_event=self._on_stream_event)
        self.setObjectName(f"capture: {source.name}")

    def stop(self, timeout_ms: int = 5000) -> bool:
        self.control.stop()
        return self.wait(timeout_ms)

    def run(self) -> None:
        self.stream.run()

    def _on_stream_event(self, event: StreamEvent) -> None:
        if event.kind in (INTERRUPTED, FAILED):
            self.source_failed.emit(event.message)
        elif event.kind == RECOVERED:
            self.source_recovered.emit()
        elif event.kind == ENDED:
            self.source_ended.emit(event.message)


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
