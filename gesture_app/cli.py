"""`gesture-app`: the live recogniser's command line (window, headless CSV run, or a screenshot for docs)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cli_common import positive_int
from cli_common.quiet import quiet_libraries
from models import BundleError, default_bundle_path
from models.device import DEVICE_CHOICES, DeviceError
from models.runtime import RUNTIME_CHOICES

from .actions import ActionMapError, ActionsUnavailable
from .actions.options import (
    ACTION_EXAMPLES,
    actions_requested,
    add_action_arguments,
    build_engine,
)
from .core.locate import DEFAULT_LOCATE, DEFAULT_MAX_HANDS, LOCATE_CHOICES
from .core.pipeline import DEFAULT_SMOOTHING
from .core.prediction import DEFAULT_THRESHOLD
from .core.sources import SourceError, open_source
from .qt.env import DisplayUnavailable, require_display  # no Qt imported

logger = logging.getLogger(__name__)

EXAMPLES = """\
examples:
  gesture-app                                   camera 0 (the demo when there is no camera), default model
  gesture-app --source demo --model runs/model4_ft/bundle
  gesture-app --source clip.mp4 --loop --threshold 0.7 --smoothing 8
  gesture-app --headless --source clip.mp4 --output-csv frames.csv --output-video annotated.mp4
  gesture-app --source demo --screenshot docs/app.png --quit-after-frames 60

  gesture-app --locate off                      classify the box you hold your hand in (drag/scroll it), not the hand found anywhere

keys in the window: L find the hand anywhere (on) or use the box (off), K hand landmarks (skeleton),
B capture background (silhouette models), R reset it, M mirror, Space pause, S screenshot,
Ctrl+R record, Ctrl+O open model, E explain (heat map of where the model looks); with L off, drag in
the video to move the box, scroll to resize it.
"""


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number; give a confidence between 0 and 1, e.g. 0.6") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..1; give a confidence between 0 and 1, e.g. 0.6")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gesture-app",
        description="Recognise five hand gestures (cool, fist, ok, stop, yo) live from a camera, video, image folder or the demo.",
        epilog=EXAMPLES + "\n" + ACTION_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--source", help="camera index (0), video file, folder of images, or 'demo' (default: camera 0, else the demo)")
    parser.add_argument("--model", type=Path, help="model bundle folder written by gesture-train (default: the bundled model)")
    parser.add_argument("--loop", action="store_true", help="restart a video or folder when it ends")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where the model runs (auto: the GPU when TensorFlow sees one)")
    parser.add_argument("--runtime", choices=RUNTIME_CHOICES, default="auto", help="auto: the bundle's int8 TFLite export on a CPU when it has one, else Keras")
    parser.add_argument("--threshold", type=_fraction, default=DEFAULT_THRESHOLD, help=f"below this confidence show 'no gesture' (default {DEFAULT_THRESHOLD})")
    parser.add_argument("--smoothing", type=positive_int, default=DEFAULT_SMOOTHING, help=f"average over this many recent frames; 1 turns it off (default {DEFAULT_SMOOTHING})")
    parser.add_argument("--mirror", action="store_true", help="flip the image left-right (the natural view of a webcam)")
    parser.add_argument("--locate", choices=LOCATE_CHOICES, default=DEFAULT_LOCATE,
                        help="auto: find the hands anywhere in the frame and classify each hand's square; off: classify "
                        "the box (as before), 'no hand' still from the hand model's presence score (default auto; key L)")
    parser.add_argument("--max-hands", type=positive_int, default=DEFAULT_MAX_HANDS,
                        help=f"with --locate auto, follow up to this many hands; the most confident drives the actions (default {DEFAULT_MAX_HANDS})")
    parser.add_argument("--no-landmarks", dest="landmarks", action="store_false",
                        help="do not draw the hands' landmarks (the skeleton) in the window and annotated video (key K)")
    parser.add_argument("--save-dir", type=Path, default=Path.cwd(), help="where the window saves screenshots and recordings (default: here)")
    headless = parser.add_argument_group("without a window")
    headless.add_argument("--headless", action="store_true", help="no window: process the source and write --output-csv")
    headless.add_argument("--output-csv", type=Path, help="CSV, one row per frame: frame, timestamp, label, confidence, "
                          "probabilities, latency, the hand's box, presence and handedness")
    headless.add_argument("--output-video", type=Path, help="also write the annotated video (.mp4 or .avi)")
    headless.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    add_action_arguments(parser)
    docs = parser.add_argument_group("screenshots for docs and tests")
    docs.add_argument("--screenshot", type=Path, help="save a PNG of the window after --quit-after-frames frames, then exit")
    docs.add_argument("--quit-after-frames", type=positive_int, help="close the window after this many frames (with a model: frames classified)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and details")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.headless:
        if args.output_csv is None:
            parser.error("--headless needs --output-csv PATH (where the per-frame results go)")
        if args.source is None:
            parser.error("--headless needs --source (a camera index, a video file, a folder of images, or demo)")
        if args.loop and args.max_frames is None:
            parser.error("--loop without a window never ends; add --max-frames N")
        if args.screenshot is not None:
            parser.error("--screenshot needs the window; leave out --headless")
    elif args.output_csv is not None or args.output_video is not None:
        parser.error("--output-csv and --output-video are for --headless runs; in the window use Record")

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_libraries(args.verbose)
    try:
        return run_headless_cli(args) if args.headless else run_window_cli(args)
    except KeyboardInterrupt:
        return 130
    except (SourceError, BundleError, DeviceError, ActionMapError, ActionsUnavailable, DisplayUnavailable, OSError) as exc:
        print(f"gesture-app: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the user gets one line; the traceback only with --verbose
        logger.debug("unexpected error", exc_info=True)
        print(f"gesture-app: unexpected error: {type(exc).__name__}: {exc} (run with --verbose for details)", file=sys.stderr)
        return 1


def _model_path(args) -> Path | None:
    return args.model if args.model is not None else default_bundle_path()


def run_headless_cli(args) -> int:
    from models.device import select_device

    from .core.classifier import BundleClassifier
    from .core.headless import run_app_headless
    from .core.pipeline import GesturePipeline

    model_path = _model_path(args)
    if model_path is None:
        raise BundleError("No model: this install has no bundled default model yet; pass --model BUNDLE (the bundle/ folder gesture-train wrote).")
    device = select_device(args.device)
    classifier = BundleClassifier.load(model_path, device=args.device, runtime=args.runtime)
    # The map is checked against the model's own classes.
    actions = build_engine(args, classifier.classes, headless=True) if actions_requested(args) else None
    if actions is not None and (args.dry_run or not args.arm):
        hint = "" if args.arm else " (add --arm to send them)"
        print(f"gesture-app: actions go to the CSV and the log; nothing is sent{hint}", file=sys.stderr)
    pipeline = GesturePipeline(classifier, threshold=args.threshold, smoothing=args.smoothing,
                               locate=args.locate, max_hands=args.max_hands, mirrored=args.mirror)
    with open_source(args.source, loop=args.loop) as source:
        logger.info("processing %s with %s on %s (%s)", source.name, classifier.name, device, classifier.runtime)
        device = f"{device}, {classifier.runtime}"
        try:
            summary = run_app_headless(
                source, pipeline, args.output_csv, args.output_video,
                max_frames=args.max_frames, device=device, model=classifier.name, mirror=args.mirror, actions=actions,
                landmarks=args.landmarks,
            )
        finally:
            if actions is not None:
                actions.close()  # whatever happened, no key stays held down
    # The one line a headless run is for; printed, not logged, so it shows without --verbose.
    print(f"gesture-app: {summary.line()}")
    if summary.interrupted:
        return 130
    return 1 if summary.error and summary.frames == 0 else 0


def run_window_cli(args) -> int:
    # Before the camera is probed and Qt loaded: without a display Qt aborts the process.
    require_display("gesture-app --headless --source SRC --output-csv PATH")
    from .qt.launch import run_app_window  # the window path is the only one that loads Qt

    actions = build_engine(args)  # a bad map, or --arm without a desktop, stops here with one line
    source, banner = _open_window_source(args)
    model_path = _model_path(args)
    if model_path is None:
        banner = (banner + "\n" if banner else "") + "No model loaded: this install has no bundled default model yet. Open one with Open model… or start with --model BUNDLE."
    return run_app_window(args, source, banner=banner, model_path=model_path, actions=actions)


def _open_window_source(args):
    """The source to show and a banner explaining any fallback to the demo."""
    spec = args.source if args.source is not None else "0"
    try:
        return open_source(spec, loop=args.loop or spec == "demo"), ""
    except SourceError as exc:
        if args.source is None:
            why = "No camera found (camera 0 would not open); playing the demo instead. Choose a camera or open a video from Source."
        else:
            why = f"{exc} Playing the demo instead."
        return open_source("demo", loop=True), why


if __name__ == "__main__":
    sys.exit(main())
