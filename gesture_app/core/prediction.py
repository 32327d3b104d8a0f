"""What the pipeline tells the overlay, the window, the actions and the CSV about one frame (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.classes import CLASS_NAMES, NO_GESTURE

DEFAULT_THRESHOLD = 0.6
NO_HAND = "no hand"                   # --locate auto: the localiser found no hand in the frame
NO_HAND_IN_BOX = "no hand in the box"  # --locate off (and silhouette models): nothing in the user's box


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare field by field
class HandPrediction:
    """One hand's result: where it is, what it shows."""

    label: str                    # one of the classes, or "none" below the threshold
    confidence: float
    probs: np.ndarray             # (C,) fused probabilities, smoothed over this hand's recent frames
    box_xyxy: tuple[float, float, float, float]  # the square the classifier saw, frame pixels (may reach past the frame)
    landmarks_px: np.ndarray      # (21, 3): x, y in frame pixels, z relative depth
    presence: float               # the landmark model's hand-presence score
    handedness: str               # the person's own hand, "left" or "right" (corrected for mirroring)
    handedness_score: float
    cnn_probs: np.ndarray | None = None       # (C,) this frame's CNN head, unsmoothed; None without one
    landmark_probs: np.ndarray | None = None  # (C,) this frame's landmark head, unsmoothed; None without one


@dataclass(frozen=True)
class Prediction:
    label: str                    # one of `classes`, or "none" below the threshold / not classified / no hand
    confidence: float             # probability of the most likely class (0 when not classified)
    probs: np.ndarray             # shape (C,), sums to 1; all zeros when the frame was not classified
    timings_ms: dict[str, float]  # localise / classify / postprocess (each stage that ran)
    classes: tuple[str, ...] = CLASS_NAMES
    frame_index: int = -1         # which frame of the source this describes
    note: str = ""                # why a frame was not classified, e.g. "no model loaded" or "no hand"
    # Every hand found, the one that drives the label (and the actions) first: the most confident.
    # Empty when the hands were not looked for (silhouette models) or none was found.
    hands: tuple[HandPrediction, ...] = ()

    @property
    def classified(self) -> bool:
        return bool(self.probs.any())

    @property
    def no_hand(self) -> bool:
        """The localiser (or the silhouette) said there is no hand to classify."""
        return self.note in (NO_HAND, NO_HAND_IN_BOX)

    @property
    def hand(self) -> HandPrediction | None:
        """The hand that drives the label, if hands were looked for and found."""
        return self.hands[0] if self.hands else None

    @property
    def latency_ms(self) -> float:
        return float(sum(self.timings_ms.values()))

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The k most likely classes with their probabilities, best first."""
        order = np.argsort(-self.probs, kind="stable")[:k]
        return [(self.classes[i], float(self.probs[i])) for i in order]


# A hair of tolerance: probabilities arrive as float32 (0.6 -> 0.60000002, 0.59999996), thresholds as float64.
_TOLERANCE = 1e-6


def is_gesture(confidence: float, threshold: float) -> bool:
    """The one threshold rule: a gesture when its confidence is at or above the threshold (0.60 at 0.60 is one)."""
    return float(confidence) + _TOLERANCE >= float(threshold)


def confidence_percent(confidence: float) -> int:
    """The confidence as the whole percentage shown, rounded down so that it never reads as the threshold
    while `is_gesture` says no: 0.597 shows 59 %, below a 0.60 threshold."""
    return int(np.floor((float(confidence) + _TOLERANCE) * 100))


def label_for(probs, classes=CLASS_NAMES, threshold: float = DEFAULT_THRESHOLD) -> tuple[str, float]:
    """(label, confidence) of (C,) probabilities: the best class, or "none" below the threshold (`is_gesture`)."""
    best = int(np.argmax(probs))
    confidence = float(probs[best])
    return (classes[best] if is_gesture(confidence, threshold) else NO_GESTURE), confidence


def make_prediction(probs, classes=CLASS_NAMES, threshold: float = DEFAULT_THRESHOLD, timings_ms=None, frame_index: int = -1) -> Prediction:
    """(C,) probabilities -> Prediction, labelled "none" when the best is under the threshold."""
    probs = np.asarray(probs, dtype=np.float32)
    label, confidence = label_for(probs, classes, threshold)
    return Prediction(label, confidence, probs, dict(timings_ms or {}), tuple(classes), frame_index)


def unclassified(note: str, classes=CLASS_NAMES, timings_ms=None, frame_index: int = -1) -> Prediction:
    """A frame the pipeline did not classify (no model, no background, no hand)."""
    return Prediction(NO_GESTURE, 0.0, np.zeros(len(classes), np.float32), dict(timings_ms or {}), tuple(classes), frame_index, note)
