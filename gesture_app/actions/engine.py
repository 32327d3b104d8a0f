"""The firing rules: which predictions become actions, and sending them safely (no Qt here).

Feed every Prediction to `ActionEngine.update`; it returns what it fired. A gesture fires once
it has been the top class at or above the map's threshold for `hold_frames` frames and
`hold_seconds` seconds, once per change of gesture (or again every `repeat_seconds` while held),
never within `cooldown_seconds` of the last action, and never for "no gesture". Keys the map holds
down are released on disarm, on a mode change, on `release_all()` and, as a last resort, when the
engine is collected or the interpreter exits, so a key is never left stuck down.
"""

from __future__ import annotations

import atexit
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np

from models.classes import NO_GESTURE

from ..core.prediction import Prediction, is_gesture
from .action_map import BASE_MODE, Action, ActionMap
from .senders import KeySender

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiredAction:
    gesture: str        # what fired it ("" for a safety release)
    mode: str           # the mode it fired in
    text: str           # what was sent, e.g. "press alt+tab", "hold alt", "release alt", "mode volume"
    time_s: float       # the engine's clock when it fired
    error: str = ""     # why sending failed, when it did

    def __str__(self) -> str:
        who = f"{self.gesture}: " if self.gesture else ""
        return f"{who}{self.text}" + (f" (failed: {self.error})" if self.error else "")


class ActionEngine:
    """Turns a stream of predictions into actions through a KeySender; starts disarmed.

    `sender` may be None until the first arm (the window makes its pynput sender only then, so
    merely opening the window never touches the desktop's input).
    """

    def __init__(self, action_map: ActionMap, sender: KeySender | None, *, armed: bool = False, clock: Callable[[], float] = time.monotonic):
        self.map = action_map
        self.sender = sender
        self._clock = clock
        if armed and sender is None:
            raise ValueError("an armed ActionEngine needs a sender")
        self._armed = bool(armed)
        self.mode = BASE_MODE
        self._held: list[str] = []                # keys this engine holds down, in press order
        self._candidate: str | None = None        # the gesture seen in the latest frame (None: no gesture)
        self._candidate_frames = 0
        self._candidate_since = 0.0
        self._stable: str | None = None           # the debounced gesture
        self._stable_fired_at: float | None = None
        self._stable_done = False                 # the stable gesture has done all it will do
        self._last_fire: float | None = None
        self._now = 0.0                           # the latest frame's time
        _LIVE_ENGINES.add(self)

    # -- arming and safety -------------------------------------------------------------------
    @property
    def armed(self) -> bool:
        return self._armed

    def arm(self) -> None:
        """Start sending. A gesture already held when arming does not fire until it changes."""
        if self.sender is None:
            raise ValueError("set a sender before arming")
        self._armed = True
        self._stable_done = True

    def disarm(self) -> list[FiredAction]:
        """Stop sending and release every held key."""
        self._armed = False
        return self.release_all()

    def set_armed(self, armed: bool) -> list[FiredAction]:
        if armed:
            self.arm()
            return []
        return self.disarm()

    @property
    def held_keys(self) -> tuple[str, ...]:
        return tuple(self._held)

    def release_all(self, reason: str = "") -> list[FiredAction]:
        """Release every key the map holds (newest first); safe to call any time, any number of times."""
        if not self._held:
            return []
        keys, self._held = self._held, []
        fired = self._send(lambda: self._release_each(reversed(keys)), "", "release " + "+".join(keys) + (f" ({reason})" if reason else ""))
        return [fired]

    def _release_each(self, keys) -> None:
        """Release every key even when one release fails; then raise the first failure."""
        failures = []
        for key in keys:
            try:
                self.sender.release(key)
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def reset(self) -> list[FiredAction]:
        """A new or stopped source: release held keys, forget the gesture history, back to the base mode."""
        released = self.release_all("source stopped")
        self.mode = BASE_MODE
        self._candidate, self._candidate_frames, self._stable = None, 0, None
        self._stable_fired_at, self._stable_done = None, False
        return released

    def set_map(self, action_map: ActionMap) -> list[FiredAction]:
        """Use another map from now on: held keys are released and the base mode restored."""
        released = self.release_all("map changed")
        self.map = action_map
        self.mode = BASE_MODE
        self._stable_done = True  # the gesture on show fires only once it changes
        return released

    def close(self) -> list[FiredAction]:
        """The app is quitting: disarm and release everything."""
        self._armed = False
        released = self.release_all("quitting")
        _LIVE_ENGINES.discard(self)
        return released

    def __del__(self):
        try:
            self.release_all()
        except Exception:  # the interpreter may be shutting down; nothing more can be done
            pass

    # -- firing rules ------------------------------------------------------------------------
    def _gesture_of(self, prediction: Prediction) -> str | None:
        if not prediction.classified:
            return None
        best = int(np.argmax(prediction.probs))
        label = prediction.classes[best]
        if label == NO_GESTURE or not is_gesture(prediction.probs[best], self.map.settings.threshold):
            return None
        return label

    def update(self, prediction: Prediction, now: float | None = None) -> list[FiredAction]:
        """One frame's prediction -> the actions fired for it (usually none).

        `now` overrides the clock: a video file processed faster than real time passes its own
        timestamps, so hold, repeat and cooldown times mean seconds of video.
        """
        now = self._now = self._clock() if now is None else float(now)
        settings = self.map.settings
        gesture = self._gesture_of(prediction)
        if gesture != self._candidate:
            self._candidate, self._candidate_frames, self._candidate_since = gesture, 0, now
        self._candidate_frames += 1
        debounced = self._candidate_frames >= settings.hold_frames and now - self._candidate_since >= settings.hold_seconds
        if debounced and self._candidate != self._stable:
            # "No gesture" becomes stable too, so showing the same gesture twice fires twice.
            self._stable, self._stable_fired_at = self._candidate, None
            self._stable_done = not self._armed  # a gesture that settled while disarmed waits for a change
        if not self._armed or self._stable is None or self._stable_done:
            return []
        action = self.map.action_for(self._stable, self.mode)
        if action is None:
            self._stable_done = True
            return []
        if self._last_fire is not None and now - self._last_fire < settings.cooldown_seconds:
            return []  # still pending: it fires when the cooldown ends, if still held
        if self._stable_fired_at is not None:
            repeat = settings.repeat_seconds if action.repeat_seconds is None else action.repeat_seconds
            if action.toggles or repeat <= 0:
                self._stable_done = True
                return []
            if now - self._stable_fired_at < repeat:
                return []
        return self._perform(self._stable, action, now)

    # -- sending -----------------------------------------------------------------------------
    def _perform(self, gesture: str, action: Action, now: float) -> list[FiredAction]:
        if any(key not in self._held for key in action.if_held):
            logger.debug("%s: %s skipped, %s is not held", gesture, action.describe(), "+".join(action.if_held))
            self._stable_done = True
            return []
        self._stable_fired_at = self._last_fire = now
        mode = self.mode
        if action.kind == "press":
            # A key the map already holds (Alt in the original's Alt+Tab) stays down.
            keys = [key for key in action.keys if key not in self._held]

            def send():
                pressed = []
                try:
                    for key in keys:
                        self.sender.press(key)
                        pressed.append(key)
                finally:  # a key event that fails half-way must not leave the others down
                    self._release_each(reversed(pressed))

            return [self._send(send, gesture, f"press {'+'.join(action.keys)}", mode)]
        if action.kind == "hold":
            if all(key in self._held for key in action.keys):
                for key in action.keys:
                    self._held.remove(key)
                return [self._send(lambda: self._release_each(reversed(action.keys)), gesture, f"release {'+'.join(action.keys)}", mode)]
            keys = [key for key in action.keys if key not in self._held]
            self._held.extend(keys)
            return [self._send(lambda: [self.sender.press(key) for key in keys], gesture, f"hold {'+'.join(action.keys)}", mode)]
        if action.kind == "media":
            return [self._send(lambda: self.sender.media(action.media), gesture, f"media {action.media}", mode)]
        if action.kind == "run":
            return [self._send(lambda: self.sender.run(action.argv), gesture, "run " + " ".join(action.argv), mode)]
        # mode: switch it on, or back to the base mode when it is already on. Held keys are released
        # first, since the gesture that would release them may mean something else in the new mode.
        released = self.release_all("mode change")
        self.mode = BASE_MODE if self.mode == action.mode else action.mode
        self._stable_done = True
        return released + [FiredAction(gesture, mode, f"mode {self.mode}", now)]

    def _send(self, send: Callable[[], object], gesture: str, text: str, mode: str | None = None) -> FiredAction:
        error = ""
        try:
            send()
        except Exception as exc:  # a failed key event is reported, never allowed to stop the video
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("action %r failed: %s", text, error)
        fired = FiredAction(gesture, self.mode if mode is None else mode, text, self._now, error)
        logger.info("action: %s", fired)
        return fired


_LIVE_ENGINES: "weakref.WeakSet[ActionEngine]" = weakref.WeakSet()


@atexit.register
def _release_keys_at_exit() -> None:
    for engine in list(_LIVE_ENGINES):
        try:
            engine.release_all("exit")
        except Exception:
            pass
