"""Hand finding with MediaPipe Hands' lite models run by LiteRT: no `mediapipe` package, no Qt.

    localiser = HandLocaliser()
    hands = localiser.track(frame_bgr)          # video; or .find(frame_bgr) for a still
    hand = localiser.find_in_region(frame_bgr, (x0, y0, x1, y1))
    crop_bgr = hand_crop_bgr(frame_bgr, hand.crop_box_xyxy)   # what the classifier sees
"""

from .box_smoothing import BoxSmoother
from .crops import hand_crop_bgr, pixel_box
from .files import LANDMARK_MODEL, PALM_MODEL, SHA256, HandModelError
from .localiser import CROP_PAD, MIN_PRESENCE, Hand, HandLocaliser, square_crop_box
from .regions import Region

__all__ = [
    "CROP_PAD",
    "LANDMARK_MODEL",
    "MIN_PRESENCE",
    "PALM_MODEL",
    "SHA256",
    "BoxSmoother",
    "Hand",
    "HandLocaliser",
    "HandModelError",
    "Region",
    "hand_crop_bgr",
    "pixel_box",
    "square_crop_box",
]
