"""Finding the hands the pipeline classifies (no Qt here): the localiser, its modes, and each hand's box over time.

    tracker = HandTracker(max_hands=2)
    found = tracker.locate(frame_bgr, "auto", roi_box, stills=False, mirrored=False, crop=bundle.crop)

- "auto": hands anywhere in the frame. On video the localiser tracks them (one landmark pass a
  frame per hand; palm detection for new hands every NEW_HAND_EVERY frames, and at once when no
  hand is followed), and each hand's box is smoothed (models.hands.BoxSmoother), so the crop the
  classifier sees follows the hand without jittering. The box is cut as the classifier's training
  images were (`crop`, a models.hands.CropStyle: the padded square, or the landmarks' tight box).
- "off": the user's box, as it is; the localiser only says whether a hand is in it (its presence
  score) and where its landmarks are.
- stills (a folder of unrelated photos): every frame is looked at afresh, nothing carried over.

Each FoundHand keeps a `track_id` while the same hand is followed, so the pipeline can keep one
probability history per hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from models.hands import SQUARE, BoxSmoother, CropStyle, Hand, HandLocaliser
from models.hands.regions import iou_xyxy

LOCATE_CHOICES = ("auto", "off")
DEFAULT_LOCATE = "auto"
DEFAULT_MAX_HANDS = 2  # the "up to two hands"; each costs one landmark pass a frame
# While a hand is followed, palm detection (about twice a landmark pass) looks for another hand only
# on every NEW_HAND_EVERY-th frame: a second hand shows up within a sixth of a second at 30 fps.
NEW_HAND_EVERY = 5
# A hand whose box overlaps a followed hand's last box this much is that hand (same history).
SAME_TRACK_IOU = 0.2
# LiteRT's own default runs the hand models on one thread; two to four use a laptop's cores.
LOCALISER_THREADS = max(1, min(4, os.cpu_count() or 1))


def persons_handedness(mediapipe_label: str, mirrored: bool) -> str:
    """The person's own hand ("left"/"right") from MediaPipe's label, which assumes a mirrored (selfie) frame."""
    if mirrored:
        return mediapipe_label
    return {"left": "right", "right": "left"}.get(mediapipe_label, mediapipe_label)


@dataclass(frozen=True, eq=False)
class FoundHand:
    hand: Hand  # as the localiser returned it (frame pixels, MediaPipe's own handedness label)
    box_xyxy: tuple[float, float, float, float]  # what the classifier sees: auto: the smoothed crop box; off: the user's box
    handedness: str  # the person's own hand, corrected for an unmirrored frame
    track_id: int  # the same while the same hand is followed


class _Track:
    def __init__(self, track_id: int, box_xyxy):
        self.track_id = track_id
        self.last_box = tuple(box_xyxy)
        self.box_smoother = BoxSmoother()


class HandTracker:
    """The pipeline's hand finding; not thread-safe (the inference thread owns it).

    The localiser (two LiteRT interpreters) is made on first use, on the thread that uses it.
    """

    def __init__(self, max_hands: int = DEFAULT_MAX_HANDS, num_threads: int | None = LOCALISER_THREADS,
                 localiser_factory=HandLocaliser):
        if max_hands < 1:
            raise ValueError(f"max_hands={max_hands}; it must be 1 or more.")
        self.max_hands = max_hands
        self.num_threads = num_threads
        self._localiser_factory = localiser_factory
        self._localiser = None
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._frames_followed = 0
        self._last_mode: str | None = None
        self._last_crop: CropStyle = SQUARE

    @property
    def localiser(self):
        if self._localiser is None:
            self._localiser = self._localiser_factory(max_hands=self.max_hands, num_threads=self.num_threads)
        return self._localiser

    @property
    def timings_ms(self) -> dict[str, float]:
        """The last call's palm / landmarks / total milliseconds (empty before the first)."""
        return dict(self._localiser.timings_ms) if self._localiser is not None else {}

    def reset(self) -> None:
        """Forget the followed hands and their boxes (a new source, a mirror flip, a mode change)."""
        if self._localiser is not None:
            self._localiser.reset()
        self._tracks = []
        self._frames_followed = 0

    def locate(self, frame_bgr: np.ndarray, mode: str, roi_box_xyxy, *, stills: bool = False, mirrored: bool = False,
               timestamp_s: float | None = None, crop: CropStyle = SQUARE) -> list[FoundHand]:
        """The hands to classify in this frame, most present first; [] when there is none.

        crop: how "auto" cuts each hand's box (the classifier's training crops).
        """
        if mode not in LOCATE_CHOICES:
            raise ValueError(f"locate mode {mode!r}; use one of {', '.join(LOCATE_CHOICES)}.")
        if mode != self._last_mode or crop != self._last_crop:
            self.reset()  # the followed hands (and boxes) of one mode or crop mean nothing to the other
            self._last_mode, self._last_crop = mode, crop
        localiser = self.localiser
        if mode == "off":
            hand = (localiser.find_in_region(frame_bgr, roi_box_xyxy) if stills
                    else localiser.track_in_region(frame_bgr, roi_box_xyxy))
            hands = [] if hand is None else [hand]
        elif stills:
            localiser.reset()
            hands = localiser.find(frame_bgr)
        else:
            look = not self._tracks or self._frames_followed % NEW_HAND_EVERY == 0
            hands = localiser.track(frame_bgr, look_for_new=look)
        if stills:
            self._tracks = []  # an unrelated photo: no history, a new track for every hand
        found = self._follow(hands, mode, roi_box_xyxy, stills, timestamp_s, crop)
        self._frames_followed = self._frames_followed + 1 if found else 0
        return [FoundHand(hand, box, persons_handedness(hand.handedness, mirrored), track_id)
                for hand, box, track_id in found]

    def _follow(self, hands: list[Hand], mode: str, roi_box_xyxy, stills: bool, timestamp_s, crop: CropStyle):
        """[(hand, box, track id)]: each hand matched to the followed hand it overlaps most, boxes smoothed."""
        unmatched = list(self._tracks)
        tracks, found = [], []
        for hand in hands:
            raw_box = crop.box_for(hand.landmarks_px)
            best = max(unmatched, key=lambda t: iou_xyxy(t.last_box, raw_box), default=None)
            if best is None or iou_xyxy(best.last_box, raw_box) < SAME_TRACK_IOU:
                best = _Track(self._next_id, raw_box)
                self._next_id += 1
            else:
                unmatched.remove(best)
            best.last_box = raw_box
            if mode == "off":
                box = tuple(float(v) for v in roi_box_xyxy)
            elif stills:
                box = tuple(float(v) for v in raw_box)
            else:
                box = best.box_smoother.update(raw_box, timestamp_s)
            tracks.append(best)
            found.append((hand, box, best.track_id))
        self._tracks = tracks
        return found
