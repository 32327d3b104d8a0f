"""Does gesture-app's window keep the source's frame rate whatever the model's speed?

Opens the real window (offscreen Qt unless QT_QPA_PLATFORM says otherwise) on a generated
30 FPS 640x480 video and, for each model, after a warm-up, counts over --seconds:
- the new source frames the video view actually paints (distinct frame indices at its paint
  events, not timer ticks), per second, against the source's rate;
- the frames the model classifies per second, and the model's own latency (p50).

    python benchmarks/display.py --quick                  # about 40 s on 2 cores
    python benchmarks/display.py --seconds 20 --models default,vgg16
    QT_QPA_PLATFORM=xcb xvfb-run -a python benchmarks/display.py --quick   # a real X server
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
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.inference import make_bundle, write_video  # noqa: E402
from gesture_app.core.classifier import BundleClassifier  # noqa: E402
from gesture_app.core.sources import open_source  # noqa: E402
from gesture_app.qt.window import MainWindow  # noqa: E402  (also clears OpenCV's Qt plugin path before the QApplication)
from models import default_bundle_path  # noqa: E402

SOURCE_FPS = 30.0
MODELS = ("default", "vgg16", "slowed")


class SlowedClassifier:
    """A real classifier made to take at least `ms` per frame (sleeping: the GIL is free meanwhile)."""

    def __init__(self, classifier, ms: float):
        self._classifier = classifier
        self._seconds = ms / 1000.0
        self.classes = classifier.classes
        self.input_style = classifier.input_style
        self.name = f"{classifier.name} slowed to {ms:g} ms"

    def classify(self, crop_bgr, hand=None):
        start = time.perf_counter()
        heads = self._classifier.classify(crop_bgr, hand)
        time.sleep(max(0.0, self._seconds - (time.perf_counter() - start)))
        return heads


class DisplayProbe(QObject):
    """Records, from the window's own signals and its video view's paint events, what was shown when."""

    def __init__(self, window):
        super().__init__(window)  # lives as long as the window
        self.handed_index = -1  # the frame the window last gave the view
        self.painted: list[tuple[float, int]] = []  # (time, index) of each paint showing a new frame
        self.classified: list[tuple[float, float]] = []  # (time, model ms) of each classified frame
        window.video_view.installEventFilter(self)
        window.frame_shown.connect(self._on_frame_shown)
        window.prediction_received.connect(self._on_prediction_received)

    def eventFilter(self, watched, event) -> bool:
        # A paint, not the window's hand-over: the frame has reached the screen (or the offscreen buffer).
        new_frame = self.handed_index >= 0 and (not self.painted or self.painted[-1][1] != self.handed_index)
        if event.type() == QEvent.Type.Paint and new_frame:
            self.painted.append((time.perf_counter(), self.handed_index))
        return False

    def _on_frame_shown(self, index: int) -> None:
        self.handed_index = index

    def _on_prediction_received(self, prediction) -> None:
        if prediction.classified:
            self.classified.append((time.perf_counter(), prediction.timings_ms.get("inference", 0.0)))

    def figures(self, start: float, end: float) -> dict:
        painted = {index for t, index in self.painted if start <= t < end}
        model_ms = [ms for t, ms in self.classified if start <= t < end]
        seconds = end - start
        return {
            "latency_ms": float(np.percentile(model_ms, 50)) if model_ms else float("nan"),
            "inference_fps": len(model_ms) / seconds,
            "display_fps": len(painted) / seconds,
        }


def wait(seconds: float, until=None) -> bool:
    """Run the Qt event loop, as app.exec() would, for up to `seconds` (less once `until()` holds); True if it held."""
    loop = QEventLoop()
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(int(seconds * 1000))
    check = QTimer()
    if until is not None:
        check.timeout.connect(lambda: until() and loop.quit())
        check.start(50)
    loop.exec()
    deadline.stop()
    check.stop()
    return until is None or bool(until())


def measure(app, name: str, video: Path, work: Path, args, *, model_path=None, runtime="auto", classifier=None) -> dict:
    source = open_source(str(video), loop=True)
    window = MainWindow(source, model_path=model_path, classifier=classifier, device="cpu", runtime=runtime,
                        cameras=[], save_dir=work, locate=None)  # the generated video holds no hand: time the model's path
    window.show()
    probe = DisplayProbe(window)
    try:
        # Loading a bundle (on the inference thread) can take a while: wait for its first classified frame.
        wait(300, until=lambda: bool(probe.classified) or window.model_error_box is not None)
        if not probe.classified:
            why = window.model_error_box.text() if window.model_error_box is not None else "nothing within 300 s"
            raise RuntimeError(f"{name}: the window classified no frame ({why})")
        wait(args.warmup)
        frames_read = window.slot.index
        start = time.perf_counter()
        wait(args.seconds)
        end = time.perf_counter()
        figures = probe.figures(start, end)
        figures["read_fps"] = (window.slot.index - frames_read) / (end - start)
        figures["source_fps"] = source.fps
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=15.0, help="measured seconds per model (after the warm-up)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds per model before measuring")
    p.add_argument("--quick", action="store_true", help="5 measured seconds per model, 2 of warm-up")
    p.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    p.add_argument("--slow-ms", type=float, default=500.0, help="the slowed classifier's time per frame")
    p.add_argument("--input-size", type=int, default=224, help="the VGG16 model's input size")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup = 5.0, 2.0
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        p.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="bench-display-"))
    rows = []
    try:
        # Long enough that the loop's seek back to the start is rare.
        video = write_video(work / "clip.avi", int(SOURCE_FPS * 10), SOURCE_FPS)
        default = default_bundle_path()
        for model in models:
            if model == "default":
                label = "bundled default (compact CNN, 64 px)"
                figures = measure(app, model, video, work, args, model_path=default, runtime="keras")
            elif model == "vgg16":
                bundle = make_bundle(work / "vgg16", args.input_size)
                label = f"VGG16 (model4 top) at {args.input_size} px, random weights"
                figures = measure(app, model, video, work, args, model_path=bundle, runtime="keras")
            else:
                slowed = SlowedClassifier(BundleClassifier.load(default, device="cpu", runtime="keras"), args.slow_ms)
                label = f"bundled default, slowed to {args.slow_ms:g} ms a frame"
                figures = measure(app, model, video, work, args, classifier=slowed)
            rows.append((label, figures))
            print(f"{label}: done", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    platform = app.platformName()
    print(f"\ngesture-app window ({platform} Qt), 640x480 video at {SOURCE_FPS:g} FPS, Keras runtime on the CPU, {os.cpu_count()} cores, "
          f"{args.seconds:g} s measured per model after {args.warmup:g} s of warm-up")
    print("| model | model latency p50 ms | inference FPS | display FPS of new frames | display / source | frames read FPS |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, f in rows:
        print(f"| {label} | {f['latency_ms']:.1f} | {f['inference_fps']:.1f} | {f['display_fps']:.1f} | "
              f"{f['display_fps'] / f['source_fps']:.2f} | {f['read_fps']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
