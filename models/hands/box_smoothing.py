"""BoxSmoother: a hand box that follows the hand without jittering (a One Euro filter on centre and size).

The One Euro filter (Casiez, Roussel and Vogel, CHI 2012) smooths hard while the box is still and
lets go while it moves, so a resting hand's box stays put and a moving hand's box does not lag.
Speeds are measured in box sides per second, so the same settings suit any resolution.
"""

from __future__ import annotations

import math

import numpy as np

from .regions import iou_xyxy


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class BoxSmoother:
    """Smooths a stream of (x0, y0, x1, y1) boxes; `update` returns the smoothed box.

    min_cutoff_hz: lower steadies a still hand more (and lags more when it starts moving).
    beta: higher follows fast moves more closely. A box that no longer overlaps the smoothed one
    (another hand, a lost and found hand) is taken as it is rather than slid towards.
    """

    def __init__(self, min_cutoff_hz: float = 0.5, beta: float = 2.0, d_cutoff_hz: float = 1.0,
                 frame_interval_s: float = 1 / 30):
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self.frame_interval_s = frame_interval_s  # assumed between updates given no timestamps
        self.reset()

    def reset(self) -> None:
        self._state: np.ndarray | None = None  # centre x, centre y, side (w and h kept via aspect)
        self._speed = np.zeros(3)
        self._aspect = 1.0
        self._last_t: float | None = None

    def update(self, box_xyxy, timestamp_s: float | None = None) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = (float(v) for v in box_xyxy)
        width, height = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
        value = np.array([(x0 + x1) / 2, (y0 + y1) / 2, math.sqrt(width * height)])
        dt = self.frame_interval_s
        if timestamp_s is not None and self._last_t is not None and timestamp_s > self._last_t:
            dt = timestamp_s - self._last_t
        self._last_t = timestamp_s
        if self._state is None or iou_xyxy(self.box(), (x0, y0, x1, y1)) == 0.0:
            self._state, self._speed, self._aspect = value, np.zeros(3), width / height
            return self.box()
        speed = (value - self._state) / dt / self._state[2]  # box sides per second
        self._speed += _alpha(self.d_cutoff_hz, dt) * (speed - self._speed)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._speed)
        alpha = np.array([_alpha(c, dt) for c in cutoff])
        self._state = self._state + alpha * (value - self._state)
        self._aspect += alpha[2] * (width / height - self._aspect)
        return self.box()

    def box(self) -> tuple[float, float, float, float]:
        """The current smoothed box (after at least one update)."""
        cx, cy, side = self._state
        half_w, half_h = side * math.sqrt(self._aspect) / 2, side / math.sqrt(self._aspect) / 2
        return cx - half_w, cy - half_h, cx + half_w, cy + half_h
