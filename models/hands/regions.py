"""Rotated rectangles in frame pixels, and the affine warps that cut them out for a model.

MediaPipe's NormalizedRect, kept in pixels: with square regions (all of ours are) its rotation,
shift and projection arithmetic is the same, and nothing has to carry the image size around.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


def normalize_radians(angle: float) -> float:
    """The same angle in [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rotation_towards(start_xy, end_xy, target: float = math.pi / 2) -> float:
    """The rotation that turns the start->end vector to point at `target` (pi/2: straight up)."""
    dx = float(end_xy[0]) - float(start_xy[0])
    dy = float(end_xy[1]) - float(start_xy[1])
    return normalize_radians(target - math.atan2(-dy, dx))  # -dy: image y grows downwards


@dataclass(frozen=True)
class Region:
    """A rectangle in frame pixels, rotated by `rotation` radians (clockwise on screen) about its centre."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    @classmethod
    def from_xyxy(cls, x0: float, y0: float, x1: float, y1: float) -> Region:
        return cls((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)

    @classmethod
    def square_around(cls, x0: float, y0: float, x1: float, y1: float, scale: float = 1.0) -> Region:
        """The upright square with the box's centre and `scale` times its longer side."""
        side = max(x1 - x0, y1 - y0) * scale
        return cls((x0 + x1) / 2, (y0 + y1) / 2, side, side)

    def transformed(self, scale: float, shift_y: float = 0.0) -> Region:
        """Shifted along its own up axis by shift_y heights, squared on the long side, scaled.

        MediaPipe's RectTransformationCalculator with square_long (how a palm box or a hand's
        landmarks become the square the landmark model is given).
        """
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        dy = self.height * shift_y
        side = max(self.width, self.height) * scale
        return Region(self.cx - sin * dy, self.cy + cos * dy, side, side, self.rotation)

    def to_frame(self, uv: np.ndarray) -> np.ndarray:
        """(N, 2) points in the region's unit square ([0, 1], y down) -> (N, 2) frame pixels."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        local = (np.asarray(uv, dtype=np.float64) - 0.5) * (self.width, self.height)
        x = cos * local[:, 0] - sin * local[:, 1] + self.cx
        y = sin * local[:, 0] + cos * local[:, 1] + self.cy
        return np.stack([x, y], axis=1)

    def corners(self) -> np.ndarray:
        """(4, 2) corners in frame pixels: top-left, top-right, bottom-right, bottom-left."""
        return self.to_frame(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64))

    def bounding_xyxy(self) -> tuple[float, float, float, float]:
        c = self.corners()
        return float(c[:, 0].min()), float(c[:, 1].min()), float(c[:, 0].max()), float(c[:, 1].max())

    def warp_matrix(self, size: int) -> np.ndarray:
        """(2, 3) affine taking frame pixels to a size x size image of this region (the inverse of to_frame)."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        sx, sy = size / self.width, size / self.height
        return np.array(
            [
                [sx * cos, sx * sin, size / 2 - sx * (cos * self.cx + sin * self.cy)],
                [-sy * sin, sy * cos, size / 2 - sy * (-sin * self.cx + cos * self.cy)],
            ],
            dtype=np.float64,
        )


def cut_out(frame_bgr: np.ndarray, region: Region, size: int, zero_border: bool) -> np.ndarray:
    """The region as a (size, size, 3) float32 RGB image in [0, 1], as MediaPipe's models take it.

    Outside the frame: black for the palm detector (its letterbox), the edge pixels repeated for
    the landmark model (MediaPipe's ImageToTensorCalculator defaults for each).
    """
    border = cv2.BORDER_CONSTANT if zero_border else cv2.BORDER_REPLICATE
    patch_bgr = cv2.warpAffine(frame_bgr, region.warp_matrix(size), (size, size), flags=cv2.INTER_LINEAR,
                               borderMode=border, borderValue=(0, 0, 0))
    patch_rgb = cv2.cvtColor(patch_bgr, cv2.COLOR_BGR2RGB)
    return patch_rgb.astype(np.float32) * (1.0 / 255.0)


def iou_xyxy(a, b) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
