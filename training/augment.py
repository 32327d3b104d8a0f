"""The documented augmentation, as Keras preprocessing layers in a tf.data pipeline.

The seed used Keras 2's ImageDataGenerator with
    rotation_range=45, width_shift_range=0.2, height_shift_range=0.2,
    shear_range=0.2, zoom_range=0.2, horizontal_flip=True, fill_mode='nearest',
    rescale=1./255, featurewise_center=True, featurewise_std_normalization=True.
Each argument maps to one layer below; the rescale and featurewise standardisation
happen after the random transform, as they did there (`Preprocessing.normalize`).

Runs may add named robustness augmentation on top (`RunSpec.extra_augmentation`,
`EXTRA_AUGMENTATIONS` below), applied after the documented transforms; the
documented runs add none.

Where it runs (`augment_on`): "host" maps it over the tf.data batches on the CPU;
"device" leaves the batches as uint8 images and runs it inside the training step
(`training/device_augment.py`), so a GPU does the transforms.
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

# The random layers compute in float32 under any global policy: under mixed precision
# some (RandomGaussianBlur) fail in float16, and the images are input, not model compute.
AUGMENT_DTYPE = "float32"
# Where the per-step pipeline augments: "host" (tf.data on the CPU), "device" (in the
# training step), or "auto" (device when TensorFlow sees a GPU).
AUGMENT_ON_CHOICES = ("auto", "host", "device")


# Photometric and scale changes the documented set lacks, by name. Values are for
# RGB in [0, 255]. Left and right hands are the documented horizontal flip.
EXTRA_AUGMENTATIONS = {
    # light: brighter/darker rooms and flat or harsh contrast (brightness +/-25% of the range).
    "light": lambda seed: [
        _layer("RandomBrightness", 0.25, value_range=(0, 255), seed=seed),
        _layer("RandomContrast", 0.3, value_range=(0, 255), seed=seed),
    ],
    # colour: skin tone and camera white balance (saturation x0.6..x1.4, hue +/-0.04 of the circle).
    "colour": lambda seed: [
        _layer("RandomSaturation", (0.3, 0.7), value_range=(0, 255), seed=seed),
        _layer("RandomHue", (0.0, 0.08), value_range=(0, 255), seed=seed),
    ],
    # scale: a hand smaller in the box than the tight training crops, as when the user holds it
    # further from the camera: zoom out by up to 40% (the hand shrinks to 71-100%), aspect kept.
    "scale": lambda seed: [_layer("RandomZoom", (0.0, 0.4), fill_mode="nearest", seed=seed)],
    # blur: soft, low-resolution webcam frames.
    "blur": lambda seed: [_layer("RandomGaussianBlur", 0.5, kernel_size=3, sigma=(0.1, 1.2), value_range=(0, 255), seed=seed)],
}


def _layer(name: str, *args, **kwargs):
    from keras import layers

    return getattr(layers, name)(*args, dtype=AUGMENT_DTYPE, **kwargs)


def check_extra_augmentation(names) -> tuple[str, ...]:
    """Validate names of extra augmentation; returns them as a tuple."""
    names = tuple(names)
    unknown = [n for n in names if n not in EXTRA_AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"Unknown augmentation {', '.join(repr(n) for n in unknown)}; valid names are "
            f"{', '.join(EXTRA_AUGMENTATIONS)} (or none)."
        )
    return names


def build_extra_augmenter(names, seed: int | None = None):
    """A Keras Sequential of the named extra augmentation, or None when there is none."""
    import keras

    names = check_extra_augmentation(names)
    if not names:
        return None
    return keras.Sequential([layer for name in names for layer in EXTRA_AUGMENTATIONS[name](seed)],
                            name="extra_augmentation")


def build_augmenter(seed: int | None = None):
    """A Keras Sequential applying the documented random transforms to float RGB images."""
    import keras
    from keras import layers

    shear = math.tan(math.radians(SHEAR_DEGREES))
    return keras.Sequential(
        [
            layers.RandomRotation(ROTATION_DEGREES / 360, fill_mode="nearest", seed=seed, dtype=AUGMENT_DTYPE),
            layers.RandomTranslation(SHIFT_FRACTION, SHIFT_FRACTION, fill_mode="nearest", seed=seed,
                                     dtype=AUGMENT_DTYPE),
            layers.RandomShear(x_factor=shear, y_factor=0.0, fill_mode="nearest", seed=seed, dtype=AUGMENT_DTYPE),
            layers.RandomZoom((-ZOOM_FRACTION, ZOOM_FRACTION), (-ZOOM_FRACTION, ZOOM_FRACTION), fill_mode="nearest",
                              seed=seed, dtype=AUGMENT_DTYPE),
            layers.RandomFlip("horizontal", seed=seed, dtype=AUGMENT_DTYPE),
        ],
        name="augmentation",
    )


def apply_augmentation(images_rgb, augmenter, extra_augmenter=None):
    """Float RGB batch in [0, 255] -> the documented random transforms, then the extra ones (clipped to the range)."""
    from keras import ops

    x = augmenter(images_rgb, training=True)
    if extra_augmenter is not None:
        x = ops.clip(extra_augmenter(x, training=True), 0.0, 255.0)
    return x


def resolve_augment_on(setting: str) -> str:
    """'host' or 'device'; 'auto' is 'device' when TensorFlow sees a GPU."""
    if setting not in AUGMENT_ON_CHOICES:
        raise ValueError(f"Unknown augment_on {setting!r}; valid values are {', '.join(AUGMENT_ON_CHOICES)}.")
    if setting != "auto":
        return setting
    import tensorflow as tf

    return "device" if tf.config.list_physical_devices("GPU") else "host"


def training_dataset(images_rgb: np.ndarray, labels: np.ndarray, num_classes: int, preprocessing: Preprocessing,
                     batch_size: int, seed: int, extra: tuple[str, ...] = (), on_device: bool = False):
    """Endless shuffled batches of augmented, standardised images with one-hot labels.

    extra: names from EXTRA_AUGMENTATIONS, applied after the documented transforms.
    on_device: yield the uint8 images as they are; the training step augments and
    standardises them (`device_augment.DeviceAugmentation`).
    """
    import tensorflow as tf

    one_hot = tf.one_hot(labels, num_classes)
    ds = tf.data.Dataset.from_tensor_slices((images_rgb, one_hot))
    ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size)
    if not on_device:
        augmenter = build_augmenter(seed)
        extra_augmenter = build_extra_augmenter(extra, seed)

        def augment_and_normalize(x, y):
            return preprocessing.normalize(apply_augmentation(tf.cast(x, tf.float32), augmenter, extra_augmenter)), y

        ds = ds.map(augment_and_normalize, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(images_rgb: np.ndarray, labels: np.ndarray, num_classes: int, preprocessing: Preprocessing,
                       batch_size: int, on_device: bool = False):
    """One pass over standardised images (no augmentation), in order.

    on_device: yield the uint8 images; the model's training wrapper standardises them.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images_rgb, tf.one_hot(labels, num_classes))).batch(batch_size)
    if not on_device:
        ds = ds.map(lambda x, y: (preprocessing.normalize(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
