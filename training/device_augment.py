"""Augmentation and standardisation inside the training step (`--augment-on device`).

The tf.data pipeline then only shuffles and batches uint8 images; a GPU does the
random transforms. What is fitted is a thin training-only wrapper around the run's
model: the wrapper is never saved, so the bundle and the checkpoint hold the plain
model, which takes standardised images exactly as before.
"""

from __future__ import annotations

import keras
from keras import ops

from models.preprocess import Preprocessing

from .augment import apply_augmentation, build_augmenter, build_extra_augmenter


class DeviceAugmentation(keras.Model):
    """uint8 RGB batch -> (augmented when training) -> standardised -> `model`.

    Shares `model`'s layers, so fitting the wrapper trains `model`. The augmentation
    layers hold no trainable weights: the wrapper's trainable variables are exactly
    `model`'s, so both can share one optimizer and the model's checkpoint keeps its state.
    """

    def __init__(self, model, preprocessing: Preprocessing, seed: int | None = None, extra: tuple[str, ...] = ()):
        super().__init__(name=f"{model.name}_device_augmentation")
        # Attributes, so Keras tracks them: the random layers' seed state and their
        # supports_jit=False (which keeps jit_compile="auto" from compiling them with XLA).
        self.augmenter = build_augmenter(seed)
        self.extra_augmenter = build_extra_augmenter(extra, seed)
        self.inner = model
        self.preprocessing = preprocessing

    def build(self, input_shape):
        # `model` is built already; the random layers only need the batch's shape.
        self.augmenter.build(input_shape)
        if self.extra_augmenter is not None:
            self.extra_augmenter.build(input_shape)

    def call(self, images_rgb, training=False):
        x = ops.cast(images_rgb, "float32")
        if training:
            x = apply_augmentation(x, self.augmenter, self.extra_augmenter)
        return self.inner(self.preprocessing.normalize(x), training=training)


def device_trainer(model, preprocessing: Preprocessing, seed: int | None, extra: tuple[str, ...] = ()):
    """The wrapper, compiled like `model` and with `model`'s own optimizer object.

    Sharing the optimizer (not a copy) means the optimizer state a checkpoint of `model`
    saves, and restores on --resume, is the one the wrapper's steps updated.
    """
    trainer = DeviceAugmentation(model, preprocessing, seed, extra)
    trainer.compile(optimizer=model.optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return trainer
