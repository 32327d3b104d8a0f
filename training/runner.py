"""Run the documented schedule: train each run, checkpoint every epoch, write its reports and bundle.

    RUNS/<run>/checkpoint/   model + optimizer state after the last finished epoch (for --resume)
    RUNS/<run>/history.csv   one row per epoch
    RUNS/<run>/bundle/       the model bundle the app loads
    RUNS/<run>/metrics.json  written last: its presence means the run is complete
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np

from models.architectures import build_model, resolve_weights, unfreeze_from
from models.atomic_files import atomic_path
from models.bundle import MODEL_FILE, load_bundle, save_bundle, update_description
from models.device import describe_device
from models.preprocess import Preprocessing, featurewise_stats
from models.schedule import RunSpec, resolve_runs

from . import reports
from .augment import evaluation_dataset, resolve_augment_on, training_dataset
from .dataset import Dataset, load_dataset
from .device_augment import device_trainer
from .devices import set_mixed_precision, strategy_scope
from .evaluate import predict_probs
from .explain import write_explain_page
from .feature_cache import cached_features, can_cache, feature_batches, split_model

log = logging.getLogger(__name__)

CHECKPOINT_MODEL = "last.keras"
CHECKPOINT_STATE = "state.json"


class TrainingError(RuntimeError):
    """A run that cannot start or continue; the message says what to do."""


@dataclass
class TrainConfig:
    data: Path
    out: Path
    runs: list[str] | None = None  # None: the whole schedule
    weights: str | None = "imagenet"  # "imagenet", None, or a path to a weights file
    input_size: int | None = None  # None: the run's documented size (224)
    input_style: str = "colour"
    epochs: int | None = None  # overrides of the documented values, for quick runs
    epoch_scale: float = 1.0  # or: every run's documented epochs times this (at least 1)
    steps_per_epoch: int | None = None
    batch_size: int | None = None
    validation_steps: int | None = None
    seed: int = 0
    resume: bool = False
    overwrite: bool = False
    tensorboard: bool = False
    feature_cache: bool = True  # train frozen-base runs on cached base outputs (see feature_cache.py)
    cache_copies: int = 10  # augmented copies of each training image in the cache
    augment_on: str = "auto"  # per-step runs augment in "host" tf.data or the "device" step; "auto": device on a GPU
    mixed_precision: bool = False
    distribute: str = "none"  # "none", "mirrored" or "multi-worker" (see devices.py)
    classes: list[str] | None = None
    extra_augmentation: tuple[str, ...] | None = None  # None: each run's own; (): none
    config_file: Path | None = None  # the --config file the settings came from, for provenance

    def spec_for(self, spec: RunSpec) -> RunSpec:
        epochs = self.epochs or (max(1, round(spec.epochs * self.epoch_scale)) if self.epoch_scale != 1 else None)
        return spec.with_overrides(
            input_size=self.input_size, epochs=epochs, steps_per_epoch=self.steps_per_epoch,
            batch_size=self.batch_size, validation_steps=self.validation_steps,
            extra_augmentation=self.extra_augmentation,
        )


class EpochCheckpoint(keras.callbacks.Callback):
    """After each epoch, save the model with its optimizer state, atomically.

    Keras's BackupAndRestore keeps only the weights, so Adam's moments would
    restart on resume; a full .keras save keeps them. `saved` is the run's model,
    which is not the one being fitted when a `DeviceAugmentation` wraps it.
    """

    def __init__(self, folder: Path, saved):
        super().__init__()
        self.folder = folder
        self.saved = saved

    def on_epoch_end(self, epoch, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.folder / CHECKPOINT_MODEL) as tmp:
            self.saved.save(tmp)
        reports.write_json(self.folder / CHECKPOINT_STATE, {"epochs_done": epoch + 1})


class EpochLogger(keras.callbacks.Callback):
    """One log line per epoch (Keras's own progress bar floods logs with a line per step)."""

    def __init__(self, run: RunSpec):
        super().__init__()
        self.run = run

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        log.info(
            "%s epoch %d/%d: loss %.4f acc %.3f  val_loss %.4f val_acc %.3f  (%.1f s)",
            self.run.name, epoch + 1, self.run.epochs, logs.get("loss", math.nan), logs.get("accuracy", math.nan),
            logs.get("val_loss", math.nan), logs.get("val_accuracy", math.nan), time.perf_counter() - self._start,
        )


def _versions() -> dict:
    import cv2
    import sklearn
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
            "opencv": cv2.__version__, "scikit-learn": sklearn.__version__}


def _prepare_run_dir(run_dir: Path, config: TrainConfig) -> str:
    """'done', 'resume' or 'fresh'; refuses to overwrite earlier results unless asked."""
    if (run_dir / "metrics.json").is_file() and not config.overwrite:
        if config.resume:
            return "done"
        raise TrainingError(
            f"{run_dir} already holds a finished run. Pass --resume to keep it and continue the schedule, "
            "--overwrite to train it again, or choose another --out folder."
        )
    has_state = run_dir.exists() and any(run_dir.iterdir())
    if has_state and config.overwrite:
        shutil.rmtree(run_dir)
    elif has_state and not config.resume:
        raise TrainingError(
            f"{run_dir} holds an unfinished run. Pass --resume to continue it from its last checkpoint, "
            "or --overwrite to start it again."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return "resume" if has_state and config.resume else "fresh"


def _initial_model(spec: RunSpec, config: TrainConfig, num_classes: int, runs_dir: Path):
    """The model a run starts from: a new one on the base, or the earlier run it fine-tunes."""
    if spec.init_from is None:
        model = build_model(spec, num_classes, weights=config.weights, input_size=spec.input_size)
    else:
        source = runs_dir / spec.init_from / "bundle"
        if not (source / MODEL_FILE).is_file():
            raise TrainingError(
                f"{spec.name} starts from {spec.init_from}'s trained weights, but {source} has no model. "
                f"Train it first: --runs {spec.init_from},{spec.name}."
            )
        model = load_bundle(source).model
        if model.input_shape[1] != spec.input_size:
            raise TrainingError(
                f"{source} was trained at {model.input_shape[1]} px but this run asks for {spec.input_size} px; "
                "use the same --input-size for both runs."
            )
    if spec.unfreeze_from:
        unfrozen = unfreeze_from(model, spec.unfreeze_from)
        log.info("%s: unfroze %s", spec.name, ", ".join(unfrozen))
    # Changing `trainable` only takes effect when the model is compiled again.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=_learning_rate(spec)),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _learning_rate(spec: RunSpec):
    """The run's Adam learning rate: constant, or cosine-decayed to zero over all its steps."""
    if spec.lr_schedule == "constant":
        return spec.learning_rate
    if spec.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(spec.learning_rate, decay_steps=spec.epochs * spec.steps_per_epoch)
    raise ValueError(f"Unknown lr_schedule {spec.lr_schedule!r} in run {spec.name}; valid: constant, cosine.")


def train_run(spec: RunSpec, dataset: Dataset, preprocessing: Preprocessing, config: TrainConfig) -> dict | None:
    """Train one run (or continue it) and write its outputs; returns its metrics."""
    run_dir = config.out / spec.name
    state = _prepare_run_dir(run_dir, config)
    if state == "done":
        log.info("%s: already complete, skipping (metrics in %s)", spec.name, run_dir / "metrics.json")
        return json.loads((run_dir / "metrics.json").read_text())

    classes = dataset.classes
    num_classes = len(classes)
    bundle_dir = run_dir / "bundle"
    keras.utils.set_random_seed(config.seed)

    if (bundle_dir / MODEL_FILE).is_file() and state == "resume":
        log.info("%s: training had finished; writing its reports", spec.name)
    else:
        if state == "fresh":
            (run_dir / "history.csv").unlink(missing_ok=True)
        reports.write_json(run_dir / "config.json", _run_config(spec, config, dataset))
        model = _initial_model(spec, config, num_classes, config.out)
        if config.feature_cache and can_cache(model):
            _fit_on_cached_features(spec, model, dataset, preprocessing, config, run_dir, resume=state == "resume")
        else:
            if config.feature_cache:
                log.info("%s: the %s backbone trains end to end (nothing frozen to cache); training per step",
                         spec.name, spec.backbone)
            model = _fit_per_step(spec, model, dataset, preprocessing, config, run_dir, resume=state == "resume")
        save_bundle(model, bundle_dir, classes, preprocessing, _provenance(spec, config, dataset), spec.backbone)

    # Score the saved bundle, not the in-memory model: the figures then describe
    # exactly what the app and `gesture-train evaluate` will load.
    metrics = _write_reports(spec, load_bundle(bundle_dir), dataset, config, run_dir)
    # The checkpoint is only needed while the run is unfinished.
    shutil.rmtree(run_dir / "checkpoint", ignore_errors=True)
    return metrics


def _callbacks(spec: RunSpec, config: TrainConfig, run_dir: Path, model) -> list:
    callbacks = [
        EpochCheckpoint(run_dir / "checkpoint", saved=model),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        EpochLogger(spec),
    ]
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    return callbacks


def _restore_checkpoint(spec: RunSpec, run_dir: Path, resume: bool):
    """(checkpointed model or None, epochs already done)."""
    checkpoint_dir = run_dir / "checkpoint"
    if not (resume and (checkpoint_dir / CHECKPOINT_MODEL).is_file()):
        return None, 0
    model = keras.models.load_model(checkpoint_dir / CHECKPOINT_MODEL, safe_mode=True)
    done = json.loads((checkpoint_dir / CHECKPOINT_STATE).read_text())["epochs_done"]
    log.info("%s: resuming after epoch %d of %d", spec.name, done, spec.epochs)
    return model, done


def _fit(spec: RunSpec, model, train_ds, val_ds, val_batches: int, initial_epoch: int, config: TrainConfig,
         run_dir: Path, trainer=None) -> None:
    """Fit `trainer` (default: `model` itself); checkpoints save `model`."""
    # A finite validation set: the documented step count, capped at one full pass.
    validation_steps = min(spec.validation_steps or val_batches, val_batches)
    log.info(
        "%s: %s, lr %g, %d epochs x %d steps, batch %d, %d px, trainable params %d",
        spec.name, spec.title, spec.learning_rate, spec.epochs, spec.steps_per_epoch, spec.batch_size,
        spec.input_size, sum(int(np.prod(w.shape)) for w in model.trainable_weights),
    )
    if initial_epoch >= spec.epochs:
        return
    try:
        (model if trainer is None else trainer).fit(
            train_ds, epochs=spec.epochs, initial_epoch=initial_epoch, steps_per_epoch=spec.steps_per_epoch,
            validation_data=val_ds, validation_steps=validation_steps,
            callbacks=_callbacks(spec, config, run_dir, model),
            verbose=0, shuffle=False,  # the datasets shuffle themselves
        )
    except KeyboardInterrupt:
        log.warning(
            "%s interrupted; the last finished epoch is saved in %s. Run the same command with --resume to continue.",
            spec.name, run_dir / "checkpoint",
        )
        raise


def _fit_per_step(spec, model, dataset: Dataset, preprocessing, config: TrainConfig, run_dir: Path, resume: bool):
    """The exact pipeline: every step augments fresh images and runs them through the whole model."""
    checkpointed, initial_epoch = _restore_checkpoint(spec, run_dir, resume)
    model = checkpointed or model
    num_classes = len(dataset.classes)
    on_device = config.augment_on == "device"  # "auto" was resolved by train_schedule
    log.info("%s: augmentation and standardisation %s", spec.name,
             "on the device, in the training step" if on_device else "on the host, in the tf.data pipeline")
    train, val = dataset.splits["train"], dataset.splits["val"]
    train_ds = training_dataset(train.images_rgb, train.labels, num_classes, preprocessing, spec.batch_size, config.seed,
                                extra=spec.extra_augmentation, on_device=on_device)
    val_ds = evaluation_dataset(val.images_rgb, val.labels, num_classes, preprocessing, spec.batch_size,
                                on_device=on_device)
    # On the device, fit a wrapper that augments and standardises uint8 batches in front of
    # `model`; `model` alone (no augmentation layers) is what is checkpointed and bundled.
    trainer = device_trainer(model, preprocessing, config.seed, spec.extra_augmentation) if on_device else None
    _fit(spec, model, train_ds, val_ds, math.ceil(len(val) / spec.batch_size), initial_epoch, config, run_dir,
         trainer=trainer)
    return model


def _fit_on_cached_features(spec, model, dataset: Dataset, preprocessing, config: TrainConfig, run_dir: Path,
                            resume: bool) -> None:
    """Train `model`'s trainable part on cached outputs of its frozen part (in place)."""
    frozen, head = split_model(model, spec.unfreeze_from)
    train, val = dataset.splits["train"], dataset.splits["val"]
    features = cached_features(
        frozen, {"train": train.images_rgb, "val": val.images_rgb}, preprocessing, config.cache_copies, config.seed,
        config.out / "feature_cache", batch_size=max(spec.batch_size, 32),
    )
    checkpointed, initial_epoch = _restore_checkpoint(spec, run_dir, resume)
    if checkpointed is None:
        head.compile(optimizer=keras.optimizers.Adam(learning_rate=spec.learning_rate),
                     loss="categorical_crossentropy", metrics=["accuracy"])
        trained_head = head
    else:
        trained_head = checkpointed  # carries the optimizer state
    num_classes = len(dataset.classes)
    train_ds = feature_batches(features["train"], train.labels, num_classes, spec.batch_size, config.seed)
    val_ds = feature_batches(features["val"], val.labels, num_classes, spec.batch_size, config.seed, repeat=False)
    _fit(spec, trained_head, train_ds, val_ds, math.ceil(len(val) / spec.batch_size), initial_epoch, config, run_dir)
    if trained_head is not head:
        head.set_weights(trained_head.get_weights())


def _run_config(spec: RunSpec, config: TrainConfig, dataset: Dataset) -> dict:
    """The run's final merged configuration, saved beside its outputs."""
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
    return {"run": spec.to_dict(), "settings": settings, "classes": list(dataset.classes), "layout": dataset.layout}


def _provenance(spec: RunSpec, config: TrainConfig, dataset: Dataset) -> dict:
    return {
        "run": spec.name,
        "title": spec.title,
        "config": _run_config(spec, config, dataset),
        "dataset": {"root": str(dataset.root.resolve()), "layout": dataset.layout, "counts": dataset.counts(),
                    "skipped_unreadable": len(dataset.report.unreadable)},
        "versions": _versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _write_reports(spec: RunSpec, bundle, dataset: Dataset, config: TrainConfig, run_dir: Path) -> dict:
    classes = dataset.classes
    test = dataset.splits["test"]
    probs = predict_probs(bundle, test.images_rgb, spec.batch_size)
    test_metrics = reports.classification_metrics(test.labels, probs.argmax(axis=1), classes)
    history = reports.read_history(run_dir / "history.csv")
    val_acc = history.get("val_accuracy", [])
    metrics = {
        "run": spec.name,
        "test": test_metrics,
        "val": {
            "accuracy": val_acc[-1] if val_acc else None,
            "best_accuracy": max(val_acc) if val_acc else None,
            "best_epoch": int(np.argmax(val_acc)) + 1 if val_acc else None,
        },
        "config": {"epochs": spec.epochs, "steps_per_epoch": spec.steps_per_epoch, "batch_size": spec.batch_size,
                   "learning_rate": spec.learning_rate, "input_size": spec.input_size, "weights": str(config.weights)},
        "dataset": dataset.counts(),
    }
    reports.plot_curves(history, run_dir / "curves.png", spec.title)
    reports.plot_confusion(test_metrics["confusion_matrix"], classes, run_dir / "confusion_matrix.png",
                           f"{spec.title}: test (macro F1 {test_metrics['macro_f1']:.4f})")
    provenance = bundle.description["provenance"]
    provenance["metrics"] = {"test": {k: test_metrics[k] for k in ("accuracy", "macro_f1", "error_rate", "confusion_matrix")},
                             "val": metrics["val"]}
    update_description(run_dir / "bundle", provenance=provenance)
    reports.write_json(run_dir / "metrics.json", metrics)
    # The page of heat maps, misclassified test images first (one Grad-CAM pass over 16 at most).
    write_explain_page(bundle, test.images_rgb, test.labels, probs, run_dir / "explain.png")
    log.info(
        "%s: test accuracy %.3f, macro F1 %.4f; reports in %s", spec.name, test_metrics["accuracy"],
        test_metrics["macro_f1"], run_dir,
    )
    return metrics


def train_schedule(config: TrainConfig) -> dict[str, dict]:
    """Load the dataset once, then train each requested run in schedule order."""
    # Resolved once, so each run's config.json records the mode it used, not "auto".
    config = replace(config, augment_on=resolve_augment_on(config.augment_on))
    specs = [config.spec_for(spec) for spec in resolve_runs(config.runs)]
    # Landmark runs read the hands' landmarks, not images at an input size (training/landmark_run.py).
    landmark_results = _train_landmark_runs([spec for spec in specs if spec.backbone == "landmarks"], config)
    specs = [spec for spec in specs if spec.backbone != "landmarks"]
    if not specs:
        return landmark_results
    sizes = {spec.input_size for spec in specs}
    if len(sizes) != 1:
        raise TrainingError(f"Runs in one call must share an input size; got {sorted(sizes)}. Pass --input-size.")
    input_size = sizes.pop()
    if any(spec.init_from is None for spec in specs):
        resolve_weights(config.weights)  # fail before the slow dataset load
    if config.tensorboard:
        _require_tensorboard()
    log.info("Device: %s", describe_device())
    log.info("Reading %s at %d px ...", config.data, input_size)
    dataset = load_dataset(config.data, input_size, seed=config.seed, classes=config.classes)
    counts = dataset.counts()
    log.info(
        "%d classes (%s), %s layout; train %d, val %d, test %d images",
        len(dataset.classes), ", ".join(dataset.classes), dataset.layout,
        *(sum(counts[s].values()) for s in ("train", "val", "test")),
    )
    mean, std = featurewise_stats(dataset.splits["train"].images_rgb)
    preprocessing = Preprocessing(input_size, config.input_style, mean, std)
    config.out.mkdir(parents=True, exist_ok=True)
    set_mixed_precision(config.mixed_precision)
    results = {}
    # Models must be built and compiled inside the strategy's scope.
    with strategy_scope(config.distribute):
        for spec in specs:
            results[spec.name] = train_run(spec, dataset, preprocessing, config)
    summary = reports.write_summary(config.out, [s for s in _all_run_names(config.out)])
    log.info("Summary of all runs: %s", summary)
    return {**landmark_results, **results}


def _train_landmark_runs(specs: list[RunSpec], config: TrainConfig) -> dict[str, dict]:
    from .landmark_run import train_landmark_run

    results = {spec.name: train_landmark_run(spec, config) for spec in specs}
    if results:
        config.out.mkdir(parents=True, exist_ok=True)
        log.info("Summary of all runs: %s", reports.write_summary(config.out, _all_run_names(config.out)))
    return results


def _require_tensorboard() -> None:
    # TensorFlow stopped depending on TensorBoard (2.20); without it Keras's callback fails mid-run.
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise TrainingError(
            "--tensorboard needs the tensorboard package, which is not installed. "
            "Install it with: pip install tensorboard (or pip install .[tensorboard]), or leave out --tensorboard."
        )


def _all_run_names(runs_dir: Path) -> list[str]:
    from models.schedule import SCHEDULE

    return [name for name in SCHEDULE if (runs_dir / name / "metrics.json").is_file()]
