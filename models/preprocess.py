"""The one preprocessing path shared by training, evaluation and the app.

BGR uint8 image of any size -> RGB uint8 at the model's input size (`resize_rgb`)
-> float32 scaled to [0, 1] and standardised per channel with the training
set's mean/std (`normalize`). Training augments between the two steps, exactly
as Keras's ImageDataGenerator did (random transform, then standardise).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cached_property

import cv2
import numpy as np

INPUT_STYLES = ("colour", "silhouette")
# VGG16 halves the image five times; below 32 px its last block would have nothing left to pool.
MIN_INPUT_SIZE = 32
# ImageDataGenerator's epsilon in featurewise_std_normalization.
STD_EPSILON = 1e-6


@dataclass(frozen=True)
class Preprocessing:
    input_size: int
    input_style: str = "colour"  # "colour" crop or background-subtracted "silhouette"
    mean_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)  # of pixel/255 over the training set
    std_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self):
        if self.input_style not in INPUT_STYLES:
            raise ValueError(f"input_style must be one of {INPUT_STYLES}, got {self.input_style!r}")
        if self.input_size < MIN_INPUT_SIZE:
            raise ValueError(f"input_size must be at least {MIN_INPUT_SIZE} pixels, got {self.input_size}")
        # A NaN mean or a zero std would turn every frame into the same input (and the same answer).
        if len(self.mean_rgb) != 3 or not all(math.isfinite(v) for v in self.mean_rgb):
            raise ValueError(f"mean_rgb must be three finite numbers, got {tuple(self.mean_rgb)}")
        if len(self.std_rgb) != 3 or not all(math.isfinite(v) and v > 0 for v in self.std_rgb):
            raise ValueError(f"std_rgb must be three finite numbers above 0, got {tuple(self.std_rgb)}")

    def resize_rgb(self, image_bgr: np.ndarray) -> np.ndarray:
        """Any-size BGR (or grey) uint8 image -> (S, S, 3) RGB uint8, squashed to a square."""
        if image_bgr.ndim == 2:
            image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
        elif image_bgr.shape[2] == 4:
            image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_BGRA2BGR)
        size = self.input_size
        h, w = image_bgr.shape[:2]
        interpolation = cv2.INTER_AREA if h * w > size * size else cv2.INTER_LINEAR
        resized_bgr = cv2.resize(image_bgr, (size, size), interpolation=interpolation)
        return cv2.cvtColor(resized_bgr, cv2.COLOR_BGR2RGB)

    def normalize(self, images_rgb):
        """uint8/float RGB (..., S, S, 3) in [0, 255] -> standardised float32.

        Works on NumPy arrays and TensorFlow tensors alike, so training and the
        app run the same arithmetic.
        """
        mean, scale = self._mean_and_scale
        if isinstance(images_rgb, np.ndarray):
            return (images_rgb.astype(np.float32) / np.float32(255.0) - mean) * scale
        import tensorflow as tf

        return (tf.cast(images_rgb, tf.float32) / 255.0 - mean) * scale

    @cached_property
    def _mean_and_scale(self) -> tuple[np.ndarray, np.ndarray]:
        """Computed once, not per frame."""
        mean = np.asarray(self.mean_rgb, dtype=np.float32)
        scale = (1.0 / (np.asarray(self.std_rgb, dtype=np.float32) + STD_EPSILON)).astype(np.float32)
        return mean, scale

    def __call__(self, image_bgr: np.ndarray) -> np.ndarray:
        """BGR uint8 image of any size -> (S, S, 3) float32 model input."""
        return self.normalize(self.resize_rgb(image_bgr))

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(resize="squash to square", colour_order="RGB", rescale=1 / 255, std_epsilon=STD_EPSILON)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessing":
        return cls(
            input_size=int(data["input_size"]),
            input_style=str(data.get("input_style", "colour")),
            mean_rgb=tuple(float(v) for v in data["mean_rgb"]),
            std_rgb=tuple(float(v) for v in data["std_rgb"]),
        )


def featurewise_stats(images_rgb: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of (N, S, S, 3) uint8 images scaled to [0, 1].

    What ImageDataGenerator.fit computed for featurewise_center/std_normalization.
    Accumulated in float64 per image so a large set never needs a float copy.
    """
    count = 0
    total = np.zeros(3)
    total_sq = np.zeros(3)
    for image in images_rgb:
        pixels = image.reshape(-1, 3).astype(np.float64) / 255.0
        total += pixels.sum(axis=0)
        total_sq += np.square(pixels).sum(axis=0)
        count += pixels.shape[0]
    if count == 0:
        raise ValueError("Cannot compute featurewise statistics of an empty image set.")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - np.square(mean), 0.0))
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)
