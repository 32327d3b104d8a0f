"""Cached-feature schedule versus the exact per-step pipeline: wall time and test accuracy.

Runs all five documented runs twice on the same data, split and seed, side by side
in one process, and prints the wall time of each pipeline, their ratio, and each
run's test accuracy.

    python benchmarks/training.py --quick                 # a few minutes on 2 CPU cores
    python benchmarks/training.py --data DATA --input-size 64 --epoch-scale 0.05
    python benchmarks/training.py --gpu --data DATA      # 224 px on a GPU: images/s as well
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.runner import TrainConfig, train_schedule  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = next(
    (p for p in (ROOT.parent / "shared" / "data" / "hand-crops", ROOT / "tests" / "data" / "hand-crops") if p.is_dir()),
    None,
)


def subset(data: Path, per_class: int, into: Path) -> Path:
    """The first `per_class` images of each class (sorted), linked into a new folder."""
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        target = into / folder.name
        target.mkdir(parents=True)
        for image in sorted(folder.iterdir())[:per_class]:
            os.symlink(image.resolve(), target / image.name)
    return into


def standin_for(data: Path, input_size: int, seed: int, out: Path) -> Path:
    """Stand-in base weights from the training split the runs will use (same seed, same split)."""
    from benchmarks.standin_weights import write_standin_weights
    from training.dataset import load_dataset

    return write_standin_weights(load_dataset(data, input_size, seed=seed).splits["train"].images_rgb, out, seed)


def run(pipeline: str, args, data: Path, out: Path) -> tuple[float, dict]:
    config = TrainConfig(
        data=data, out=out / pipeline, weights=args.weights, input_size=args.input_size,
        epoch_scale=args.epoch_scale, seed=args.seed, feature_cache=pipeline == "cached",
        cache_copies=args.copies, mixed_precision=args.mixed_precision,
    )
    start = time.perf_counter()
    results = train_schedule(config)
    return time.perf_counter() - start, results


def samples_seen(results: dict) -> int:
    return sum(
        m["config"]["epochs"] * m["config"]["steps_per_epoch"] * m["config"]["batch_size"] for m in results.values()
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="per-class image folder (default: hand-crops)")
    p.add_argument("--per-class", type=int, help="use only this many images per class")
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--epoch-scale", type=float, default=0.05, help="fraction of each run's documented epochs")
    p.add_argument("--copies", type=int, default=10, help="augmented copies per image in the feature cache")
    p.add_argument("--weights", default="standin",
                   help="standin (LSUV-scaled random weights, see standin_weights.py; the default), none, "
                        "imagenet, or a VGG16 notop weights file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mixed-precision", action="store_true")
    p.add_argument("--quick", action="store_true", help="120 images per class, 1/100 of the epochs, 4 copies")
    p.add_argument("--gpu", action="store_true", help="224 px, the GPU settings (mixed precision)")
    p.add_argument("--pipelines", default="cached,per-step")
    p.add_argument("--keep", type=Path, help="keep the runs in this folder")
    p.add_argument("--verbose", action="store_true", help="log each run and epoch")
    args = p.parse_args(argv)
    if args.quick:
        args.per_class, args.epoch_scale, args.copies = args.per_class or 120, 0.01, 4
    if args.gpu:
        args.input_size, args.mixed_precision = 224, True
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(relativeCreated)8.0f ms  %(message)s")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        data = subset(args.data, args.per_class, work / "data") if args.per_class else args.data
        if args.weights == "standin":
            args.weights = str(standin_for(data, args.input_size, args.seed, work / "vgg16_standin.weights.h5"))
        out = args.keep or work / "runs"
        timings, results = {}, {}
        for pipeline in args.pipelines.split(","):
            print(f"training the schedule with the {pipeline} pipeline ...", flush=True)
            timings[pipeline], results[pipeline] = run(pipeline, args, data, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    first = next(iter(results.values()))
    counts = next(iter(first.values()))["dataset"]
    print(f"\ndata {args.data} ({', '.join(f'{s} {sum(c.values())}' for s, c in counts.items())}), "
          f"{args.input_size} px, epochs x {args.epoch_scale}, cache copies {args.copies}, weights {args.weights}")
    runs = list(first)
    print("| pipeline | wall time (s) | images/s | " + " | ".join(f"{r} test acc" for r in runs) + " | mean test acc |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in runs) + " | --- |")
    means = {}
    for pipeline, res in results.items():
        accs = [res[r]["test"]["accuracy"] for r in runs]
        means[pipeline] = sum(accs) / len(accs)
        print(f"| {pipeline} | {timings[pipeline]:.1f} | {samples_seen(res) / timings[pipeline]:.0f} | "
              + " | ".join(f"{a:.3f}" for a in accs) + f" | {means[pipeline]:.3f} |")
    if {"cached", "per-step"} <= set(timings):
        print(f"\nspeed-up of the cached schedule: {timings['per-step'] / timings['cached']:.1f}x; "
              f"mean test accuracy difference: {100 * (means['cached'] - means['per-step']):+.1f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
