"""HandLocaliser: where the hands are in a frame, from MediaPipe's lite palm and landmark models.

Ways in: `find` (one still frame: palm detection, then landmarks), `track` (video: the next
frame's region comes from this frame's landmarks, so a steady hand costs one landmark pass a
frame), `find_in_region` (a box someone already chose) and `track_in_region` (that, on video).
"No hand" is decided by the landmark model's presence score, never by a classifier's confidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .landmarks import LandmarkModel, LandmarkResult, next_region
from .palm import PalmDetector
from .regions import Region, iou_xyxy

# Presence >= 0.5 took 1 of 315 no-hand crops (an elbow) and 98.5 % of 4,000 hand crops for hands
# (benchmarks/hand_finding.py); MediaPipe's own threshold.
MIN_PRESENCE = 0.5
CROP_PAD = 0.15  # the training crops' margin, a fraction of the hand's longer side on each side
# Regions that overlap more than this are one hand (MediaPipe's AssociationNormRectCalculator).
SAME_HAND_IOU = 0.5
# find_in_region: the direct pass sees the box's square grown by DIRECT_SCALE; when that finds no
# hand, palm detection looks in the square grown by PALM_SEARCH_SCALE (a palm must be small in
# its input to be found, and a tight crop makes it fill the input).
DIRECT_SCALE = 1.3
PALM_SEARCH_SCALE = 3.0


@dataclass(frozen=True, eq=False)  # eq=False: comparing the arrays field by field is ambiguous
class Hand:
    """One hand in frame pixels."""

    crop_box_xyxy: tuple[float, float, float, float]  # square, CROP_PAD a side; may reach past the frame
    landmarks_px: np.ndarray  # (21, 3) float32: x, y in frame pixels, z relative depth (pixel scale)
    presence: float  # the landmark model's hand-presence probability
    # "left" or "right" as MediaPipe labels it, which assumes a mirrored (selfie) frame: on an
    # unmirrored camera frame "left" is the person's right hand.
    handedness: str
    handedness_score: float  # probability of that label, 0.5-1
    tracked: bool  # the region came from the previous frame's landmarks, not a palm detection
    region: Region = field(repr=False)  # the rotated square the landmark model saw

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box_xyxy
        return (x0 + x1) / 2, (y0 + y1) / 2

    @property
    def box_xyxy(self) -> tuple[float, float, float, float]:
        """The tight box around the 21 landmarks."""
        low, high = self.landmarks_px[:, :2].min(axis=0), self.landmarks_px[:, :2].max(axis=0)
        return float(low[0]), float(low[1]), float(high[0]), float(high[1])


def square_crop_box(landmarks_px: np.ndarray, pad: float = CROP_PAD) -> tuple[float, float, float, float]:
    """The square around the landmarks' box, its longer side plus `pad` of it on each side."""
    low, high = landmarks_px[:, :2].min(axis=0), landmarks_px[:, :2].max(axis=0)
    cx, cy = (low + high) / 2
    half = float(max(high - low)) * (1 + 2 * pad) / 2
    return float(cx - half), float(cy - half), float(cx + half), float(cy + half)


def _make_hand(result: LandmarkResult, tracked: bool, pad: float) -> Hand:
    left = result.left_score >= 0.5
    return Hand(
        crop_box_xyxy=square_crop_box(result.landmarks_px, pad),
        landmarks_px=result.landmarks_px,
        presence=result.presence,
        handedness="left" if left else "right",
        handedness_score=result.left_score if left else 1.0 - result.left_score,
        tracked=tracked,
        region=result.region,
    )


def _upright_box(region: Region) -> tuple[float, float, float, float]:
    # MediaPipe compares regions by their unrotated rectangles; so do we.
    return (region.cx - region.width / 2, region.cy - region.height / 2,
            region.cx + region.width / 2, region.cy + region.height / 2)


def _checked_box(box_xyxy) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box_xyxy={tuple(box_xyxy)} is empty; give (x0, y0, x1, y1) with x1 > x0 and y1 > y0.")
    return x0, y0, x1, y1


def _inside(point, x0: float, y0: float, x1: float, y1: float) -> bool:
    return x0 <= point[0] <= x1 and y0 <= point[1] <= y1


def _distinct(hands: list[Hand]) -> list[Hand]:
    """Drops a hand whose landmark box overlaps an earlier (more present) one: two regions, one hand."""
    kept: list[Hand] = []
    for hand in sorted(hands, key=lambda h: -h.presence):
        if all(iou_xyxy(hand.box_xyxy, other.box_xyxy) <= SAME_HAND_IOU for other in kept):
            kept.append(hand)
    return kept


class HandLocaliser:
    """Finds up to `max_hands` hands. Not thread-safe: one per thread (each holds two interpreters).

    After every call, `timings_ms` holds that call's palm / landmarks / total milliseconds and
    `calls` counts model runs since construction.
    """

    def __init__(self, max_hands: int = 1, min_presence: float = MIN_PRESENCE, min_palm_score: float = 0.5,
                 crop_pad: float = CROP_PAD, num_threads: int | None = None):
        if max_hands < 1:
            raise ValueError(f"max_hands={max_hands}; it must be 1 or more.")
        self.max_hands = max_hands
        self.min_presence = min_presence
        self.crop_pad = crop_pad
        self.num_threads = num_threads
        self.palm_detector = PalmDetector(num_threads, min_palm_score)
        self.landmark_model = LandmarkModel(num_threads)
        self.timings_ms: dict[str, float] = {}
        self.calls = {"palm": 0, "landmarks": 0}
        self._tracked: list[Region] = []
        self._started = 0.0

    # -- entry points --------------------------------------------------------------------------------

    def find(self, frame_bgr: np.ndarray) -> list[Hand]:
        """Hands in one still frame: palm detection, then landmarks in each palm's region."""
        self._start(frame_bgr)
        hands = self._landmarks_in(frame_bgr, self._palm_regions(frame_bgr), tracked=False)
        return self._finish(hands)

    def track(self, frame_bgr: np.ndarray, look_for_new: bool = True) -> list[Hand]:
        """Hands in the next frame of a video, following the hands of the previous call.

        Palm detection runs only while fewer than max_hands are followed (so with max_hands=1 a
        steady hand never needs it); a followed hand whose presence drops is looked for again by
        palm detection on the same frame, not the next one. `reset()` before a new video.
        look_for_new=False skips palm detection while at least one hand is still followed (with
        max_hands=2 and one hand in view, palm detection would otherwise run on every frame and
        cost twice the landmark pass); the app asks for new hands every few frames only.
        """
        self._start(frame_bgr)
        hands = self._landmarks_in(frame_bgr, self._tracked, tracked=True)
        if len(hands) < self.max_hands and (look_for_new or not hands):
            followed = [h.region for h in hands]
            fresh = [r for r in self._palm_regions(frame_bgr)
                     if all(iou_xyxy(_upright_box(r), _upright_box(f)) <= SAME_HAND_IOU for f in followed)]
            hands += self._landmarks_in(frame_bgr, fresh[: self.max_hands - len(hands)], tracked=False)
        hands = self._finish(hands)
        self._tracked = [next_region(h.landmarks_px) for h in hands]
        return hands

    def find_in_region(self, frame_bgr: np.ndarray, box_xyxy) -> Hand | None:
        """The hand in a box someone chose (the user's box, a crop), or None.

        Landmarks on the box's square directly first (a loose box can hide a palm too small to
        detect, but the landmark model copes); when presence is low, palm detection in a padded
        square around the box (a tight box defeats the direct pass, not the palm detector), keeping
        to palms inside the box. Either way a second landmark pass on the hand's own rotated region
        settles the points (median error 9 % -> 2.6 % of the hand's size on the call frames).
        """
        self._start(frame_bgr)
        found = self._finish(self._search(frame_bgr, _checked_box(box_xyxy)))
        return found[0] if found else None

    def track_in_region(self, frame_bgr: np.ndarray, box_xyxy) -> Hand | None:
        """find_in_region for video: while the hand followed from the last call stays in the box, one landmark pass.

        Shares `track`'s memory of the followed hand; `reset()` when the box's meaning changes.
        """
        self._start(frame_bgr)
        box = _checked_box(box_xyxy)
        hands = [h for h in self._landmarks_in(frame_bgr, self._tracked[:1], tracked=True) if _inside(h.centre, *box)]
        found = self._finish(hands or self._search(frame_bgr, box))
        self._tracked = [next_region(h.landmarks_px) for h in found]
        return found[0] if found else None

    def _search(self, frame_bgr: np.ndarray, box: tuple[float, float, float, float]) -> list[Hand]:
        x0, y0, x1, y1 = box
        hands = self._landmarks_in(frame_bgr, [Region.square_around(x0, y0, x1, y1, DIRECT_SCALE)], tracked=False)
        if not hands:
            search = Region.square_around(x0, y0, x1, y1, PALM_SEARCH_SCALE)
            # Only a palm inside the box is the one meant; of those, the one nearest its centre.
            centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
            palms = [p for p in self._detect(frame_bgr, search) if _inside(p.keypoints_px.mean(axis=0), *box)]
            palms.sort(key=lambda p: float(np.linalg.norm(p.keypoints_px.mean(axis=0) - centre)))
            hands = self._landmarks_in(frame_bgr, [p.hand_region() for p in palms[:1]], tracked=False)
        if hands:
            refined = self._landmarks_in(frame_bgr, [next_region(hands[0].landmarks_px)], tracked=False)
            hands = refined or hands
        return hands

    def reset(self) -> None:
        """Forget the hands being followed (a new video, or a jump in the scene)."""
        self._tracked = []

    # -- stages ----------------------------------------------------------------------------------

    def _detect(self, frame_bgr: np.ndarray, region: Region | None = None):
        started = time.perf_counter()
        palms = self.palm_detector(frame_bgr, region)
        self.timings_ms["palm"] += (time.perf_counter() - started) * 1000
        self.calls["palm"] += 1
        return palms

    def _palm_regions(self, frame_bgr: np.ndarray) -> list[Region]:
        """The best max_hands palms' hand regions, overlapping ones dropped (as MediaPipe associates them)."""
        regions: list[Region] = []
        for palm in self._detect(frame_bgr)[: self.max_hands]:
            region = palm.hand_region()
            if all(iou_xyxy(_upright_box(region), _upright_box(r)) <= SAME_HAND_IOU for r in regions):
                regions.append(region)
        return regions

    def _landmarks_in(self, frame_bgr: np.ndarray, regions, tracked: bool) -> list[Hand]:
        hands = []
        for region in regions:
            started = time.perf_counter()
            result = self.landmark_model(frame_bgr, region)
            self.timings_ms["landmarks"] += (time.perf_counter() - started) * 1000
            self.calls["landmarks"] += 1
            if result.presence >= self.min_presence:
                hands.append(_make_hand(result, tracked, self.crop_pad))
        return hands

    def _start(self, frame_bgr: np.ndarray) -> None:
        if not (isinstance(frame_bgr, np.ndarray) and frame_bgr.ndim == 3 and frame_bgr.shape[2] == 3
                and frame_bgr.dtype == np.uint8):
            got = f"{frame_bgr.dtype} {frame_bgr.shape}" if isinstance(frame_bgr, np.ndarray) else type(frame_bgr).__name__
            raise ValueError(f"frame_bgr must be an (H, W, 3) uint8 BGR image, got {got}; "
                             "convert greyscale with cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR).")
        self._started = time.perf_counter()
        self.timings_ms = {"palm": 0.0, "landmarks": 0.0}

    def _finish(self, hands: list[Hand]) -> list[Hand]:
        self.timings_ms["total"] = (time.perf_counter() - self._started) * 1000
        return _distinct(hands)[: self.max_hands]
