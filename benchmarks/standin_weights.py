"""A stand-in for VGG16's ImageNet weights where they cannot be downloaded (benchmarks only).

Random VGG16 weights already give informative features (a logistic regression on
them reaches about 76% on the hand-crops test split at 64 px), but Keras's Glorot
initialisation shrinks activations about 2x per layer, so the base's outputs are
~1e-3 in size and the documented tops, with their small learning rates, barely move
in a short schedule. Rescaling each convolution so its output has unit second moment
on a sample of the training images (LSUV, Mishkin & Matas 2016) fixes that without
training anything. Accuracy comparisons between training pipelines then mean
something; absolute accuracy is far below what ImageNet weights give.

    python benchmarks/standin_weights.py --data DATA --input-size 64 --out vgg16_standin.weights.h5
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

SAMPLE_IMAGES = 128


def write_standin_weights(images_rgb: np.ndarray, out: Path, seed: int = 0) -> Path:
    """LSUV-scaled random VGG16 'notop' weights for images like `images_rgb` (uint8 RGB, one size)."""
    import keras

    from models.preprocess import Preprocessing, featurewise_stats

    size = images_rgb.shape[1]
    keras.utils.set_random_seed(seed)
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(size, size, 3))
    mean, std = featurewise_stats(images_rgb)
    rng = np.random.default_rng(seed)
    sample = images_rgb[rng.choice(len(images_rgb), min(SAMPLE_IMAGES, len(images_rgb)), replace=False)]
    x = np.asarray(Preprocessing(size, "colour", mean, std).normalize(sample.astype(np.float32)))
    for layer in base.layers:
        if isinstance(layer, keras.layers.Conv2D):
            # Layers are scaled in order, so each sees its (already scaled) predecessors' outputs.
            output = keras.Model(base.input, layer.output).predict(x, batch_size=32, verbose=0)
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel / np.sqrt(np.mean(output.astype(np.float64) ** 2)), bias])
    out.parent.mkdir(parents=True, exist_ok=True)
    base.save_weights(out)
    return out


def main(argv: list[str] | None = None) -> int:
    from training.dataset import load_dataset

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="per-class image folder; only its training split is used")
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("vgg16_standin.weights.h5"))
    args = p.parse_args(argv)
    dataset = load_dataset(args.data, args.input_size, seed=args.seed)
    path = write_standin_weights(dataset.splits["train"].images_rgb, args.out, args.seed)
    print(f"wrote {path}; pass it as --weights {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
