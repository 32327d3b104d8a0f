"""The one-way per-frame pipeline (no Qt here):

    frame -> find hands (or the user's box) -> hand crop + landmarks -> classifier (CNN, landmark
    head, fused) -> per-hand smoother -> threshold -> Prediction (the most confident hand first)

The window's inference worker and the headless runner both call `GesturePipeline.process`.
Settings changed from another thread (threshold, smoothing, locate, ROI, mirroring, background
capture) take effect on the next frame; the localiser and the background subtractor are only
ever touched by the thread calling `process`.

`locate`: "auto" finds up to `max_hands` hands anywhere in the frame and classifies each hand cut
as the classifier's training images were (`models.hands.crop_for` with its `crop`, a CropStyle;
the padded square for a classifier without one); "off" classifies the user's box, with "no hand"
from the localiser's presence score on the box; None finds no hands at all and classifies the box
whatever is in it (silhouette models always work this way; tests use it on generated frames).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from models.classes import CLASS_NAMES
from models.hands import SQUARE, crop_for, pixel_box

from .locate import DEFAULT_LOCATE, DEFAULT_MAX_HANDS, LOCATE_CHOICES, FoundHand, HandTracker
from .prediction import (
    DEFAULT_THRESHOLD,
    NO_HAND,
    NO_HAND_IN_BOX,
    HandPrediction,
    Prediction,
    label_for,
    make_prediction,
    unclassified,
)
from .roi import DEFAULT_ROI, RegionOfInterest
from .silhouette import SilhouetteExtractor
from .smoothing import Smoother

DEFAULT_SMOOTHING = 5  # frames; about a sixth of a second at 30 fps
NO_MODEL = "no model loaded"
NEEDS_BACKGROUND = "silhouette model: clear the box and press B to capture the background"


@dataclass(frozen=True)
class ModelView:
    """What the classifier was last shown and where: the explain view draws its map there."""

    crop_bgr: np.ndarray  # the crop (or silhouette) the CNN saw
    box_xyxy: tuple[int, int, int, int]  # in frame pixels (may reach past the frame)


class GesturePipeline:
    def __init__(self, classifier=None, roi: RegionOfInterest = DEFAULT_ROI, threshold: float = DEFAULT_THRESHOLD,
                 smoothing: int = DEFAULT_SMOOTHING, *, locate: str | None = DEFAULT_LOCATE,
                 max_hands: int = DEFAULT_MAX_HANDS, mirrored: bool = False, hand_tracker: HandTracker | None = None):
        self._classifier = classifier
        self.roi = roi
        self.threshold = threshold
        self._window = Smoother(smoothing).window
        self._smoothers: dict[int, Smoother] = {}  # one probability history per followed hand (or the box)
        self.locate = locate
        self.hands = hand_tracker if hand_tracker is not None else HandTracker(max_hands)
        self.mirrored = mirrored
        self.stills = False  # frames are unrelated photos: nothing carries over from one to the next
        self.silhouette = SilhouetteExtractor()
        self._background_requested = False
        self._background_reset_requested = False
        self._reset_requested = False
        self._forget_requested = False
        self.last_model_view: ModelView | None = None  # replaced whole, so other threads read it safely

    # ---- settings -------------------------------------------------------------------------------
    @property
    def classifier(self):
        return self._classifier

    @classifier.setter
    def classifier(self, classifier) -> None:
        self._classifier = classifier
        self._forget_requested = True  # old model's probabilities mean nothing now

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self._classifier.classes) if self._classifier is not None else CLASS_NAMES

    @property
    def smoothing(self) -> int:
        return self._window

    @smoothing.setter
    def smoothing(self, window: int) -> None:
        self._window = Smoother(window).window  # checks the value
        self._forget_requested = True

    @property
    def threshold(self) -> float:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {value}")
        self._threshold = float(value)

    @property
    def locate(self) -> str | None:
        return self._locate

    @locate.setter
    def locate(self, mode: str | None) -> None:
        if mode is not None and mode not in LOCATE_CHOICES:
            raise ValueError(f"locate must be one of {', '.join(LOCATE_CHOICES)} (or None: no hand finding), got {mode!r}")
        self._locate = mode
        self._reset_requested = True

    @property
    def mirrored(self) -> bool:
        """Whether frames reach the pipeline mirrored (a selfie view): decides which hand is which."""
        return self._mirrored

    @mirrored.setter
    def mirrored(self, on: bool) -> None:
        self._mirrored = bool(on)
        self._reset_requested = True  # the followed hands are on the other side now

    @property
    def max_hands(self) -> int:
        return self.hands.max_hands

    @property
    def last_model_view_bgr(self) -> np.ndarray | None:
        view = self.last_model_view
        return view.crop_bgr if view is not None else None

    def reset_history(self, stills: bool | None = None) -> None:
        """Forget the smoothing history and the followed hands (a new source); stills: whether its frames are unrelated photos."""
        if stills is not None:
            self.stills = bool(stills)
        self._reset_requested = True

    def request_background(self) -> None:
        """Take the next frame's box as the background (silhouette models)."""
        self._background_requested = True

    def reset_background(self) -> None:
        self._background_reset_requested = True

    # ---- the frame ------------------------------------------------------------------------------
    def process(self, frame_bgr: np.ndarray, frame_index: int = -1, timestamp_s: float | None = None) -> Prediction:
        """One (H, W, 3) BGR frame -> its Prediction (timed per stage, in ms).

        timestamp_s: the frame's time (a file's own clock); the wall clock when not given.
        """
        start = time.perf_counter()
        classifier, roi, locate, threshold = self._classifier, self.roi, self._locate, self._threshold
        classes = self.classes
        if self._reset_requested:
            self._reset_requested = False
            self.hands.reset()
            self._forget_requested = True
        if self._forget_requested:
            self._forget_requested = False
            self._smoothers.clear()
        if classifier is None:
            return unclassified(NO_MODEL, classes, frame_index=frame_index)
        roi_box = roi.to_pixels(frame_bgr.shape)
        if classifier.input_style == "silhouette":
            return self._process_silhouette(frame_bgr, classifier, roi_box, start, frame_index)
        crop = getattr(classifier, "crop", SQUARE)  # how its training images were cut around the hand
        if locate is None:
            found = [None]
            timings = {}
        else:
            found = self.hands.locate(frame_bgr, locate, roi_box, stills=self.stills, mirrored=self._mirrored,
                                      timestamp_s=time.perf_counter() if timestamp_s is None else timestamp_s,
                                      crop=crop)
            timings = {"localise": (time.perf_counter() - start) * 1000.0}
            if not found:
                self._smoothers.clear()  # a hand that comes back starts afresh; nothing fires meanwhile
                self.last_model_view = None
                return unclassified(NO_HAND if locate == "auto" else NO_HAND_IN_BOX, classes, timings, frame_index)
        classify_start = time.perf_counter()
        heads, views = [], []
        for item in found:
            if item is None or locate == "off":
                box = roi_box
                crop_bgr = frame_bgr[box[1]:box[3], box[0]:box[2]]  # the user's box, as it always was
            else:
                box = pixel_box(item.box_xyxy)  # the crop's box for this hand, smoothed on video
                crop_bgr = crop_for(frame_bgr, item.hand, crop, box)
            views.append(ModelView(crop_bgr, box))
            heads.append(classifier.classify(crop_bgr, item.hand if item is not None else None))
        post_start = time.perf_counter()
        predictions = []
        live = set()
        for item, head, view in zip(found, heads, views):
            if head.fused is None:  # a landmark-only bundle with nothing to read
                continue
            track_id = item.track_id if item is not None else -1
            live.add(track_id)
            smoother = self._smoothers.setdefault(track_id, Smoother(self._window))
            probs = np.asarray(smoother.update(head.fused), dtype=np.float32)
            predictions.append((probs, item, head, view))
        for track_id in set(self._smoothers) - live:
            del self._smoothers[track_id]  # hands no longer followed take their history with them
        if not predictions:
            self.last_model_view = None
            return unclassified(NO_HAND if locate == "auto" else NO_HAND_IN_BOX, classes, timings, frame_index)
        # The most confident hand drives the label (and the actions); the rest ride along.
        predictions.sort(key=lambda p: -float(p[0].max()))
        hands = tuple(self._hand_prediction(probs, item, head, classes, threshold)
                      for probs, item, head, _ in predictions if item is not None)
        self.last_model_view = predictions[0][3]
        top = make_prediction(predictions[0][0], classes, threshold, frame_index=frame_index)
        done = time.perf_counter()
        timings.update(classify=(post_start - classify_start) * 1000.0, postprocess=(done - post_start) * 1000.0)
        return Prediction(top.label, top.confidence, top.probs, timings, classes, frame_index, hands=hands)

    @staticmethod
    def _hand_prediction(probs, found: FoundHand, head, classes, threshold) -> HandPrediction:
        label, confidence = label_for(probs, classes, threshold)
        hand = found.hand
        return HandPrediction(
            label=label, confidence=confidence, probs=probs, box_xyxy=found.box_xyxy, landmarks_px=hand.landmarks_px,
            presence=hand.presence, handedness=found.handedness, handedness_score=hand.handedness_score,
            cnn_probs=head.cnn, landmark_probs=head.landmarks,
        )

    def _process_silhouette(self, frame_bgr, classifier, roi_box, start, frame_index) -> Prediction:
        """Silhouette models: the background-subtracted box, as the original application did (no hand finding)."""
        classes = self.classes
        x0, y0, x1, y1 = roi_box
        silhouette_bgr = self._silhouette(frame_bgr[y0:y1, x0:x1])
        if isinstance(silhouette_bgr, str):
            self._smoothers.clear()
            self.last_model_view = None
            timings = {"preprocess": (time.perf_counter() - start) * 1000.0}
            return unclassified(silhouette_bgr, classes, timings, frame_index)
        self.last_model_view = ModelView(silhouette_bgr, roi_box)
        preprocessed = time.perf_counter()
        head = classifier.classify(silhouette_bgr, None)
        inferred = time.perf_counter()
        smoother = self._smoothers.setdefault(-1, Smoother(self._window))
        prediction = make_prediction(smoother.update(head.fused), classes, self._threshold, frame_index=frame_index)
        done = time.perf_counter()
        timings = {
            "preprocess": (preprocessed - start) * 1000.0,
            "classify": (inferred - preprocessed) * 1000.0,
            "postprocess": (done - inferred) * 1000.0,
        }
        return Prediction(prediction.label, prediction.confidence, prediction.probs, timings, classes, frame_index)

    def _silhouette(self, crop_bgr: np.ndarray):
        """The silhouette to classify, or a note (str) saying why there is none."""
        if self._background_reset_requested:
            self._background_reset_requested = False
            self.silhouette.reset()
        if self._background_requested:
            self._background_requested = False
            self.silhouette.capture_background(crop_bgr)
        if not self.silhouette.has_background:
            return NEEDS_BACKGROUND
        silhouette_bgr = self.silhouette.extract(crop_bgr)
        if silhouette_bgr is None:
            # extract() forgets a background of another size (the box was resized).
            return NO_HAND_IN_BOX if self.silhouette.has_background else NEEDS_BACKGROUND
        return silhouette_bgr
