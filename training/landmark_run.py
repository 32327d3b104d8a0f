"""The `landmarks` run: a small MLP on the hand's 21 landmarks, trained in seconds on a CPU.

    RUNS/landmarks/bundle/       a landmark-only bundle (landmarks.keras + bundle.json)
    RUNS/landmarks/no_hand.txt   the images where the localiser found no hand (not trained on)
    RUNS/landmarks/metrics.json  test figures (no hand counts as wrong) and the no-hand counts
    RUNS/landmarks/history.csv, curves.png, confusion_matrix.png, config.json

The images' landmarks come from the manifest, the landmark cache or the localiser
(`landmark_data`). Each training step draws a batch of training hands and augments their points
afresh (`LANDMARK_AUGMENTATIONS`), so an epoch is the run's steps whatever the dataset's size:
30 images a class train as long as 3,000.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import keras
import numpy as np

from models.architectures import build_landmark_mlp
from models.bundle import landmark_head_entry, load_bundle, save_landmark_bundle, update_description
from models.landmark_features import FINGERS, WRIST, features, palm_size
from models.schedule import RunSpec

from . import reports
from .dataset import Dataset, load_dataset
from .evaluate import landmark_probs, score_probs
from .landmark_data import ImageLandmarks, image_landmarks

log = logging.getLogger(__name__)

LANDMARK_CACHE_DIR = "landmark_cache"  # under --out, beside the feature cache


# --- augmentation of the 21 points -----------------------------------------------------------------
# Each takes (N, 21, 3) points in pixels (wrist-relative is fine) and an rng, and returns new points.


def _rotate_in_plane(points, rng, degrees=20.0):
    """The camera rolled, or the hand turned in the image plane: +-20 degrees about the wrist."""
    angle = np.deg2rad(rng.uniform(-degrees, degrees, len(points)))[:, None]
    x, y = points[..., 0], points[..., 1]
    return np.stack([np.cos(angle) * x - np.sin(angle) * y, np.sin(angle) * x + np.cos(angle) * y, points[..., 2]], -1)


def _tilt(points, rng, degrees=20.0):
    """The camera higher, lower or to the side: the hand turned out of the image plane by up to 20 degrees."""
    out = points.copy()
    for axis in (0, 1):  # about the image's x axis, then its y axis
        angle = np.deg2rad(rng.uniform(-degrees, degrees, len(points)))[:, None]
        a, b = (1, 2) if axis == 0 else (0, 2)
        u, v = out[..., a].copy(), out[..., b].copy()
        out[..., a], out[..., b] = np.cos(angle) * u - np.sin(angle) * v, np.sin(angle) * u + np.cos(angle) * v
    return out


def _scale(points, rng, low=0.8, high=1.25):
    """Nearer or further from the camera (the features divide it out; kept so no feature set can lean on size)."""
    return points * rng.uniform(low, high, (len(points), 1, 1))


def _aspect(points, rng, amount=0.1):
    """Another lens or a squashed crop: x and y stretched differently by up to 10 %."""
    stretch = rng.uniform(-amount, amount, (len(points), 1))
    return np.stack([points[..., 0] * (1 + stretch), points[..., 1] * (1 - stretch), points[..., 2]], -1)


def _jitter(points, rng, sigma=0.05):
    """The localiser's own error: Gaussian noise of 5 % of the palm's size on every coordinate
    (its median error is about 2.6 % of the hand's size, some 6 % of the palm's)."""
    size = palm_size(points)[:, None, None]
    return points + rng.normal(0, sigma, points.shape) * size


def _finger_length(points, rng, amount=0.12):
    """Another person's hand: each finger's bones beyond its knuckle (the thumb's beyond its base)
    lengthened or shortened by up to 12 %, the joints further out following."""
    out = points.copy()
    for chain in FINGERS.values():
        factor = rng.uniform(1 - amount, 1 + amount, (len(points), 1))
        for k in range(2, len(chain)):  # chain = wrist, knuckle, ..., tip; move joints from the second on
            bone = points[:, chain[k]] - points[:, chain[k - 1]]
            out[:, chain[k]] = out[:, chain[k - 1]] + bone * factor
    return out


LANDMARK_AUGMENTATIONS = {
    "rotation": _rotate_in_plane,
    "tilt": _tilt,
    "scale": _scale,
    "aspect": _aspect,
    "jitter": _jitter,
    "finger_length": _finger_length,
}


def check_landmark_augmentation(names) -> tuple[str, ...]:
    unknown = [name for name in names if name not in LANDMARK_AUGMENTATIONS]
    if unknown:
        raise ValueError(f"Unknown landmark augmentation(s) {', '.join(unknown)} for the landmarks run; valid: "
                         f"{', '.join(LANDMARK_AUGMENTATIONS)} (or none).")
    return tuple(names)


def augment_points(points, rng: np.random.Generator, names) -> np.ndarray:
    """(N, 21, 3) landmarks -> the same hands with each named augmentation applied, in LANDMARK_AUGMENTATIONS order."""
    points = np.asarray(points, np.float32)
    out = points - points[:, WRIST : WRIST + 1]
    for name in LANDMARK_AUGMENTATIONS:
        if name in names:
            out = LANDMARK_AUGMENTATIONS[name](out, rng)
    return out.astype(np.float32)


class AugmentedBatches(keras.utils.PyDataset):
    """`steps` batches an epoch, each `batch_size` training hands drawn at random, freshly augmented."""

    def __init__(self, points, handedness, labels, num_classes: int, feature_set: str, augmentation,
                 batch_size: int, steps: int, seed: int):
        super().__init__()
        self.points, self.handedness, self.labels = points, handedness, np.asarray(labels)
        self.num_classes, self.feature_set, self.augmentation = num_classes, feature_set, augmentation
        self.batch_size, self.steps = batch_size, steps
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index):
        rows = self.rng.integers(0, len(self.labels), self.batch_size)
        points = augment_points(self.points[rows], self.rng, self.augmentation)
        x = features(points, self.handedness[rows], self.feature_set)
        return x, np.eye(self.num_classes, dtype=np.float32)[self.labels[rows]]


def fit_landmark_head(spec: RunSpec, train_points, train_handedness, train_labels, num_classes: int,
                      val=None, seed: int = 0, callbacks=(), verbose: int = 0):
    """Build and train the run's MLP on (N, 21, 3) landmarks; val: (points, handedness, labels) or None.

    Returns (model, keras History). The features are standardised with the mean and variance of
    one augmented pass over the training hands, held in the model's first layer.
    """
    keras.utils.set_random_seed(seed)
    augmentation = check_landmark_augmentation(spec.extra_augmentation)
    rng = np.random.default_rng(seed)
    sample = features(augment_points(train_points, rng, augmentation), train_handedness, spec.features)
    model = build_landmark_mlp(spec, sample.shape[1], num_classes, sample.mean(axis=0), sample.var(axis=0) + 1e-6)
    learning_rate = (keras.optimizers.schedules.CosineDecay(spec.learning_rate, spec.epochs * spec.steps_per_epoch)
                     if spec.lr_schedule == "cosine" else spec.learning_rate)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy", metrics=["accuracy"])
    batches = AugmentedBatches(train_points, train_handedness, train_labels, num_classes, spec.features, augmentation,
                               spec.batch_size, spec.steps_per_epoch, seed)
    validation = None
    if val is not None and len(val[2]):
        validation = (features(val[0], val[1], spec.features), np.eye(num_classes, dtype=np.float32)[np.asarray(val[2])])
    history = model.fit(batches, epochs=spec.epochs, validation_data=validation, callbacks=list(callbacks),
                        verbose=verbose)
    return model, history


# --- the run -----------------------------------------------------------------------------------------


def _split_landmarks(dataset: Dataset, config) -> dict[str, ImageLandmarks]:
    """Each split's landmarks, found once for all of them (and cached under --out)."""
    paths = [p for split in dataset.splits.values() for p in split.paths]
    found = image_landmarks(paths, dataset.root, config.out / LANDMARK_CACHE_DIR)
    log.info("Landmarks: %s", ", ".join(f"{count} from the {where}" if where != "found now" else f"{count} found now"
                                          for where, count in found.origin.items()))
    result, start = {}, 0
    for name, split in dataset.splits.items():
        end = start + len(split)
        result[name] = ImageLandmarks(found.points_px[start:end], found.handedness[start:end])
        start = end
    return result


def _no_hand_report(dataset: Dataset, landmarks: dict[str, ImageLandmarks], run_dir: Path) -> dict:
    missing = {name: [str(path) for path, hit in zip(dataset.splits[name].paths, landmarks[name].found) if not hit]
               for name in dataset.splits}
    total = sum(len(split) for split in dataset.splits.values())
    count = sum(len(files) for files in missing.values())
    lines = [f"# {count} of {total} images: the localiser found no hand; the landmarks run did not train on them."]
    lines += [f"{name}\t{file}" for name, files in missing.items() for file in files]
    (run_dir / "no_hand.txt").write_text("\n".join(lines) + "\n")
    if count:
        log.warning("No hand found in %d of %d images (%s); they are left out. Listed in %s", count, total,
                    ", ".join(f"{len(files)} {name}" for name, files in missing.items()), run_dir / "no_hand.txt")
    return {"count": count, "of": total, "per_split": {name: len(files) for name, files in missing.items()},
            "files": missing}


def train_landmark_run(spec: RunSpec, config, dataset: Dataset | None = None) -> dict:
    """Train the landmark head on the dataset's train split and write its run folder; returns its metrics."""
    from .runner import EpochLogger, StepProgress, TrainingError, _prepare_run_dir, _provenance, _run_config, _skip_steps

    try:
        check_landmark_augmentation(spec.extra_augmentation)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    run_dir = config.out / spec.name
    if _prepare_run_dir(run_dir, config) == "done":
        log.info("%s: already complete, skipping (metrics in %s)", spec.name, run_dir / "metrics.json")
        _skip_steps(spec, spec.epochs)
        return json.loads((run_dir / "metrics.json").read_text())
    started = time.perf_counter()
    if dataset is None:
        # Only the split and the file list matter here; images are decoded small.
        dataset = load_dataset(config.data, 32, seed=config.seed, classes=config.classes)
    classes = dataset.classes
    landmarks = _split_landmarks(dataset, config)
    no_hand = _no_hand_report(dataset, landmarks, run_dir)
    train, val = landmarks["train"], landmarks["val"]
    if not train.found.any():
        raise TrainingError(f"The localiser found no hand in any training image of {config.data}; "
                            "the landmarks run needs photographs of hands (see no_hand.txt).")
    missing_classes = [classes[c] for c in range(len(classes)) if not (train.found & (dataset.splits["train"].labels == c)).any()]
    if missing_classes:
        raise TrainingError(f"No hand was found in any training image of class(es) {', '.join(missing_classes)}; "
                            f"see {run_dir / 'no_hand.txt'}.")
    reports.write_json(run_dir / "config.json", _run_config(spec, config, dataset))
    train_labels, val_labels = dataset.splits["train"].labels, dataset.splits["val"].labels
    log.info("%s: %s on %s features, %d epochs x %d steps, batch %d; %d training hands", spec.name, spec.title,
             spec.features, spec.epochs, spec.steps_per_epoch, spec.batch_size, int(train.found.sum()))
    fit_started = time.perf_counter()
    model, _ = fit_landmark_head(
        spec, train.points_px[train.found], train.handedness[train.found], train_labels[train.found], len(classes),
        val=(val.points_px[val.found], val.handedness[val.found], val_labels[val.found]), seed=config.seed,
        callbacks=[keras.callbacks.CSVLogger(str(run_dir / "history.csv")), EpochLogger(spec), StepProgress(spec)],
    )
    fit_seconds = time.perf_counter() - fit_started
    provenance = _provenance(spec, config, dataset)
    save_landmark_bundle(model, run_dir / "bundle", classes, spec.features, provenance)

    # Score the saved bundle, as the app will load it. No hand = no reading = wrong.
    bundle = load_bundle(run_dir / "bundle")
    test = dataset.splits["test"]
    probs = landmark_probs(bundle.landmark_head, landmarks["test"])
    test_metrics = score_probs(test.labels, probs, classes, reads_hands=True)
    history = reports.read_history(run_dir / "history.csv")
    val_acc = history.get("val_accuracy", [])
    seconds = time.perf_counter() - started
    metrics = {
        "run": spec.name,
        "test": test_metrics,
        "val": {"accuracy": val_acc[-1] if val_acc else None, "best_accuracy": max(val_acc) if val_acc else None,
                "best_epoch": int(np.argmax(val_acc)) + 1 if val_acc else None, "of_hands_found": True},
        "no_hand": no_hand,
        "seconds": {"total": round(seconds, 1), "fit": round(fit_seconds, 1)},
        "config": {"epochs": spec.epochs, "steps_per_epoch": spec.steps_per_epoch, "batch_size": spec.batch_size,
                   "learning_rate": spec.learning_rate, "features": spec.features, "top": [list(s) for s in spec.top],
                   "augmentation": list(spec.extra_augmentation)},
        "dataset": dataset.counts(),
    }
    provenance["metrics"] = {"test": {k: test_metrics[k] for k in ("accuracy", "macro_f1", "error_rate", "confusion_matrix",
                                                                    "no_hand", "accuracy_with_hand")},
                             "val": metrics["val"]}
    entry = landmark_head_entry(spec.features, provenance["metrics"]["test"])
    update_description(run_dir / "bundle", provenance=provenance, heads={"landmarks": entry})
    reports.plot_curves(history, run_dir / "curves.png", spec.title)
    reports.plot_confusion(test_metrics["confusion_matrix"], classes, run_dir / "confusion_matrix.png",
                           f"{spec.title}: test (macro F1 {test_metrics['macro_f1']:.4f})")
    reports.write_json(run_dir / "metrics.json", metrics)
    log.info("%s: test accuracy %.3f, macro F1 %.4f (no hand in %d of %d test images); %.1f s in all, %.1f s fitting; "
             "reports in %s", spec.name, test_metrics["accuracy"], test_metrics["macro_f1"], test_metrics["no_hand"],
             test_metrics["count"], seconds, fit_seconds, run_dir)
    return metrics
