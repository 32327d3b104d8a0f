"""The one frame loop every caller drives: read a source, mirror, ride out interruptions, hand on frames (no Qt here).

    for event in stream_frames(source, StreamControl(mirror=True)):   # every frame, in this thread
        if event.kind == FRAME: ...                                    # event.frame_bgr, event.index
    FrameStream(source, control, slot).run()     # a capture thread: the newest frame into a FrameSlot
    for event in newest_frames(source, control): ...   # files: every frame; cameras: the newest one

The windows' capture workers, both headless runners and the capture tool all use these, so a
source is read, mirrored, paced and recovered the same way everywhere.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from .frame_slot import FrameSlot
from .sources import FrameSource, SourceInterrupted

logger = logging.getLogger(__name__)

FRAME = "frame"              # a frame, mirrored if asked
INTERRUPTED = "interrupted"  # a live source stopped delivering for now (reported once per outage)
FAILED = "failed"            # a read raised; the loop backs off and tries again
RECOVERED = "recovered"      # frames flow again after INTERRUPTED or FAILED
ENDED = "ended"              # no more frames (end of file, or given up); the last event

MAX_CONSECUTIVE_ERRORS = 20  # a source that fails this often in a row is given up
ERROR_BACKOFF_S = 0.05  # wait this much longer after each failed read, up to 10x


@dataclass(frozen=True)
class StreamEvent:
    kind: str                             # FRAME, INTERRUPTED, FAILED, RECOVERED or ENDED
    index: int = -1                       # FRAME: 0, 1, 2, ... in the order the source delivered them
    frame_bgr: np.ndarray | None = None   # FRAME: (H, W, 3) BGR uint8
    message: str = ""                     # the others: what happened, for the user


class StreamControl:
    """Settings a caller may change while the loop runs, from any thread; `stop()` ends the loop."""

    def __init__(self, *, mirror: bool = False, paused: bool = False, paced: bool = False, give_up_after: int = MAX_CONSECUTIVE_ERRORS):
        self.mirror = mirror        # flip left-right (the one place frames are mirrored)
        self.paused = paused        # read nothing until unpaused
        self.paced = paced          # play files and the demo at their frame rate (windows), not as fast as read
        self.give_up_after = give_up_after  # consecutive failed reads before the loop ends
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def sleep(self, seconds: float) -> None:
        """Wait, but wake at once when stopped."""
        self._stop.wait(seconds)


def stream_frames(source: FrameSource, control: StreamControl | None = None) -> Iterator[StreamEvent]:
    """The loop: read, mirror, ride out interruptions and failures, pace files; one event at a time."""
    control = control or StreamControl()
    period = 1.0 / max(source.fps, 1.0)
    next_due = time.perf_counter()
    index = 0
    failures = 0
    interrupted = False
    while not control.stopped:
        if control.paused:
            control.sleep(0.03)
            next_due = time.perf_counter()
            continue
        try:
            frame_bgr = source.read()
        except SourceInterrupted as exc:
            # A camera reopens itself; keep asking. Said once per outage, not once per retry.
            if not interrupted:
                interrupted = True
                yield StreamEvent(INTERRUPTED, message=str(exc))
            control.sleep(0.01)
            continue
        except Exception as exc:  # any source fault becomes a message, not a dead thread
            failures += 1
            logger.debug("reading %s failed: %s", source.name, exc, exc_info=True)  # the FAILED event tells the user
            yield StreamEvent(FAILED, message=f"Reading {source.name} failed: {exc}")
            if failures >= control.give_up_after:
                yield StreamEvent(ENDED, message=f"Gave up on {source.name} after {failures} failed reads; choose another source.")
                return
            control.sleep(ERROR_BACKOFF_S * min(failures, 10))
            continue
        if frame_bgr is None:
            yield StreamEvent(ENDED, message=f"{source.name} ended; open another source, or start with --loop to repeat it.")
            return
        if failures or interrupted:
            failures, interrupted = 0, False
            yield StreamEvent(RECOVERED)
        if control.mirror:
            frame_bgr = cv2.flip(frame_bgr, 1)
        yield StreamEvent(FRAME, index, frame_bgr)
        index += 1
        if control.paced and not source.live:
            # Files and the demo have no clock of their own: play them at their frame rate.
            next_due += period
            delay = next_due - time.perf_counter()
            if delay > 0:
                control.sleep(delay)
            elif delay < -period:
                next_due = time.perf_counter()  # fell behind (a slow disk): do not race to catch up


class FrameStream:
    """The loop on one thread, handing each frame to a FrameSlot that keeps only the newest.

    `run()` is the thread's body (a window's QThread calls it); `start()` runs it on a thread of
    its own. Every other event goes to `on_event` (from the stream's thread) and to `newest()`.
    """

    def __init__(self, source: FrameSource, control: StreamControl | None = None, slot: FrameSlot | None = None,
                 on_event: Callable[[StreamEvent], None] | None = None):
        self.source = source
        self.control = control or StreamControl()
        self.slot = slot if slot is not None else FrameSlot()
        self.on_event = on_event
        self._events: queue.SimpleQueue[StreamEvent] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    def run(self) -> None:
        try:
            for event in stream_frames(self.source, self.control):
                if event.kind == FRAME:
                    self.slot.put(event.frame_bgr)
                    continue
                self._events.put(event)
                if self.on_event is not None:
                    self.on_event(event)
        finally:
            self._done.set()

    def start(self) -> "FrameStream":
        self._thread = threading.Thread(target=self.run, name=f"stream: {self.source.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop the loop; True when its own thread (if any) has finished."""
        self.control.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def newest(self, poll_s: float = 0.05) -> Iterator[StreamEvent]:
        """The newest frame each time the caller asks (older ones dropped), and the other events, until ENDED."""
        last = -1
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                event = None
            if event is not None:
                if event.kind == ENDED:
                    item = self.slot.wait_newer(last, timeout=0)  # a last frame that came just before the end
                    if item is not None:
                        yield StreamEvent(FRAME, *item)
                    yield event
                    return
                yield event
                continue
            item = self.slot.wait_newer(last, timeout=poll_s)
            if item is not None:
                last, frame_bgr = item
                yield StreamEvent(FRAME, last, frame_bgr)
            elif self._done.is_set() and self._events.empty():
                return  # stopped without an end (stop() was called)


def newest_frames(source: FrameSource, control: StreamControl | None = None) -> Iterator[StreamEvent]:
    """For runs without a window: every frame of a file; a camera read on its own thread, newest frame only.

    A slow consumer of a camera then always gets the present, never a backlog.
    """
    if not source.live:
        yield from stream_frames(source, control)
        return
    stream = FrameStream(source, control).start()
    try:
        yield from stream.newest()
    finally:
        if not stream.stop():
            logger.warning("the stream of %s did not stop in time", source.name)
