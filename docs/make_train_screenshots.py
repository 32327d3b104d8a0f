"""Teach three gestures in the capture window, as a user would, and screenshot each step (for the README).

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/make_train_screenshots.py [--data EMPTY_FOLDER]

Opens the real `gesture-capture` window through its own launch function on the demo source, into an
empty dataset folder, and drives it with timers: records cool, fist and ok while the demo shows
them (held Record, 10 shots a second), presses Train, watches the progress bar, and tries the new
bundle live; then exports it and opens gesture-app on the export. Writes

    docs/train-1-record.png     the recorded classes, their counts against the first target
    docs/train-2-progress.png   Train pressed: the progress bar with the time left, the window live
    docs/train-3-try.png        Try it: the app's overlay (label, confidence, top 3, skeleton) and
                                each class's test accuracy beside its count
    docs/train-4-app.png        gesture-app opened on the exported bundle (its name from bundle.json)
    docs/train-5-open-model.png gesture-app's Open model dialog: the recent bundles by run, data and date

and prints the time from pressing Train to the first prediction of the new bundle on the preview.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
CLASSES = ("cool", "fist", "ok")
PER_CLASS = 36  # a little over the first target of 30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="an empty folder to record into (default: a new temporary one)")
    parser.add_argument("--out", type=Path, default=DOCS, help="where the PNGs go (default: docs/)")
    options = parser.parse_args()
    data = options.data or Path(tempfile.mkdtemp(prefix="teach-")) / "my-gestures"
    if data.exists() and any(data.iterdir()):
        parser.error(f"{data} is not empty; the walkthrough starts from an empty folder")
    # A recent-bundles list of its own (the windows and gesture-app read it from here), not the user's.
    os.environ["GESTURE_CONFIG_DIR"] = tempfile.mkdtemp(prefix="teach-config-")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gesture_app import capture_cli
    from gesture_app.core.capture import DatasetWriter
    from gesture_app.core.sources import open_source
    from gesture_app.qt.launch import run_capture_window

    args = capture_cli.build_parser().parse_args(["--out", str(data), "--source", "demo", "--classes", ",".join(CLASSES),
                                                  "--burst-fps", "10", "--locate", "auto"])
    writer = DatasetWriter(args.out)
    source = open_source("demo", loop=True)
    report: dict = {}

    def drive(window) -> None:
        state = {"phase": "record", "pressed": None, "t0": None, "progress_shot": False, "exported": None}
        window.resize(1280, 800)

        def shown_label() -> str:
            # The frame on screen is a frame or two behind the source thread; stay clear of the changes.
            index = max(0, source.frames_read - 1)
            into = index % source.hold_frames
            return source.label_at(index) if 3 <= into <= source.hold_frames - 4 else ""

        def tick() -> None:
            phase = state["phase"]
            if phase == "record":
                label = shown_label()
                counts = window.counts()
                wanted = label if label in CLASSES and counts[label] < PER_CLASS else None
                if state["pressed"] != wanted:
                    if state["pressed"] is not None:
                        window.release_record()
                    if wanted is not None:
                        window.select_class(wanted)
                        window.press_record()
                    state["pressed"] = wanted
                if all(counts[name] >= PER_CLASS for name in CLASSES):
                    window.release_record()
                    state["phase"] = "recorded"
                    QTimer.singleShot(600, lambda: shoot(window, "train-1-record.png", next_phase="train"))
            elif phase == "train":
                state["phase"] = "training"
                state["t0"] = time.monotonic()
                window.train()
            elif phase == "training":
                status = window.training.status() if window.training is not None else None
                progress = status.progress if status is not None else None
                if (not state["progress_shot"] and progress is not None and progress.fraction is not None
                        and progress.stage == "schedule" and 0.25 <= progress.fraction <= 0.8):
                    state["progress_shot"] = True
                    shoot(window, "train-2-progress.png")
                if window.train_to_try_s is not None:
                    report["train_to_try_s"] = window.train_to_try_s
                    report["trained_s"] = window.trained.seconds
                    state["phase"] = "trying"
            elif phase == "trying":
                # A moment when the smoothed reading has settled on the gesture shown (not a change-over).
                prediction = window.last_prediction
                label = shown_label()
                settled = (prediction is not None and label in CLASSES and prediction.label == label
                           and prediction.hands and prediction.confidence >= 0.9)
                state["settled"] = state.get("settled", 0) + 1 if settled else 0
                if state["settled"] >= 6:
                    state["phase"] = "tried"
                    shoot(window, "train-3-try.png", next_phase="export")
            elif phase == "export":
                state["phase"] = "done"
                export_root = Path(tempfile.mkdtemp(prefix="exported-"))
                report["exported"] = window.export_bundle(export_root)
                report["per_class"] = {k: (v.correct, v.count) for k, v in window.trained.per_class.items()}
                report["accuracy"] = window.trained.accuracy
                window.close()

        def shoot(window, name: str, next_phase: str | None = None) -> None:
            path = options.out / name
            window.grab().save(str(path), "PNG")
            print(f"saved {path}", flush=True)
            if next_phase is not None:
                state["phase"] = next_phase

        timer = QTimer(window)
        timer.timeout.connect(tick)
        timer.start(30)
        QTimer.singleShot(240_000, lambda: (print("gave up after 4 minutes", flush=True), window.close()))

    QApplication.instance() or QApplication(sys.argv[:1])
    with source:
        run_capture_window(args, writer, list(CLASSES), source, on_started=drive)
    if "train_to_try_s" not in report:
        print("the walkthrough did not finish", file=sys.stderr)
        return 1
    print(f"Train pressed -> trained: {report['trained_s']:.1f} s; -> first prediction on the preview: "
          f"{report['train_to_try_s']:.1f} s")
    print(f"test accuracy {report['accuracy']}, per class {report['per_class']}")
    exported = report.get("exported")
    if exported is not None:
        print(f"exported to {exported}")
        # gesture-app on the exported bundle: what "Open in gesture-app" starts, with a screenshot.
        # The demo also shows stop and yo, which this three-class bundle was never taught (it reads them
        # as the nearest gesture it knows); the app gets the demo's frames of the three taught ones.
        frames = Path(tempfile.mkdtemp(prefix="taught-")) / ("demo-" + "-".join(CLASSES))
        frames.mkdir()
        write_demo_frames(frames, CLASSES)
        subprocess.run([sys.executable, "-m", "gesture_app.cli", "--model", str(exported), "--source", str(frames),
                        "--loop", "--screenshot", str(options.out / "train-4-app.png"), "--quit-after-frames", "40"],
                       check=False)
        open_model_dialog(options.out / "train-5-open-model.png")
    return 0


def write_demo_frames(folder: Path, classes) -> None:
    """The demo's frames of `classes`, in the demo's order, as numbered images of a folder source."""
    import cv2

    from gesture_app.core.sources import compose_demo_frame, demo_photos
    from models.images import read_image_bgr

    taught = [(name, path) for name, path in demo_photos() if name in classes]
    for index, (name, path) in enumerate(taught):
        frame_bgr = compose_demo_frame(read_image_bgr(path))
        # Each photo held for a second, as the demo holds it: the overlay is drawn with the newest
        # prediction, which belongs to a frame or two earlier.
        for copy in range(15):
            cv2.imwrite(str(folder / f"{index:03d}-{copy:02d}-{name}.jpg"), frame_bgr)


def open_model_dialog(path: Path) -> None:
    """gesture-app's Open model dialog as it lists the recent bundles."""
    from PySide6.QtWidgets import QApplication

    from gesture_app.core.bundles import RecentBundles
    from gesture_app.qt.open_model_dialog import OpenModelDialog

    dialog = OpenModelDialog(RecentBundles().entries())
    dialog.resize(720, 320)
    dialog.show()
    QApplication.processEvents()
    dialog.grab().save(str(path), "PNG")
    print(f"saved {path}", flush=True)
    dialog.close()


if __name__ == "__main__":
    sys.exit(main())
