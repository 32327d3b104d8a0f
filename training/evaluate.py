"""Score a model bundle on any labelled folder: each head alone, and fused as the app fuses them."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from models.bundle import Bundle
from models.fusion import FUSION_RULE, fuse
from models.preprocess import Preprocessing

from . import reports
from .dataset import DatasetError, count_images, folder_layout, load_labelled_folder
from .progress import Progress

log = logging.getLogger(__name__)

# Images are decoded at this size for a bundle without a CNN (only the labels and paths are used).
DECODE_WITHOUT_CNN = Preprocessing(32)


def predict_probs(bundle: Bundle, images_rgb: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """(N, S, S, 3) RGB uint8 at the bundle's size -> (N, classes) probabilities of the CNN, in batches."""
    batches = []
    with Progress(len(images_rgb), "scoring", "image") as progress:
        for i in range(0, len(images_rgb), batch_size):
            batches.append(bundle.predict_inputs(bundle.preprocessing.normalize(images_rgb[i : i + batch_size])))
            progress.update(len(batches[-1]))
    return np.concatenate(batches)


def fused_rows(cnn_probs: np.ndarray | None, landmark_probs: np.ndarray | None) -> np.ndarray:
    """`models.fusion.fuse` row by row: (N, C) each, NaN rows for no hand -> (N, C), NaN rows where nothing reads."""
    rows = cnn_probs if cnn_probs is not None else landmark_probs
    out = np.full(rows.shape, np.nan, np.float32)
    for i in range(len(rows)):
        cnn = None if cnn_probs is None else cnn_probs[i]
        hand = None if landmark_probs is None or np.isnan(landmark_probs[i]).any() else landmark_probs[i]
        fused = fuse(cnn, hand)
        if fused is not None:
            out[i] = fused
    return out


def landmark_probs(head, landmarks) -> np.ndarray:
    """(N, classes) probabilities of a LandmarkHead on `landmark_data.ImageLandmarks`; NaN rows where no hand was found."""
    found = landmarks.found
    probs = np.full((len(landmarks), head.model.output_shape[-1]), np.nan, np.float32)
    if found.any():
        probs[found] = head.predict(landmarks.points_px[found], landmarks.handedness[found])
    return probs


def head_probs(bundle: Bundle, cnn_inputs, landmarks, batch_size: int = 32) -> dict[str, np.ndarray]:
    """{"cnn", "landmarks" (the bundle's heads), "fused"}: (N, C) probabilities, NaN rows where a head has no reading.

    cnn_inputs: (N, S, S, 3) RGB uint8 at the bundle's size, or a list of BGR images of any size;
    landmarks: `landmark_data.ImageLandmarks` of the same images (for a bundle with a landmark head).
    """
    probs = {}
    if bundle.has_cnn:
        if isinstance(cnn_inputs, np.ndarray):
            probs["cnn"] = predict_probs(bundle, cnn_inputs, batch_size)
        else:
            probs["cnn"] = bundle.predict_batch_bgr(cnn_inputs)
    if bundle.has_landmarks:
        probs["landmarks"] = landmark_probs(bundle.landmark_head, landmarks)
    probs["fused"] = fused_rows(probs.get("cnn"), probs.get("landmarks"))
    return probs


def score_probs(labels, probs: np.ndarray, classes, reads_hands: bool = False) -> dict:
    """classification_metrics of (N, classes) probabilities; NaN rows mean "no reading" and count as wrong.

    reads_hands: also report `no_hand` (rows without a reading) and `accuracy_with_hand`.
    """
    readable = ~np.isnan(probs).any(axis=1)
    predicted = np.where(readable, np.nan_to_num(probs).argmax(axis=1), -1)
    metrics = reports.classification_metrics(labels, predicted, classes)
    if reads_hands:
        metrics["no_hand"] = int((~readable).sum())
        metrics["accuracy_with_hand"] = (float((predicted[readable] == np.asarray(labels)[readable]).mean())
                                         if readable.any() else None)
    return metrics


def score_heads(bundle: Bundle, labels, probs: dict[str, np.ndarray]) -> dict:
    """The fused metrics at the top (what the app shows), each head's under "heads"."""
    metrics = score_probs(labels, probs["fused"], bundle.classes, reads_hands=not bundle.has_cnn)
    metrics["heads"] = {name: score_probs(labels, probs[name], bundle.classes, reads_hands=name == "landmarks")
                        for name in bundle.heads}
    metrics["fusion"] = FUSION_RULE if len(bundle.heads) == 2 else f"{bundle.heads[0]} alone"
    return metrics


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
    """Accuracy, macro F1, per-class figures and the confusion matrix of `bundle` on `data`: fused at the top
    (what the app shows), each head alone under "heads", the images where no hand was found under "no_hand".

    The folder may hold only some of the bundle's classes; the confusion matrix
    still has a row and column for each of them. `scored` says which images were
    scored (see `choose_split`).
    """
    from .landmark_data import image_landmarks

    split, seed, same = choose_split(bundle, data, split, seed)
    images, classes, report = load_labelled_folder(data, bundle.preprocessing or DECODE_WITHOUT_CNN, bundle.classes,
                                                   split=split, seed=seed)
    landmarks = image_landmarks(images.paths, Path(data)) if bundle.has_landmarks else None
    metrics = score_heads(bundle, images.labels, head_probs(bundle, images.images_rgb, landmarks, batch_size))
    if landmarks is not None:
        metrics["no_hand"] = {"count": int((~landmarks.found).sum()),
                              "files": [str(p) for p, hit in zip(images.paths, landmarks.found) if not hit]}
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


def _head_line(name: str, metrics: dict) -> str:
    line = f"  {name + ' alone:':<17} accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}"
    if metrics.get("no_hand"):
        with_hand = metrics.get("accuracy_with_hand")
        line += (f" (no hand found in {metrics['no_hand']} image(s), counted as wrong"
                 + (f"; {with_hand:.4f} on the {metrics['count'] - metrics['no_hand']} with a hand)" if with_hand is not None else ")"))
    return line


def format_metrics(metrics: dict) -> str:
    """Accuracy, macro F1 (fused, then each head alone) and the fused confusion matrix as a short text table."""
    classes = metrics["classes"]
    width = max(6, *(len(c) for c in classes))
    heads = metrics.get("heads", {})
    summary = (f"{metrics['count']} images: accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}, "
               f"error rate {metrics['error_rate']:.4f}")
    lines = [*([f"scored: {metrics['scored']['description']}"] if "scored" in metrics else []), summary]
    if len(heads) == 2:
        lines[-1] = (f"fused ({metrics['fusion']} of the heads with a hand, the CNN alone without; what gesture-app "
                     "shows): " + summary)
        lines += [_head_line(name, head) for name, head in heads.items()]
    elif "landmarks" in heads and heads["landmarks"].get("no_hand"):
        only = heads["landmarks"]
        lines.append(f"  no hand found in {only['no_hand']} image(s), counted as wrong; accuracy "
                     f"{only['accuracy_with_hand']:.4f} on the {only['count'] - only['no_hand']} with a hand")
    lines += [
        f"confusion matrix ({'fused; ' if len(heads) == 2 else ''}rows = true, columns = predicted):",
        " " * (width + 1) + " ".join(c.rjust(width) for c in classes),
    ]
    for name, row in zip(classes, metrics["confusion_matrix"]):
        lines.append(name.rjust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)
