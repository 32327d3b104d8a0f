"""The original application's background-subtracted silhouette: white hand on black (no Qt here).

Per crop: bilateral filter (5, 50, 100); a MOG2 model of the background taken
when the user asks (history 0, threshold 50, no shadows, never updated
afterwards) masks the crop; the mask is eroded 3x3, the masked crop turned
grey, blurred 35x35 and Otsu-thresholded. Crops with under ~3% white are
"no hand" and are not classified.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_HAND_FRACTION = 0.03


def _smooth(crop_bgr: np.ndarray) -> np.ndarray:
    return cv2.bilateralFilter(crop_bgr, 5, 50, 100)


class SilhouetteExtractor:
    def __init__(self, var_threshold: float = 50.0, blur: int = 35, min_fraction: float = MIN_HAND_FRACTION):
        self.var_threshold = var_threshold
        self.blur = blur
        self.min_fraction = min_fraction
        self._subtractor = None
        self._shape: tuple[int, ...] | None = None
        self.last_fraction = 0.0  # white fraction of the last extracted silhouette

    @property
    def has_background(self) -> bool:
        return self._subtractor is not None

    def capture_background(self, crop_bgr: np.ndarray) -> None:
        """Take this crop (with no hand in it) as the background."""
        self._subtractor = cv2.createBackgroundSubtractorMOG2(history=0, varThreshold=self.var_threshold, detectShadows=False)
        # Rate 1 makes the model exactly this frame; afterwards rate 0 keeps it fixed,
        # as the original did, so a hand held still never fades into the background.
        self._subtractor.apply(_smooth(crop_bgr), learningRate=1.0)
        self._shape = crop_bgr.shape

    def reset(self) -> None:
        self._subtractor = None
        self._shape = None

    def mask(self, crop_bgr: np.ndarray) -> np.ndarray | None:
        """(H, W) uint8 0/255 silhouette, or None without a background of this crop's size."""
        if self._subtractor is None:
            return None
        if crop_bgr.shape != self._shape:
            # The box was moved to another size: the old background no longer lines up.
            self.reset()
            return None
        smooth_bgr = _smooth(crop_bgr)
        foreground = self._subtractor.apply(smooth_bgr, learningRate=0.0)
        foreground = cv2.erode(foreground, np.ones((3, 3), np.uint8), iterations=1)
        hand_bgr = cv2.bitwise_and(smooth_bgr, smooth_bgr, mask=foreground)
        grey = cv2.cvtColor(hand_bgr, cv2.COLOR_BGR2GRAY)
        blurred = cv2.GaussianBlur(grey, (self.blur, self.blur), 0)
        _, silhouette = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return silhouette

    def extract(self, crop_bgr: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) BGR white-on-black silhouette, or None (no background yet, or too little hand)."""
        silhouette = self.mask(crop_bgr)
        if silhouette is None:
            self.last_fraction = 0.0
            return None
        self.last_fraction = float(np.count_nonzero(silhouette)) / silhouette.size
        if self.last_fraction < self.min_fraction:
            return None
        return cv2.cvtColor(silhouette, cv2.COLOR_GRAY2BGR)
