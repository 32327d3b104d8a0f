"""Shared by the hand-finding tests and benchmarks: the shipped test frames and a generated video."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

HANDS_DATA = Path(__file__).resolve().parent / "data" / "hands"
REFERENCE = HANDS_DATA / "mediapipe_reference.json"  # mediapipe 0.10.21's own results on these files
VIDEO_REFERENCE = HANDS_DATA / "mediapipe_video_reference.json"  # ... tracking through moving_video(CLIP_PHOTO)
CLIP_PHOTO = "hand_57bc79cd.jpg"


def load_reference(path: Path = REFERENCE) -> dict:
    return json.loads(path.read_text())["frames"]


def read_test_image(name: str) -> np.ndarray:
    image_bgr = cv2.imread(str(HANDS_DATA / name))
    assert image_bgr is not None, f"cannot read {HANDS_DATA / name}"
    return image_bgr


def moving_video(frame_bgr: np.ndarray, frames: int = 12, shift_px: float = 4.0, zoom_per_frame: float = 0.01):
    """A steady-hand clip made from one photo: each frame moved right by shift_px and zoomed about the centre.

    Yields (frame_bgr, affine): the (2, 3) matrix taking the photo's pixels to that frame's,
    so a test knows where every landmark should have gone.
    """
    height, width = frame_bgr.shape[:2]
    for index in range(frames):
        zoom = 1.0 + zoom_per_frame * index
        affine = cv2.getRotationMatrix2D((width / 2, height / 2), 0.0, zoom)
        affine[0, 2] += shift_px * index
        yield cv2.warpAffine(frame_bgr, affine, (width, height), borderMode=cv2.BORDER_REFLECT), affine


def apply_affine(affine: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    return points_xy @ affine[:, :2].T + affine[:, 2]
