"""`gesture-app --headless`: the pipeline without a window, one CSV row per processed frame and optionally an annotated video (no Qt here)."""

from __future__ import annotations

import csv
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..actions import ActionEngine
from .overlay import OverlayStats, draw_overlay
from .pipeline import GesturePipeline
from .prediction import Prediction
from .sources import FrameSource
from .stream import FAILED, FRAME, INTERRUPTED, StreamControl, newest_frames
from .video import VideoRecorder

logger = logging.getLogger(__name__)


# The driving hand (the most confident; the label is its) and how many hands were found; empty
# cells when hands were not looked for or none was found. After the original columns, before the
# optional "action" column, which stays last.
HAND_COLUMNS = ["hand_x0", "hand_y0", "hand_x1", "hand_y1", "presence", "handedness", "hands"]


def csv_header(classes, actions: bool = False) -> list[str]:
    header = ["frame", "timestamp_s", "label", "confidence", *(f"p_{name}" for name in classes), "latency_ms", *HAND_COLUMNS]
    return header + ["action"] if actions else header


def hand_cells(prediction: Prediction) -> list[str]:
    """The HAND_COLUMNS cells of one frame: the driving hand's box (the square it was classified in,
    frame pixels), presence and handedness (the person's own hand), and the number of hands."""
    hand = prediction.hand
    if hand is None:
        return ["", "", "", "", "", "", "0" if prediction.no_hand else ""]
    return [f"{v:.1f}" for v in hand.box_xyxy] + [f"{hand.presence:.4f}", hand.handedness, str(len(prediction.hands))]


@dataclass
class HeadlessSummary:
    frames: int = 0
    seconds: float = 0.0
    label_counts: Counter = field(default_factory=Counter)
    no_hand: int = 0  # frames labelled none because no hand was found
    skipped_images: int = 0
    actions_fired: int = 0
    error: str = ""  # why the run stopped early, if it did
    interrupted: bool = False  # stopped by Ctrl+C

    @property
    def mean_fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        labels = ", ".join(f"{name} {count}" for name, count in self.label_counts.most_common()) or "none"
        text = f"{self.frames} frames in {self.seconds:.1f} s ({self.mean_fps:.1f} fps); labels: {labels}"
        if self.no_hand:
            text += f" (no hand in {self.no_hand})"
        if self.actions_fired:
            text += f"; {self.actions_fired} action(s) fired"
        if self.skipped_images:
            text += f"; {self.skipped_images} unreadable image(s) skipped"
        if self.error:
            text += f"; stopped early: {self.error}"
        if self.interrupted:
            text += "; stopped by Ctrl+C"
        return text


def run_app_headless(
    source: FrameSource,
    pipeline: GesturePipeline,
    csv_path: Path,
    video_path: Path | None = None,
    *,
    max_frames: int | None = None,
    device: str = "",
    model: str = "",
    mirror: bool = False,
    actions: ActionEngine | None = None,
    landmarks: bool = True,
) -> HeadlessSummary:
    """Process the source as fast as the model allows, writing rows as frames finish.

    Every frame of a file is processed; a camera's newest frame each time the model is free.
    With `actions`, each frame's prediction also drives the gesture actions, timed by the same
    clock as the CSV, and what fired goes in an "action" column; held keys are released at the end.
    A frame with no hand is labelled "none" and fires nothing. landmarks: draw the hands' skeletons
    on the annotated video.
    """
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    summary = HeadlessSummary()
    recorder = VideoRecorder(video_path, source.fps) if video_path is not None else None
    start = time.perf_counter()
    last = start
    control = StreamControl(mirror=mirror, give_up_after=1)
    pipeline.mirrored = mirror
    # A folder's photos are unrelated: each is looked at afresh (no tracking, no smoothing across them).
    pipeline.reset_history(stills=getattr(source, "stills", False))
    with open(csv_path, "w", newline="") as csv_file:
        rows = csv.writer(csv_file)
        rows.writerow(csv_header(pipeline.classes, actions is not None))
        frames = newest_frames(source, control)
        try:
            for event in frames:
                if event.kind == FAILED:  # a broken file or device ends the run with a message, not a traceback
                    summary.error = event.message
                    logger.error("%s", event.message)
                    break
                if event.kind == INTERRUPTED:
                    logger.warning("%s", event.message)  # a camera that drops out is reopened; keep waiting
                if event.kind != FRAME:
                    continue
                index = summary.frames
                # Files are timed by their own clock (frame / fps); live cameras by the wall clock.
                frame_time = None if source.live else index / source.fps
                prediction = pipeline.process(event.frame_bgr, index, frame_time)
                now = time.perf_counter()
                timestamp = now - start if source.live else frame_time
                row = (
                    [index, f"{timestamp:.3f}", prediction.label, f"{prediction.confidence:.4f}"]
                    + [f"{p:.4f}" for p in prediction.probs]
                    + [f"{prediction.latency_ms:.2f}"]
                    + hand_cells(prediction)
                )
                if actions is not None:
                    fired = actions.update(prediction, now=timestamp)
                    summary.actions_fired += len(fired)
                    row.append("; ".join(str(action) for action in fired))
                rows.writerow(row)
                summary.label_counts[prediction.label] += 1
                summary.no_hand += prediction.no_hand
                if recorder is not None:
                    fps = 1.0 / (now - last) if now > last else None
                    stats = OverlayStats(fps, fps, prediction.latency_ms, device, model)
                    roi = pipeline.roi if pipeline.locate != "auto" else None
                    recorder.write(draw_overlay(event.frame_bgr, prediction, roi, stats, landmarks=landmarks))
                last = now
                summary.frames += 1
                if max_frames is not None and summary.frames >= max_frames:
                    break
        except KeyboardInterrupt:
            summary.interrupted = True  # the rows so far are kept and the summary still printed
        finally:
            frames.close()  # stops a camera's reader thread
            if recorder is not None:
                recorder.close()
    if actions is not None:
        actions.close()  # the source has ended: no key stays held down
    summary.seconds = time.perf_counter() - start
    summary.skipped_images = getattr(source, "skipped_count", 0)
    return summary
