"""A bundle's landmark head: a small Keras MLP over `landmark_features`, run per frame as plain numpy.

The Keras model (Normalization, Dense and Dropout layers) is what training saves and what the
bundle holds; for one hand a frame, a numpy pass over its weights takes microseconds where a
Keras call takes about a millisecond (README, "The landmark head and fusion"), so `LandmarkHead`
reads the weights once and multiplies them itself. Layers it does not know fall back to Keras.
"""

from __future__ import annotations

import numpy as np

from .landmark_features import check_features, features

_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "softmax": lambda x: (lambda e: e / e.sum(axis=-1, keepdims=True))(np.exp(x - x.max(axis=-1, keepdims=True))),
}


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


class LandmarkHead:
    """(21, 3) landmarks + handedness -> (classes,) probabilities."""

    def __init__(self, model, feature_set: str):
        self.model = model
        self.feature_set = check_features(feature_set)
        self.num_features = int(model.input_shape[-1])
        self._steps = _numpy_steps(model)

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
