"""The classifier the pipeline calls (no Qt here; the device choice is `models.device`).

A classifier is anything with `classes`, `input_style`, `name` and one per-hand call,
`classify(crop_bgr, hand) -> models.bundle.HeadProbs` (the CNN's probabilities on the crop, the
landmark head's on the hand's landmarks, and `models.fusion.fuse` of the two), and optionally
`crop`: how its training images were cut around the hand (a models.hands.CropStyle; without it,
the padded square).
`BundleClassifier` is the real one; tests use fakes without TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models import Bundle, BundleError, load_bundle
from models.bundle import HeadProbs

from .bundles import bundle_title


class BundleClassifier:
    """A loaded model bundle: a CNN, a landmark head or both, fused as the bundle says."""

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.classes = tuple(bundle.classes)
        self.input_style = bundle.input_style
        self.crop = bundle.crop  # found hands are cut the way its training images were
        # Every bundle folder is called "bundle": name it by its run, data and date instead.
        self.name = bundle_title(bundle.description, bundle.path)

    @property
    def heads(self) -> tuple[str, ...]:
        return self.bundle.heads

    @property
    def runtime(self) -> str:
        """'keras' or 'tflite' (see models.runtime); 'numpy' for a landmark head alone."""
        return self.bundle.runtime if self.bundle.has_cnn else "numpy"

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", runtime: str = "auto") -> "BundleClassifier":
        """Load and warm up a bundle; raises models.BundleError naming the problem.

        runtime "auto" runs the bundle's int8 TFLite export on a CPU when it has one, Keras otherwise.
        """
        try:
            # The runtime is chosen as the bundle loads: on a TFLite export, no TensorFlow is started.
            bundle = load_bundle(path, runtime=runtime, device=device)
        except ValueError as exc:  # an unknown runtime name (BundleError, a ValueError too, passes through)
            if isinstance(exc, BundleError):
                raise
            raise BundleError(str(exc)) from exc
        classifier = cls(bundle)
        if bundle.has_cnn:
            # The first call traces the tf.function (hundreds of ms); do it before frames wait on it.
            bundle.predict_bgr(np.zeros((bundle.input_size,) * 2 + (3,), np.uint8))
        return classifier

    def classify(self, crop_bgr: np.ndarray | None, hand=None) -> HeadProbs:
        """One hand: crop_bgr (BGR uint8, any size) for the CNN, `hand` (a models.hands.Hand, or None) for the landmark head."""
        return self.bundle.predict_hand(crop_bgr if self.bundle.has_cnn else None, hand)
