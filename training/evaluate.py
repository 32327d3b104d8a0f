"""Score a model bundle on any labelled folder."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from models.bundle import Bundle

from . import reports
from .dataset import load_labelled_folder

log = logging.getLogger(__name__)


def predict_probs(bundle: Bundle, images_rgb: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """(N, S, S, 3) RGB uint8 at the bundle's size -> (N, classes) probabilities, in batches."""
    return np.concatenate([
        bundle.predict_inputs(bundle.preprocessing.normalize(images_rgb[i : i + batch_size]))
        for i in range(0, len(images_rgb), batch_size)
    ])


def evaluate_bundle(bundle: Bundle, data: str | Path, split: str = "auto", seed: int = 0, batch_size: int = 32) -> dict:
    """Accuracy, macro F1, per-class figures and the confusion matrix of `bundle` on `data`.

    The folder may hold only some of the bundle's classes; the confusion matrix
    still has a row and column for each of them.
    """
    images, classes, report = load_labelled_folder(data, bundle.preprocessing, bundle.classes, split=split, seed=seed)
    probs = predict_probs(bundle, images.images_rgb, batch_size)
    metrics = reports.classification_metrics(images.labels, probs.argmax(axis=1), classes)
    metrics.update(data=str(data), split=split, model=str(bundle.path), skipped_unreadable=len(report.unreadable))
    return metrics


def format_metrics(metrics: dict) -> str:
    """Accuracy, macro F1 and the confusion matrix as a short text table."""
    classes = metrics["classes"]
    width = max(6, *(len(c) for c in classes))
    lines = [
        f"{metrics['count']} images: accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}, "
        f"error rate {metrics['error_rate']:.4f}",
        "confusion matrix (rows = true, columns = predicted):",
        " " * (width + 1) + " ".join(c.rjust(width) for c in classes),
    ]
    for name, row in zip(classes, metrics["confusion_matrix"]):
        lines.append(name.rjust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def score_probs(labels, probs: np.ndarray, classes) -> dict:
    """classification_metrics of (N, classes) probabilities whose NaN rows mean "no reading" (counted as wrong)."""
    readable = ~np.isnan(probs).any(axis=1)
    predicted = np.where(readable, np.nan_to_num(probs).argmax(axis=1), -1)
    metrics = reports.classification_metrics(labels, predicted, classes)
    metrics["no_hand"] = int((~readable).sum())
    if readable.any():
        metrics["accuracy_with_hand"] = float((predicted[readable] == np.asarray(labels)[readable]).mean())
    return metrics
