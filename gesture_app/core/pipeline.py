"""The one-way per-frame pipeline: frame -> region of interest -> preprocess -> classifier -> smoother -> Prediction.

No Qt here: the window's inference worker and the headless runner both call
`GesturePipeline.process`. Settings changed from another thread (threshold,
smoothing, ROI, background capture) take effect on the next frame; the
background subtractor is only ever touched by the thread calling `process`.
"""

from __future__ import annotations

import time

import numpy as np

from models.classes import CLASS_NAMES

from .prediction import DEFAULT_THRESHOLD, Prediction, make_prediction, unclassified
from .roi import DEFAULT_ROI, RegionOfInterest
from .silhouette import SilhouetteExtractor
from .smoothing import Smoother

DEFAULT_SMOOTHING = 5  # frames; about a sixth of a second at 30 fps
NO_MODEL = "no model loaded"
NEEDS_BACKGROUND = "silhouette model: clear the box and press B to capture the background"
NO_HAND = "no hand in the box"


class GesturePipeline:
    def __init__(self, classifier=None, roi: RegionOfInterest = DEFAULT_ROI, threshold: float = DEFAULT_THRESHOLD, smoothing: int = DEFAULT_SMOOTHING):
        self._classifier = classifier
        self.roi = roi
        self.threshold = threshold
        self._smoother = Smoother(smoothing)
        self.silhouette = SilhouetteExtractor()
        self._background_requested = False
        self._background_reset_requested = False
        self.last_model_view_bgr: np.ndarray | None = None  # what the classifier was shown (crop or silhouette)

    @property
    def classifier(self):
        return self._classifier

    @classifier.setter
    def classifier(self, classifier) -> None:
        self._classifier = classifier
        self._smoother = Smoother(self._smoother.window)  # old model's probabilities mean nothing now

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self._classifier.classes) if self._classifier is not None else CLASS_NAMES

    @property
    def smoothing(self) -> int:
        return self._smoother.window

    @smoothing.setter
    def smoothing(self, window: int) -> None:
        self._smoother = Smoother(window)

    @property
    def threshold(self) -> float:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {value}")
        self._threshold = float(value)

    def reset_history(self) -> None:
        """Forget the smoothing history (a new source: the old scene's frames say nothing about it)."""
        self._smoother = Smoother(self._smoother.window)

    def request_background(self) -> None:
        """Take the next frame's box as the background (silhouette models)."""
        self._background_requested = True

    def reset_background(self) -> None:
        self._background_reset_requested = True

    def process(self, frame_bgr: np.ndarray, frame_index: int = -1) -> Prediction:
        """One (H, W, 3) BGR frame -> its Prediction (timed per stage, in ms)."""
        start = time.perf_counter()
        classifier, roi, smoother = self._classifier, self.roi, self._smoother
        classes = self.classes
        if classifier is None:
            return unclassified(NO_MODEL, classes, frame_index=frame_index)
        crop_bgr = roi.crop(frame_bgr)
        if classifier.input_style == "silhouette":
            crop_bgr = self._silhouette(crop_bgr)
            if isinstance(crop_bgr, str):
                smoother.reset()
                self.last_model_view_bgr = None
                timings = {"preprocess": (time.perf_counter() - start) * 1000.0}
                return unclassified(crop_bgr, classes, timings, frame_index)
        self.last_model_view_bgr = crop_bgr
        model_input = classifier.preprocess(crop_bgr)
        preprocessed = time.perf_counter()
        probs = np.asarray(classifier.infer(model_input), dtype=np.float32)
        inferred = time.perf_counter()
        prediction = make_prediction(smoother.update(probs), classes, self._threshold, frame_index=frame_index)
        done = time.perf_counter()
        timings = {
            "preprocess": (preprocessed - start) * 1000.0,
            "inference": (inferred - preprocessed) * 1000.0,
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
            return NO_HAND if self.silhouette.has_background else NEEDS_BACKGROUND
        return silhouette_bgr
