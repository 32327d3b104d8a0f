"""The app's explain toggle (no Qt here): Grad-CAM of what the classifier saw (the hand's square or the box) at a reduced rate.

The inference worker calls `LiveExplainer.update(pipeline)` after each prediction; at most
every `interval_s` (and never more than a fifth of the worker's time) it explains what the
classifier was just shown. The display thread draws the latest heat map into the box it
was computed for, with its age, so a stale map reads as stale.

    explainer.enabled = True                                  # the window's toggle
    explainer.update(pipeline)                                # inference thread, after process()
    frame_bgr = explainer.draw(frame_bgr)                     # display thread, before draw_overlay
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import cv2
import numpy as np

from models.explain import gradcam_map, heat_colours_bgr

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.75
# Explaining never takes more than this share of the inference worker's time.
MAX_BUSY_SHARE = 0.2
STALE_AFTER_S = 2.0  # older maps are drawn fainter, their age in warning colour
TEXT_BGR = (245, 245, 245)
STALE_BGR = (60, 220, 255)
UNAVAILABLE = "explain: this model cannot be explained (no Keras model)"


@dataclass(frozen=True)
class LiveHeat:
    heat: np.ndarray  # (S, S) float32 in [0, 1]
    label: str  # the class explained (the model's top class for that frame)
    confidence: float
    box_xyxy: tuple[int, int, int, int]  # the box it was computed for, frame pixels (may reach past the frame)
    computed_at: float  # clock time
    compute_ms: float
    frame_index: int = -1


class LiveExplainer:
    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S, clock=time.monotonic):
        self.interval_s = interval_s
        self.clock = clock
        self.enabled = False
        self.latest: LiveHeat | None = None  # replaced whole, so the display thread reads it safely
        self.message = ""  # why there is no map (shown instead)
        self._classifier = None
        self._next_due = 0.0

    def due(self) -> bool:
        return self.enabled and self.clock() >= self._next_due

    def update(self, pipeline, frame_index: int = -1) -> bool:
        """Explain the pipeline's last model view if enabled and due; True when a new map was made."""
        classifier = pipeline.classifier
        if classifier is not self._classifier:
            # An old model's map means nothing now; explain the new one at once.
            self._classifier, self.latest, self.message, self._next_due = classifier, None, "", 0.0
        if not self.due():
            return False
        view = pipeline.last_model_view  # the crop and its box, read once: the pair stays consistent
        bundle = getattr(classifier, "bundle", None)
        if classifier is None or view is None:
            return False
        if bundle is None or getattr(bundle, "model", None) is None:
            self.message = UNAVAILABLE
            return False
        start = self.clock()
        try:
            result = gradcam_map(bundle.model, bundle.preprocessing, view.crop_bgr)
        except Exception as exc:  # a map is a nicety: the predictions go on without it
            logger.warning("explain failed: %s", exc, exc_info=logger.isEnabledFor(logging.DEBUG))
            self.message = f"explain failed: {type(exc).__name__}: {exc}"
            self._next_due = start + 5 * self.interval_s
            return False
        done = self.clock()
        took = done - start
        self._next_due = done + max(self.interval_s, took * (1 - MAX_BUSY_SHARE) / MAX_BUSY_SHARE)
        classes = tuple(classifier.classes)
        label = classes[result.class_index] if result.class_index < len(classes) else str(result.class_index)
        self.latest = LiveHeat(result.heat, label, result.confidence, tuple(view.box_xyxy), done, took * 1000.0, frame_index)
        self.message = ""
        return True

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        self._next_due = 0.0
        if not on:
            self.latest = None

    def draw(self, frame_bgr: np.ndarray, now: float | None = None) -> np.ndarray:
        """The frame with the latest heat map blended into its box and its age written under it (a copy)."""
        if not self.enabled:
            return frame_bgr
        latest, image = self.latest, np.ascontiguousarray(frame_bgr).copy()
        if latest is None:
            if self.message:
                _label(image, self.message, (8, image.shape[0] - 10), STALE_BGR)
            return image
        age = max(0.0, (self.clock() if now is None else now) - latest.computed_at)
        x0, y0, x1, y1 = latest.box_xyxy
        if x1 - x0 < 2 or y1 - y0 < 2:
            return image
        heat = cv2.resize(latest.heat, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        # A hand's square may reach past the frame: blend only the part inside it.
        fx0, fy0 = max(x0, 0), max(y0, 0)
        fx1, fy1 = min(x1, image.shape[1]), min(y1, image.shape[0])
        if fx1 - fx0 < 1 or fy1 - fy0 < 1:
            return image
        heat = heat[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
        stale = age > STALE_AFTER_S
        alpha = (0.3 if stale else 0.6) * (0.35 + 0.65 * heat)[..., None]
        box = image[fy0:fy1, fx0:fx1]
        image[fy0:fy1, fx0:fx1] = (box * (1 - alpha) + heat_colours_bgr(heat) * alpha).round().astype(np.uint8)
        text = f"heat map for {latest.label} ({100 * latest.confidence:.0f}%), {age:.1f} s old"
        _label(image, text, (fx0 + 4, min(image.shape[0] - 6, fy1 + 18)), STALE_BGR if stale else TEXT_BGR)
        return image


def _label(image: np.ndarray, text: str, origin, colour) -> None:
    scale = float(np.clip(image.shape[0] / 480.0, 0.5, 2.0)) * 0.5
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = origin
    cv2.rectangle(image, (x - 3, y - h - 4), (x + w + 3, y + base + 1), (25, 25, 25), -1)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
