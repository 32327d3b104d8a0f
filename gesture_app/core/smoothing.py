"""Temporal smoothing so the label does not flicker between neighbouring frames (no Qt here)."""

from __future__ import annotations

from collections import deque

import numpy as np


class Smoother:
    """Mean of the class probabilities over the last `window` classified frames; window 1 is off.

    Averaging probabilities (rather than voting on labels) keeps a confident
    frame from being outvoted by two hesitant ones, and the result still sums to 1.
    """

    def __init__(self, window: int = 5):
        if window < 1:
            raise ValueError(f"smoothing window must be at least 1 frame (1 = off), got {window}")
        self.window = int(window)
        self._recent: deque[np.ndarray] = deque(maxlen=self.window)

    def update(self, probs: np.ndarray) -> np.ndarray:
        self._recent.append(np.asarray(probs, dtype=np.float32))
        if len(self._recent) == 1:
            return self._recent[0]
        return np.mean(np.stack(self._recent), axis=0)

    def reset(self) -> None:
        """Forget the history (a new source, a new model, or a frame with no hand)."""
        self._recent.clear()

    def __len__(self) -> int:
        return len(self._recent)
