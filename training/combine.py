"""`gesture-train combine`: one bundle with a CNN and a landmark head, each head and their fusion scored
on the held-out test split both were trained without, into its bundle.json.

    gesture-train combine --cnn RUNS/compact/bundle --landmarks RUNS/landmarks/bundle --out BUNDLE
"""

from __future__ import annotations

import logging
from pathlib import Path

from models.bundle import BundleError, add_landmark_head, load_bundle, read_description, update_description
from models.fusion import FUSION_RULE

from .evaluate import evaluate_bundle

log = logging.getLogger(__name__)

# What bundle.json keeps of each head's and the fusion's test metrics.
RECORDED = ("accuracy", "macro_f1", "error_rate", "confusion_matrix", "count", "no_hand", "accuracy_with_hand")


def _split_of(description: dict) -> tuple:
    provenance = description.get("provenance") or {}
    settings = (provenance.get("config") or {}).get("settings") or {}
    dataset = provenance.get("dataset") or {}
    return settings.get("seed"), dataset.get("counts"), dataset.get("root")


def combine_bundles(cnn: str | Path, landmarks: str | Path, out: str | Path, data: str | Path | None = None) -> dict:
    """Write the combined bundle at `out` and return evaluate's metrics of it on the test split."""
    cnn_seed, cnn_counts, cnn_root = _split_of(read_description(cnn))
    landmark_seed, landmark_counts, _ = _split_of(read_description(landmarks))
    if cnn_seed is None or landmark_seed is None:
        log.warning("One of the bundles records no training split; cannot check that the test split is held out from both.")
        seed = cnn_seed if cnn_seed is not None else (landmark_seed or 0)
    elif (cnn_seed, cnn_counts) != (landmark_seed, landmark_counts):
        raise BundleError(
            f"The two heads were trained on different splits (seed {cnn_seed} and {landmark_seed}, or other image "
            "counts), so no test split is held out from both. Train the landmark head with the CNN's data and --seed: "
            f"gesture-train --data DATA --seed {cnn_seed} --runs landmarks."
        )
    else:
        seed = cnn_seed
    data = Path(data or cnn_root or "")
    if not data.is_dir():
        raise BundleError(f"The training data {data} is not there; pass --data with the folder both heads were trained on.")
    add_landmark_head(cnn, landmarks, out)
    bundle = load_bundle(out)
    metrics = evaluate_bundle(bundle, data, split="test", seed=seed)
    heads = bundle.description["heads"]
    for name, figures in metrics["heads"].items():
        heads[name]["test_metrics"] = {k: v for k, v in figures.items() if k in RECORDED}
    fusion = {"rule": FUSION_RULE,
              "what": "the mean of the CNN's and the landmark head's probabilities when a hand is found, the CNN alone when not",
              "test_metrics": {**{k: v for k, v in metrics.items() if k in RECORDED and k != "no_hand"},
                               "no_hand": metrics["no_hand"]["count"]},  # the CNN alone read those
              "test_split": {"data": str(data), "seed": seed}}
    update_description(out, heads=heads, fusion=fusion)
    log.info("%s: cnn %.4f, landmarks %.4f, fused %.4f test accuracy (%d images)", out,
             metrics["heads"]["cnn"]["accuracy"], metrics["heads"]["landmarks"]["accuracy"], metrics["accuracy"],
             metrics["count"])
    return metrics
