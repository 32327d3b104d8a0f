"""Per-frame inference latency of each runtime, and the headless app's pipeline overhead.

All figures come from one process, side by side on the same model:
- latency p50/p95 of `model.predict`, the Keras model in a tf.function, and the
  int8 TFLite export (LiteRT), batch 1;
- with --data, the test-split accuracy of the int8 export next to the float model's;
- the headless app's end-to-end throughput on a generated 640x480 video against the
  model's own latency bound: overhead = frame time / model latency - 1.

    python benchmarks/inference.py --quick                # VGG16 model4 at 224, random weights, ~3 min on 2 cores
    python benchmarks/inference.py --bundle runs/model4_ft/bundle --data DATA
    python benchmarks/inference.py --gpu                  # batch-32 throughput of the Keras model on a GPU
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

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEST_PHOTOS = ROOT / "tests" / "data" / "hand-crops"


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples_ms, 50)), float(np.percentile(samples_ms, 95))


def time_calls(call, x, repeats: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        call(x)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(x)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def make_bundle(folder: Path, input_size: int) -> Path:
    """A VGG16 model4 bundle (random weights: latency does not depend on them) with real-photo statistics."""
    from models import CLASS_NAMES, SCHEDULE, Preprocessing, save_bundle
    from models.architectures import build_model
    from models.images import read_image_bgr
    from models.preprocess import featurewise_stats

    plain = Preprocessing(input_size)
    photos = np.stack([plain.resize_rgb(read_image_bgr(p)) for p in sorted(TEST_PHOTOS.glob("*/*.jpg"))])
    mean, std = featurewise_stats(photos)
    model = build_model(SCHEDULE["model4"], len(CLASS_NAMES), weights=None, input_size=input_size)
    return save_bundle(model, folder / "bundle", CLASS_NAMES, Preprocessing(input_size, "colour", mean, std),
                       {"run": "benchmark"}, "vgg16")


def export_int8(bundle_path: Path, data: Path | None) -> dict | None:
    """Export int8 (with accuracies when data is given); calibrate on the test photos otherwise."""
    from models import load_bundle
    from training.export import convert, export_bundle

    if data is not None:
        return export_bundle(bundle_path, int8=True, data=data)
    from models.bundle import update_description
    from models.images import read_image_bgr

    bundle = load_bundle(bundle_path)
    photos = np.stack([bundle.preprocessing(read_image_bgr(p)) for p in sorted(TEST_PHOTOS.glob("*/*.jpg"))])
    (bundle_path / "model_int8.tflite").write_bytes(convert(bundle, photos))
    update_description(bundle_path, tflite={"file": "model_int8.tflite", "quantization": "int8"})
    return None


def write_video(path: Path, frames: int, fps: float = 30.0) -> Path:
    from gesture_app.core.roi import DEFAULT_ROI
    from models.images import read_image_bgr

    photos = [read_image_bgr(p) for p in sorted(TEST_PHOTOS.glob("*/*.jpg"))]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    for i in range(frames):
        frame = np.full((480, 640, 3), 90, np.uint8)
        x0, y0, x1, y1 = DEFAULT_ROI.to_pixels(frame.shape)
        frame[y0:y1, x0:x1] = cv2.resize(photos[(i // 10) % len(photos)], (x1 - x0, y1 - y0))
        writer.write(frame)
    writer.release()
    return path


def headless_frame_ms(bundle_path: Path, runtime: str, video: Path, out: Path) -> tuple[float, float]:
    """(mean ms per frame end to end, mean model-only ms per frame) of the headless app."""
    from gesture_app.core.classifier import BundleClassifier
    from gesture_app.core.headless import run_app_headless
    from gesture_app.core.pipeline import GesturePipeline
    from gesture_app.core.sources import open_source

    classifier = BundleClassifier.load(bundle_path, device="cpu", runtime=runtime)
    pipeline = GesturePipeline(classifier, locate=None)  # the model's path only (benchmarks/pipeline.py times the hand finding)
    with open_source(str(video)) as source:
        summary = run_app_headless(source, pipeline, out / f"{runtime}.csv")
    import csv

    with open(out / f"{runtime}.csv") as f:
        latencies = [float(row["latency_ms"]) for row in csv.DictReader(f)]
    return summary.seconds * 1000 / summary.frames, float(np.mean(latencies))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, help="benchmark this bundle (default: a VGG16 model4 at --input-size)")
    p.add_argument("--data", type=Path, help="the bundle's training data: also score int8 against float on its test split")
    p.add_argument("--input-size", type=int, default=224)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--frames", type=int, default=150, help="frames of the generated video for the headless run")
    p.add_argument("--quick", action="store_true", help="20 repeats, 60 frames")
    p.add_argument("--gpu", action="store_true", help="also batch-32 throughput of the Keras model")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.frames = 20, 60
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    from models import load_bundle
    from models.device import describe_device

    work = Path(tempfile.mkdtemp(prefix="bench-infer-"))
    try:
        if args.bundle:
            bundle_path = shutil.copytree(args.bundle, work / "bundle")
        else:
            bundle_path = make_bundle(work, args.input_size)
        accuracy = export_int8(bundle_path, args.data)
        bundle = load_bundle(bundle_path)
        x = np.random.default_rng(0).normal(size=(1, bundle.input_size, bundle.input_size, 3)).astype(np.float32)
        results = {}
        results["keras model.predict"] = time_calls(lambda v: bundle.model.predict(v, verbose=0), x, args.repeats)
        bundle.use_runtime("keras", device="cpu")
        results["keras tf.function"] = time_calls(bundle.predict_inputs, x, args.repeats)
        bundle.use_runtime("tflite")
        results["tflite int8"] = time_calls(bundle.predict_inputs, x, args.repeats)

        print(f"\n{bundle.description.get('backbone')} at {bundle.input_size} px, batch 1, {describe_device('cpu')}, "
              f"{args.repeats} timed calls each")
        print("| runtime | p50 ms | p95 ms | speed-up vs predict | speed-up vs tf.function |")
        print("| --- | --- | --- | --- | --- |")
        p50 = {name: percentiles(s)[0] for name, s in results.items()}
        for name, samples in results.items():
            median, p95 = percentiles(samples)
            print(f"| {name} | {median:.1f} | {p95:.1f} | {p50['keras model.predict'] / median:.2f}x | "
                  f"{p50['keras tf.function'] / median:.2f}x |")
        if accuracy:
            print(f"\ntest split ({accuracy['test_split']['count']} images): int8 accuracy {accuracy['accuracy']:.4f}, "
                  f"float {accuracy['float_accuracy']:.4f} ({100 * (accuracy['accuracy'] - accuracy['float_accuracy']):+.2f} points)")

        video = write_video(work / "clip.avi", args.frames)
        print(f"\nheadless gesture-app on a {args.frames}-frame 640x480 video:")
        print("| runtime | frame time ms | pipeline latency ms | model latency ms | throughput fps | pipeline overhead |")
        print("| --- | --- | --- | --- | --- | --- |")
        for runtime, model_name in (("keras", "keras tf.function"), ("tflite", "tflite int8")):
            frame_ms, pipeline_ms = headless_frame_ms(bundle_path, runtime, video, work)
            bound = p50[model_name]
            print(f"| {runtime} | {frame_ms:.1f} | {pipeline_ms:.1f} | {bound:.1f} | {1000 / frame_ms:.1f} | "
                  f"{100 * (frame_ms / bound - 1):+.1f}% |")

        if args.gpu:
            bundle.use_runtime("keras", device="auto")
            batch = np.repeat(x, 32, axis=0)
            median, _ = percentiles(time_calls(bundle.predict_inputs, batch, max(5, args.repeats // 5)))
            print(f"\n{describe_device()}: batch 32 in {median:.1f} ms = {32000 / median:.0f} images/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
