"""The region of interest: the square box the user holds a hand in, and the crop the classifier sees."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class RegionOfInterest:
    """A square box, placed in fractions of the frame so it survives resolution changes.

    cx, cy: centre as fractions of frame width and height (0..1, top-left origin);
    size: side length as a fraction of the frame's shorter side.
    """

    cx: float = 0.72
    cy: float = 0.45
    size: float = 0.6

    def __post_init__(self):
        if not 0.05 <= self.size <= 1.0:
            raise ValueError(f"ROI size must be between 0.05 and 1 of the frame's shorter side, got {self.size}")

    def to_pixels(self, frame_shape) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in pixels for a frame of shape (H, W, ...), kept inside the frame."""
        height, width = frame_shape[:2]
        side = max(1, int(round(self.size * min(height, width))))
        x0 = int(round(self.cx * width - side / 2))
        y0 = int(round(self.cy * height - side / 2))
        x0 = min(max(x0, 0), width - side)
        y0 = min(max(y0, 0), height - side)
        return x0, y0, x0 + side, y0 + side

    def crop(self, frame_bgr: np.ndarray) -> np.ndarray:
        """The square crop inside the box (a view into the frame, no copy)."""
        x0, y0, x1, y1 = self.to_pixels(frame_bgr.shape)
        return frame_bgr[y0:y1, x0:x1]

    def moved_to(self, cx: float, cy: float) -> "RegionOfInterest":
        return replace(self, cx=min(max(cx, 0.0), 1.0), cy=min(max(cy, 0.0), 1.0))

    def resized(self, size: float) -> "RegionOfInterest":
        return replace(self, size=min(max(size, 0.05), 1.0))

    @classmethod
    def from_pixels(cls, box: tuple[int, int, int, int], frame_shape) -> "RegionOfInterest":
        """The ROI for a pixel box (its side is the larger of the box's width and height)."""
        height, width = frame_shape[:2]
        x0, y0, x1, y1 = box
        side = max(x1 - x0, y1 - y0)
        return cls(cx=(x0 + x1) / 2 / width, cy=(y0 + y1) / 2 / height, size=side / min(height, width))


DEFAULT_ROI = RegionOfInterest()
