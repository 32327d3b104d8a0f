"""How long the landmark head takes for one hand a frame: the numpy pass the app uses against Keras.

    python benchmarks/landmark_head.py                       # the bundled default model's head
    python benchmarks/landmark_head.py --bundle RUNS/landmarks/bundle --repeats 2000

Prints p50/p95 in microseconds for: features alone, features + numpy MLP (`bundle.predict_landmarks`,
what `predict_hand` runs), the Keras model in a tf.function, and `model.predict`; and the whole
`predict_hand` (CNN + landmarks + fusion) on one crop.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402

from models import default_bundle_path, load_bundle  # noqa: E402
from models.hands import HandLocaliser  # noqa: E402
from models.images import read_image_bgr  # noqa: E402


def timed_us(call, repeats: int) -> tuple[float, float]:
    for _ in range(min(20, repeats)):
        call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=default_bundle_path())
    parser.add_argument("--image", type=Path, default=sorted((ROOT / "tests/data/default-model-test/stop").glob("*.jpg"))[0])
    parser.add_argument("--repeats", type=int, default=1000)
    args = parser.parse_args(argv)

    import tensorflow as tf

    bundle = load_bundle(args.bundle)
    if not bundle.has_landmarks:
        print(f"{args.bundle} has no landmark head")
        return 1
    crop_bgr = read_image_bgr(args.image)
    hand = HandLocaliser().find_in_region(crop_bgr, (0, 0, crop_bgr.shape[1], crop_bgr.shape[0]))
    head = bundle.landmark_head
    row = head.features(hand.landmarks_px, hand.handedness)[None]
    keras_call = tf.function(lambda x: head.model(x, training=False))
    results = {
        "features only": timed_us(lambda: head.features(hand.landmarks_px, hand.handedness), args.repeats),
        "features + numpy MLP (predict_landmarks)": timed_us(
            lambda: bundle.predict_landmarks(hand.landmarks_px, hand.handedness), args.repeats),
        "Keras MLP in a tf.function (features excluded)": timed_us(lambda: keras_call(row).numpy(), args.repeats),
        "Keras model.predict (features excluded)": timed_us(lambda: head.model.predict(row, verbose=0),
                                                             max(20, args.repeats // 10)),
    }
    if bundle.has_cnn:
        results["predict_hand: CNN + landmarks + fusion"] = timed_us(lambda: bundle.predict_hand(crop_bgr, hand),
                                                                      max(20, args.repeats // 10))
    print(f"{args.bundle} ({head.feature_set}, numpy pass: {head.runs_in_numpy}); one hand, batch 1")
    for name, (p50, p95) in results.items():
        print(f"  {name:<48} p50 {p50:9.1f} us   p95 {p95:9.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
