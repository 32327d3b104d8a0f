"""Frame -> the image to save -> the dataset: the one capture path the window and headless mode share (no Qt here)."""

from __future__ import annotations

import numpy as np

from models.preprocess import INPUT_STYLES

from ..roi import DEFAULT_ROI, RegionOfInterest
from .manifest import SavedImage
from .writer import DatasetWriter

NO_BACKGROUND = "no background yet: keep your hand out of the box and capture the background (B)"
TOO_LITTLE_HAND = "too little hand in the box"


def format_region(roi: RegionOfInterest, frame_shape) -> str:
    """'x0 y0 x1 y1 of WxH': the crop's pixel box in the frame it came from (one CSV cell)."""
    x0, y0, x1, y1 = roi.to_pixels(frame_shape)
    height, width = frame_shape[:2]
    return f"{x0} {y0} {x1} {y1} of {width}x{height}"


class Capturer:
    """Saves the crop inside the region of interest, in the chosen input style.

    The plain colour crop, or the silhouette from a SilhouetteExtractor (which needs a background).
    """

    def __init__(self, writer: DatasetWriter, *, roi: RegionOfInterest = DEFAULT_ROI, input_style: str = "colour",
                 extractor=None, save_full_frame: bool = False, source_name: str = ""):
        if input_style not in INPUT_STYLES:
            raise ValueError(f"input_style must be one of {INPUT_STYLES}, got {input_style!r}")
        self.writer = writer
        self.roi = roi
        self.input_style = input_style
        self.extractor = extractor
        self.save_full_frame = save_full_frame
        self.source_name = source_name
        self.skip_reason = ""

    def image_for(self, frame_bgr: np.ndarray) -> np.ndarray | None:
        """The image that would be saved for this frame, or None (reason in `skip_reason`)."""
        crop_bgr = self.roi.crop(frame_bgr)
        if self.input_style == "colour":
            self.skip_reason = ""
            return crop_bgr.copy()
        if self.extractor is None or not self.extractor.has_background:
            self.skip_reason = NO_BACKGROUND
            return None
        silhouette_bgr = self.extractor.extract(crop_bgr)
        self.skip_reason = "" if silhouette_bgr is not None else TOO_LITTLE_HAND
        return silhouette_bgr

    def capture(self, frame_bgr: np.ndarray, class_name: str, image_bgr: np.ndarray | None = None) -> SavedImage | None:
        """Save this frame's image for `class_name`; None when there is nothing to save (see `skip_reason`).

        `image_bgr`: the frame's image from `image_for`, when the caller already made it (for a preview).
        """
        if image_bgr is None:
            image_bgr = self.image_for(frame_bgr)
        if image_bgr is None:
            return None
        return self.writer.save(
            class_name,
            image_bgr,
            source=self.source_name,
            region=format_region(self.roi, frame_bgr.shape),
            input_style=self.input_style,
            full_frame_bgr=frame_bgr if self.save_full_frame else None,
        )
