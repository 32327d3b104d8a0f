"""A one-frame mailbox between threads: writers replace the frame, readers take the newest.

Used wherever a fast producer meets a slower consumer (camera -> app, capture
-> inference): stale frames are overwritten rather than queued, so a slow
reader always sees the present, never a backlog.
"""

from __future__ import annotations

import threading

import numpy as np


class FrameSlot:
    def __init__(self):
        self._condition = threading.Condition()
        self._frame_bgr: np.ndarray | None = None
        self._index = -1  # index of the frame held; -1 while empty
        self._closed = False

    @property
    def index(self) -> int:
        with self._condition:
            return self._index

    def put(self, frame_bgr: np.ndarray) -> int:
        """Replace the held frame; returns its index (0, 1, 2, ... in arrival order)."""
        with self._condition:
            self._frame_bgr = frame_bgr
            self._index += 1
            self._condition.notify_all()
            return self._index

    def newest(self) -> tuple[int, np.ndarray | None]:
        """(index, frame) held now, without waiting; (-1, None) while empty."""
        with self._condition:
            return self._index, self._frame_bgr

    def wait_newer(self, after: int, timeout: float | None = None) -> tuple[int, np.ndarray] | None:
        """The newest frame with index > after, waiting up to timeout seconds; None on timeout or close."""
        with self._condition:
            self._condition.wait_for(lambda: self._index > after or self._closed, timeout)
            if self._index > after:
                return self._index, self._frame_bgr
            return None

    def close(self) -> None:
        """Wake every waiting reader; later waits return at once."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def closed(self) -> bool:
        with self._condition:
            return self._closed
