"""Score a model bundle on any labelled folder."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from models.bundle import Bundle

from . import reports
from .dataset import DatasetError, count_images, folder_layout, load_labelled_folder
from .progress import Progress

log = logging.getLogger(__name__)


def predict_probs(bundle: Bundle, images_rgb: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """(N, S, S, 3) RGB uint8 at the bundle's size -> (N, classes) probabilities, in batches."""
    batches = []
    with Progress(len(images_rgb), "scoring", "image") as progress:
        for i in range(0, len(images_rgb), batch_size):
            batches.append(bundle.predict_inputs(bundle.preprocessing.normalize(images_rgb[i : i + batch_size])))
            progress.update(len(batches[-1]))
    return np.concatenate(batches)


def trained_on(bundle: Bundle, data: str | Path) -> bool:
    """Whether `data` is the folder the bundle was trained on, by its provenance.

    The same path, or a per-class folder with exactly the recorded number of images in each
    class (the training folder copied or moved elsewhere).
    """
    recorded = bundle.description.get("provenance", {}).get("dataset", {})
    root = recorded.get("root")
    if root and Path(root).resolve() == Path(data).resolve():
        return True
    counts = recorded.get("counts")
    if not counts or recorded.get("layout") != "per-class" or recorded.get("skipped_unreadable"):
        return False
    totals = {name: sum(split.get(name, 0) for split in counts.values()) for name in counts.get("train", {})}
    try:
        return folder_layout(data) == "per-class" and count_images(data) == totals
    except (DatasetError, OSError):
        return False


def choose_split(bundle: Bundle, data: str | Path, split: str = "auto", seed: int | None = None) -> tuple[str, int, bool]:
    """(split to score, seed to split with, whether `data` is the bundle's training folder).

    auto: the test split of a pre-split folder; of a per-class folder, the test split when it is the
    folder the bundle was trained on (split as training split it, with the recorded seed), else
    every image. Without `seed`, the recorded one for the training folder, else 0.
    """
    same = trained_on(bundle, data)
    if seed is None:
        recorded = bundle.description.get("provenance", {}).get("config", {}).get("settings", {}).get("seed", 0)
        seed = int(recorded) if same else 0
    if split == "auto":
        split = "test" if same or folder_layout(data) == "pre-split" else "all"
    return split, seed, same


def describe_scored(data: str | Path, split: str, seed: int, count: int, same: bool, pre_split: bool) -> str:
    """What was scored, in words: "the test split, 365 images of DATA (...)"."""
    if split == "all":
        text = f"all {count:,} images of {data}"
        return text + (" (training images included: the bundle was trained on this folder)" if same else "")
    where = f"{Path(data) / split}/" if pre_split else f"{data}"
    how = "its own folder" if pre_split else f"split as training splits it, seed {seed}"
    text = f"the {split} split, {count:,} images of {where} ({how})"
    if split == "train" and same:
        text += "; these are the images the bundle was trained on"
    elif split == "test" and same:
        text += "; held out from training"
    return text


def evaluate_bundle(bundle: Bundle, data: str | Path, split: str = "auto", seed: int | None = None,
                    batch_size: int = 32) -> dict:
    """Accuracy, macro F1, per-class figures and the confusion matrix of `bundle` on `data`.

    The folder may hold only some of the bundle's classes; the confusion matrix
    still has a row and column for each of them. `scored` says which images were
    scored (see `choose_split`).
    """
    split, seed, same = choose_split(bundle, data, split, seed)
    images, classes, report = load_labelled_folder(data, bundle.preprocessing, bundle.classes, split=split, seed=seed)
    probs = predict_probs(bundle, images.images_rgb, batch_size)
    metrics = reports.classification_metrics(images.labels, probs.argmax(axis=1), classes)
    pre_split = folder_layout(data) == "pre-split"
    scored = {
        "split": split,
        "seed": None if pre_split or split == "all" else seed,
        "images": len(images),
        "training_folder": same,
        "training_images_included": same and split in ("all", "train"),
        "description": describe_scored(data, split, seed, len(images), same, pre_split),
    }
    recorded_test = bundle.description.get("provenance", {}).get("dataset", {}).get("counts", {}).get("test")
    if same and split == "test" and recorded_test and sum(recorded_test.values()) != len(images):
        scored["warning"] = (
            f"{data} has changed since the bundle was trained ({sum(recorded_test.values())} test images then, "
            f"{len(images)} now): some of the scored images may have been training images"
        )
        log.warning("%s.", scored["warning"])
    metrics.update(data=str(data), split=split, scored=scored, model=str(bundle.path),
                   skipped_unreadable=len(report.unreadable))
    return metrics


def format_metrics(metrics: dict) -> str:
    """Accuracy, macro F1 and the confusion matrix as a short text table."""
    classes = metrics["classes"]
    width = max(6, *(len(c) for c in classes))
    lines = [
        *([f"scored: {metrics['scored']['description']}"] if "scored" in metrics else []),
        f"{metrics['count']} images: accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}, "
        f"error rate {metrics['error_rate']:.4f}",
        "confusion matrix (rows = true, columns = predicted):",
        " " * (width + 1) + " ".join(c.rjust(width) for c in classes),
    ]
    for name, row in zip(classes, metrics["confusion_matrix"]):
        lines.append(name.rjust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)
