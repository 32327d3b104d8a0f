"""`gesture-train evaluate --locate`: score full-frame photos the way the app sees them.

Each photo: find the hands (`models.hands.HandLocaliser.find`, up to `max_hands`, as the app does
on a folder of stills), cut each hand as the bundle's CNN was trained (`models.hands.crop_for` with
`bundle.crop`: the padded square or the landmarks' tight box; the app's crop), classify it with
both of the bundle's heads (`Bundle.predict_hand`, the app's call) and
keep the most confident hand, as the app's label does. A photo where no hand is found is its
own outcome, "no hand": counted wrong in the accuracy, and reported beside it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from models.bundle import Bundle
from models.fusion import FUSION_RULE
from models.images import UnreadableImageError, read_image_bgr

from .dataset import DatasetError, list_labelled_folder
from .evaluate import format_metrics, score_probs

log = logging.getLogger(__name__)

DEFAULT_MAX_HANDS = 2  # as gesture-app's --max-hands
LOG_EVERY = 200  # photos between progress lines


def read_photo(bundle: Bundle, localiser, image_bgr: np.ndarray):
    """The most confident hand's `HeadProbs` (each head and fused) in a full frame, or None when no hand is found."""
    from models.hands import crop_for

    best = None
    for hand in localiser.find(image_bgr):
        crop_bgr = crop_for(image_bgr, hand, bundle.crop) if bundle.has_cnn else None
        heads = bundle.predict_hand(crop_bgr, hand)
        if heads.fused is not None and (best is None or float(np.max(heads.fused)) > float(np.max(best.fused))):
            best = heads
    return best


def evaluate_located(bundle: Bundle, data: str | Path, split: str = "auto", seed: int = 0,
                     max_hands: int = DEFAULT_MAX_HANDS, localiser=None) -> dict:
    """evaluate_bundle's figures on full frames (fused at the top, each head under "heads"), plus `no_hand`
    (photos with no hand found) and `no_hand_per_class`; `accuracy` counts a photo with no hand as wrong,
    `accuracy_with_hand` does not."""
    if localiser is None:
        from models.hands import HandLocaliser

        localiser = HandLocaliser(max_hands=max_hands)
    items, report = list_labelled_folder(data, bundle.classes, split, seed)
    classes = tuple(bundle.classes)
    rows: dict[str, list] = {name: [] for name in (*bundle.heads, "fused")}
    labels = []
    nothing = np.full(len(classes), np.nan, np.float32)
    started = time.perf_counter()
    for done, (path, label) in enumerate(items, 1):
        try:
            image_bgr = read_image_bgr(path)
        except UnreadableImageError as exc:
            report.unreadable.append((path, str(exc.__cause__ or exc)))
            continue
        heads = read_photo(bundle, localiser, image_bgr)
        for name in rows:
            probs = None if heads is None else {"cnn": heads.cnn, "landmarks": heads.landmarks, "fused": heads.fused}[name]
            rows[name].append(nothing if probs is None else np.asarray(probs, np.float32))
        labels.append(label)
        if done % LOG_EVERY == 0:
            log.info("Scored %d of %d photos in %.0f s ...", done, len(items), time.perf_counter() - started)
    report.log_summary()
    if not labels:
        raise DatasetError(f"{data} holds no readable images in its class folders.")
    probs = np.stack(rows["fused"])
    labels_array = np.asarray(labels)
    metrics = score_probs(labels_array, probs, classes, reads_hands=True)
    metrics["heads"] = {name: score_probs(labels_array, np.stack(rows[name]), classes, reads_hands=True)
                        for name in bundle.heads}
    metrics["fusion"] = FUSION_RULE if len(bundle.heads) == 2 else f"{bundle.heads[0]} alone"
    no_hand = np.isnan(probs).any(axis=1)
    metrics["no_hand_per_class"] = {name: int((no_hand & (labels_array == i)).sum()) for i, name in enumerate(classes)}
    metrics["no_hand_rate"] = float(no_hand.mean())
    metrics.update(data=str(data), split=split, model=str(bundle.path), located=True, max_hands=max_hands,
                   crop=bundle.crop.to_dict(), skipped_unreadable=len(report.unreadable))
    return metrics


def format_located(metrics: dict) -> str:
    """format_metrics with a "no hand" column in the confusion matrix, and the accuracy on the photos with a hand."""
    classes = metrics["classes"]
    width = max(7, *(len(c) for c in classes))
    # format_metrics' summary (and each head's line), without its confusion matrix: this one has a "no hand" column.
    lines = format_metrics(metrics).splitlines()[: -(len(classes) + 1)]
    lines.append(" " * (width + 1) + " ".join(c.rjust(width) for c in (*classes, "no hand")))
    for name, row in zip(classes, metrics["confusion_matrix"]):
        cells = [*row, metrics["no_hand_per_class"][name]]
        lines.append(name.rjust(width) + " " + " ".join(str(v).rjust(width) for v in cells))
    lines.append(f"no hand found in {metrics['no_hand']} of {metrics['count']} photos "
                 f"({100 * metrics['no_hand_rate']:.1f} %, counted wrong in the accuracy)")
    if "accuracy_with_hand" in metrics:
        lines.append(f"accuracy on the photos with a hand found: {metrics['accuracy_with_hand']:.4f}")
    return "\n".join(lines)
