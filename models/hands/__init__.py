"""Hand finding with MediaPipe Hands' lite models run by LiteRT: no `mediapipe` package, no Qt.

    localiser = HandLocaliser()
    hands = localiser.track(frame_bgr)          # video; or .find(frame_bgr) for a still
    hand = localiser.find_in_region(frame_bgr, (x0, y0, x1, y1))
    crop_bgr = crop_for(frame_bgr, hand, bundle.crop)   # what the classifier sees: cut as its training images were
"""

from .box_smoothing import BoxSmoother
from .crops import CROP_STYLES, HAGRID_MARGINS, SQUARE, CropStyle, crop_for, hand_crop_bgr, pixel_box
from .files import LANDMARK_MODEL, PALM_MODEL, SHA256, HandModelError
from .localiser import CROP_PAD, MIN_PRESENCE, Hand, HandLocaliser, square_crop_box
from .regions import Region

__all__ = [
    "CROP_PAD",
    "CROP_STYLES",
    "HAGRID_MARGINS",
    "LANDMARK_MODEL",
    "MIN_PRESENCE",
    "PALM_MODEL",
    "SHA256",
    "SQUARE",
    "CropStyle",
    "BoxSmoother",
    "Hand",
    "HandLocaliser",
    "HandModelError",
    "Region",
    "crop_for",
    "hand_crop_bgr",
    "pixel_box",
    "square_crop_box",
]
