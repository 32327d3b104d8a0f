"""Shared by training and the app: classes, the documented schedule, architectures and the model bundle.

Imports no Qt and nothing from `training` or `gesture_app`; TensorFlow is
imported lazily so the app starts fast.
"""

from .bundle import Bundle, BundleError, default_bundle_path, load_bundle, save_bundle
from .classes import CLASS_NAMES, NO_GESTURE
from .preprocess import Preprocessing
from .schedule import SCHEDULE, RunSpec, resolve_runs

__all__ = [
    "CLASS_NAMES",
    "NO_GESTURE",
    "SCHEDULE",
    "Bundle",
    "BundleError",
    "Preprocessing",
    "RunSpec",
    "default_bundle_path",
    "load_bundle",
    "resolve_runs",
    "save_bundle",
]
