"""The classifier the pipeline calls, and the choice of device it runs on (no Qt here).

A classifier is anything with `classes`, `input_style`, `name`,
`preprocess(crop_bgr) -> model_input` and `infer(model_input) -> (C,) probs`;
`BundleClassifier` is the real one, tests use fakes without TensorFlow.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from models import Bundle, BundleError, load_bundle

logger = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "gpu")
RUNTIME_CHOICES = ("auto", "keras", "tflite")


class DeviceError(RuntimeError):
    """The requested device is not available; the message says what to try."""


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


def select_device(choice: str = "auto") -> str:
    """Make TensorFlow use the GPU or the CPU; returns the device's name for the overlay.

    Must run before TensorFlow runs anything (visible devices are fixed then).
    """
    if choice not in DEVICE_CHOICES:
        raise DeviceError(f"--device must be one of {', '.join(DEVICE_CHOICES)}, got {choice!r}.")
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if choice == "gpu" and not gpus:
        raise DeviceError("No GPU is visible to TensorFlow (no CUDA driver, or a CPU-only install); try --device cpu or --device auto.")
    if choice == "cpu" and gpus:
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError as exc:  # TensorFlow already initialised its devices
            logger.warning("could not hide the GPU (%s); running where TensorFlow chose", exc)
            return gpu_name(gpus[0])
        gpus = []
    if gpus:
        for gpu in gpus:
            try:
                # Take memory as needed rather than all of it up front: the app shares the GPU.
                tf.config.experimental.set_memory_growth(gpu, True)
            except (RuntimeError, ValueError):
                pass
        return gpu_name(gpus[0])
    return f"CPU ({os.cpu_count() or 1} cores)"


def gpu_name(gpu) -> str:
    import tensorflow as tf

    try:
        details = tf.config.experimental.get_device_details(gpu)
    except (RuntimeError, ValueError):
        details = {}
    return f"GPU: {details.get('device_name') or gpu.name}"
