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

    def dragged(self, dx: float, dy: float) -> "RegionOfInterest":
        """This box moved by (dx, dy) fractions of the frame's width and height (a drag in the window)."""
        return self.moved_to(self.cx + dx, self.cy + dy)

    def kept_clear_of(self, areas, frame_shape) -> "RegionOfInterest":
        """This box moved as little as it takes to lie inside the frame and off every area.

        areas: (x0, y0, x1, y1) pixel boxes of what must stay visible (the overlay's readout).
        The centre is set to where the box is drawn, so a box pushed against the frame's edge does
        not carry an overshoot into the next drag. A box too big to fit beside the areas stays put.
        """
        height, width = frame_shape[:2]
        x0, y0, x1, y1 = self.to_pixels(frame_shape)
        side = x1 - x0

        def overlaps(x, y):
            return any(x < a1 and a0 < x + side and y < b1 and b0 < y + side for a0, b0, a1, b1 in areas)

        # The nearest free place has each coordinate where it is or against an area's edge.
        xs = {x0, *(a[2] for a in areas), *(a[0] - side for a in areas)}
        ys = {y0, *(a[3] for a in areas), *(a[1] - side for a in areas)}
        places = [(min(max(x, 0), width - side), min(max(y, 0), height - side)) for x in xs for y in ys]
        free = [(x, y) for x, y in places if not overlaps(x, y)]
        x, y = min(free, key=lambda p: (p[0] - x0) ** 2 + (p[1] - y0) ** 2) if free else (x0, y0)
        return replace(self, cx=(x + side / 2) / width, cy=(y + side / 2) / height)

    @classmethod
    def from_pixels(cls, box: tuple[int, int, int, int], frame_shape) -> "RegionOfInterest":
        """The ROI for a pixel box (its side is the larger of the box's width and height)."""
        height, width = frame_shape[:2]
        x0, y0, x1, y1 = box
        side = max(x1 - x0, y1 - y0)
        return cls(cx=(x0 + x1) / 2 / width, cy=(y0 + y1) / 2 / height, size=side / min(height, width))


DEFAULT_ROI = RegionOfInterest()
