"""Where actions go: the desktop through pynput, a dry-run log, or a recording for tests (no Qt here).

Key names are the action map's (see action_map.SPECIAL_KEYS and MEDIA_KEYS); each sender maps
them to its own backend, so the engine and the map never import an input library.
"""

from __future__ import annotations

import logging
import subprocess
from abc import ABC, abstractmethod

logger = logging.getLogger(__name__)


class ActionsUnavailable(RuntimeError):
    """The desktop cannot be driven here (no display, no permission); the message says what to do."""


class KeySender(ABC):
    """Sends one key event, media key or command at a time; the engine composes combinations."""

    name = "sender"

    @abstractmethod
    def press(self, key: str) -> None: ...

    @abstractmethod
    def release(self, key: str) -> None: ...

    @abstractmethod
    def media(self, name: str) -> None:
        """Press and release a media key: play_pause, volume_up, volume_down, mute, next, previous."""

    def run(self, argv: tuple[str, ...]) -> None:
        """Start a program without a shell and without waiting for it."""
        subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


class DryRunSender(KeySender):
    """Sends nothing: logs what would have been sent (and keeps it in `sent`)."""

    name = "dry run"

    def __init__(self):
        self.sent: list[str] = []

    def _log(self, text: str) -> None:
        self.sent.append(text)
        logger.info("dry run, not sent: %s", text)

    def press(self, key: str) -> None:
        self._log(f"key down {key}")

    def release(self, key: str) -> None:
        self._log(f"key up {key}")

    def media(self, name: str) -> None:
        self._log(f"media {name}")

    def run(self, argv: tuple[str, ...]) -> None:
        self._log("run " + " ".join(argv))


class RecordingSender(KeySender):
    """A fake for tests: `events` lists ("press", key), ("release", key), ("media", name), ("run", argv)."""

    name = "recording"

    def __init__(self):
        self.events: list[tuple[str, object]] = []

    def press(self, key: str) -> None:
        self.events.append(("press", key))

    def release(self, key: str) -> None:
        self.events.append(("release", key))

    def media(self, name: str) -> None:
        self.events.append(("media", name))

    def run(self, argv: tuple[str, ...]) -> None:
        self.events.append(("run", tuple(argv)))


_PYNPUT_MEDIA = {
    "play_pause": "media_play_pause", "volume_up": "media_volume_up", "volume_down": "media_volume_down",
    "mute": "media_volume_mute", "next": "media_next", "previous": "media_previous",
}


class PynputSender(KeySender):
    """Real key events through pynput (X11 on Linux, Windows, macOS)."""

    name = "pynput"

    def __init__(self):
        # Imported here: on Linux importing pynput.keyboard opens the X display, and fails without one.
        try:
            from pynput import keyboard
            self._controller = keyboard.Controller()
        except Exception as exc:  # ImportError without a display; Xlib errors with a bad one
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ActionsUnavailable(
                f"Gesture actions need a desktop session to send keys, and pynput could not start ({first_line}). "
                "Run gesture-app from the desktop, or use --dry-run to log what would be sent."
            ) from None
        self._keyboard = keyboard

    def _key(self, key: str):
        if len(key) == 1:
            return self._keyboard.KeyCode.from_char(key)
        return getattr(self._keyboard.Key, key)

    def press(self, key: str) -> None:
        self._controller.press(self._key(key))

    def release(self, key: str) -> None:
        self._controller.release(self._key(key))

    def media(self, name: str) -> None:
        self._controller.tap(getattr(self._keyboard.Key, _PYNPUT_MEDIA[name]))


def make_sender(dry_run: bool = False) -> KeySender:
    """The sender the app uses: a dry-run log, or pynput (raises ActionsUnavailable without a desktop)."""
    return DryRunSender() if dry_run else PynputSender()
