"""gesture-capture's logic without a window (no Qt here): the classes, idle -> countdown -> recording, when a shot
is due, saving, undo, and the silhouette background. The Qt window only shows it and forwards keys.

    controller = CaptureController(DatasetWriter("data"), classes=["fist", "ok"], listener=window)
    controller.select_class("ok")
    controller.press()                       # Space down: a shot now (or after the countdown)
    view = controller.process(frame_bgr)     # each streamed frame: shots while held; what to show
    controller.release()                     # Space up: the burst stops

With `locate="auto"` the saved image is the hand found anywhere in the frame (see capturer.py);
frames due for a shot with no hand save nothing and are counted (`no_hand_skips`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from models.dataset_rules import ClassNameError, validate_class_name

from ..roi import RegionOfInterest
from ..silhouette import SilhouetteExtractor
from .burst import BurstClock
from .capturer import NO_HAND, Capturer, Shot
from .errors import DatasetWriteError
from .manifest import SavedImage
from .writer import DatasetWriter

logger = logging.getLogger(__name__)

IDLE, COUNTDOWN, RECORDING = "idle", "countdown", "recording"


class CaptureListener:
    """What the controller tells its view; the default does nothing (headless use, tests)."""

    def on_saved(self, saved: SavedImage, image_bgr: np.ndarray) -> None: ...
    def on_deleted(self, saved: SavedImage) -> None: ...
    def on_recording_changed(self, recording: bool) -> None: ...
    def on_skipped(self, reason: str) -> None: ...       # a shot was due but there was nothing to save
    def on_error(self, message: str) -> None: ...        # recording has stopped; the message is for the user


@dataclass(frozen=True)
class CaptureView:
    """What to show for one frame."""

    frame_bgr: np.ndarray               # as streamed (mirrored if asked)
    image_bgr: np.ndarray | None        # what would be saved, None when nothing would (see `skip_reason`)
    recording: bool
    countdown_s: float | None = None    # seconds left while counting down
    shot: Shot | None = None            # where the image comes from: the box to draw, the hand's landmarks, why not


class CaptureController:
    def __init__(
        self,
        writer: DatasetWriter,
        *,
        classes: list[str],
        roi: RegionOfInterest,
        input_style: str = "colour",
        extractor: SilhouetteExtractor | None = None,
        save_full_frame: bool = False,
        source_name: str = "",
        mirror: bool = False,
        burst_fps: float = 5.0,
        countdown_s: float = 0.0,
        locate: str = "off",
        stills: bool = False,
        clock=time.monotonic,
        listener: CaptureListener | None = None,
        hand_tracker=None,
    ):
        self.writer = writer
        self.capturer = Capturer(writer, roi=roi, input_style=input_style, extractor=extractor, save_full_frame=save_full_frame,
                                 locate=locate, hand_tracker=hand_tracker)
        self.capturer.stills = stills
        self.burst_clock = BurstClock(burst_fps)
        self.countdown_s = float(countdown_s)
        self.listener = listener or CaptureListener()
        self._clock = clock  # seconds; tests pass a fake one
        self._source_name = source_name
        self.mirror = mirror
        self.classes: list[str] = []
        for name in classes:
            self.add_class(name)
        self.current_class: str | None = None
        self.session_saves: list[SavedImage] = []  # what Undo takes back, newest last
        self.frame_bgr: np.ndarray | None = None
        self.shot = Shot(None)  # what the newest frame would save
        self.no_hand_skips = 0  # shots due with no hand in view, this session
        self.state = IDLE
        self._held = False
        self._countdown_end = 0.0

    # -- settings -------------------------------------------------------------------------------

    @property
    def mirror(self) -> bool:
        return self._mirror

    @mirror.setter
    def mirror(self, on: bool) -> None:
        """Recorded in the manifest's source column; the stream does the flipping."""
        changed = hasattr(self, "_mirror") and bool(on) != self._mirror
        self._mirror = bool(on)
        self.capturer.source_name = f"{self._source_name} (mirrored)" if self._mirror else self._source_name
        if changed:
            self.capturer.reset()  # the followed hand is on the other side now

    @property
    def image_bgr(self) -> np.ndarray | None:
        """What the newest frame would save; None when nothing would (see `capturer.skip_reason`)."""
        return self.shot.image_bgr

    @property
    def locate(self) -> str:
        """"auto": save the hand found anywhere in the frame; "off": the box (silhouettes always use the box)."""
        return self.capturer.locate

    @locate.setter
    def locate(self, mode: str) -> None:
        self.capturer.locate = mode
        self.capturer.reset()
        self._look_again()

    def _look_again(self) -> None:
        if self.frame_bgr is not None:
            self.shot = self.capturer.look(self.frame_bgr)

    @property
    def roi(self) -> RegionOfInterest:
        return self.capturer.roi

    def set_roi(self, roi: RegionOfInterest) -> bool:
        """Move or resize the box; True when that threw away the silhouette background."""
        self.capturer.roi = roi
        extractor = self.capturer.extractor
        reset = extractor is not None and extractor.has_background
        if reset:
            # The background was of the old box; a silhouette against it would be noise.
            extractor.reset()
        self._look_again()
        return reset

    @property
    def input_style(self) -> str:
        return self.capturer.input_style

    @input_style.setter
    def input_style(self, style: str) -> None:
        self.capturer.input_style = style
        self._look_again()

    @property
    def has_background(self) -> bool:
        return self.capturer.extractor is not None and self.capturer.extractor.has_background

    def capture_background(self) -> bool:
        """Take the box of the newest frame as the silhouette background; False when there is no frame yet."""
        if self.frame_bgr is None:
            return False
        if self.capturer.extractor is None:
            self.capturer.extractor = SilhouetteExtractor()
        self.capturer.extractor.capture_background(self.capturer.roi.crop(self.frame_bgr))
        return True

    def reset_background(self) -> None:
        if self.capturer.extractor is not None:
            self.capturer.extractor.reset()

    def style_hint(self) -> str:
        """One line on what is saved and, for silhouettes, what to do next."""
        if self.input_style != "silhouette":
            if self.capturer.locating:
                return ("The hand is found anywhere in the picture and its square crop (15 % margin) is saved, "
                        "with its landmarks, as the app sees it; frames with no hand are skipped.")
            return "The colour crop inside the box is saved, as the app sees it."
        # A silhouette needs a background of the same place, so it is always cut from the box.
        style = "Silhouette, from the box (finding the hand is off for silhouettes)" if self.locate == "auto" else "Silhouette"
        if not self.has_background:
            return f"{style}: take your hand out of the box and press B to capture the background."
        return f"{style}: white hand on black is saved. R resets the background."

    # -- classes --------------------------------------------------------------------------------

    def add_class(self, name: str) -> str:
        """Add a class; its validated name, or ClassNameError saying why it cannot be one."""
        name = validate_class_name(name)
        if name in self.classes:
            raise ClassNameError(f"There is already a class {name!r}; pick it in the list.")
        self.classes.append(name)
        return name

    def select_class(self, name: str) -> bool:
        """Record into `name` from now on (recording stops); False when it already was the class."""
        if name not in self.classes:
            raise KeyError(f"unknown class {name!r}; known: {', '.join(self.classes)}")
        if name == self.current_class:
            return False
        self.stop()
        self.current_class = name
        return True

    # -- recording: idle -> (countdown ->) recording -> idle ------------------------------------

    @property
    def recording(self) -> bool:
        """True while counting down or recording."""
        return self.state != IDLE

    @property
    def held(self) -> bool:
        """Record is held down (a burst goes on until it is released)."""
        return self._held

    def press(self) -> None:
        """Record is pressed: one shot now (or after the countdown), and more while it stays held."""
        if self._held:
            return
        if self.current_class is None:
            self._report_error("Select a class first (a button on the right or keys 1–9).")
            return
        self._held = True
        if self.countdown_s > 0:
            self._countdown_end = self._clock() + self.countdown_s
            self._set_state(COUNTDOWN)
            return
        self._start_recording(self._clock())

    def release(self) -> None:
        """Record is released: the burst stops (a countdown still ends in one shot)."""
        if not self._held:
            return
        self._held = False
        if self.state == RECORDING:
            self._set_state(IDLE)

    def stop(self) -> None:
        """Stop at once, countdown included (Esc, another class, an error, the window closing)."""
        self._held = False
        self._set_state(IDLE)

    def process(self, frame_bgr: np.ndarray) -> CaptureView:
        """One streamed frame: keep it, shoot if a shot is due, and say what to show."""
        self.frame_bgr = frame_bgr
        self.shot = self.capturer.look(frame_bgr)
        now = self._clock()
        countdown_left = None
        if self.state == COUNTDOWN:
            countdown_left = self._countdown_end - now
            if countdown_left <= 0:
                countdown_left = None
                self._start_recording(now)
                if not self._held:
                    self._set_state(IDLE)  # a tap: the one shot is taken
        elif self.state == RECORDING:
            self._shoot(now)
        return CaptureView(frame_bgr, self.image_bgr, self.state == RECORDING, countdown_left, self.shot)

    def _start_recording(self, now: float) -> None:
        self._set_state(RECORDING)
        self.burst_clock.reset()
        self._shoot(now)

    def _shoot(self, now: float) -> None:
        if self.frame_bgr is None or self.current_class is None or not self.burst_clock.due(now):
            return
        try:
            saved = self.capturer.capture(self.frame_bgr, self.current_class, self.shot)
        except DatasetWriteError as exc:
            self.stop()
            self._report_error(str(exc))
            return
        if saved is None:
            if self.shot.reason == NO_HAND:
                self.no_hand_skips += 1
            self.listener.on_skipped(self.shot.reason)
            return
        self.session_saves.append(saved)
        self.listener.on_saved(saved, self.image_bgr)

    def _set_state(self, state: str) -> None:
        was_recording = self.recording
        self.state = state
        if self.recording != was_recording:
            self.listener.on_recording_changed(self.recording)

    def _report_error(self, message: str) -> None:
        logger.warning("%s", message)
        self.listener.on_error(message)

    # -- undo and delete ------------------------------------------------------------------------

    def undo_last(self) -> SavedImage | None:
        """Delete the newest image saved in this session; None when there is none (or deleting failed)."""
        if not self.session_saves:
            return None
        saved = self.session_saves[-1]
        return saved if self.delete(saved) else None

    def delete(self, saved: SavedImage) -> bool:
        """Delete an image and its manifest row; False (and an error for the user) when that failed."""
        try:
            self.writer.delete(saved)
        except DatasetWriteError as exc:
            self._report_error(str(exc))
            return False
        self.session_saves = [s for s in self.session_saves if s.path != saved.path]
        self.listener.on_deleted(saved)
        return True

    def recent_saves(self, limit: int) -> list[SavedImage]:
        """The newest `limit` images in the folder's manifest, oldest first (what an earlier session left)."""
        rows = sorted(self.writer.read_manifest(), key=lambda row: row["time"])[-limit:] if limit > 0 else []
        return [self.writer.manifest.saved_image(row) for row in rows]
