"""Soak test: the headless app on a looping source for N minutes, sampling memory and frame rate.

A leak shows as resident memory that keeps climbing after the first minute; a slowdown as a
frame rate that falls. Prints one line per sample, then first / last / peak of both.

    python benchmarks/soak.py --minutes 10                    # generated 640x480 clip, the default model
    python benchmarks/soak.py --minutes 1 --source demo --sample-s 5
    python benchmarks/soak.py --minutes 30 --source clip.mp4 --model runs/model4_ft/bundle --runtime tflite

Everything runs in this process through `run_app_headless`, the code `gesture-app --headless`
runs; only the source is wrapped, to end the run on time and take the samples.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from gesture_app.core.sources import FrameSource  # noqa: E402


def rss_mib() -> float:
    """This process's resident memory in MiB (psutil, else /proc, else the peak from getrusage)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        pass
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


def make_clip(path: Path, frames: int = 300, size=(640, 480), fps: float = 30.0) -> Path:
    """A clip of a bright square moving over a gradient: cheap to decode, different every frame."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise SystemExit(f"soak: OpenCV cannot write {path}; pass --source demo or a clip of your own")
    background = np.broadcast_to(np.linspace(40, 200, width, dtype=np.uint8)[None, :, None], (height, width, 3))
    for i in range(frames):
        frame_bgr = background.copy()
        x = int((width - 120) * (0.5 + 0.5 * np.sin(i / 20)))
        y = int((height - 120) * (0.5 + 0.5 * np.cos(i / 31)))
        cv2.rectangle(frame_bgr, (x, y), (x + 120, y + 120), (60, 170, 230), -1)
        writer.write(frame_bgr)
    writer.release()
    return path


class SoakSource(FrameSource):
    """Plays `inner` until `seconds` have passed, sampling (elapsed s, frames, fps, RSS MiB) every `sample_s`."""

    def __init__(self, inner: FrameSource, seconds: float, sample_s: float):
        self.inner = inner
        self.name = inner.name
        self.fps = inner.fps
        self.live = inner.live
        self.seconds = seconds
        self.sample_s = sample_s
        self.samples: list[tuple[float, int, float, float]] = []
        self.frames = 0
        self._start = self._last_t = time.perf_counter()
        self._last_frames = 0

    def _sample(self, now: float) -> None:
        fps = (self.frames - self._last_frames) / (now - self._last_t) if now > self._last_t else 0.0
        sample = (now - self._start, self.frames, fps, rss_mib())
        self.samples.append(sample)
        self._last_t, self._last_frames = now, self.frames
        print(f"  {sample[0]:7.0f} s  {sample[1]:8d} frames  {sample[2]:7.1f} fps  {sample[3]:8.1f} MiB", flush=True)

    def read(self):
        now = time.perf_counter()
        if now - self._last_t >= self.sample_s:
            self._sample(now)
        if now - self._start >= self.seconds:
            self._sample(now)
            return None
        frame_bgr = self.inner.read()
        if frame_bgr is not None:
            self.frames += 1
        return frame_bgr

    def close(self) -> None:
        self.inner.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default: 10)")
    parser.add_argument("--source", help="a video file or 'demo' (default: a generated 640x480 clip), looped")
    parser.add_argument("--model", type=Path, help="model bundle (default: the bundled model)")
    parser.add_argument("--runtime", default="auto", help="auto, keras or tflite (default: auto)")
    parser.add_argument("--sample-s", type=float, default=30.0, help="seconds between samples (default: 30)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from gesture_app.core.classifier import BundleClassifier
    from gesture_app.core.headless import run_app_headless
    from gesture_app.core.pipeline import GesturePipeline
    from gesture_app.core.sources import open_source
    from models import default_bundle_path

    model = args.model or default_bundle_path()
    if model is None:
        print("soak: no bundled default model; pass --model BUNDLE", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        spec = args.source or str(make_clip(Path(scratch) / "soak.avi"))
        classifier = BundleClassifier.load(model, runtime=args.runtime)
        pipeline = GesturePipeline(classifier)
        print(f"soak: {args.minutes:g} min of {Path(spec).name if args.source is None else spec} with {classifier.name} "
              f"({classifier.runtime}), a sample every {args.sample_s:g} s; after loading {rss_mib():.1f} MiB", flush=True)
        with open_source(spec, loop=True) as inner:
            source = SoakSource(inner, args.minutes * 60, args.sample_s)
            summary = run_app_headless(source, pipeline, Path(scratch) / "frames.csv")
    samples = source.samples
    if len(samples) < 2:
        print("soak: too short to sample; raise --minutes or lower --sample-s", file=sys.stderr)
        return 1
    # The first interval includes warm-up (caches, first decode); the figures that matter start after it.
    first, last = samples[0], samples[-1]
    peak_rss = max(s[3] for s in samples)
    rates = [s[2] for s in samples[:-1] if s[2] > 0] or [s[2] for s in samples]
    print(f"soak: {summary.frames} frames in {summary.seconds:.0f} s ({summary.mean_fps:.1f} fps overall)")
    print(f"soak: memory MiB  first {first[3]:.1f}  last {last[3]:.1f}  peak {peak_rss:.1f}  (growth first->last {last[3] - first[3]:+.1f})")
    print(f"soak: fps         first {first[2]:.1f}  last {rates[-1]:.1f}  peak {max(rates):.1f}  min {min(rates):.1f}")
    if summary.error:
        print(f"soak: stopped early: {summary.error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
