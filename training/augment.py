"""The documented augmentation, as Keras preprocessing layers in a tf.data pipeline.

The seed used Keras 2's ImageDataGenerator with
    rotation_range=45, width_shift_range=0.2, height_shift_range=0.2,
    shear_range=0.2, zoom_range=0.2, horizontal_flip=True, fill_mode='nearest',
    rescale=1./255, featurewise_center=True, featurewise_std_normalization=True.
Each argument maps to one layer below; the rescale and featurewise standardisation
happen after the random transform, as they did there (`Preprocessing.normalize`).
"""

from __future__ import annotations

import math

import numpy as np

from models.preprocess import Preprocessing

ROTATION_DEGREES = 45
SHIFT_FRACTION = 0.2
# ImageDataGenerator's shear_range is an angle in degrees: 0.2 means +/-0.2 degrees.
# Keras's RandomShear takes the shear factor (tan of the angle), drawn from +/-factor.
SHEAR_DEGREES = 0.2
# zoom_range=0.2 draws independent x and y scales in [0.8, 1.2].
ZOOM_FRACTION = 0.2


def build_augmenter(seed: int | None = None):
    """A Keras Sequential applying the documented random transforms to float RGB images."""
    import keras
    from keras import layers

    shear = math.tan(math.radians(SHEAR_DEGREES))
    return keras.Sequential(
        [
            layers.RandomRotation(ROTATION_DEGREES / 360, fill_mode="nearest", seed=seed),
            layers.RandomTranslation(SHIFT_FRACTION, SHIFT_FRACTION, fill_mode="nearest", seed=seed),
            layers.RandomShear(x_factor=shear, y_factor=0.0, fill_mode="nearest", seed=seed),
            layers.RandomZoom((-ZOOM_FRACTION, ZOOM_FRACTION), (-ZOOM_FRACTION, ZOOM_FRACTION), fill_mode="nearest", seed=seed),
            layers.RandomFlip("horizontal", seed=seed),
        ],
        name="augmentation",
    )


def training_dataset(images_rgb: np.ndarray, labels: np.ndarray, num_classes: int, preprocessing: Preprocessing,
                     batch_size: int, seed: int):
    """Endless shuffled batches of augmented, standardised images with one-hot labels."""
    import tensorflow as tf

    augmenter = build_augmenter(seed)
    one_hot = tf.one_hot(labels, num_classes)
    ds = tf.data.Dataset.from_tensor_slices((images_rgb, one_hot))
    ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size)
    ds = ds.map(
        lambda x, y: (preprocessing.normalize(augmenter(tf.cast(x, tf.float32), training=True)), y),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(images_rgb: np.ndarray, labels: np.ndarray, num_classes: int, preprocessing: Preprocessing,
                       batch_size: int):
    """One pass over standardised images (no augmentation), in order."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images_rgb, tf.one_hot(labels, num_classes))).batch(batch_size)
    return ds.map(lambda x, y: (preprocessing.normalize(x), y), num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
