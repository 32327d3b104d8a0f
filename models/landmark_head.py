"""A bundle's landmark head: a small Keras MLP over `landmark_features`, run per frame as plain numpy.

The Keras model (Normalization, Dense and Dropout layers) is what training saves and what the
bundle holds; for one hand a frame, a numpy pass over its weights takes microseconds where a
Keras call takes about a millisecond (README, "The landmark head and fusion"), so `LandmarkHead`
reads the weights once and multiplies them itself. Layers it does not know fall back to Keras.

`LandmarkHead.from_file` reads those weights straight from the `.keras` file (a zip of the
layers' config and an HDF5 file of their weights), so loading the head starts no TensorFlow:
with a TFLite CNN beside it the app then starts in about a second rather than several. The Keras
model is still loaded (lazily) for whatever asks for `.model`.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from pathlib import Path

import numpy as np

from .landmark_features import check_features, features

_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "softmax": lambda x: (lambda e: e / e.sum(axis=-1, keepdims=True))(np.exp(x - x.max(axis=-1, keepdims=True))),
}
KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): Normalization divides by max(sqrt(variance), this)

log = logging.getLogger(__name__)


def _numpy_steps(model) -> list | None:
    """[(kind, arrays...)] for a plain stack of Normalization / Dense / Dropout layers, else None."""
    import keras

    steps = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer | keras.layers.Dropout):
            continue
        if isinstance(layer, keras.layers.Normalization):
            mean = np.asarray(layer.mean, np.float32).reshape(-1)
            std = np.maximum(np.sqrt(np.asarray(layer.variance, np.float32).reshape(-1)), keras.backend.epsilon())
            steps.append(("normalise", mean, (1.0 / std).astype(np.float32)))
        elif isinstance(layer, keras.layers.Dense) and layer.activation.__name__ in _ACTIVATIONS:
            kernel, bias = (np.asarray(w, np.float32) for w in layer.get_weights())
            steps.append(("dense", kernel, bias, layer.activation.__name__))
        else:
            return None
    return steps


def _snake_names(class_names) -> list[str]:
    """The names Keras 3 files a model's layers under in its weights file: the class name in snake
    case, numbered from the second of a kind on (dense, dense_1, ...), in the order of the layers."""
    seen: dict[str, int] = {}
    names = []
    for class_name in class_names:
        base = re.sub(r"\W+", "", class_name)  # as keras.src.utils.naming.to_snake_case
        base = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", base)
        base = re.sub("([a-z])([A-Z])", r"\1_\2", base).lower()
        seen[base] = seen.get(base, -1) + 1
        names.append(base if seen[base] == 0 else f"{base}_{seen[base]}")
    return names


def steps_from_keras_file(file: str | Path) -> list | None:
    """`_numpy_steps` of a `.keras` file, read without Keras; None when it is not the plain stack of
    Normalization / Dense / Dropout layers this knows (or is laid out otherwise): Keras loads it then."""
    import h5py  # a dependency of Keras: there wherever Keras is

    try:
        with zipfile.ZipFile(file) as archive:
            layers = json.loads(archive.read("config.json"))["config"]["layers"]
            weights = io.BytesIO(archive.read("model.weights.h5"))
        with h5py.File(weights, "r") as h5:
            stored = h5["layers"]

            def variables(name):
                group = stored[name]["vars"]
                return [np.asarray(group[str(i)], np.float32) for i in range(len(group))]

            steps = []
            for layer, name in zip(layers, _snake_names(layer["class_name"] for layer in layers)):
                kind, config = layer["class_name"], layer["config"]
                if kind in ("InputLayer", "Dropout"):
                    continue
                if kind == "Normalization" and not config.get("invert") and config.get("axis") in ([-1], -1):
                    mean, variance = config.get("mean"), config.get("variance")
                    if mean is None:  # adapted: the statistics are variables
                        mean, variance = variables(name)[:2]
                    mean = np.asarray(mean, np.float32).reshape(-1)
                    std = np.maximum(np.sqrt(np.asarray(variance, np.float32).reshape(-1)), KERAS_EPSILON)
                    steps.append(("normalise", mean, (1.0 / std).astype(np.float32)))
                elif kind == "Dense" and config.get("activation") in _ACTIVATIONS and config.get("use_bias", True):
                    kernel, bias = variables(name)
                    if kernel.shape != (kernel.shape[0], config["units"]) or bias.shape != (config["units"],):
                        return None
                    steps.append(("dense", kernel, bias, config["activation"]))
                else:
                    return None
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
        log.debug("reading %s without Keras failed (%s); Keras will load it", file, exc)
        return None
    return steps if steps and steps[-1][0] == "dense" else None


class LandmarkHead:
    """(21, 3) landmarks + handedness -> (classes,) probabilities."""

    def __init__(self, model, feature_set: str, *, steps: list | None = None, load_model=None):
        """model: the Keras model; or None with `steps` (read from its file) and `load_model` to load it when asked for."""
        self._model = model
        self._load_model = load_model
        self.feature_set = check_features(feature_set)
        self._steps = _numpy_steps(model) if steps is None else steps
        if self._steps is not None:
            first = self._steps[0]
            self.num_features = int(first[1].shape[0])  # a normalise step's mean, or a dense step's kernel rows
            self.num_classes = int(self._steps[-1][2].shape[-1])
        else:
            self.num_features = int(model.input_shape[-1])
            self.num_classes = int(model.output_shape[-1])

    @classmethod
    def from_file(cls, file: str | Path, feature_set: str, load_model) -> "LandmarkHead":
        """The head in a `.keras` file, read as numpy weights (no TensorFlow) when it can be; `load_model()` loads it in Keras."""
        steps = steps_from_keras_file(file)
        if steps is None:
            return cls(load_model(), feature_set)
        return cls(None, feature_set, steps=steps, load_model=load_model)

    @property
    def model(self):
        """The Keras model (loaded on first use when the head was read from its file)."""
        if self._model is None:
            self._model = self._load_model()
        return self._model

    @property
    def runs_in_numpy(self) -> bool:
        return self._steps is not None

    def features(self, points, handedness) -> np.ndarray:
        return features(points, handedness, self.feature_set)

    def predict_features(self, feature_rows) -> np.ndarray:
        """(N, F) features -> (N, classes) probabilities."""
        x = np.asarray(feature_rows, np.float32)
        if self._steps is None:
            return np.asarray(self.model(x, training=False))
        for step in self._steps:
            if step[0] == "normalise":
                x = (x - step[1]) * step[2]
            else:
                x = _ACTIVATIONS[step[3]](x @ step[1] + step[2])
        return x

    def predict(self, points, handedness) -> np.ndarray:
        """One hand's (21, 3) landmarks (any unit, e.g. frame pixels) -> (classes,); (N, 21, 3) -> (N, classes)."""
        points = np.asarray(points, np.float32)
        rows = self.features(points, handedness)
        probs = self.predict_features(rows.reshape(-1, rows.shape[-1]))
        return probs[0] if points.ndim == 2 else probs
