"""Add a TFLite export (float or int8) to a bundle and record its accuracy beside the float model's."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from cli_common.quiet import native_output_filtered
from models.atomic_files import atomic_write_bytes
from models.bundle import Bundle, BundleError, load_bundle, update_description

from .dataset import DatasetError, load_dataset
from .evaluate import evaluate_bundle
from .progress import progress_over

log = logging.getLogger(__name__)


def _dataset_of(bundle: Bundle, data: str | Path | None) -> tuple[Path, int]:
    """The training data folder and seed the bundle was trained with (or the given folder)."""
    provenance = bundle.description.get("provenance", {})
    seed = int(provenance.get("config", {}).get("settings", {}).get("seed", 0))
    root = data or provenance.get("dataset", {}).get("root")
    if not root or not Path(root).is_dir():
        raise DatasetError(
            f"Need the training data to calibrate and score the export; {root or 'no folder'} is not available. "
            "Pass --data DATA (the folder the bundle was trained on)."
        )
    return Path(root), seed


def convert(bundle: Bundle, representative: np.ndarray | None, verbose: bool = False) -> bytes:
    """TFLite flatbuffer of the bundle's model; int8 weights and activations when `representative` is given.

    The converter prints the model's whole signature and its C++ passes' log; shown with `verbose`.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(bundle.model)
    with native_output_filtered(verbose, drop_stdout=True) as terminal, warnings.catch_warnings():
        if representative is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: (
                [x[None]] for x in progress_over(representative, "calibrating int8", stream=terminal)
            )
            # Integer kernels everywhere; input and output stay float32 so callers feed
            # the same standardised images as to the Keras model.
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # Our inputs stay float32, so the converter has no input statistics to miss.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
        return converter.convert()


def export_bundle(path: str | Path, int8: bool = False, data: str | Path | None = None,
                  calibration_images: int = 600, verbose: bool = False) -> dict:
    """Write model[_int8].tflite into the bundle and record both accuracies on the test split."""
    bundle = load_bundle(path)
    if not bundle.has_cnn:
        raise BundleError(f"{bundle.path} holds a landmark head only; export converts a CNN (the landmark head "
                          "already runs in microseconds as plain numpy).")
    root, seed = _dataset_of(bundle, data)
    dataset = load_dataset(root, bundle.input_size, seed=seed, classes=bundle.classes)
    representative = None
    if int8:
        train = dataset.splits["train"].images_rgb
        pick = np.random.default_rng(seed).permutation(len(train))[:calibration_images]
        representative = bundle.preprocessing.normalize(train[np.sort(pick)])
    flatbuffer = convert(bundle, representative, verbose)
    name = "model_int8.tflite" if int8 else "model.tflite"
    atomic_write_bytes(bundle.path / name, flatbuffer)

    bundle.use_runtime("keras")
    # The CNN's own figures, also in a bundle that fuses it with a landmark head.
    float_metrics = evaluate_bundle(bundle, root, split="test", seed=seed)["heads"]["cnn"]
    # Score the export through the bundle, exactly as the app will run it.
    update_description(bundle.path, tflite={"file": name, "quantization": "int8" if int8 else "none"})
    exported = load_bundle(bundle.path)
    with native_output_filtered(verbose):  # LiteRT announces its XNNPACK delegate
        exported.use_runtime("tflite")
        export_metrics = evaluate_bundle(exported, root, split="test", seed=seed)["heads"]["cnn"]
    entry = {
        "file": name,
        "quantization": "int8" if int8 else "none",
        "calibration_images": len(representative) if representative is not None else 0,
        "size_mb": round(len(flatbuffer) / 1e6, 2),
        "test_split": {"data": str(root), "seed": seed, "count": export_metrics["count"]},
        "accuracy": export_metrics["accuracy"],
        "macro_f1": export_metrics["macro_f1"],
        "float_accuracy": float_metrics["accuracy"],
        "float_macro_f1": float_metrics["macro_f1"],
    }
    update_description(bundle.path, tflite=entry)
    log.info(
        "Wrote %s (%.1f MB): test accuracy %.4f (float model %.4f), macro F1 %.4f (float %.4f)",
        bundle.path / name, entry["size_mb"], entry["accuracy"], entry["float_accuracy"], entry["macro_f1"],
        entry["float_macro_f1"],
    )
    return entry
