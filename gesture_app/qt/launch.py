"""Starting the windows from their command lines: the QApplication, the event loop, Ctrl+C, errors as messages, --screenshot."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from ..core.capture import DatasetWriter
from ..core.sources import FrameSource
from .capture_window import CaptureWindow  # these two also clear OpenCV's Qt plugin path before any QApplication
from .window import MainWindow

logger = logging.getLogger(__name__)


def run_app_window(args, source: FrameSource, *, banner: str = "", model_path: Path | None = None, actions=None) -> int:
    """gesture-app's window until it closes; with --screenshot / --quit-after-frames it closes itself."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(
        source, model_path=model_path, device=args.device, runtime=args.runtime, threshold=args.threshold, smoothing=args.smoothing,
        mirror=args.mirror, loop=args.loop, banner=banner, save_dir=args.save_dir, actions=actions,
        locate=args.locate, max_hands=args.max_hands, landmarks=args.landmarks,
    )

    previous_hook = sys.excepthook

    def show_instead_of_traceback(kind, value, tb):
        # A bug in a slot must not print a traceback at the user or kill the window.
        logger.error("unexpected error: %s: %s", kind.__name__, value, exc_info=(kind, value, tb) if args.verbose else None)
        window.show_banner(f"Unexpected error: {kind.__name__}: {value}")

    sys.excepthook = show_instead_of_traceback
    result = {"code": 0}
    if args.quit_after_frames is not None or args.screenshot is not None:
        _quit_after_frames(window, args.quit_after_frames or 30, args.screenshot, result)
    # Run until this window closes. Not app.exec()/app.quit(): quit() leaves Qt's "quit now" flag
    # set, which stalls every later event loop in the process (tests call main() repeatedly).
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    loop = QEventLoop()
    window.closed.connect(loop.quit)
    # Python never sees Ctrl+C while Qt's loop runs; let it end the program quietly as in any tool.
    previous_sigint = signal.signal(signal.SIGINT, signal.SIG_DFL)
    window.show()
    try:
        loop.exec()
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
        sys.excepthook = previous_hook
        app.setQuitOnLastWindowClosed(quit_on_close)
        window.shutdown()
        window.deleteLater()
    if args.screenshot is not None and result.get("saved"):
        print(f"gesture-app: saved {result['saved']}")
    return result["code"]


def _quit_after_frames(window, frames: int, screenshot: Path | None, result: dict, timeout_s: float = 180.0) -> None:
    """Close after `frames` frames (classified ones when a model is loading), saving the window first."""
    counted = {"frames": 0, "done": False}

    def ready() -> bool:
        # A screenshot of "loading model…" documents nothing; wait for the model's answers.
        if window.inference_worker.loading:
            return False
        if window.pipeline.classifier is None:
            return True
        prediction = window.last_prediction
        return prediction is not None and (prediction.classified or prediction.no_hand)

    def finish(reason: str = "") -> None:
        if counted["done"]:
            return
        counted["done"] = True
        if reason:
            logger.warning("%s", reason)
        if screenshot is not None:
            try:
                result["saved"] = str(window.save_window_screenshot(screenshot))
            except OSError as exc:
                print(f"gesture-app: {exc}", file=sys.stderr)
                result["code"] = 1
        window.close()  # ends run_app_window's loop

    def on_frame_shown(_index: int) -> None:
        if ready():
            counted["frames"] += 1
            if counted["frames"] >= frames:
                finish()

    window.frame_shown.connect(on_frame_shown)
    if window.capture_worker is not None:
        window.capture_worker.source_ended.connect(lambda _message: QTimer.singleShot(500, lambda: finish("the source ended before the frame count")))
    QTimer.singleShot(int(timeout_s * 1000), lambda: finish(f"gave up waiting for {frames} frames after {timeout_s:g} s"))


def run_capture_window(args, writer: DatasetWriter, classes: list[str], source: FrameSource, extractor=None,
                       notice: str = "", on_started=None) -> int:
    """gesture-capture's window until it closes; with --screenshot, a PNG of it after some frames.

    notice: shown above the preview (e.g. that there is no camera and the demo plays instead).
    on_started(window): called once the window shows (docs/make_train_screenshots.py drives it from there).
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = CaptureWindow(
        source, writer, classes=classes, roi=args.roi, input_style=args.input_style, extractor=extractor,
        target=args.target, burst_fps=args.burst_fps, countdown_s=args.countdown, save_full_frame=args.full_frame,
        initial_class=args.class_name, mirror=args.mirror, locate=args.locate, notice=notice,
    )
    if args.screenshot is not None:
        return window.save_screenshot(args.screenshot)
    window.start()
    window.show()
    if on_started is not None:
        on_started(window)
    previous_hook = sys.excepthook
    sys.excepthook = _report_unexpected
    # Ctrl+C in the terminal closes the window like the close button (the display timer lets Python see it).
    previous_sigint = signal.signal(signal.SIGINT, lambda *_: window.close())
    try:
        return app.exec()
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
        sys.excepthook = previous_hook


def _report_unexpected(exc_type, exc, tb) -> None:
    """An error escaping a Qt slot: a message for the user, the traceback only with --verbose."""
    logger.error("Unexpected error: %s. Please report it with the output of --verbose.", exc)
    logger.debug("details", exc_info=(exc_type, exc, tb))
