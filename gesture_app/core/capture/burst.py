"""When the next shot of a held burst is due (no Qt here)."""

from __future__ import annotations


class BurstClock:
    """Says when the next shot of a held burst is due, at `fps` shots per second."""

    def __init__(self, fps: float = 5.0):
        self.fps = fps
        self._next: float | None = None  # when the next shot is due

    @property
    def fps(self) -> float:
        return self._fps

    @fps.setter
    def fps(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"burst rate must be above 0 frames per second, got {value}")
        self._fps = float(value)

    def reset(self) -> None:
        self._next = None

    def due(self, now: float) -> bool:
        """True (and counts a shot) when a shot is due at time `now` (seconds)."""
        period = 1.0 / self._fps
        # A little slack so a frame arriving a hair early is not put off by a whole frame.
        if self._next is not None and now < self._next - 0.02 * period:
            return False
        # Keep to the schedule so the rate holds on average, unless we fell a whole period behind.
        on_schedule = self._next is not None and now - self._next < period
        self._next = (self._next if on_schedule else now) + period
        return True
