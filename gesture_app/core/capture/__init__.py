"""gesture-capture's Qt-free core: the dataset writer and its manifest, the capture path, the burst clock,
the controller the window shows, and the headless runner. Dataset rules (class names, splits, manifest
fields) come from `models.dataset_rules`; atomic writes and locking from `models.atomic_files`."""

from .burst import BurstClock
from .capturer import NO_HAND, Capturer, Shot, format_region, landmarks_in_crop
from .controller import COUNTDOWN, IDLE, RECORDING, CaptureController, CaptureListener, CaptureView
from .errors import DatasetWriteError
from .headless import CaptureSummary, run_capture_headless
from .manifest import Manifest, ReconcileReport, SavedImage
from .overlay import draw_capture_overlay
from .writer import DEFAULT_JPEG_QUALITY, FULL_FRAMES_DIR, IMAGE_FORMATS, DatasetWriter

__all__ = [
    "BurstClock", "NO_HAND", "Capturer", "Shot", "format_region", "landmarks_in_crop", "COUNTDOWN", "IDLE", "RECORDING", "CaptureController", "CaptureListener",
    "CaptureView", "DatasetWriteError", "CaptureSummary", "run_capture_headless", "Manifest", "ReconcileReport", "SavedImage",
    "draw_capture_overlay", "DEFAULT_JPEG_QUALITY", "FULL_FRAMES_DIR", "IMAGE_FORMATS", "DatasetWriter",
]
