"""Recording annotated frames to a video file (no Qt here): the window's Record and `--output-video` share it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def open_video_writer(path: Path, fps: float, frame_shape) -> cv2.VideoWriter:
    """An OpenCV writer for .avi (MJPG) or anything else (mp4v); raises OSError when it cannot write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = "MJPG" if path.suffix.lower() == ".avi" else "mp4v"
    height, width = frame_shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), (width, height))
    if not writer.isOpened():
        raise OSError(f"Cannot write video {path}; use a .mp4 or .avi file name in a writable folder.")
    return writer


class VideoRecorder:
    """Frames into one video file whose size is that of its first frame; later frames are resized to it.

    Given `frame_shape` it opens the file at once (so a bad path fails before recording starts);
    otherwise with the first frame written. Raises OSError when the file cannot be written.
    """

    def __init__(self, path: Path, fps: float, frame_shape=None):
        self.path = Path(path)
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] = (0, 0)  # width, height
        if frame_shape is not None:
            self._open(frame_shape)

    def _open(self, frame_shape) -> None:
        self._writer = open_video_writer(self.path, self.fps, frame_shape)
        self._size = (frame_shape[1], frame_shape[0])

    def write(self, frame_bgr: np.ndarray) -> None:
        if self._writer is None:
            self._open(frame_bgr.shape)
        if (frame_bgr.shape[1], frame_bgr.shape[0]) != self._size:
            # A folder's photos differ in size; a video's frame size is fixed by its first frame.
            frame_bgr = cv2.resize(frame_bgr, self._size)
        self._writer.write(frame_bgr)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
