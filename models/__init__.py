"""Shared by training and the app: classes, the documented schedule, architectures and the model bundle.

Also what capture and training must agree on, defined once: the dataset rules
(`dataset_rules`: split arithmetic, class names, the manifest), the atomic file writer
(`atomic_files`), the device and runtime choices (`device`, `runtime`) and the input
styles (`preprocess`); the landmark head's features and the fusion of a bundle's heads
(`landmark_features`, `landmark_head`, `fusion`). Imports no Qt, no argparse and nothing from `training` or
`gesture_app`; TensorFlow is imported lazily so the app starts fast.
"""

from .bundle import Bundle, BundleError, HeadProbs, default_bundle_path, load_bundle, save_bundle
from .classes import CLASS_NAMES, NO_GESTURE
from .fusion import fuse
from .preprocess import Preprocessing
from .schedule import SCHEDULE, RunSpec, resolve_runs

__all__ = [
    "CLASS_NAMES",
    "NO_GESTURE",
    "SCHEDULE",
    "Bundle",
    "BundleError",
    "HeadProbs",
    "Preprocessing",
    "RunSpec",
    "default_bundle_path",
    "fuse",
    "load_bundle",
    "resolve_runs",
    "save_bundle",
]
