"""`gesture-capture`: record hand images per class into a dataset folder that `gesture-train` reads."""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from cli_common import positive_float, positive_int
from cli_common.quiet import quiet_libraries
from models import CLASS_NAMES
from models.dataset_rules import TARGET_PER_CLASS, ClassNameError, parse_class_list, validate_class_name
from models.preprocess import INPUT_STYLES

from .core.capture import DEFAULT_JPEG_QUALITY, Capturer, DatasetWriteError, DatasetWriter, run_capture_headless
from .core.locate import DEFAULT_LOCATE, LOCATE_CHOICES
from .core.roi import DEFAULT_ROI, RegionOfInterest

logger = logging.getLogger(__name__)

EXAMPLES = """\
examples:
  gesture-capture --out data                      # the window, camera 0 (the demo when there is none), the five classes
  gesture-capture --out data --locate off         # save the fixed box instead of the hand found anywhere
  gesture-capture --out data --classes thumbs_up,wave --source 1
  gesture-capture --out data --input-style silhouette   # press B with no hand in the box first
  gesture-capture --headless --source clip.mp4 --out data --class fist --count 100 --every 3
  gesture-capture --source demo --out /tmp/d --screenshot capture.png

keys in the window:
  1-9 select a class · hold Space (or the Record button) to record a burst, tap for one shot
  Ctrl+Z undo the last capture · Delete remove the selected thumbnail
  L find the hand anywhere (on) or save the box (off) · K skeleton
  B capture the background · R reset it (silhouette style) · M mirror · Esc stop recording
  T train the landmark head on what was recorded (gesture-train --data OUT --out OUT/.runs --runs landmarks)
  Y try the trained bundle live with gesture-app's overlay
  with L off, drag in the preview to move the box (a click alone does not), scroll to resize it,
  0 or Home (or a double-click) reset the box to where it started (--roi)
"""


def _roi(text: str) -> RegionOfInterest:
    try:
        cx, cy, size = (float(part) for part in text.split(","))
        return RegionOfInterest(cx, cy, size)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--roi takes CX,CY,SIZE as fractions of the frame, e.g. 0.72,0.45,0.6 (got {text!r}: {exc})"
        ) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gesture-capture",
        description="Record webcam images of hand gestures, one folder per class (DATA/<class>/*.jpg), "
        "with a manifest at DATA/manifest.csv. Opening an existing folder resumes its counts.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--source", help="camera index (0, 1, ...), video file, folder of images, or demo "
                        "(default: camera 0; with no camera the window plays the demo)")
    parser.add_argument("--out", default="dataset", type=Path, help="dataset folder to write into (default: ./dataset)")
    parser.add_argument("--classes", help=f"comma-separated class names (default: {','.join(CLASS_NAMES)} plus any already in --out)")
    parser.add_argument("--class", dest="class_name", help="class to record (required with --headless; the window starts on it)")
    parser.add_argument("--input-style", choices=INPUT_STYLES, default="colour", help="save the colour crop or the background-subtracted silhouette (default: colour)")
    parser.add_argument("--locate", choices=LOCATE_CHOICES, default=None,
                        help="auto: find the hand anywhere in the frame and save its square crop (padded as the app's), "
                        "with its landmarks in the manifest; frames with no hand are skipped. off: save the box "
                        f"(default {DEFAULT_LOCATE}; silhouettes are always cut from the box; key L)")
    parser.add_argument("--roi", type=_roi, default=DEFAULT_ROI, help="region of interest CX,CY,SIZE in frame fractions (default: the app's box; with --locate off)")
    parser.add_argument("--mirror", action="store_true", help="flip the image left-right before cropping, as gesture-app --mirror does")
    parser.add_argument("--full-frame", action="store_true", help="also save the whole frame (into DATA/.full-frames/<class>/, which training ignores)")
    parser.add_argument("--format", choices=("jpg", "png"), default="jpg", help="image format (default: jpg)")
    parser.add_argument("--jpeg-quality", type=int, default=DEFAULT_JPEG_QUALITY, help=f"JPEG quality 1-100 (default: {DEFAULT_JPEG_QUALITY})")
    parser.add_argument("--target", type=positive_int, default=TARGET_PER_CLASS, help=f"images wanted per class (default: {TARGET_PER_CLASS} = 375 train + 125 val + 50 test)")
    parser.add_argument("--burst-fps", type=positive_float, default=5.0, help="shots per second while Record is held (default: 5)")
    parser.add_argument("--countdown", type=int, default=0, help="seconds to wait before recording starts, to get into position (default: 0)")
    headless = parser.add_argument_group("without a display")
    headless.add_argument("--headless", action="store_true", help="no window: save --count crops from --source into --out/--class and exit")
    headless.add_argument("--count", type=positive_int, help="how many images to save (with --headless)")
    headless.add_argument("--every", type=positive_int, default=1, help="save every K-th frame (default: 1)")
    parser.add_argument("--screenshot", type=Path, metavar="PATH", help="open the window, show some frames, save a PNG of it to PATH and exit (for docs and tests)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    return parser


def _class_list(args, writer: DatasetWriter) -> list[str]:
    """The classes to offer: --classes (or the five documented ones), then any other folder already in DATA."""
    names = parse_class_list(args.classes) if args.classes else list(CLASS_NAMES)
    if args.classes is None:
        names += [name for name in writer.classes_on_disk() if name not in names]
    if args.class_name:
        name = validate_class_name(args.class_name)
        if name not in names:
            names.append(name)
    return names


def _extractor(input_style: str):
    if input_style != "silhouette":
        return None
    from .core.silhouette import SilhouetteExtractor

    return SilhouetteExtractor()


def run_headless(args, writer: DatasetWriter) -> int:
    from .core.sources import SourceError, open_source

    if not args.class_name or args.count is None:
        logger.error("--headless needs --class NAME and --count N, e.g. --headless --class fist --count 100.")
        return 2
    class_name = validate_class_name(args.class_name)
    try:  # no demo here: the images saved must come from the source the user meant
        source = open_source(args.source if args.source is not None else "0")
    except SourceError as exc:
        logger.error("%s", exc)
        return 1
    with source:
        capturer = Capturer(
            writer, roi=args.roi, input_style=args.input_style, extractor=_extractor(args.input_style),
            save_full_frame=args.full_frame, source_name=f"{source.name} (mirrored)" if args.mirror else source.name,
            locate=args.locate,
        )
        summary = run_capture_headless(source, capturer, class_name, args.count, every=args.every, mirror=args.mirror)
    total = writer.count(class_name)
    unreadable = getattr(source, "skipped_count", 0)
    skipped = f" ({unreadable} unreadable images skipped)" if unreadable else ""
    if summary.interrupted:
        print(f"Stopped by Ctrl+C: saved {summary.saved} images of {class_name!r} to {writer.root / class_name}{skipped}; "
              f"{class_name!r} now has {total}.")
        _print_no_hand(capturer, summary)
        return 130
    if summary.source_error:
        logger.error("%s", summary.source_error)
        if summary.saved:
            print(f"Saved {summary.saved} images of {class_name!r} before the source failed; {class_name!r} now has {total}.")
        return 1
    if summary.write_error:
        logger.error("%s", summary.write_error)
        print(f"Saved {summary.saved} images of {class_name!r} before the error; {class_name!r} now has {total}.")
        return 1
    print(f"Saved {summary.saved} images of {class_name!r} to {writer.root / class_name}{skipped}; {class_name!r} now has {total} (target {args.target}).")
    _print_no_hand(capturer, summary)
    if summary.saved < args.count:
        advice = "use a longer source or a smaller --every"
        if summary.no_hand:
            advice += ", keep the hand in the picture, or save the box whatever is in it with --locate off"
        logger.error("The source ended after %d frames, so only %d of %d images were saved%s; %s.",
                     summary.frames, summary.saved, args.count, _skipped_hint(summary), advice)
        return 1
    return 0


def _print_no_hand(capturer: Capturer, summary) -> None:
    if capturer.locating:
        print(f"Skipped {summary.no_hand} of the {summary.saved + summary.skipped} frames looked at: no hand in view.")


def _skipped_hint(summary) -> str:
    """' (of the 20 frames looked at, 12 had no hand in view)', or '' when none was skipped."""
    reasons = [f"{summary.no_hand} had no hand in view" if summary.no_hand else "",
               f"{summary.skipped - summary.no_hand} had too little hand" if summary.skipped > summary.no_hand else ""]
    looked_at = summary.saved + summary.skipped
    return f" (of the {looked_at} frames looked at, {' and '.join(r for r in reasons if r)})" if summary.skipped else ""


def run_window(args, writer: DatasetWriter, classes: list[str]) -> int:
    from .core.sources import fallback_notice, open_source_or_demo
    from .qt.env import DisplayUnavailable, require_display

    try:  # before the camera is probed and Qt loaded: without a display Qt aborts the process
        require_display("gesture-capture --headless --source SRC --class NAME --count N")
    except DisplayUnavailable as exc:
        logger.error("%s", exc)
        return 1
    from .qt.launch import run_capture_window  # the window path is the only one that loads Qt

    # Files and the demo keep playing while the user records; a source that will not open (no camera)
    # plays the demo, as in gesture-app, with the reason on the terminal and in the window.
    source, error = open_source_or_demo(args.source if args.source is not None else "0", loop=True)
    notice = fallback_notice(error, "choose a source with --source N|FILE|FOLDER.") if error is not None else ""
    if notice:
        logger.warning("%s", notice)
    with source:
        return run_capture_window(args, writer, classes, source, extractor=_extractor("silhouette"), notice=notice)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests and embedding programs swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


@contextmanager
def _logging_to_stderr(verbose: bool):
    """Show the package's log messages on stderr for the length of one command (tests call main repeatedly)."""
    package_logger = logging.getLogger("gesture_app")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("gesture-capture: %(message)s"))
    previous_level = package_logger.level
    package_logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    package_logger.addHandler(handler)
    try:
        yield
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(previous_level)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.jpeg_quality <= 100:
        parser.error(f"--jpeg-quality must be between 1 and 100, got {args.jpeg_quality}")
    if args.countdown < 0:
        parser.error(f"--countdown must be 0 or more seconds, got {args.countdown}")
    if args.locate == "auto" and args.input_style == "silhouette":
        parser.error("--locate auto cannot be used with --input-style silhouette: a silhouette is cut from the box "
                     "against its background. Use --locate off (the default for silhouettes) or the colour style.")
    if args.locate is None:
        # Silhouettes come from the box whatever this says; the window's colour style then finds the hand.
        args.locate = DEFAULT_LOCATE
    quiet_libraries(args.verbose)
    with _logging_to_stderr(args.verbose):
        try:
            writer = DatasetWriter(args.out, image_format=args.format, jpeg_quality=args.jpeg_quality)
            if args.headless:
                return run_headless(args, writer)
            classes = _class_list(args, writer)
            return run_window(args, writer, classes)
        except (ClassNameError, DatasetWriteError) as exc:
            logger.error("%s", exc)
            return 1
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
