"""Run the documented schedule: train each run, checkpoint every epoch, write its reports and bundle.

    RUNS/<run>/checkpoint/   model + optimizer state after the last finished epoch (for --resume)
    RUNS/<run>/history.csv   one row per epoch
    RUNS/<run>/bundle/       the model bundle the app loads
    RUNS/<run>/metrics.json  written last: its presence means the run is complete

With several workers (--distribute multi-worker) every worker trains; only the chief
writes these. The others keep what they must write (their feature cache, the save
Keras has every worker make) in a temporary folder that they remove when they finish.
"""

from __future__ import annotations

import hashlib
import contextlib
import contextvars
import io
import json
import logging
import math
import shutil
import tempfile
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
from .dataset import Dataset, crop_style_for, load_dataset
from .device_augment import device_trainer
from .devices import LOCAL, Distribution, make_distribution, set_mixed_precision
from .evaluate import predict_probs
from .explain import write_explain_page
from .feature_cache import cached_features, can_cache, feature_batches, split_model
from .progress import Progress

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

    What Keras's BackupAndRestore saves (weights, optimizer state, epoch), with three
    differences that matter here: `saved` is the run's model, which is not the one being
    fitted when a `DeviceAugmentation` wraps it; a crash mid-save leaves the previous
    checkpoint whole; and it is restored only on --resume (`_restore`), by the chief
    alone when there are several workers (BackupAndRestore has every worker write the
    same files and restore its own copy).
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


# The whole schedule's step count while train_schedule runs: the epoch callbacks count into it
# (a context variable rather than a parameter through every fit helper).
_SCHEDULE: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("schedule_progress", default=None)


class StepProgress(keras.callbacks.Callback):
    """A bar over each epoch's steps with the time left, and the schedule's count (Keras's own bar is off)."""

    def __init__(self, run: RunSpec):
        super().__init__()
        self.run = run
        self._epoch: Progress | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = Progress(self.run.steps_per_epoch, f"{self.run.name} epoch {epoch + 1}/{self.run.epochs}",
                               "step", position=1)

    def on_train_batch_end(self, batch, logs=None):
        self._epoch.update()
        schedule = _SCHEDULE.get()
        if schedule is not None:
            schedule.update()

    def on_epoch_end(self, epoch, logs=None):
        if self._epoch is not None:
            self._epoch.close()

    def on_train_end(self, logs=None):  # also when fit stops mid-epoch
        self.on_epoch_end(None)


class EpochLogger(keras.callbacks.Callback):
    """One log line per epoch, with the schedule's time left (Keras's own bar floods logs with a line per step)."""

    def __init__(self, run: RunSpec):
        super().__init__()
        self.run = run

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        schedule = _SCHEDULE.get()
        log.info(
            "%s epoch %d/%d: loss %.4f acc %.3f  val_loss %.4f val_acc %.3f  (%.1f s)%s",
            self.run.name, epoch + 1, self.run.epochs, logs.get("loss", math.nan), logs.get("accuracy", math.nan),
            logs.get("val_loss", math.nan), logs.get("val_accuracy", math.nan), time.perf_counter() - self._start,
            f"; schedule {schedule.status()}" if schedule is not None else "",
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
    # Only trained state counts: a folder holding just config.json (a run stopped before its first
    # epoch) has nothing to resume or lose.
    has_state = any((run_dir / name).exists() for name in ("checkpoint", "history.csv", "bundle"))
    if has_state and config.overwrite:
        shutil.rmtree(run_dir)
    elif has_state and not config.resume:
        raise TrainingError(
            f"{run_dir} holds an unfinished run. Pass --resume to continue it from its last checkpoint, "
            "or --overwrite to start it again."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return "resume" if has_state and config.resume else "fresh"


def _source_model(spec: RunSpec, runs_dir: Path):
    """The trained model a fine-tune starts from; None for a run that starts on the base."""
    if spec.init_from is None:
        return None
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
    return model


def _initial_model(spec: RunSpec, num_classes: int, weights, source=None):
    """The model a run starts from: a new one on the base, or the architecture of the run it fine-tunes
    with that run's trained weights (`source`).

    Every worker builds it the same way (the strategy gives each new variable the chief's initial
    value); `weights` and `source` are what the chief loads, and the others take them from it.
    """
    model = build_model(spec, num_classes, weights=weights if source is None else None, input_size=spec.input_size)
    if source is not None:
        model.set_weights(source.get_weights())
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


# What the chief finds in a run's folder, sent to every worker so that all take the same path.
_SKIP, _REPORT, _TRAIN = 0, 1, 2


def train_run(spec: RunSpec, dataset: Dataset, preprocessing: Preprocessing, config: TrainConfig,
              distribution: Distribution = LOCAL, workdir: Path | None = None) -> dict | None:
    """Train one run (or continue it) and write its outputs; returns its metrics (None on a worker that is not the chief).

    workdir: where this worker writes (default: config.out). Workers other than the chief
    write nothing into config.out: they are given a temporary folder for their feature
    cache and the checkpoints Keras needs every worker to save (saving creates variables,
    which under the strategy is a step all workers take together).
    """
    chief = distribution.is_chief
    run_dir = (config.out if chief else workdir) / spec.name
    bundle_dir = run_dir / "bundle"
    state, step, initial_epoch, checkpoint, source = None, _SKIP, 0, None, None
    if chief:  # what the chief reads is read outside the strategy's scope: loading a model creates variables
        state = _prepare_run_dir(run_dir, config)
        if state == "resume" and (bundle_dir / MODEL_FILE).is_file():
            step = _REPORT
        elif state != "done":
            step = _TRAIN
            initial_epoch, checkpoint = _read_checkpoint(run_dir) if state == "resume" else (0, None)
            source = _source_model(spec, config.out)
    step, initial_epoch = (int(v) for v in distribution.broadcast([step, initial_epoch]))
    if step == _SKIP:
        if not chief:
            return None
        log.info("%s: already complete, skipping (metrics in %s)", spec.name, run_dir / "metrics.json")
        _skip_steps(spec, spec.epochs)
        return json.loads((run_dir / "metrics.json").read_text())

    keras.utils.set_random_seed(config.seed)
    if step == _REPORT:
        log.info("%s: training had finished; writing its reports", spec.name)
        _skip_steps(spec, spec.epochs)
    else:
        if chief:
            if state == "fresh":
                (run_dir / "history.csv").unlink(missing_ok=True)
            reports.write_json(run_dir / "config.json", _run_config(spec, config, dataset))
        else:
            run_dir.mkdir(parents=True, exist_ok=True)
        # Models are built and fitted in the strategy's scope. Under several workers, whatever creates
        # variables there is a step they all take together (each variable starts as the chief's), so
        # only what every worker does alike happens in it: not reading files, nor building a feature
        # cache (which one worker may find on disk and another build).
        with distribution.scope():
            model = _initial_model(spec, len(dataset.classes), config.weights if chief else None, source)
            distribution.sync_from_chief(model.variables)
        if config.feature_cache and can_cache(model):
            _fit_on_cached_features(spec, model, dataset, preprocessing, config, run_dir, initial_epoch,
                                    checkpoint, distribution, (workdir or config.out) / "feature_cache")
        else:
            if config.feature_cache:
                log.info("%s: the %s backbone trains end to end (nothing frozen to cache); training per step",
                         spec.name, spec.backbone)
            _fit_per_step(spec, model, dataset, preprocessing, config, run_dir, initial_epoch, checkpoint,
                          distribution)
        if chief:
            save_bundle(model, bundle_dir, dataset.classes, preprocessing, _provenance(spec, config, dataset),
                        spec.backbone, crop_style_for(dataset))
    if not chief:
        shutil.rmtree(run_dir, ignore_errors=True)
        return None
    # Score the saved bundle, not the in-memory model: the figures then describe
    # exactly what the app and `gesture-train evaluate` will load.
    metrics = _write_reports(spec, load_bundle(bundle_dir), dataset, config, run_dir)
    # The checkpoint is only needed while the run is unfinished.
    shutil.rmtree(run_dir / "checkpoint", ignore_errors=True)
    return metrics


def _callbacks(spec: RunSpec, config: TrainConfig, run_dir: Path, model, chief: bool = True) -> list:
    if not chief:  # the chief keeps the checkpoint and writes the history and logs
        return [EpochCheckpoint(run_dir / "checkpoint", saved=model), EpochLogger(spec)]
    callbacks = [
        EpochCheckpoint(run_dir / "checkpoint", saved=model),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        StepProgress(spec),
        EpochLogger(spec),
    ]
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    return callbacks


def _read_checkpoint(run_dir: Path):
    """(epochs done, the checkpointed model with its optimizer state), or (0, None) without a checkpoint."""
    checkpoint_dir = run_dir / "checkpoint"
    if not (checkpoint_dir / CHECKPOINT_MODEL).is_file():
        return 0, None
    done = json.loads((checkpoint_dir / CHECKPOINT_STATE).read_text())["epochs_done"]
    return done, keras.models.load_model(checkpoint_dir / CHECKPOINT_MODEL, safe_mode=True)


def _restore(spec: RunSpec, model, checkpoint, initial_epoch: int, distribution: Distribution) -> None:
    """On --resume, put the checkpoint's weights and optimizer state into `model`, built as for a fresh start.

    As Keras's BackupAndRestore does (weights by position, the optimizer built first), but the
    checkpoint is the chief's alone (`checkpoint` is None on the others), who take its values.
    """
    if initial_epoch == 0:
        return
    model.optimizer.build(model.trainable_variables)
    if checkpoint is not None:
        model.set_weights(checkpoint.get_weights())
        for variable, saved in zip(model.optimizer.variables, checkpoint.optimizer.variables, strict=True):
            variable.assign(saved.numpy())
    distribution.sync_from_chief([*model.variables, *model.optimizer.variables])
    log.info("%s: resuming after epoch %d of %d (optimizer step %d)", spec.name, initial_epoch, spec.epochs,
             int(model.optimizer.iterations.numpy()))
    _skip_steps(spec, initial_epoch)


def _skip_steps(spec: RunSpec, epochs: int) -> None:
    """Epochs the schedule will not train (finished earlier) leave its step count."""
    schedule = _SCHEDULE.get()
    if schedule is not None:
        schedule.discount(epochs * spec.steps_per_epoch)


def _fit(spec: RunSpec, model, train_ds, val_ds, val_batches: int, initial_epoch: int, config: TrainConfig,
         run_dir: Path, distribution: Distribution = LOCAL, trainer=None) -> None:
    """Fit `trainer` (default: `model` itself); checkpoints save `model`."""
    # A finite validation set: the documented step count, capped at one full pass.
    validation_steps = min(spec.validation_steps or val_batches, val_batches)
    replicas = distribution.strategy.num_replicas_in_sync if distribution.strategy else 1
    log.info(
        "%s: %s, lr %g, %d epochs x %d steps, batch %d%s, %d px, trainable params %d",
        spec.name, spec.title, spec.learning_rate, spec.epochs, spec.steps_per_epoch, spec.batch_size,
        f" (split over {replicas} replicas)" if replicas > 1 else "",
        spec.input_size, sum(int(np.prod(w.shape)) for w in model.trainable_weights),
    )
    if initial_epoch >= spec.epochs:
        return
    try:
        with distribution.fitting():
            (model if trainer is None else trainer).fit(
                distribution.shard(train_ds), epochs=spec.epochs, initial_epoch=initial_epoch,
                steps_per_epoch=spec.steps_per_epoch,
                validation_data=distribution.shard(val_ds), validation_steps=validation_steps,
                callbacks=_callbacks(spec, config, run_dir, model, distribution.is_chief),
                verbose=0, shuffle=False,  # the datasets shuffle themselves
            )
    except KeyboardInterrupt:
        log.warning(
            "%s interrupted; the last finished epoch is saved in %s. Run the same command with --resume to continue.",
            spec.name, run_dir / "checkpoint",
        )
        raise


def _fit_per_step(spec, model, dataset: Dataset, preprocessing, config: TrainConfig, run_dir: Path,
                  initial_epoch: int = 0, checkpoint=None, distribution: Distribution = LOCAL) -> None:
    """The exact pipeline: every step augments fresh images and runs them through the whole model (in place)."""
    num_classes = len(dataset.classes)
    on_device = config.augment_on == "device"  # "auto" was resolved by train_schedule
    log.info("%s: augmentation and standardisation %s", spec.name,
             "on the device, in the training step" if on_device else "on the host, in the tf.data pipeline")
    train, val = dataset.splits["train"], dataset.splits["val"]
    train_ds = training_dataset(train.images_rgb, train.labels, num_classes, preprocessing, spec.batch_size, config.seed,
                                extra=spec.extra_augmentation, on_device=on_device)
    val_ds = evaluation_dataset(val.images_rgb, val.labels, num_classes, preprocessing, spec.batch_size,
                                on_device=on_device)
    with distribution.scope():
        _restore(spec, model, checkpoint, initial_epoch, distribution)
        # On the device, fit a wrapper that augments and standardises uint8 batches in front of
        # `model`; `model` alone (no augmentation layers) is what is checkpointed and bundled.
        trainer = device_trainer(model, preprocessing, config.seed, spec.extra_augmentation) if on_device else None
        _fit(spec, model, train_ds, val_ds, math.ceil(len(val) / spec.batch_size), initial_epoch, config, run_dir,
             distribution, trainer=trainer)


def _fit_on_cached_features(spec, model, dataset: Dataset, preprocessing, config: TrainConfig, run_dir: Path,
                            initial_epoch: int = 0, checkpoint=None, distribution: Distribution = LOCAL,
                            cache_root: Path | None = None) -> None:
    """Train `model`'s trainable part on cached outputs of its frozen part (in place)."""
    with distribution.scope():
        frozen, head = split_model(model, spec.unfreeze_from)
    train, val = dataset.splits["train"], dataset.splits["val"]
    # Each worker has its own cache (see train_run); it is built outside the strategy's scope.
    features = cached_features(
        frozen, {"train": train.images_rgb, "val": val.images_rgb}, preprocessing, config.cache_copies, config.seed,
        cache_root or config.out / "feature_cache", batch_size=max(spec.batch_size, 32),
    )
    num_classes = len(dataset.classes)
    train_ds = feature_batches(features["train"], train.labels, num_classes, spec.batch_size, config.seed)
    val_ds = feature_batches(features["val"], val.labels, num_classes, spec.batch_size, config.seed, repeat=False)
    with distribution.scope():
        head.compile(optimizer=keras.optimizers.Adam(learning_rate=spec.learning_rate),
                     loss="categorical_crossentropy", metrics=["accuracy"])
        _restore(spec, head, checkpoint, initial_epoch, distribution)
        _fit(spec, head, train_ds, val_ds, math.ceil(len(val) / spec.batch_size), initial_epoch, config, run_dir,
             distribution)


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
    for why in reports.result_warnings(test_metrics).values():
        log.warning("%s: %s.", spec.name, why)
    return metrics


def train_schedule(config: TrainConfig) -> dict[str, dict]:
    """Load the dataset once, then train each requested run in schedule order."""
    specs = [config.spec_for(spec) for spec in resolve_runs(config.runs)]
    # Landmark runs read the hands' landmarks, not images at an input size (training/landmark_run.py);
    # they train in seconds on one machine, after the image runs.
    landmark_specs = [spec for spec in specs if spec.backbone == "landmarks"]
    specs = [spec for spec in specs if spec.backbone != "landmarks"]
    if landmark_specs and config.distribute == "multi-worker":
        raise TrainingError("The landmarks run trains in seconds on one machine; train it in a call without "
                            "--distribute multi-worker.")
    if not specs:
        return _train_landmark_runs(landmark_specs, config)
    sizes = {spec.input_size for spec in specs}
    if len(sizes) != 1:
        raise TrainingError(f"Runs in one call must share an input size; got {sorted(sizes)}. Pass --input-size.")
    input_size = sizes.pop()
    # Before TensorFlow runs anything: a multi-worker strategy can only join its cluster then.
    distribution = make_distribution(config.distribute)
    chief = distribution.is_chief
    # Resolved once, so each run's config.json records the mode it used, not "auto".
    config = replace(config, augment_on=resolve_augment_on(config.augment_on))
    if chief:  # other workers take the chief's weights
        _check_base_weights(specs, config.weights)  # before the slow dataset load, and before anything is written
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
    set_mixed_precision(config.mixed_precision)
    if chief:
        config.out.mkdir(parents=True, exist_ok=True)
        workdir = config.out
    else:
        workdir = Path(tempfile.mkdtemp(prefix=f"gesture-train-worker{distribution.worker.index}-"))
        log.info("Worker %d: temporary files in %s (removed at the end)", distribution.worker.index, workdir)
    results = {}
    schedule = Progress(sum(spec.epochs * spec.steps_per_epoch for spec in specs), "schedule", "step", lines=False,
                        position=0)
    token = _SCHEDULE.set(schedule)
    try:
        if distribution.multi_worker:
            _check_same_data(dataset, config, distribution)
        for spec in specs:
            results[spec.name] = train_run(spec, dataset, preprocessing, config, distribution, workdir)
        if chief:
            summary = reports.write_summary(config.out, [s for s in _all_run_names(config.out)])
            log.info("Summary of all runs: %s", summary)
        # The workers leave together: to the chief, one that exits while it still writes
        # reports looks like one that crashed (TensorFlow logs an error).
        distribution.barrier()
    except Exception as exc:
        if distribution.multi_worker and _peer_lost(exc):
            log.debug("Collective failed: %s", exc)
            raise TrainingError(
                f"Worker {distribution.worker.index} lost the cluster: another worker stopped ({type(exc).__name__}). "
                "Its output says why; then start every worker again with the same command "
                "(with --resume to continue the interrupted run)."
            ) from None
        raise
    finally:
        _SCHEDULE.reset(token)
        schedule.close()
        if not chief:
            shutil.rmtree(workdir, ignore_errors=True)
    return {**results, **_train_landmark_runs(landmark_specs, config)}


def _train_landmark_runs(specs: list[RunSpec], config: TrainConfig) -> dict[str, dict]:
    from .landmark_run import train_landmark_run

    # Their own step count with the time left, as the image runs' schedule has (the progress bar, the
    # epoch lines, and --progress-file for the capture window's Train button).
    schedule = Progress(sum(spec.epochs * spec.steps_per_epoch for spec in specs), "schedule", "step", lines=False,
                        position=0)
    token = _SCHEDULE.set(schedule)
    try:
        results = {spec.name: train_landmark_run(spec, config) for spec in specs}
    finally:
        _SCHEDULE.reset(token)
        schedule.close()
    if results:
        log.info("Summary of all runs: %s", reports.write_summary(config.out, _all_run_names(config.out)))
    return results


def _peer_lost(exc: BaseException) -> bool:
    """Whether a TensorFlow error means a collective could not reach another worker."""
    import tensorflow as tf

    return isinstance(exc, (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.DeadlineExceededError,
                            tf.errors.AbortedError))


def _check_same_data(dataset: Dataset, config: TrainConfig, distribution: Distribution) -> None:
    """Stop a worker whose --data differs from the chief's: each worker keeps its part of every batch of
    the same seeded split, so different images would train on a mixture nobody chose."""
    digest = hashlib.sha1(json.dumps([list(dataset.classes), dataset.counts()]).encode())
    for name in ("train", "val", "test"):
        split = dataset.splits[name]
        digest.update(np.asarray(split.labels, np.int64).tobytes())
        digest.update(np.ascontiguousarray(split.images_rgb[:: max(1, len(split.images_rgb) // 64)]).tobytes())
    mine = np.frombuffer(digest.digest()[:16], np.int32)
    if not np.array_equal(distribution.broadcast(mine), mine):
        raise TrainingError(
            f"The images at --data {config.data} on worker {distribution.worker.index} differ from the chief's "
            f"({', '.join(f'{name} {sum(c.values())}' for name, c in dataset.counts().items())} images here). "
            "Every machine needs the same images at --data: a copy, or a shared folder."
        )


def _check_base_weights(specs: list[RunSpec], weights) -> None:
    """Resolve the base weights, fetching ImageNet's (once, into Keras's cache) if a run needs them.

    Offline, the download fails here, with one line, instead of mid-run with a traceback and a
    run folder that a rerun then takes for an unfinished run.
    """
    fresh = [spec for spec in specs if spec.init_from is None]
    if not fresh:
        return
    if resolve_weights(weights) != "imagenet" or not any(spec.backbone == "vgg16" for spec in fresh):
        return
    log.info("Loading VGG16's ImageNet weights (downloaded once, 58 MB, into ~/.keras/models) ...")
    try:
        # Keras prints an unterminated "Downloading data from ..." and a progress bar on stdout.
        with contextlib.redirect_stdout(io.StringIO()):
            # The smallest input VGG16 takes: the same weights file as at 224 px.
            keras.applications.VGG16(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    except Exception as exc:  # Keras raises a bare Exception for a failed download
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise TrainingError(
            f"Could not get VGG16's ImageNet weights ({reason}); nothing was written. "
            "Train without them with --weights none (random start, much lower accuracy), or pass --weights PATH "
            "to a copy of vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (Keras keeps it in ~/.keras/models/)."
        ) from exc


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
