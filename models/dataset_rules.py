"""The dataset rules capture and training share, defined once: split arithmetic, class names, the manifest.

A dataset folder is DATA/<class>/*.jpg (split by gesture-train, per class, seeded) or
DATA/train|val|test/<class>/*.jpg (split by the user); `gesture-capture` writes the first
layout plus DATA/manifest.csv. No Qt, TensorFlow or argparse here.
"""

from __future__ import annotations

import os

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
