"""The classifier the pipeline calls (no Qt here; the device choice is `models.device`).

A classifier is anything with `classes`, `input_style`, `name`,
`preprocess(crop_bgr) -> model_input` and `infer(model_input) -> (C,) probs`;
`BundleClassifier` is the real one, tests use fakes without TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models import Bundle, BundleError, load_bundle


class BundleClassifier:
    """A loaded model bundle: the bundle's own preprocessing, then its model."""

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.classes = tuple(bundle.classes)
        self.input_style = bundle.input_style
        provenance = bundle.description.get("provenance") or {}
        run = provenance.get("run") if isinstance(provenance, dict) else None
        self.name = f"{bundle.path.name} ({run})" if run and run != bundle.path.name else bundle.path.name

    @property
    def runtime(self) -> str:
        """'keras' or 'tflite' (see models.runtime)."""
        return self.bundle.runtime

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", runtime: str = "auto") -> "BundleClassifier":
        """Load and warm up a bundle; raises models.BundleError naming the problem.

        runtime "auto" runs the bundle's int8 TFLite export on a CPU when it has one, Keras otherwise.
        """
        bundle = load_bundle(path)
        try:
            bundle.use_runtime(runtime, device)
        except ValueError as exc:  # an unknown runtime name (BundleError, a ValueError too, passes through)
            if isinstance(exc, BundleError):
                raise
            raise BundleError(str(exc)) from exc
        classifier = cls(bundle)
        # The first call traces the tf.function (hundreds of ms); do it before frames wait on it.
        classifier.infer(np.zeros((classifier.bundle.input_size,) * 2 + (3,), np.float32))
        return classifier

    def preprocess(self, crop_bgr: np.ndarray) -> np.ndarray:
        return self.bundle.preprocessing(crop_bgr)  # (S, S, 3) float32

    def infer(self, model_input: np.ndarray) -> np.ndarray:
        return self.bundle.predict_inputs(model_input[None])[0]
