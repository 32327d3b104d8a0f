"""Frame sources: one function turns a camera index, a video file, a folder of images or "demo"
into the same iterator of BGR uint8 frames (no Qt here).

    with open_source("0") as source:        # or "clip.mp4", "captures/", "demo"
        for frame_bgr in source:             # (H, W, 3) BGR uint8
            ...

`read()` returns None when a source has ended. A camera that stops delivering
raises `SourceInterrupted` from `read()` while it is being reopened; call `read()`
again to carry on. Playing a source (mirroring, pacing, keeping only the newest
frame of a camera) is `core.stream`'s job.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np

from models.classes import CLASS_NAMES
from models.images import UnreadableImageError, is_image_file, read_image_bgr

from .roi import DEFAULT_ROI

logger = logging.getLogger(__name__)

DEFAULT_FPS = 30.0
FOLDER_FPS = 10.0  # a folder of photos is shown slower than video so each can be seen
DEMO_FPS = 15.0
DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_FRAME_SIZE = (640, 480)  # width, height
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})


class SourceError(RuntimeError):
    """A source that cannot be opened or used; the message says what to try next."""


class SourceInterrupted(SourceError):
    """A live source stopped delivering for now (e.g. a camera unplugged); read() again to retry."""


class FrameSource:
    """Base class: subclasses implement `read` and, when they hold resources, `close`."""

    name: str = "source"
    fps: float = DEFAULT_FPS
    live: bool = False  # True for cameras: frames come at their own pace, never ahead of time
    stills: bool = False  # True for a folder: its frames are unrelated photos, not a video

    def read(self) -> np.ndarray | None:
        """The next (H, W, 3) BGR uint8 frame, or None when the source has ended."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __iter__(self):
        while True:
            frame_bgr = self.read()
            if frame_bgr is None:
                return
            yield frame_bgr

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r} at {self.fps:g} fps>"


class CameraSource(FrameSource):
    """A webcam: `read()` returns its next frame, reopening it when it stops delivering.

    Reading it on a thread of its own and keeping only the newest frame is the stream's job
    (`core.stream.FrameStream`), so a camera's frames pass through exactly one newest-frame slot.
    When the camera stops delivering (unplugged, taken by another program) it is released and
    reopened every `retry_s` seconds; meanwhile `read()` raises `SourceInterrupted`.
    """

    live = True
    FAILED_GRABS_BEFORE_LOST = 5  # a single failed grab happens on healthy cameras; several in a row means it is gone

    def __init__(self, index: int, *, fps: float | None = None, capture_factory=None, retry_s: float = 1.0):
        self.index = index
        self.name = f"camera {index}"
        self._capture_factory = capture_factory or cv2.VideoCapture
        self._retry_s = retry_s
        self._lost = ""  # why the camera is not delivering, while it is not
        self._retry_at = 0.0
        self._closed = False
        self._capture, self._first_bgr = self._open()
        if self._capture is None:
            raise SourceError(
                f"Could not open camera {index}; is another program using it? "
                f"Try --source {index + 1}, a video file, or --source demo."
            )
        reported = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = reported if 1.0 <= reported <= 240.0 else (fps or DEFAULT_FPS)

    def _open(self):
        """(capture, first frame) of a camera that opened and delivered a frame, or (None, None)."""
        try:
            capture = self._capture_factory(self.index)
            if capture is None or not capture.isOpened():
                return None, None
            ok, frame_bgr = capture.read()
        except cv2.error as exc:
            logger.debug("camera %d: open failed (%s)", self.index, exc)
            return None, None
        if not ok or frame_bgr is None:
            capture.release()
            return None, None
        return capture, frame_bgr

    def read(self) -> np.ndarray | None:
        if self._closed:
            return None
        if self._first_bgr is not None:  # the frame that proved the camera works
            frame_bgr, self._first_bgr = self._first_bgr, None
            return frame_bgr
        if self._capture is None:
            return self._reopen()
        for _ in range(self.FAILED_GRABS_BEFORE_LOST):
            try:
                ok, frame_bgr = self._capture.read()
            except cv2.error:
                ok, frame_bgr = False, None
            if ok and frame_bgr is not None:
                return frame_bgr
            time.sleep(0.01)
        self._lost = f"Camera {self.index} stopped delivering frames (unplugged or taken by another program?); retrying every {self._retry_s:g} s."
        logger.warning(self._lost)
        self._capture.release()
        self._capture = None
        self._retry_at = time.monotonic() + self._retry_s
        raise SourceInterrupted(self._lost)

    def _reopen(self) -> np.ndarray:
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, 0.1))  # the caller asks again at once; do not spin
            raise SourceInterrupted(self._lost)
        self._capture, frame_bgr = self._open()
        if self._capture is None:
            self._retry_at = time.monotonic() + self._retry_s
            raise SourceInterrupted(self._lost)
        logger.info("camera %d is back", self.index)
        self._lost = ""
        return frame_bgr

    def close(self) -> None:
        """Release the camera (stop whatever stream reads it first: OpenCV captures are not thread-safe)."""
        self._closed = True
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class VideoSource(FrameSource):
    """A video file, played once or looped."""

    def __init__(self, path: Path, *, loop: bool = False, fps: float | None = None):
        self.path = Path(path)
        self.name = self.path.name
        self.loop = loop
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise SourceError(
                f"Could not open video {self.path}; is it a video file OpenCV can decode "
                f"({', '.join(sorted(VIDEO_SUFFIXES))})? Try another file, a camera index such as 0, or --source demo."
            )
        reported = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = reported if 1.0 <= reported <= 240.0 else (fps or DEFAULT_FPS)
        self.frames_read = 0

    def read(self) -> np.ndarray | None:
        if self._capture is None:
            return None
        ok, frame_bgr = self._capture.read()
        if not ok and self.loop and self.frames_read > 0:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame_bgr = self._capture.read()
        if not ok or frame_bgr is None:
            return None
        self.frames_read += 1
        return frame_bgr

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class FolderSource(FrameSource):
    """The images in a folder (and its subfolders), in name order.

    An image that cannot be read (corrupt, not an image, too big to decode safely) is skipped,
    logged with its path and counted in `skipped`; a folder where none can be read raises
    SourceError from `read()` rather than ending as if it had played.
    """

    stills = True

    def __init__(self, path: Path, *, loop: bool = False, fps: float | None = None):
        self.path = Path(path)
        self.name = f"{self.path.name}/"
        self.loop = loop
        self.fps = fps or FOLDER_FPS
        self.files = sorted(p for p in self.path.rglob("*") if is_image_file(p))
        if not self.files:
            raise SourceError(f"No images in folder {self.path}; it should hold .jpg or .png files. Try another folder, a video file, or --source demo.")
        self.skipped: list[Path] = []
        self._reasons: dict[Path, str] = {}
        self._position = 0
        self._delivered = 0

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)

    def read(self) -> np.ndarray | None:
        misses = 0
        while misses < len(self.files):
            if self._position >= len(self.files):
                if not self.loop:
                    break
                self._position = 0
            file = self.files[self._position]
            self._position += 1
            try:
                frame_bgr = read_image_bgr(file)
            except Exception as exc:  # noqa: BLE001 - whatever one file does (a decompression bomb, out of memory), it costs that file only
                misses += 1
                self._skip(file, exc)
                continue
            self._delivered += 1
            return frame_bgr
        if not self._delivered:
            first = self.skipped[0]
            raise SourceError(
                f"None of the {len(self.files)} images in {self.path} could be read (first: {self._reasons[first]}). "
                "Check that they are pictures (.jpg, .png), or try another folder, a video file, or --source demo."
            )
        return None

    def _skip(self, file: Path, exc: Exception) -> None:
        if file in self._reasons:
            return
        reason = str(exc) if isinstance(exc, UnreadableImageError) else f"{file}: cannot read image ({type(exc).__name__}: {exc})"
        self.skipped.append(file)
        self._reasons[file] = reason
        logger.warning("skipped an unreadable image (%d so far): %s", len(self.skipped), reason)


def demo_photos() -> list[tuple[str, Path]]:
    """(class, photo) pairs of the shipped demo, interleaved so each pass shows every class in turn."""
    per_class = {name: sorted((DEMO_DIR / name).glob("*.jpg")) for name in CLASS_NAMES}
    rounds = max((len(files) for files in per_class.values()), default=0)
    return [(name, per_class[name][i]) for i in range(rounds) for name in CLASS_NAMES if i < len(per_class[name])]


def compose_demo_frame(photo_bgr: np.ndarray, size=DEMO_FRAME_SIZE, roi=DEFAULT_ROI) -> np.ndarray:
    """A full frame on a plain background with the hand photo filling the region of interest.

    Filling the box (squashing slightly) reproduces what training did to the same
    photo, so the app's crop classifies it as a model trained on such crops would.
    """
    width, height = size
    # A soft vertical gradient reads as a wall rather than as a test pattern.
    shade = np.linspace(178, 138, height, dtype=np.float32)[:, None, None]
    tint = np.array([1.0, 0.97, 0.93], dtype=np.float32)  # BGR: slightly warm grey
    frame_bgr = np.broadcast_to(shade * tint, (height, width, 3)).astype(np.uint8).copy()
    x0, y0, x1, y1 = roi.to_pixels(frame_bgr.shape)
    frame_bgr[y0:y1, x0:x1] = cv2.resize(photo_bgr, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
    return frame_bgr


class DemoSource(FrameSource):
    """The shipped demo: real hand photographs, each gesture held for `hold_s` seconds."""

    def __init__(self, *, loop: bool = False, fps: float | None = None, hold_s: float = 1.0):
        self.name = "demo"
        self.loop = loop
        self.fps = fps or DEMO_FPS
        self.hold_frames = max(1, int(round(self.fps * hold_s)))
        photos = demo_photos()
        if not photos:
            raise SourceError(f"The demo images are missing from {DEMO_DIR}; reinstall the package.")
        self.labels = [name for name, _ in photos]
        self._frames_bgr = [compose_demo_frame(read_image_bgr(path)) for _, path in photos]
        self.frames_read = 0

    def __len__(self) -> int:
        """Frames in one pass."""
        return len(self._frames_bgr) * self.hold_frames

    def label_at(self, frame_index: int) -> str:
        """The gesture shown in frame `frame_index` (0-based, counted across loops)."""
        return self.labels[(frame_index // self.hold_frames) % len(self.labels)]

    def read(self) -> np.ndarray | None:
        if self.frames_read >= len(self) and not self.loop:
            return None
        photo = (self.frames_read // self.hold_frames) % len(self._frames_bgr)
        self.frames_read += 1
        return self._frames_bgr[photo].copy()  # a copy: callers draw on frames


def open_source(spec: str | int | Path, *, loop: bool = False, fps: float | None = None) -> FrameSource:
    """A camera index ("0" or 0), a video file, a folder of images, or "demo" -> a FrameSource."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        return CameraSource(int(spec), fps=fps)
    if isinstance(spec, str) and spec.strip().lower() == "demo":
        return DemoSource(loop=loop, fps=fps)
    path = Path(spec).expanduser()
    if path.is_dir():
        return FolderSource(path, loop=loop, fps=fps)
    if path.is_file():
        if is_image_file(path):
            raise SourceError(f"{path} is a single image; pass the folder that holds it to play a folder of images.")
        return VideoSource(path, loop=loop, fps=fps)
    raise SourceError(
        f"No such source: {spec!r}. Use a camera index such as 0, a video file, a folder of images, or demo."
    )


def list_cameras(max_index: int = 5, *, capture_factory=None) -> list[int]:
    """Indices (0 .. max_index-1) of the cameras that open and deliver a frame."""
    capture_factory = capture_factory or cv2.VideoCapture
    found = []
    previous = cv2.utils.logging.getLogLevel()
    # OpenCV logs a warning per missing device; probing is expected to miss.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        for index in range(max_index):
            capture = capture_factory(index)
            try:
                if capture.isOpened() and capture.read()[0]:
                    found.append(index)
            finally:
                capture.release()
    finally:
        cv2.utils.logging.setLogLevel(previous)
    return found
