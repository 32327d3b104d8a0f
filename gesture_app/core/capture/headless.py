"""`gesture-capture --headless`: save N crops from a source into one class, no window (no Qt here)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from models.atomic_files import interrupts_deferred

from ..sources import FrameSource
from ..stream import FAILED, FRAME, INTERRUPTED, StreamControl, newest_frames
from .capturer import NO_HAND, Capturer
from .errors import DatasetWriteError

logger = logging.getLogger(__name__)


@dataclass
class CaptureSummary:
    saved: int = 0
    frames: int = 0
    skipped: int = 0          # frames due for a shot with nothing to save (no hand found, or too little hand)
    no_hand: int = 0          # ... of which: no hand found (locate auto)
    source_error: str = ""    # the source broke: why
    write_error: str = ""     # saving broke (disk full, ...): why; what was saved before is intact
    interrupted: bool = False  # stopped by Ctrl+C; `saved` counts every image that was saved


def run_capture_headless(source: FrameSource, capturer: Capturer, class_name: str, count: int, *, every: int = 1,
                         mirror: bool = False) -> CaptureSummary:
    """Save the crop of every `every`-th frame into `class_name` until `count` are saved or the source ends.

    For silhouettes the first frame is taken as the background: there is nobody to press B.
    With the capturer locating hands, a due frame with no hand is skipped and counted.
    """
    summary = CaptureSummary()
    capturer.reset(stills=getattr(source, "stills", False))  # a folder's photos are unrelated: no tracking across them
    frames = newest_frames(source, StreamControl(mirror=mirror, give_up_after=1))
    try:
        for event in frames:
            if event.kind == INTERRUPTED:
                logger.warning("%s", event.message)  # a camera that stops for a moment reopens itself (Ctrl+C to give up)
            elif event.kind == FAILED:
                summary.source_error = event.message
                break
            if event.kind != FRAME:
                continue
            summary.frames += 1
            extractor = capturer.extractor
            if capturer.input_style == "silhouette" and extractor is not None and not extractor.has_background:
                extractor.capture_background(capturer.roi.crop(event.frame_bgr))
                continue
            if (summary.frames - 1) % every:
                continue
            # Ctrl+C waits until the image is saved and counted, so the count is the truth.
            with interrupts_deferred():
                try:
                    saved = capturer.capture(event.frame_bgr, class_name)
                except DatasetWriteError as exc:
                    summary.write_error = str(exc)
                    break
                if saved is None:
                    summary.skipped += 1
                    if capturer.skip_reason == NO_HAND:
                        summary.no_hand += 1
                    continue
                summary.saved += 1
            if summary.saved >= count:
                break
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        frames.close()
    return summary
