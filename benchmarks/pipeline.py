"""The whole live pipeline, stage by stage: localise (palm detection, landmarks), classify, postprocess, overlay.

Runs `GesturePipeline.process` and `draw_overlay` (exactly what the window's inference and display
threads do per frame) on 640x480 clips made from the shipped test frames (tests/data/hands): a
steady hand moving a little each frame (one hand), and a frame with two hands moving likewise.
Prints p50/p95 in ms per stage and for the whole frame, for the bundled default model and for a
VGG16 (model4 top, 224 px) int8 TFLite export (random weights: latency does not depend on them;
built and exported as benchmarks/inference.py does, no downloads), each:
- tracking: video, the default (`--locate auto`, `--max-hands 2`; palm detection only while no
  hand is followed, and for new hands every 5th frame);
- no tracking: every frame found afresh (a folder of stills): palm detection + landmarks each frame;
- the user's box (`--locate off`): one landmark pass a frame on the box, tracked.

    python benchmarks/pipeline.py                       # both models, 300 frames a clip
    python benchmarks/pipeline.py --models default --frames 100
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import cv2  # noqa: E402
import numpy as np  # noqa: E402

FRAME_SIZE = (640, 480)
CLIPS = {"one hand": "hand_57bc79cd.jpg", "two hands": "hands_5dcf060e.jpg"}
MODES = ("tracking", "no tracking", "user's box")
TARGETS_MS = {"localise": 8.0, "default": 15.0, "vgg16-int8": 33.0}


def clip(name: str, frames: int) -> list[np.ndarray]:
    """A 640x480 clip of one shipped photo (letterboxed), drifting right and back and zooming a little."""
    from hands_helpers import read_test_image

    photo = read_test_image(name)
    width, height = FRAME_SIZE
    scale = min(width / photo.shape[1], height / photo.shape[0])
    resized = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    base = np.full((height, width, 3), 120, np.uint8)
    y0, x0 = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    base[y0:y0 + resized.shape[0], x0:x0 + resized.shape[1]] = resized
    out = []
    for i in range(frames):
        phase = np.sin(2 * np.pi * i / 90)  # three seconds a swing at 30 fps
        affine = cv2.getRotationMatrix2D((width / 2, height / 2), 0.0, 1.0 + 0.05 * phase)
        affine[0, 2] += 25 * phase
        out.append(cv2.warpAffine(base, affine, (width, height), borderMode=cv2.BORDER_REFLECT))
    return out


def vgg16_int8(folder: Path):
    from inference import export_int8, make_bundle

    bundle = make_bundle(folder, 224)
    export_int8(bundle, None)
    return bundle


def run(classifier, frames: list[np.ndarray], mode: str) -> dict[str, list[float]]:
    from gesture_app.core.overlay import OverlayStats, draw_overlay
    from gesture_app.core.pipeline import GesturePipeline
    from gesture_app.core.roi import RegionOfInterest

    # The user's box on the hand (off mode classifies the box; it must hold the hand to say anything).
    pipeline = GesturePipeline(classifier, smoothing=5, locate="off" if mode == "user's box" else "auto",
                               roi=RegionOfInterest(0.5, 0.5, 0.9))
    pipeline.reset_history(stills=mode == "no tracking")
    stats = OverlayStats(30.0, 30.0, 10.0, "CPU", classifier.name)
    stages: dict[str, list[float]] = {k: [] for k in ("palm", "landmarks", "localise", "classify", "postprocess", "overlay", "frame")}
    for warm in frames[:5]:
        pipeline.process(warm)
    pipeline.reset_history(stills=mode == "no tracking")
    for index, frame in enumerate(frames):
        started = time.perf_counter()
        prediction = pipeline.process(frame, index, index / 30.0)
        drawn = time.perf_counter()
        draw_overlay(frame, prediction, pipeline.roi if mode == "user's box" else None, stats)
        done = time.perf_counter()
        hands = pipeline.hands.timings_ms
        stages["palm"].append(hands.get("palm", 0.0))
        stages["landmarks"].append(hands.get("landmarks", 0.0))
        for key in ("localise", "classify", "postprocess"):
            stages[key].append(prediction.timings_ms.get(key, 0.0))
        stages["overlay"].append((done - drawn) * 1000)
        stages["frame"].append((done - started) * 1000)
    return stages


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="default,vgg16-int8", help="comma-separated: default, vgg16-int8")
    p.add_argument("--frames", type=int, default=300, help="frames a clip (default 300: ten seconds at 30 fps)")
    args = p.parse_args(argv)

    from gesture_app.core.classifier import BundleClassifier
    from gesture_app.core.locate import LOCALISER_THREADS
    from models import default_bundle_path

    clips = {name: clip(photo, args.frames) for name, photo in CLIPS.items()}
    print(f"{os.cpu_count()} CPU cores; hand models on {LOCALISER_THREADS} LiteRT thread(s); {args.frames} frames a clip, "
          f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]}; ms p50 / p95")
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            if model == "default":
                classifier = BundleClassifier.load(default_bundle_path(), device="cpu")
            elif model == "vgg16-int8":
                classifier = BundleClassifier.load(vgg16_int8(Path(tmp)), device="cpu", runtime="tflite")
            else:
                p.error(f"unknown model {model!r}; use default or vgg16-int8")
            print(f"\n## {model} ({classifier.runtime})\n")
            print("| clip | mode | palm | landmarks | localise | classify | postprocess | overlay | whole frame |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for clip_name, frames in clips.items():
                for mode in MODES:
                    stages = run(classifier, frames, mode)
                    cells = [f"{np.percentile(v, 50):.1f} / {np.percentile(v, 95):.1f}" for v in stages.values()]
                    print(f"| {clip_name} | {mode} | " + " | ".join(cells) + " |", flush=True)
            target = TARGETS_MS.get(model)
            if target:
                print(f"\ntargets: localise <= {TARGETS_MS['localise']:g} ms p50 while tracking; "
                      f"whole frame <= {target:g} ms p50")
    return 0


if __name__ == "__main__":
    sys.exit(main())
