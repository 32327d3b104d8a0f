"""Generated frames, videos and sources shared by the app's tests (no Qt here)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from gesture_app.core.sources import FrameSource
from models.bundle import HeadProbs


def make_frame_bgr(index: int, size=(160, 120)) -> np.ndarray:
    """A (H, W, 3) frame whose pixel values encode its index (B = index % 256)."""
    width, height = size
    frame_bgr = np.zeros((height, width, 3), np.uint8)
    frame_bgr[:, :, 0] = index % 256
    frame_bgr[:, :, 1] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    frame_bgr[:, :, 2] = 90
    return frame_bgr


def write_video(path: Path, frames: int = 12, fps: float = 10.0, size=(160, 120)) -> Path:
    """A short MJPG .avi (decodable everywhere OpenCV is) of generated frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for index in range(frames):
        writer.write(make_frame_bgr(index * 20, size))
    writer.release()
    return path


class GeneratedSource(FrameSource):
    """`frames` generated frames; raises RuntimeError at `fail_at` when given (a source that breaks mid-stream)."""

    def __init__(self, frames: int = 10_000, fps: float = 30.0, size=(160, 120), fail_at: int | None = None, error=RuntimeError):
        self.name = "generated"
        self.fps = fps
        self.size = size
        self.frames = frames
        self.fail_at = fail_at
        self.error = error
        self.frames_read = 0
        self.closed = False

    def read(self):
        if self.frames_read >= self.frames:
            return None
        if self.fail_at is not None and self.frames_read == self.fail_at:
            self.fail_at = None  # fail once, then carry on
            raise self.error("generated source broke (test)")
        self.frames_read += 1
        return make_frame_bgr(self.frames_read, self.size)

    def close(self):
        self.closed = True


class FakeClassifier:
    """Returns fixed probabilities (or a sequence of them, one per call); no TensorFlow."""

    def __init__(self, probs, classes=("cool", "fist", "ok", "stop", "yo"), input_style="colour"):
        probs = np.asarray(probs, dtype=np.float32)
        self.sequence = probs if probs.ndim == 2 else probs[None]
        self.classes = tuple(classes)
        self.input_style = input_style
        self.name = "fake"
        self.calls = 0
        self.given = []  # (crop shape, hand) per classify call

    def preprocess(self, crop_bgr):
        return crop_bgr

    def infer(self, model_input):
        probs = self.sequence[min(self.calls, len(self.sequence) - 1)]
        self.calls += 1
        return probs

    def classify(self, crop_bgr, hand=None):
        """The classifier's one per-hand call; records what it was given."""
        self.given.append((None if crop_bgr is None else crop_bgr.shape, hand))
        probs = np.asarray(self.infer(self.preprocess(crop_bgr)), np.float32)
        return HeadProbs(cnn=probs, landmarks=None, fused=probs, timings_ms={"cnn": 0.0})


class FlakyCapture:
    """A fake cv2.VideoCapture that delivers, dies after `die_after` reads, and can come back."""

    opens = 0
    alive = True

    def __init__(self, index, die_after=3):
        type(self).opens += 1
        self.reads = 0
        self.die_after = die_after

    def isOpened(self):
        return type(self).alive

    def read(self):
        self.reads += 1
        if not type(self).alive:
            return False, None
        if type(self).opens == 1 and self.reads > self.die_after:
            type(self).alive = False  # unplugged; only the first capture dies
            return False, None
        time.sleep(0.005)
        return True, make_frame_bgr(self.reads)

    def get(self, prop):
        return 25.0

    def release(self):
        pass
