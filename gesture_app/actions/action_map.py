"""The action map: a TOML file that says what each gesture does, in each mode (no Qt here).

The schema is documented in docs/actions.md and by example in default.toml beside this module.
Every problem is reported with the file's line and what would have been valid.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

from models.classes import CLASS_NAMES, NO_GESTURE

BASE_MODE = "normal"  # the mode a map starts in; its gestures are the [gestures] table

# Key names a map may use, besides single characters ("a", "7", "/"); pynput's Key names.
SPECIAL_KEYS: tuple[str, ...] = (
    "alt", "alt_l", "alt_r", "alt_gr", "ctrl", "ctrl_l", "ctrl_r", "shift", "shift_l", "shift_r",
    "cmd", "cmd_l", "cmd_r", "backspace", "caps_lock", "delete", "down", "end", "enter", "esc",
    "home", "insert", "left", "menu", "num_lock", "page_down", "page_up", "pause", "print_screen",
    "right", "scroll_lock", "space", "tab", "up", *(f"f{n}" for n in range(1, 21)),
)
KEY_ALIASES = {
    "control": "ctrl", "super": "cmd", "win": "cmd", "meta": "cmd", "option": "alt",
    "return": "enter", "escape": "esc", "del": "delete", "pgup": "page_up", "pgdn": "page_down",
    "plus": "+",  # "+" itself separates the keys of a combination
}
MEDIA_KEYS: tuple[str, ...] = ("play_pause", "volume_up", "volume_down", "mute", "next", "previous")

ACTION_TYPES: tuple[str, ...] = ("press", "hold", "media", "run", "mode")
ACTION_OPTIONS: tuple[str, ...] = ("if_held", "repeat_seconds")
NOTHING = "nothing"
TOP_LEVEL_KEYS: tuple[str, ...] = ("name", "settings", "gestures", "modes")


class ActionMapError(ValueError):
    """A map file that cannot be used; the message names the file, the line and what is valid."""


@dataclass(frozen=True)
class FiringSettings:
    threshold: float = 0.5         # a gesture counts when its probability is at or above this
    hold_frames: int = 3           # ...for this many consecutive frames (the original: more than two)
    hold_seconds: float = 0.0      # ...and for at least this long; 0 = frames alone decide
    repeat_seconds: float = 0.0    # fire again every this many seconds while held; 0 = once per change
    cooldown_seconds: float = 0.0  # after any action, wait this long before the next one


@dataclass(frozen=True)
class Action:
    kind: str                         # "press" | "hold" | "media" | "run" | "mode" | "nothing"
    keys: tuple[str, ...] = ()        # press / hold: the keys of the combination, in order
    media: str = ""                   # media: one of MEDIA_KEYS
    argv: tuple[str, ...] = ()        # run: the program and its arguments (no shell)
    mode: str = ""                    # mode: the mode to switch on (or off, when it is on)
    if_held: tuple[str, ...] = ()     # only while this map holds these keys down
    repeat_seconds: float | None = None  # overrides the map's setting for this action
    line: int = 0                     # where the file defines it, for messages

    def describe(self) -> str:
        """A short human-readable form: 'press alt+tab', 'media volume_up', 'mode volume'."""
        if self.kind in ("press", "hold"):
            text = f"{self.kind} {'+'.join(self.keys)}"
        elif self.kind == "media":
            text = f"media {self.media}"
        elif self.kind == "run":
            text = "run " + " ".join(self.argv)
        elif self.kind == "mode":
            text = f"mode {self.mode}"
        else:
            text = NOTHING
        if self.if_held:
            text += f" (while {'+'.join(self.if_held)} is held)"
        return text

    @property
    def toggles(self) -> bool:
        """Hold and mode actions switch something on or off, so they never repeat while held."""
        return self.kind in ("hold", "mode")


@dataclass(frozen=True)
class ActionMap:
    name: str
    settings: FiringSettings
    gestures: dict[str, Action]                 # the base mode
    modes: dict[str, dict[str, Action]] = field(default_factory=dict)  # mode -> gestures it changes
    classes: tuple[str, ...] = CLASS_NAMES
    path: Path | None = None

    def action_for(self, gesture: str, mode: str = BASE_MODE) -> Action | None:
        """What `gesture` does in `mode`: the mode's own action, else the base mode's; None: nothing."""
        action = self.modes.get(mode, {}).get(gesture) or self.gestures.get(gesture)
        return None if action is None or action.kind == NOTHING else action

    @property
    def mode_names(self) -> tuple[str, ...]:
        return (BASE_MODE, *self.modes)


def default_map_path() -> Path:
    """The shipped map: the original application's gestures."""
    return Path(str(resources.files(__package__).joinpath("default.toml")))


def load_action_map(path: str | Path | None = None, classes=CLASS_NAMES) -> ActionMap:
    """Read and check a map file (the default map when `path` is None); raises ActionMapError."""
    path = default_map_path() if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ActionMapError(f"No action map at {path}; give a .toml file (see docs/actions.md) or leave --actions out for the default map.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ActionMapError(f"Cannot read the action map {path}: {exc}") from None
    return parse_action_map(text, source=str(path), classes=classes, path=path)


def parse_action_map(text: str, source: str = "<action map>", classes=CLASS_NAMES, path: Path | None = None) -> ActionMap:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message already says "(at line N, column M)"
        raise ActionMapError(f"{source}: not valid TOML: {exc}") from None
    return _Checker(text, source, tuple(classes)).check(data, path)


def _did_you_mean(word: str, valid) -> str:
    close = difflib.get_close_matches(str(word), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# A bare or quoted TOML key, and a dotted run of them.
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')"""
_HEADER_RE = re.compile(rf"^\s*\[\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*\]")
_KEY_RE = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")
_INLINE_KEY_RE = re.compile(rf"[{{,]\s*({_KEY_PART})\s*=")


def _split_dotted(text: str) -> tuple[str, ...]:
    return tuple(part.strip("\"'") for part in re.findall(_KEY_PART, text))


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Where each table and key is defined: (table, ..., key) -> 1-based line number.

    tomllib keeps no positions, so this light pass over the text finds them for error messages;
    the text has already parsed, so it only needs to recognise headers and `key =` lines.
    Keys inside an inline table on one line (`cool = { press = "tab" }`) are indexed too.
    """
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count('"""') % 2 or line.count("'''") % 2:
            in_multiline = not in_multiline
            continue
        if in_multiline:
            continue
        header = _HEADER_RE.match(line)
        if header and not line.lstrip().startswith("[["):
            table = _split_dotted(header.group(1))
            lines.setdefault(table, number)
            continue
        key = _KEY_RE.match(line)
        if key:
            path = table + _split_dotted(key.group(1))
            lines.setdefault(path, number)
            rest = line[key.end():]
            for inner in _INLINE_KEY_RE.finditer(rest):
                lines.setdefault(path + _split_dotted(inner.group(1)), number)
    return lines


class _Checker:
    """Turns parsed TOML into an ActionMap, raising ActionMapError at the first problem."""

    def __init__(self, text: str, source: str, classes: tuple[str, ...]):
        self.lines = key_lines(text)
        self.source = source
        self.classes = classes

    def fail(self, where: tuple[str, ...], problem: str):
        # The most specific place the text pass found: the key itself, else its table.
        for end in range(len(where), 0, -1):
            if where[:end] in self.lines:
                raise ActionMapError(f"{self.source}, line {self.lines[where[:end]]}: {problem}")
        raise ActionMapError(f"{self.source}: {problem}")

    def check(self, data: dict, path: Path | None) -> ActionMap:
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self.fail((key,), f"unknown key '{key}'; a map has {', '.join(TOP_LEVEL_KEYS)}.{_did_you_mean(key, TOP_LEVEL_KEYS)}")
        name = data.get("name", path.stem if path else "actions")
        if not isinstance(name, str):
            self.fail(("name",), f"name must be a string, e.g. name = \"my map\", not {name!r}")
        settings = self.settings(data.get("settings", {}))
        modes_data = data.get("modes", {})
        if not isinstance(modes_data, dict):
            self.fail(("modes",), "modes must be tables, e.g. [modes.volume]")
        for mode in modes_data:
            if mode == BASE_MODE:
                self.fail(("modes", mode), f"'{BASE_MODE}' is the base mode: its gestures go in [gestures]")
            if not re.fullmatch(r"[A-Za-z0-9_-]+", mode):
                self.fail(("modes", mode), f"mode name '{mode}' should be letters, digits, '_' or '-'")
        self.mode_names = (BASE_MODE, *modes_data)
        gestures = self.gesture_table(data.get("gestures", {}), ("gestures",))
        modes = {mode: self.gesture_table(table, ("modes", mode)) for mode, table in modes_data.items()}
        self.check_if_held(gestures, modes)
        return ActionMap(name, settings, gestures, modes, self.classes, path)

    def settings(self, table) -> FiringSettings:
        if not isinstance(table, dict):
            self.fail(("settings",), "settings must be a table: [settings]")
        valid = [f.name for f in fields(FiringSettings)]
        values = {}
        for key, value in table.items():
            where = ("settings", key)
            if key not in valid:
                self.fail(where, f"unknown setting '{key}'; valid settings are {', '.join(valid)}.{_did_you_mean(key, valid)}")
            if key == "hold_frames":
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    self.fail(where, f"hold_frames must be a whole number of frames, at least 1, not {value!r}")
            elif not _is_number(value) or value < 0:
                self.fail(where, f"{key} must be a number, at least 0, not {value!r}")
            elif key == "threshold" and value > 1:
                self.fail(where, f"threshold is a probability between 0 and 1, not {value!r}")
            values[key] = value
        return FiringSettings(**values)

    def gesture_table(self, table, where: tuple[str, ...]) -> dict[str, Action]:
        if not isinstance(table, dict):
            self.fail(where, f"[{'.'.join(where)}] must be a table of gesture = action")
        actions = {}
        for gesture, value in table.items():
            if gesture == NO_GESTURE:
                self.fail(where + (gesture,), f"'{NO_GESTURE}' (no gesture) never fires, so it cannot have an action; the gestures are {', '.join(self.classes)}")
            if gesture not in self.classes:
                self.fail(where + (gesture,), f"unknown gesture '{gesture}'; the gestures are {', '.join(self.classes)}.{_did_you_mean(gesture, self.classes)}")
            actions[gesture] = self.action(value, where + (gesture,))
        return actions

    def action(self, value, where: tuple[str, ...]) -> Action:
        line = self.lines.get(where, 0)
        example = 'e.g. { press = "alt+tab" }, { hold = "alt" }, { media = "play_pause" }, { run = ["notify-send", "hi"] }, { mode = "volume" } or "nothing"'
        if value == NOTHING:
            return Action(NOTHING, line=line)
        if not isinstance(value, dict):
            hint = _did_you_mean(value, [NOTHING]) if isinstance(value, str) else ""
            self.fail(where, f"'{where[-1]}' needs an action, {example}; not {value!r}.{hint}")
        kinds = [key for key in value if key in ACTION_TYPES]
        for key in value:
            if key not in ACTION_TYPES and key not in ACTION_OPTIONS:
                valid = ACTION_TYPES + ACTION_OPTIONS
                self.fail(where + (key,), f"unknown action '{key}' for '{where[-1]}'; valid actions are {', '.join(ACTION_TYPES)} (options: {', '.join(ACTION_OPTIONS)}).{_did_you_mean(key, valid)}")
        if len(kinds) != 1:
            self.fail(where, f"'{where[-1]}' needs exactly one action ({', '.join(ACTION_TYPES)}), found {len(kinds)}; {example}")
        kind = kinds[0]
        spec = value[kind]
        options = {"line": line}
        if "if_held" in value:
            options["if_held"] = self.keys(value["if_held"], where + ("if_held",))
        if "repeat_seconds" in value:
            repeat = value["repeat_seconds"]
            if not _is_number(repeat) or repeat < 0:
                self.fail(where + ("repeat_seconds",), f"repeat_seconds must be a number, at least 0, not {repeat!r}")
            options["repeat_seconds"] = float(repeat)
        if kind in ("press", "hold"):
            return Action(kind, keys=self.keys(spec, where + (kind,)), **options)
        if kind == "media":
            if spec not in MEDIA_KEYS:
                self.fail(where + (kind,), f"unknown media key {spec!r}; valid media keys are {', '.join(MEDIA_KEYS)}.{_did_you_mean(spec, MEDIA_KEYS)}")
            return Action(kind, media=spec, **options)
        if kind == "run":
            if isinstance(spec, str):
                self.fail(where + (kind,), f"give the command as a list of arguments, e.g. run = {spec.split()!r}; it runs without a shell")
            if not isinstance(spec, list) or not spec or not all(isinstance(arg, str) for arg in spec):
                self.fail(where + (kind,), f"run needs a non-empty list of strings (program, then arguments), not {spec!r}")
            return Action(kind, argv=tuple(spec), **options)
        # kind == "mode"
        if spec not in self.mode_names:
            self.fail(where + (kind,), f"unknown mode {spec!r}; the modes are {', '.join(self.mode_names)} (add a [modes.{spec}] table to define it).{_did_you_mean(spec, self.mode_names)}")
        return Action(kind, mode=spec, **options)

    def keys(self, spec, where: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(spec, str) or not spec.strip():
            self.fail(where, f"keys are a string like \"tab\" or \"ctrl+shift+t\", not {spec!r}")
        keys = []
        for part in spec.split("+"):
            name = part.strip()
            if not name:
                self.fail(where, f"empty key in {spec!r}; join keys with '+' and write the plus key as 'plus', e.g. \"ctrl+plus\"")
            keys.append(self.key(name, spec, where))
        return tuple(keys)

    def key(self, name: str, spec: str, where: tuple[str, ...]) -> str:
        if len(name) == 1 and name.isprintable():
            return name.lower()
        lowered = name.lower()
        lowered = KEY_ALIASES.get(lowered, lowered)
        if lowered in SPECIAL_KEYS or len(lowered) == 1:
            return lowered
        if lowered in MEDIA_KEYS or lowered.startswith("media_"):
            self.fail(where, f"'{name}' is a media key; use {{ media = \"{lowered.removeprefix('media_')}\" }} instead")
        valid = SPECIAL_KEYS + tuple(KEY_ALIASES)
        self.fail(where, f"unknown key '{name}' in {spec!r}; valid keys are single characters and {', '.join(SPECIAL_KEYS[:34])}, f1..f20 (see docs/actions.md).{_did_you_mean(lowered, valid)}")

    def check_if_held(self, gestures: dict[str, Action], modes: dict[str, dict[str, Action]]):
        # if_held is only ever true for keys some gesture holds: catch the typo that would make an action dead.
        tables = {("gestures",): gestures, **{("modes", mode): table for mode, table in modes.items()}}
        holdable = {key for table in tables.values() for action in table.values() if action.kind == "hold" for key in action.keys}
        for where, table in tables.items():
            for gesture, action in table.items():
                missing = [key for key in action.if_held if key not in holdable]
                if missing:
                    self.fail(where + (gesture, "if_held"), f"no gesture in this map holds '{'+'.join(missing)}', so '{gesture}' would never fire; add a {{ hold = \"{missing[0]}\" }} action or drop if_held")
