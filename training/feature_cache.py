"""Train on cached base features instead of running the frozen base every step.

Models 1-4 share one frozen VGG16 base, and the fine-tune freezes blocks 1-4. Their
outputs for a fixed set of augmented copies of each training image are computed
once, stored on disk, and the trainable part (block 5 and/or the top) is trained on
them. The trade-off against the per-step pipeline (`--no-feature-cache`): the model
sees `copies` augmented versions of each image instead of a fresh one every step.
The fine-tune still trains block 5 on every step, which caps the speed-up of the whole
documented schedule at about 18x in arithmetic (README, "Speed").
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import keras
import numpy as np

from models.architectures import base_of
from models.atomic_files import atomic_directory
from models.preprocess import Preprocessing

from .augment import build_augmenter
from .progress import Progress

log = logging.getLogger(__name__)

CACHE_DTYPE = np.float16  # halves memory and disk; the tops train the same


def can_cache(model) -> bool:
    """Only chain-shaped bases (VGG16) can be cut at any layer."""
    try:
        return base_of(model).name == "vgg16"
    except ValueError:
        return False


def split_model(model, cut_at: str | None):
    """Split a `build_model` model into (frozen, head) models that share its layers.

    cut_at: the first base layer the head trains (e.g. "block5_conv1"); None puts
    the whole base in the frozen part. Training `head` trains `model`'s own layers.
    """
    base = base_of(model)
    base_layers = [layer for layer in base.layers if not isinstance(layer, keras.layers.InputLayer)]
    names = [layer.name for layer in base_layers]
    cut = names.index(cut_at) if cut_at else len(base_layers)
    top_layers = model.layers[model.layers.index(base) + 1 :]

    image = keras.Input(model.input_shape[1:], name="image")
    x = image
    for layer in base_layers[:cut]:
        x = layer(x)
    frozen = keras.Model(image, x, name=f"{model.name}_frozen")

    features = keras.Input(tuple(x.shape[1:]), name="features")
    y = features
    for layer in base_layers[cut:] + top_layers:
        y = layer(y)
    head = keras.Model(features, y, name=f"{model.name}_head")
    return frozen, head


def _fingerprint(frozen, preprocessing: Preprocessing, images_rgb: np.ndarray, copies: int, seed: int) -> str:
    digest = hashlib.sha1()
    for weight in frozen.weights:
        digest.update(np.asarray(weight).tobytes())
    digest.update(json.dumps([preprocessing.to_dict(), copies, seed, frozen.output.shape[1:]], default=str).encode())
    digest.update(np.ascontiguousarray(images_rgb[:: max(1, len(images_rgb) // 64)]).tobytes())
    digest.update(str(images_rgb.shape).encode())
    return digest.hexdigest()[:16]


def cached_features(frozen, split_images_rgb: dict[str, np.ndarray], preprocessing: Preprocessing, copies: int,
                    seed: int, cache_root: Path, batch_size: int = 32) -> dict[str, np.ndarray]:
    """Frozen-part outputs: `copies` augmented copies of 'train', one plain pass of the others.

    Returns read-only memory-mapped arrays; train rows are ordered copy by copy,
    so row i is image i % N. Reused from disk when the frozen weights, data,
    preprocessing, copies and seed are unchanged.
    """
    import tensorflow as tf

    train = split_images_rgb["train"]
    key = _fingerprint(frozen, preprocessing, train, copies, seed)
    folder = cache_root / f"{frozen.layers[-1].name}-{key}"
    if (folder / "done.json").is_file():
        log.info("Using cached features from %s", folder)
        return {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in split_images_rgb}

    # A fixed staging name: a run killed mid-write leaves a folder the next run clears.
    with atomic_directory(folder, staging=cache_root / f".{folder.name}.partial") as staging:
        feature_shape = tuple(frozen.output.shape[1:])
        augmenter = build_augmenter(seed)
        # Augmentation, standardisation and the base in one graph per batch, rather than the
        # random layers running eagerly in front of a compiled base.
        plain = tf.function(lambda x: frozen(preprocessing.normalize(tf.cast(x, tf.float32)), training=False),
                            reduce_retracing=True)
        augmented = tf.function(
            lambda x: frozen(preprocessing.normalize(augmenter(tf.cast(x, tf.float32), training=True)), training=False),
            reduce_retracing=True,
        )
        start = time.perf_counter()
        total = sum((copies if name == "train" else 1) * len(images) for name, images in split_images_rgb.items())
        progress = Progress(total, "feature cache", "image")
        for name, images in split_images_rgb.items():
            passes = copies if name == "train" else 1
            out = np.lib.format.open_memmap(staging / f"{name}.npy", mode="w+", dtype=CACHE_DTYPE,
                                            shape=(passes * len(images), *feature_shape))
            row = 0
            for copy in range(passes):
                for i in range(0, len(images), batch_size):
                    features = (augmented if name == "train" else plain)(images[i : i + batch_size])
                    out[row : row + len(features)] = np.asarray(features, dtype=CACHE_DTYPE)
                    row += len(features)
                    progress.update(len(features))
            out.flush()
            del out
        progress.close()
        (staging / "done.json").write_text(json.dumps({"copies": copies, "seed": seed, "seconds": time.perf_counter() - start}))
    log.info(
        "Cached %s features of %d x %d augmented training images in %.1f s (%s)",
        "x".join(map(str, feature_shape)), copies, len(train), time.perf_counter() - start, folder,
    )
    return {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in split_images_rgb}


def feature_batches(features: np.ndarray, labels: np.ndarray, num_classes: int, batch_size: int, seed: int,
                    repeat: bool = True):
    """tf.data batches of (float32 features, one-hot labels) gathered from a (memory-mapped) array.

    Gathering by index keeps the array out of the TensorFlow graph (no 2 GB limit).
    """
    import tensorflow as tf

    n = len(features)
    rows_labels = np.asarray(labels, np.int64)

    def gather(index):
        index = np.sort(index)  # sequential reads from the memory map
        return features[index].astype(np.float32), np.eye(num_classes, dtype=np.float32)[rows_labels[index % len(rows_labels)]]

    ds = tf.data.Dataset.range(n)
    if repeat:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(batch_size).map(
        lambda index: tf.numpy_function(gather, [index], (tf.float32, tf.float32)), num_parallel_calls=tf.data.AUTOTUNE
    )
    shape = (None, *features.shape[1:])
    ds = ds.map(lambda x, y: (tf.ensure_shape(x, shape), tf.ensure_shape(y, (None, num_classes))))
    return ds.prefetch(tf.data.AUTOTUNE)
