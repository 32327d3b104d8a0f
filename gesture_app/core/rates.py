"""Smoothed event rates for the overlay's FPS figures (no Qt here)."""

from __future__ import annotations

import time


class RateMeter:
    """Events per second, as an exponential moving average of the gaps between `tick()`s."""

    def __init__(self, smoothing: float = 0.1, clock=time.perf_counter):
        self.smoothing = smoothing
        self._clock = clock
        self._last: float | None = None
        self._interval: float | None = None

    def tick(self) -> None:
        now = self._clock()
        if self._last is not None and now > self._last:
            gap = now - self._last
            self._interval = gap if self._interval is None else self._interval + self.smoothing * (gap - self._interval)
        self._last = now

    @property
    def rate(self) -> float | None:
        """Events per second, or None before two ticks."""
        return 1.0 / self._interval if self._interval else None

    def reset(self) -> None:
        self._last = None
        self._interval = None
