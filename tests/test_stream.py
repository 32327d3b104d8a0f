"""The one stream loop: mirroring, interruptions, failures, the end, pacing and the newest-frame hand-on (no Qt)."""

import threading
import time

import numpy as np
import pytest

from app_helpers import GeneratedSource, make_frame_bgr
from gesture_app.core import stream
from gesture_app.core.sources import FrameSource, SourceInterrupted
from gesture_app.core.stream import (
    ENDED,
    FAILED,
    FRAME,
    INTERRUPTED,
    RECOVERED,
    FrameStream,
    StreamControl,
    newest_frames,
    stream_frames,
)


class ScriptedSource(FrameSource):
    """Plays a script: "f" a frame, "i" SourceInterrupted, "x" an OSError; then ends."""

    def __init__(self, script: str, live: bool = False):
        self.name = "scripted"
        self.script = list(script)
        self.live = live
        self.frames = 0

    def read(self):
        if not self.script:
            return None
        step = self.script.pop(0)
        if step == "i":
            raise SourceInterrupted("camera 0 stopped delivering; retrying")
        if step == "x":
            raise OSError("bad sector")
        self.frames += 1
        return make_frame_bgr(self.frames)


def kinds(events):
    return [event.kind for event in events]


def test_frames_are_numbered_and_the_end_is_said():
    events = list(stream_frames(GeneratedSource(frames=3)))
    assert kinds(events) == [FRAME, FRAME, FRAME, ENDED]
    assert [e.index for e in events[:3]] == [0, 1, 2]
    assert events[0].frame_bgr[0, 0, 0] == 1 and "ended" in events[-1].message


def test_mirror_flips_left_right_and_can_change_mid_stream():
    control = StreamControl(mirror=True)
    events = stream_frames(GeneratedSource(frames=5), control)
    first = next(events).frame_bgr
    assert first[0, 0, 1] > 230  # green ramps up left to right: flipped, the left edge is bright
    control.mirror = False
    assert next(events).frame_bgr[0, 0, 1] < 20


def test_an_interruption_is_said_once_then_recovery():
    events = list(stream_frames(ScriptedSource("fiiif")))
    assert kinds(events) == [FRAME, INTERRUPTED, RECOVERED, FRAME, ENDED]
    assert "stopped delivering" in events[1].message


def test_failures_back_off_and_the_loop_gives_up(monkeypatch):
    monkeypatch.setattr(stream, "ERROR_BACKOFF_S", 0.001)
    events = list(stream_frames(ScriptedSource("fxf")))
    assert kinds(events) == [FRAME, FAILED, RECOVERED, FRAME, ENDED]
    assert "bad sector" in events[1].message
    events = list(stream_frames(ScriptedSource("xxxxf"), StreamControl(give_up_after=3)))
    assert kinds(events) == [FAILED, FAILED, FAILED, ENDED] and "Gave up" in events[-1].message


def test_paced_files_play_at_their_frame_rate():
    start = time.perf_counter()
    frames = [e for e in stream_frames(GeneratedSource(frames=6, fps=50), StreamControl(paced=True)) if e.kind == FRAME]
    assert len(frames) == 6 and time.perf_counter() - start >= 5 / 50 * 0.9


def test_stop_and_pause_end_or_hold_the_loop():
    control = StreamControl(paused=True)
    frame_stream = FrameStream(GeneratedSource(), control).start()
    time.sleep(0.1)
    assert frame_stream.slot.index == -1  # paused: nothing read
    control.paused = False
    assert frame_stream.slot.wait_newer(-1, timeout=5) is not None
    assert frame_stream.stop(timeout_s=5)


class FastLiveSource(GeneratedSource):
    live = True

    def read(self):
        time.sleep(0.002)
        return super().read()


def test_a_slow_consumer_of_a_camera_gets_the_newest_frame_not_a_backlog():
    source = FastLiveSource(frames=200)
    taken = []
    for event in newest_frames(source):
        if event.kind == FRAME:
            taken.append(event.index)
            time.sleep(0.03)  # a slow model
    assert taken[-1] == 199  # the last frame is handed on before the end
    assert len(taken) < 100 and taken == sorted(set(taken))  # stale frames dropped, never repeated
    assert not any(t.name.startswith("stream:") and t.is_alive() for t in threading.enumerate())


def test_every_frame_of_a_file_is_handed_on_however_slow_the_consumer():
    taken = [e.index for e in newest_frames(GeneratedSource(frames=12)) if e.kind == FRAME]
    assert taken == list(range(12))


def test_a_frame_stream_reports_events_from_its_thread():
    seen = []
    done = threading.Event()

    def on_event(event):
        seen.append(event.kind)
        if event.kind == ENDED:
            done.set()

    frame_stream = FrameStream(ScriptedSource("fif", live=True), on_event=on_event).start()
    assert done.wait(5)
    assert seen == [INTERRUPTED, RECOVERED, ENDED]
    assert frame_stream.slot.index == 1 and frame_stream.stop()
    assert np.array_equal(frame_stream.slot.newest()[1], make_frame_bgr(2))


@pytest.mark.parametrize("mirror", [False, True])
def test_newest_frames_of_a_camera_stops_its_thread_when_the_caller_stops(mirror):
    frames = newest_frames(FastLiveSource(), StreamControl(mirror=mirror))
    assert next(frames).kind == FRAME
    frames.close()
    time.sleep(0.05)
    assert not any(t.name.startswith("stream:") and t.is_alive() for t in threading.enumerate())
