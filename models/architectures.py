"""Turn a run of the schedule into a Keras model: a convolutional base plus a classifier top.

vgg16 is the documented, pretrained base (frozen); compact is a small batch-normalised
CNN trained from scratch with its top, for CPU-only machines and the bundled default model.
The landmark head (`build_landmark_mlp`) has no base: the run's top over landmark features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .schedule import RunSpec

BACKBONES = ("vgg16", "compact")
# Backbones without pretrained weights: trained together with their top.
FROM_SCRATCH_BACKBONES = ("compact",)
# The compact backbone: a stride-2 stem, then blocks of 3x3 Conv-BN-ReLU (filters per
# conv) each followed by 2x2 max pooling except the last. Sized to train an epoch of
# ~2,700 images at 64 px in seconds on a laptop CPU.
COMPACT_STEM = 24
COMPACT_BLOCKS = ((32,), (64, 64), (128, 128), (256, 256))
# Keras's default BatchNorm momentum (0.99) lets the moving statistics lag far behind
# the weights in a short from-scratch run, so validation sits near chance for many epochs.
COMPACT_BN_MOMENTUM = 0.9


def resolve_weights(weights):
    """'imagenet' | None | 'none' | path -> what keras.applications expects."""
    if weights is None or (isinstance(weights, str) and weights.lower() == "none"):
        return None
    if weights == "imagenet":
        return "imagenet"
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(
            f"Weights file {path} does not exist. Pass --weights imagenet (downloads once), "
            "--weights none (random start), or the path to a VGG16 'notop' .h5 weights file."
        )
    return str(path)


def build_compact_base(input_size: int, stem: int = COMPACT_STEM, blocks=COMPACT_BLOCKS):
    """A small CNN of stock Keras layers (safe to load), named like VGG16's so `unfreeze_from` works."""
    import keras
    from keras import layers

    def conv_bn_relu(x, filters, name, strides=1):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
        x = layers.BatchNormalization(momentum=COMPACT_BN_MOMENTUM, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    inputs = keras.Input((input_size, input_size, 3))
    x = conv_bn_relu(inputs, stem, "stem", strides=2)
    for block, widths in enumerate(blocks, start=1):
        for index, width in enumerate(widths, start=1):
            x = conv_bn_relu(x, width, f"block{block}_{index}")
        if block < len(blocks):
            x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name="compact")


def build_base(backbone: str, input_size: int, weights="imagenet"):
    import keras

    if backbone not in BACKBONES:
        raise ValueError(f"Unknown backbone {backbone!r}; valid backbones are {', '.join(BACKBONES)}.")
    if backbone == "compact":
        base = build_compact_base(input_size)
        resolved = resolve_weights(weights)
        # There are no published weights for it: "imagenet" (the CLI default) means a random start.
        if resolved not in (None, "imagenet"):
            base.load_weights(resolved)
        return base
    return keras.applications.VGG16(
        include_top=False, weights=resolve_weights(weights), input_shape=(input_size, input_size, 3)
    )


def build_model(run: RunSpec, num_classes: int, weights="imagenet", input_size: int | None = None):
    """A functional model: input -> base -> run's top -> softmax.

    A pretrained base is frozen and runs in inference mode; a from-scratch base
    (compact) trains with its top. The input is the standardised RGB image from
    `Preprocessing`; the base is a nested model named after its backbone so
    fine-tuning can find its layers.
    """
    import keras
    from keras import layers

    size = input_size or run.input_size
    base = build_base(run.backbone, size, weights)
    inputs = keras.Input((size, size, 3), name="image")
    if run.backbone in FROM_SCRATCH_BACKBONES:
        # Its batch normalisation must use batch statistics while it learns.
        base.trainable = True
        x = base(inputs)
    else:
        base.trainable = False
        # training=False keeps the base in inference mode even when parts of it are
        # unfrozen later (matters for backbones with batch normalisation).
        x = base(inputs, training=False)
    for spec in run.top:
        kind = spec[0]
        if kind == "flatten":
            x = layers.Flatten()(x)
        elif kind == "global_average_pooling":
            x = layers.GlobalAveragePooling2D()(x)
        elif kind == "dense":
            x = layers.Dense(spec[1], activation="relu")(x)
        elif kind == "dropout":
            x = layers.Dropout(spec[1])(x)
        else:
            raise ValueError(f"Unknown top layer {spec!r} in run {run.name}")
    # float32 probabilities even under a mixed-precision policy (float16 softmax is unstable).
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=run.name)


def base_of(model):
    """The nested convolutional base of a model made by `build_model`."""
    for layer in model.layers:
        if layer.name in BACKBONES:
            return layer
    raise ValueError(f"Model {model.name!r} has no convolutional base named one of {BACKBONES}.")


def unfreeze_from(model, layer_name: str) -> list[str]:
    """Make the base trainable from `layer_name` to its end; returns the unfrozen layers.

    The caller must compile the model again for the change to take effect.
    """
    base = base_of(model)
    names = [layer.name for layer in base.layers]
    if layer_name not in names:
        raise ValueError(f"Layer {layer_name!r} is not in the {base.name} base; its layers are {', '.join(names)}.")
    base.trainable = True
    start = names.index(layer_name)
    unfrozen = []
    for index, layer in enumerate(base.layers):
        layer.trainable = index >= start and bool(layer.weights)
        if layer.trainable:
            unfrozen.append(layer.name)
    return unfrozen


def build_landmark_mlp(run: RunSpec, num_features: int, num_classes: int, mean, variance):
    """The landmark head: standardise the features (the training set's mean and variance, kept in
    the model so the app cannot drift from training), then the run's Dense/Dropout top, then softmax.

    Only layers `models.landmark_head` can run in numpy: Normalization, Dense (relu), Dropout.
    """
    import keras
    from keras import layers

    inputs = keras.Input((num_features,), name="landmark_features")
    x = layers.Normalization(mean=np.asarray(mean, np.float32), variance=np.asarray(variance, np.float32),
                             name="standardise")(inputs)
    for spec in run.top:
        if spec[0] == "dense":
            x = layers.Dense(spec[1], activation="relu")(x)
        elif spec[0] == "dropout":
            x = layers.Dropout(spec[1])(x)
        else:
            raise ValueError(f"Unknown landmark-head layer {spec!r} in run {run.name}; use ('dense', units) or ('dropout', rate).")
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=run.name)
