"""Turn a run of the schedule into a Keras model: a frozen convolutional base plus a classifier top."""

from __future__ import annotations

from pathlib import Path

from .schedule import RunSpec

BACKBONES = ("vgg16",)


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


def build_base(backbone: str, input_size: int, weights="imagenet"):
    import keras

    if backbone != "vgg16":
        raise ValueError(f"Unknown backbone {backbone!r}; valid backbones are {', '.join(BACKBONES)}.")
    return keras.applications.VGG16(
        include_top=False, weights=resolve_weights(weights), input_shape=(input_size, input_size, 3)
    )


def build_model(run: RunSpec, num_classes: int, weights="imagenet", input_size: int | None = None):
    """A functional model: input -> frozen base (inference mode) -> run's top -> softmax.

    The input is the standardised RGB image from `Preprocessing`; the base is a
    nested model named after its backbone so fine-tuning can find its layers.
    """
    import keras
    from keras import layers

    size = input_size or run.input_size
    base = build_base(run.backbone, size, weights)
    base.trainable = False
    inputs = keras.Input((size, size, 3), name="image")
    # training=False keeps the base in inference mode even when parts of it are
    # unfrozen later (matters for backbones with batch normalisation).
    x = base(inputs, training=False)
    for spec in run.top:
        kind = spec[0]
        if kind == "flatten":
            x = layers.Flatten()(x)
        elif kind == "dense":
            x = layers.Dense(spec[1], activation="relu")(x)
        elif kind == "dropout":
            x = layers.Dropout(spec[1])(x)
        else:
            raise ValueError(f"Unknown top layer {spec!r} in run {run.name}")
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
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
