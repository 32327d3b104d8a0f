"""Frame -> the image to save -> the dataset: the one capture path the window and headless mode share (no Qt here).

With `locate="auto"` (colour style) the saved image is the found hand's padded square
(`models.hands.crop_for` with the "square" CropStyle, the crop the app cuts for a bundle trained on
such images), and its manifest row carries the hand's landmarks in that crop; a frame with no hand
saves nothing. With
`locate="off"`, and always for silhouettes (which are cut from the box against its background, as
the app classifies them), the fixed box is saved as before and the landmarks cell stays empty
(`gesture-train` then finds them once and caches them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.dataset_rules import format_landmarks
from models.hands import SQUARE, crop_for, pixel_box
from models.preprocess import INPUT_STYLES

from ..locate import LOCATE_CHOICES, HandTracker
from ..roi import DEFAULT_ROI, RegionOfInterest
from .manifest import SavedImage
from .writer import DatasetWriter

NO_BACKGROUND = "no background yet: keep your hand out of the box and capture the background (B)"
TOO_LITTLE_HAND = "too little hand in the box"
NO_HAND = "no hand in view"
# How the capture tool cuts a found hand: gesture-train records this style in bundle.json's "crop"
# for a folder with the capture tool's manifest (training/dataset.py crop_style_for), so the app
# cuts hands for a model trained on these images the same way.
CAPTURE_CROP = SQUARE


def format_region(box_xyxy, frame_shape) -> str:
    """'x0 y0 x1 y1 of WxH': the crop's pixel box in the frame it came from (one CSV cell).

    `box_xyxy`: a RegionOfInterest, or a pixel box (a found hand's square may reach past the frame).
    """
    if isinstance(box_xyxy, RegionOfInterest):
        box_xyxy = box_xyxy.to_pixels(frame_shape)
    x0, y0, x1, y1 = box_xyxy
    height, width = frame_shape[:2]
    return f"{x0} {y0} {x1} {y1} of {width}x{height}"


def landmarks_in_crop(landmarks_px: np.ndarray, crop_box) -> np.ndarray:
    """(21, 3) frame pixels -> (21, 3) normalised to the crop `models.hands.crop_for` cuts for `crop_box`.

    x / width and y / height of the crop from its top-left pixel, z / width: the manifest's format
    (models/dataset_rules.py), so `ManifestLandmarks.to_pixels` gives back the points in the saved image.
    """
    x0, y0, x1, y1 = pixel_box(crop_box)
    width, height = x1 - x0, y1 - y0
    points = np.asarray(landmarks_px, dtype=np.float64)
    return np.stack([(points[:, 0] - x0) / width, (points[:, 1] - y0) / height, points[:, 2] / width], axis=1)


@dataclass(frozen=True)
class Shot:
    """What one frame would save, and what the preview shows of it."""

    image_bgr: np.ndarray | None  # the image to save; None when there is nothing to save (see `reason`)
    region: str = ""  # the manifest's region cell
    landmarks: str = ""  # the manifest's landmarks cell ("" when the hand was not looked for)
    box_xyxy: tuple[int, int, int, int] | None = None  # the box to draw, frame pixels: the smoothed hand square or the fixed box
    landmarks_px: np.ndarray | None = None  # (21, 3) the found hand's points in frame pixels, for the skeleton
    reason: str = ""  # why nothing would be saved


class Capturer:
    """Saves the found hand's crop (locate "auto") or the crop inside the box, in the chosen input style.

    The plain colour crop, or the silhouette from a SilhouetteExtractor (which needs a background).
    The hand tracker (and its models) is only made when a hand is first looked for.
    """

    def __init__(self, writer: DatasetWriter, *, roi: RegionOfInterest = DEFAULT_ROI, input_style: str = "colour",
                 extractor=None, save_full_frame: bool = False, source_name: str = "", locate: str = "off",
                 hand_tracker: HandTracker | None = None):
        if input_style not in INPUT_STYLES:
            raise ValueError(f"input_style must be one of {INPUT_STYLES}, got {input_style!r}")
        self.writer = writer
        self.roi = roi
        self.input_style = input_style
        self.extractor = extractor
        self.save_full_frame = save_full_frame
        self.source_name = source_name
        self.locate = locate
        self.stills = False  # frames are unrelated photos (a folder): each is looked at afresh
        self._tracker = hand_tracker
        self.last_shot = Shot(None)

    @property
    def locate(self) -> str:
        """"auto" or "off" as asked; `locating` says whether hands are looked for with the current style."""
        return self._locate

    @locate.setter
    def locate(self, mode: str) -> None:
        if mode not in LOCATE_CHOICES:
            raise ValueError(f"locate must be one of {', '.join(LOCATE_CHOICES)}, got {mode!r}")
        self._locate = mode

    @property
    def locating(self) -> bool:
        # A silhouette is the box minus its background: there is no background for a crop that moves.
        return self._locate == "auto" and self.input_style == "colour"

    @property
    def hand_tracker(self) -> HandTracker:
        if self._tracker is None:
            self._tracker = HandTracker(max_hands=1)  # one hand per saved image
        return self._tracker

    def reset(self, stills: bool | None = None) -> None:
        """Forget the followed hand (a new source, a mirror flip); stills: whether frames are unrelated photos."""
        if stills is not None:
            self.stills = bool(stills)
        if self._tracker is not None:
            self._tracker.reset()

    @property
    def skip_reason(self) -> str:
        return self.last_shot.reason

    def look(self, frame_bgr: np.ndarray) -> Shot:
        """What this frame would save (kept as `last_shot`)."""
        self.last_shot = self._find_hand(frame_bgr) if self.locating else self._in_box(frame_bgr)
        return self.last_shot

    def image_for(self, frame_bgr: np.ndarray) -> np.ndarray | None:
        """The image that would be saved for this frame, or None (reason in `skip_reason`)."""
        return self.look(frame_bgr).image_bgr

    def _find_hand(self, frame_bgr: np.ndarray) -> Shot:
        found = self.hand_tracker.locate(frame_bgr, "auto", self.roi.to_pixels(frame_bgr.shape), stills=self.stills,
                                         crop=CAPTURE_CROP)
        if not found:
            return Shot(None, reason=NO_HAND)
        hand = found[0].hand
        # The hand's own square in this frame, not the smoothed one the preview follows: the saved
        # image and its landmarks are this frame's hand exactly.
        crop_box = pixel_box(CAPTURE_CROP.box_for(hand.landmarks_px))
        points = landmarks_in_crop(hand.landmarks_px, crop_box)
        return Shot(
            crop_for(frame_bgr, hand, CAPTURE_CROP, crop_box),
            region=format_region(crop_box, frame_bgr.shape),
            # MediaPipe's label of the frame the crop was cut from, kept as given (the manifest's rule).
            landmarks=format_landmarks(points, hand.handedness),
            box_xyxy=pixel_box(found[0].box_xyxy),
            landmarks_px=hand.landmarks_px,
        )

    def _in_box(self, frame_bgr: np.ndarray) -> Shot:
        crop_bgr = self.roi.crop(frame_bgr)
        box = self.roi.to_pixels(frame_bgr.shape)
        region = format_region(box, frame_bgr.shape)
        if self.input_style == "colour":
            return Shot(crop_bgr.copy(), region, box_xyxy=box)
        if self.extractor is None or not self.extractor.has_background:
            return Shot(None, region, box_xyxy=box, reason=NO_BACKGROUND)
        silhouette_bgr = self.extractor.extract(crop_bgr)
        return Shot(silhouette_bgr, region, box_xyxy=box, reason="" if silhouette_bgr is not None else TOO_LITTLE_HAND)

    def capture(self, frame_bgr: np.ndarray, class_name: str, shot: Shot | None = None) -> SavedImage | None:
        """Save this frame's image for `class_name`; None when there is nothing to save (see `skip_reason`).

        `shot`: the frame's Shot from `look`, when the caller already made it (for a preview).
        """
        if shot is None:
            shot = self.look(frame_bgr)
        if shot.image_bgr is None:
            return None
        return self.writer.save(
            class_name,
            shot.image_bgr,
            source=self.source_name,
            region=shot.region,
            input_style=self.input_style,
            full_frame_bgr=frame_bgr if self.save_full_frame else None,
            landmarks=shot.landmarks,
        )
