"""The hand crop the classifier sees, cut the same way by the app, the capture tool and training.

    crop_bgr = hand_crop_bgr(frame_bgr, hand.crop_box_xyxy)   # (S, S, 3), black past the frame's edges

`Hand.crop_box_xyxy` is a square around the landmarks with CROP_PAD (15 %) of the hand's longer side
on each side; near a frame edge it reaches past the frame, and the part outside is filled with
black rather than moved inside the frame, so the hand stays centred at the same size.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def pixel_box(box_xyxy) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) floats -> whole pixels, the same side for a square box wherever it sits."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    width, height = max(1, int(round(x1 - x0))), max(1, int(round(y1 - y0)))
    left, top = int(math.floor(x0 + 0.5)), int(math.floor(y0 + 0.5))
    return left, top, left + width, top + height


def hand_crop_bgr(frame_bgr: np.ndarray, box_xyxy, size: int | None = None) -> np.ndarray:
    """The box cut out of the frame, zero-filled where it reaches past the frame; resized to (size, size) if given.

    The result is a new array (never a view): callers may keep it while the frame is reused.
    """
    x0, y0, x1, y1 = pixel_box(box_xyxy)
    height, width = frame_bgr.shape[:2]
    crop_bgr = np.zeros((y1 - y0, x1 - x0) + frame_bgr.shape[2:], dtype=frame_bgr.dtype)
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if fx1 > fx0 and fy1 > fy0:
        crop_bgr[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0] = frame_bgr[fy0:fy1, fx0:fx1]
    if size is not None and crop_bgr.shape[:2] != (size, size):
        shrink = crop_bgr.shape[0] * crop_bgr.shape[1] > size * size
        crop_bgr = cv2.resize(crop_bgr, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return crop_bgr
