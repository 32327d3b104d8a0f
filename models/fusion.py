"""The one rule that turns a bundle's heads into the probabilities the app shows.

    fuse(cnn_probs, landmark_probs) -> probs

- a CNN and a confident hand's landmarks: the mean of the two heads' probabilities;
- no landmarks (no hand found, a hand below MIN_PRESENCE, a silhouette bundle, a bundle without a
  landmark head): the CNN's probabilities alone;
- a landmark-only bundle: the landmark head's probabilities alone, and None when there is no hand
  (nothing to read: the app shows "no gesture").

Why a plain mean: the two heads fail on different images (the CNN on unusual light, skin and
backgrounds, the landmark head where the localiser misplaces a finger), and on the default
model's test split the mean was at least as good as the better head (models/default/README.md);
a tuned weight would be fitted to one dataset's mix of those failures.
`gesture-train evaluate` and `robustness` score bundles through this same function.
"""

from __future__ import annotations

import numpy as np

FUSION_RULE = "mean"  # written into bundle.json


def fuse(cnn_probs, landmark_probs):
    """(C,) probabilities of each head, None for a head that has nothing to say -> (C,) probabilities, or None."""
    if cnn_probs is None and landmark_probs is None:
        return None
    if landmark_probs is None:
        return np.asarray(cnn_probs, dtype=np.float32)
    if cnn_probs is None:
        return np.asarray(landmark_probs, dtype=np.float32)
    cnn_probs, landmark_probs = np.asarray(cnn_probs, np.float32), np.asarray(landmark_probs, np.float32)
    if cnn_probs.shape != landmark_probs.shape:
        raise ValueError(f"the heads disagree on the classes: shapes {cnn_probs.shape} and {landmark_probs.shape}.")
    return (cnn_probs + landmark_probs) / 2
