"""The hand crop the classifier sees, cut the same way by the app, the capture tool and training.

    crop_bgr = crop_for(frame_bgr, hand, bundle.crop)         # the crop the bundle's CNN was trained on
    crop_bgr = hand_crop_bgr(frame_bgr, hand.crop_box_xyxy)   # (S, S, 3), black past the frame's edges

A CNN should see a found hand cut the way its training images were cut (`CropStyle`, recorded in
bundle.json's "crop"): "square" is `Hand.crop_box_xyxy`, a square around the landmarks with
CROP_PAD (15 %) of the hand's longer side on each side (what the capture tool saves); "tight" is the
landmarks' own box grown by a margin on each side, like HaGRID's hand crops, which the default
model learned from (squashed to a square later, by the preprocessing). Near a frame edge a box
reaches past the frame, and the part outside is filled with black rather than moved inside the
frame, so the hand stays centred at the same size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .localiser import CROP_PAD, square_crop_box

CROP_STYLES = ("square", "tight")
# HaGRID's hand crops (the default model's 4,000 photographs) around the localiser's 21 landmarks:
# the median margin on each side as a fraction of the landmarks' box (left and right of its width,
# top and bottom of its height), `python benchmarks/crop_margins.py`: a hand found in 3,939 of the
# 4,000; interquartile ranges 0.12-0.25, 0.08-0.13, 0.12-0.24, 0.06-0.13.
HAGRID_MARGINS = (0.175, 0.098, 0.165, 0.085)  # left, top, right, bottom


@dataclass(frozen=True)
class CropStyle:
    """How a CNN's training images were cut around the hand, so a found hand is cut the same way.

    bundle.json: {"style": "square", "pad": 0.15} or {"style": "tight", "margins": [l, t, r, b]}.
    """

    style: str = "square"  # "square": the padded square; "tight": the landmarks' box plus `margins`
    pad: float = CROP_PAD  # square: a fraction of the hand's longer side, on each side
    margins: tuple[float, float, float, float] = HAGRID_MARGINS  # tight: left, top, right, bottom

    def __post_init__(self):
        if self.style not in CROP_STYLES:
            raise ValueError(f"crop style {self.style!r}; use one of {', '.join(CROP_STYLES)}.")
        if len(self.margins) != 4 or self.pad < 0 or min(self.margins) < 0:
            raise ValueError(f"crop pad {self.pad} / margins {self.margins}: give a pad >= 0 and four margins >= 0.")
        object.__setattr__(self, "margins", tuple(float(m) for m in self.margins))

    @classmethod
    def tight(cls, margins=HAGRID_MARGINS) -> "CropStyle":
        return cls("tight", margins=tuple(margins))

    def to_dict(self) -> dict:
        if self.style == "square":
            return {"style": "square", "pad": self.pad}
        return {"style": "tight", "margins": list(self.margins),
                "what": "the landmarks' box plus margins (left, top, right, bottom) of its width / height"}

    @classmethod
    def from_dict(cls, entry: dict) -> "CropStyle":
        style = entry.get("style")
        if style == "square":
            return cls("square", pad=float(entry.get("pad", CROP_PAD)))
        if style == "tight":
            return cls("tight", margins=tuple(entry.get("margins", HAGRID_MARGINS)))
        raise ValueError(f"crop style {style!r}; use one of {', '.join(CROP_STYLES)}")

    def box_for(self, landmarks_px: np.ndarray) -> tuple[float, float, float, float]:
        """The box (x0, y0, x1, y1), in frame pixels, this style cuts around a hand's (21, 2+) landmarks."""
        if self.style == "square":
            return square_crop_box(landmarks_px, self.pad)
        low, high = landmarks_px[:, :2].min(axis=0), landmarks_px[:, :2].max(axis=0)
        width, height = float(high[0] - low[0]), float(high[1] - low[1])
        left, top, right, bottom = self.margins
        return (float(low[0]) - left * width, float(low[1]) - top * height,
                float(high[0]) + right * width, float(high[1]) + bottom * height)


SQUARE = CropStyle()


def crop_for(frame_bgr: np.ndarray, hand, style: CropStyle = SQUARE, box_xyxy=None) -> np.ndarray:
    """The crop of a found hand (a models.hands.Hand) a CNN trained on `style` crops should see.

    box_xyxy: the box to cut instead of `style.box_for(hand.landmarks_px)` (the app passes that box
    smoothed over the frames of a video).
    """
    box = style.box_for(hand.landmarks_px) if box_xyxy is None else box_xyxy
    return hand_crop_bgr(frame_bgr, pixel_box(box))


def pixel_box(box_xyxy) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) floats -> whole pixels, the same sides for a box of one size wherever it sits."""
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
