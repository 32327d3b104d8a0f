"""The dataset rules capture and training share, defined once: split arithmetic, class names, the manifest.

A dataset folder is DATA/<class>/*.jpg (split by gesture-train, per class, seeded) or
DATA/train|val|test/<class>/*.jpg (split by the user); `gesture-capture` writes the first
layout plus DATA/manifest.csv. No Qt, TensorFlow or argparse here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "val", "test")
# The documented dataset: 550 images per class, split 375 / 125 / 50.
SPLIT_TARGETS = {"train": 375, "val": 125, "test": 50}
TARGET_PER_CLASS = sum(SPLIT_TARGETS.values())
# At least one image in each split.
MIN_IMAGES_PER_CLASS = len(SPLITS)
# Folder names that mark a pre-split dataset (DATA/train|val|test/<class>/), per split.
SPLIT_FOLDER_NAMES = {"train": ("train",), "val": ("val", "validation", "valid"), "test": ("test",)}

MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = ("file", "class", "time", "source", "region", "input_style", "full_frame")
# An optional last column: the hand's 21 landmarks on the saved image, so training need not find
# them again. Readers accept manifests without it; a writer that has it appends it after
# MANIFEST_FIELDS. A cell is one of
#   ""                  not recorded: gesture-train finds the landmarks itself (and caches them)
#   "none"              the localiser found no hand in the saved image
#   "right x0 y0 z0 ... x20 y20 z20"
#                       the handedness as HandLocaliser labels the saved image (MediaPipe's "left" or
#                       "right", which assumes a mirrored frame: keep it as given, also when the
#                       capture tool mirrors), then 63 numbers separated by single spaces: for each
#                       landmark in MediaPipe's order (0 wrist, 1-4 thumb, 5-8 index, 9-12 middle,
#                       13-16 ring, 17-20 pinky) x / width and y / height of the saved image
#                       (0..1 inside it, a little outside for a cut-off finger) and z / width
#                       (MediaPipe's normalised landmarks); 4 decimals are plenty.
# `format_landmarks` writes a cell, `parse_landmarks` reads one.
MANIFEST_LANDMARKS_FIELD = "landmarks"
NO_HAND_FOUND = "none"

# A class folder may not be called like a split folder (that would make the dataset look
# pre-split) or like the manifest.
RESERVED_NAMES = frozenset({name for names in SPLIT_FOLDER_NAMES.values() for name in names} | {MANIFEST_NAME})
MAX_CLASS_NAME_LENGTH = 64
_FORBIDDEN_CHARACTERS = frozenset('/\\:*?"<>|')


class ClassNameError(ValueError):
    """A class name that cannot be a dataset folder; the message says what would be valid."""


def split_counts(count: int) -> dict[str, int]:
    """How `count` images of one class divide into train/val/test: 375:125:50, at least one each.

    Fewer than MIN_IMAGES_PER_CLASS images cannot be split (gesture-train refuses such a
    class); they are counted as training images.
    """
    if count < MIN_IMAGES_PER_CLASS:
        return {"train": count, "val": 0, "test": 0}
    test = max(1, round(count * SPLIT_TARGETS["test"] / TARGET_PER_CLASS))
    val = max(1, round(count * SPLIT_TARGETS["val"] / TARGET_PER_CLASS))
    return {"train": count - val - test, "val": val, "test": test}


def validate_class_name(name: str) -> str:
    """The class name, stripped, or ClassNameError saying why it cannot be a folder name."""
    name = str(name).strip()
    if not name:
        raise ClassNameError("A class name cannot be empty; type a name such as 'thumbs_up'.")
    if any(char in _FORBIDDEN_CHARACTERS for char in name) or os.sep in name or (os.altsep and os.altsep in name):
        raise ClassNameError(
            f"Class name {name!r} contains a path separator or a character not allowed in folder names "
            "(/ \\ : * ? \" < > |); use letters, digits, '-' or '_'."
        )
    if any(ord(char) < 32 for char in name):
        raise ClassNameError(f"Class name {name!r} contains a control character; use letters, digits, '-' or '_'.")
    if name.startswith("."):
        raise ClassNameError(f"Class name {name!r} starts with '.', which would make a hidden folder; drop the dot.")
    if name.lower() in RESERVED_NAMES:
        raise ClassNameError(
            f"Class name {name!r} is reserved (train/val/test folders mean an already split dataset); choose another name."
        )
    if len(name) > MAX_CLASS_NAME_LENGTH:
        raise ClassNameError(f"Class name {name[:20]!r}... is longer than {MAX_CLASS_NAME_LENGTH} characters; shorten it.")
    return name


def parse_class_list(text: str) -> list[str]:
    """'a,b,c' -> ['a', 'b', 'c'], each validated, no duplicates."""
    names = [validate_class_name(part) for part in str(text).split(",")]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ClassNameError(f"Class {name!r} is listed twice in {text!r}; list each class once.")
        seen.add(name)
    return names


@dataclass(frozen=True)
class ManifestLandmarks:
    """One manifest landmarks cell, read."""

    points: np.ndarray | None  # (21, 3) float32 normalised to the saved image (see above); None: no hand found
    handedness: str | None  # "left" / "right" as the localiser labelled the saved image; None with no hand

    def to_pixels(self, width: int, height: int) -> np.ndarray | None:
        """The points in the saved image's pixels (z in the same scale as x), as HandLocaliser gives them."""
        return None if self.points is None else self.points * np.float32([width, height, width])


def format_landmarks(points_normalised, handedness: str | None) -> str:
    """A manifest landmarks cell: (21, 3) points normalised to the saved image + handedness, or "none" for None."""
    if points_normalised is None:
        return NO_HAND_FOUND
    points = np.asarray(points_normalised, dtype=np.float64)
    if points.shape != (21, 3) or not np.all(np.isfinite(points)):
        raise ValueError(f"landmarks must be 21 finite (x, y, z) points, got shape {points.shape}.")
    if handedness not in ("left", "right"):
        raise ValueError(f"handedness must be 'left' or 'right' (the localiser's label), got {handedness!r}.")
    return " ".join([handedness, *(f"{v:.4f}" for v in points.ravel())])


def parse_landmarks(text: str | None) -> ManifestLandmarks | None:
    """A manifest landmarks cell -> ManifestLandmarks, or None when nothing was recorded ("" or missing).

    Raises ValueError naming what is wrong with a malformed cell.
    """
    text = (text or "").strip()
    if not text:
        return None
    if text == NO_HAND_FOUND:
        return ManifestLandmarks(None, None)
    parts = text.split()
    if parts[0] not in ("left", "right") or len(parts) != 64:
        raise ValueError(f"a landmarks cell is 'none' or 'left'/'right' then 63 numbers; got {text[:40]!r}... "
                         f"({len(parts)} fields).")
    try:
        values = [float(v) for v in parts[1:]]
    except ValueError as exc:
        raise ValueError(f"a landmarks cell holds a non-number ({exc}).") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError("a landmarks cell holds a non-finite number.")
    return ManifestLandmarks(np.asarray(values, dtype=np.float32).reshape(21, 3), parts[0])
