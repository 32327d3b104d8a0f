"""The pipeline without a window: one CSV row per processed frame, optionally an annotated video (no Qt here)."""

from __future__ import annotations

import csv
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from ..actions import ActionEngine
from .overlay import OverlayStats, draw_overlay
from .pipeline import GesturePipeline
from .sources import FrameSource, SourceInterrupted

logger = logging.getLogger(__name__)


def csv_header(classes, actions: bool = False) -> list[str]:
    header = ["frame", "timestamp_s", "label", "confidence", *(f"p_{name}" for name in classes), "latency_ms"]
    return header + ["action"] if actions else header


def open_video_writer(path: Path, fps: float, frame_shape) -> cv2.VideoWriter:
    """An OpenCV writer for .avi (MJPG) or anything else (mp4v); raises OSError when it cannot write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = "MJPG" if path.suffix.lower() == ".avi" else "mp4v"
    height, width = frame_shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), (width, height))
    if not writer.isOpened():
        raise OSError(f"Cannot write video {path}; use a .mp4 or .avi file name in a writable folder.")
    return writer


@dataclass
class HeadlessSummary:
    frames: int = 0
    seconds: float = 0.0
    label_counts: Counter = field(default_factory=Counter)
    skipped_images: int = 0
    interruptions: int = 0
    actions_fired: int = 0
    error: str = ""  # why the run stopped early, if it did

    @property
    def mean_fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        labels = ", ".join(f"{name} {count}" for name, count in self.label_counts.most_common()) or "none"
        text = f"{self.frames} frames in {self.seconds:.1f} s ({self.mean_fps:.1f} fps); labels: {labels}"
        if self.actions_fired:
            text += f"; {self.actions_fired} action(s) fired"
        if self.skipped_images:
            text += f"; {self.skipped_images} unreadable image(s) skipped"
        if self.error:
            text += f"; stopped early: {self.error}"
        return text


def run_headless(
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
) -> HeadlessSummary:
    """Process the source as fast as the model allows, writing rows as frames finish.

    With `actions`, each frame's prediction also drives the gesture actions, timed by the same
    clock as the CSV, and what fired goes in an "action" column; held keys are released at the end.
    """
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    summary = HeadlessSummary()
    writer = None
    start = time.perf_counter()
    last = start
    with open(csv_path, "w", newline="") as csv_file:
        rows = csv.writer(csv_file)
        rows.writerow(csv_header(pipeline.classes, actions is not None))
        while max_frames is None or summary.frames < max_frames:
            try:
                frame_bgr = source.read()
            except SourceInterrupted as exc:
                # A camera that drops out is retried by its reader; keep waiting.
                summary.interruptions += 1
                logger.warning("%s", exc)
                continue
            except Exception as exc:  # a broken file or device must end the run with a message, not a traceback
                summary.error = f"{source.name}: {exc}"
                logger.error("reading %s failed: %s", source.name, exc)
                break
            if frame_bgr is None:
                break
            if mirror:
                frame_bgr = cv2.flip(frame_bgr, 1)
            index = summary.frames
            prediction = pipeline.process(frame_bgr, index)
            now = time.perf_counter()
            # Files are timed by their own clock (frame / fps); live cameras by the wall clock.
            timestamp = now - start if source.live else index / source.fps
            row = (
                [index, f"{timestamp:.3f}", prediction.label, f"{prediction.confidence:.4f}"]
                + [f"{p:.4f}" for p in prediction.probs]
                + [f"{prediction.latency_ms:.2f}"]
            )
            if actions is not None:
                fired = actions.update(prediction, now=timestamp)
                summary.actions_fired += len(fired)
                row.append("; ".join(str(action) for action in fired))
            rows.writerow(row)
            summary.label_counts[prediction.label] += 1
            if video_path is not None:
                if writer is None:
                    writer = open_video_writer(video_path, source.fps, frame_bgr.shape)
                    video_size = (frame_bgr.shape[1], frame_bgr.shape[0])
                fps = 1.0 / (now - last) if now > last else None
                stats = OverlayStats(fps, fps, prediction.latency_ms, device, model)
                annotated_bgr = draw_overlay(frame_bgr, prediction, pipeline.roi, stats)
                if (annotated_bgr.shape[1], annotated_bgr.shape[0]) != video_size:
                    # A folder's photos differ in size; a video's frames cannot.
                    annotated_bgr = cv2.resize(annotated_bgr, video_size)
                writer.write(annotated_bgr)
            last = now
            summary.frames += 1
    if writer is not None:
        writer.release()
    if actions is not None:
        actions.close()  # the source has ended: no key stays held down
    summary.seconds = time.perf_counter() - start
    summary.skipped_images = getattr(source, "skipped_count", 0)
    return summary
