"""Gesture actions: the map file, the firing rules on scripted predictions, and the senders (no Qt, no display)."""

from __future__ import annotations

import gc
import logging
import sys

import numpy as np
import pytest

from gesture_app.actions import (
    ActionEngine, ActionMapError, ActionsUnavailable, DryRunSender, KeySender, PynputSender, RecordingSender,
    load_action_map, parse_action_map,
)
from gesture_app.actions import engine as engine_module
from gesture_app.core.prediction import make_prediction, unclassified
from models.classes import CLASS_NAMES


class FakeClock:
    """A clock the test moves: one frame = `step` seconds."""

    def __init__(self, step: float = 1 / 30):
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        return self.now


def pred(label: str, confidence: float = 0.9):
    """A classified prediction whose top class is `label` (or an unclassified frame for "none")."""
    if label == "none":
        return unclassified("no hand")
    probs = np.full(len(CLASS_NAMES), (1 - confidence) / (len(CLASS_NAMES) - 1), np.float32)
    probs[CLASS_NAMES.index(label)] = confidence
    return make_prediction(probs)


def feed(engine: ActionEngine, clock: FakeClock, script: str, confidence: float = 0.9) -> list[str]:
    """Feed 'yo*3 none*2 cool' style scripts, one prediction per frame; returns what fired, as text."""
    fired = []
    for item in script.split():
        label, _, count = item.partition("*")
        for _ in range(int(count or 1)):
            clock.now += clock.step
            fired += [str(action) for action in engine.update(pred(label, confidence))]
    return fired


def make_engine(toml: str | None = None, armed: bool = True, step: float = 1 / 30):
    action_map = load_action_map() if toml is None else parse_action_map(toml)
    clock = FakeClock(step)
    sender = RecordingSender()
    return ActionEngine(action_map, sender, armed=armed, clock=clock), sender, clock


MEDIA_MAP = """
[settings]
hold_frames = 3
[gestures]
yo = { media = "play_pause" }
stop = { media = "volume_down" }
"""


# -- the original application's behaviour, from the default map ---------------------------------
def test_default_map_stop_cool_cool_stop_is_alt_tab_tab():
    engine, sender, clock = make_engine()
    fired = feed(engine, clock, "stop*4 none*4 cool*4 none*4 cool*4 none*4 stop*4 none*4")
    assert fired == ["stop: hold alt", "cool: press tab", "cool: press tab", "stop: release alt"]
    assert sender.events == [("press", "alt"), ("press", "tab"), ("release", "tab"),
                             ("press", "tab"), ("release", "tab"), ("release", "alt")]
    assert engine.held_keys == ()


def test_default_map_cool_needs_alt_held_and_fist_does_nothing():
    engine, sender, clock = make_engine()
    assert feed(engine, clock, "cool*5 none*3 fist*10") == []
    assert sender.events == []


def test_default_map_volume_mode():
    engine, sender, clock = make_engine()
    fired = feed(engine, clock, "ok*3 none*3 stop*3 none*3 cool*3 none*3 yo*3 none*3 ok*3 none*3 stop*3")
    assert fired == ["ok: mode volume", "stop: media volume_down", "cool: media volume_up",
                     "yo: media play_pause", "ok: mode normal", "stop: hold alt"]
    assert engine.mode == "normal"


def test_original_threshold_and_frame_count():
    engine, sender, clock = make_engine()
    assert feed(engine, clock, "yo*2 none*3") == []            # two frames: not yet
    assert feed(engine, clock, "yo*3", confidence=0.49) == []  # under 0.5: never
    assert feed(engine, clock, "none*3 yo*3", confidence=0.5) == ["yo: media play_pause"]


# -- firing rules ---------------------------------------------------------------------------------
def test_fires_once_per_change_and_a_one_frame_flicker_is_no_change():
    engine, sender, clock = make_engine(MEDIA_MAP)
    assert feed(engine, clock, "yo*30") == ["yo: media play_pause"]
    assert feed(engine, clock, "none yo*10 stop yo*5") == []
    assert feed(engine, clock, "none*3 yo*3") == ["yo: media play_pause"]
    assert feed(engine, clock, "stop*3 yo*3") == ["stop: media volume_down", "yo: media play_pause"]


def test_debounce_in_seconds():
    engine, sender, clock = make_engine(MEDIA_MAP.replace("hold_frames = 3", "hold_frames = 1\nhold_seconds = 0.5"), step=0.1)
    fired_at = []
    for _ in range(10):
        clock.now += 0.1
        if engine.update(pred("yo")):
            fired_at.append(round(clock.now, 2))
    assert fired_at == [0.6]  # first seen at 0.1 s, held 0.5 s


def test_threshold_is_the_maps_not_the_display_label():
    # The window's label says "none" under its own threshold (0.6); the map's 0.5 still counts.
    engine, sender, clock = make_engine(MEDIA_MAP)
    assert pred("yo", 0.55).label == "none"
    assert feed(engine, clock, "yo*3", confidence=0.55) == ["yo: media play_pause"]


def test_repeat_while_held_but_toggles_never_repeat():
    toml = """
[settings]
hold_frames = 1
repeat_seconds = 0.25
[gestures]
cool = { media = "volume_up" }
stop = { hold = "shift" }
ok = { press = "a", repeat_seconds = 0 }
"""
    engine, sender, clock = make_engine(toml, step=0.05)
    assert len(feed(engine, clock, "cool*20")) == 4      # 1 s held: at 0, 0.25, 0.5, 0.75
    assert feed(engine, clock, "stop*20") == ["stop: hold shift"]
    assert feed(engine, clock, "ok*20") == ["ok: press a"]


def test_cooldown_delays_the_next_action_and_drops_it_when_let_go():
    toml = MEDIA_MAP.replace("hold_frames = 3", "hold_frames = 1\ncooldown_seconds = 1.0")
    engine, sender, clock = make_engine(toml, step=0.1)
    assert feed(engine, clock, "yo stop*3 none") == ["yo: media play_pause"]   # stop let go within the cooldown
    assert feed(engine, clock, "stop*20") == ["stop: media volume_down"]      # held past it: fires then
    assert clock.now - engine._last_fire >= 1.0


def test_no_gesture_never_fires():
    engine, sender, clock = make_engine(MEDIA_MAP)
    fired = []
    for _ in range(50):
        clock.now += 0.1
        fired += engine.update(unclassified("no hand"))
        fired += engine.update(make_prediction(np.full(5, 0.2, np.float32)))
    assert fired == [] and sender.events == []
    with pytest.raises(ActionMapError, match="never fires"):
        parse_action_map('[gestures]\nnone = { press = "a" }\n')


def test_combination_keeps_a_held_key_down():
    toml = """
[settings]
hold_frames = 1
[gestures]
stop = { hold = "alt" }
cool = { press = "alt+tab" }
ok = { press = "ctrl+shift+t" }
"""
    engine, sender, clock = make_engine(toml)
    feed(engine, clock, "ok none")
    assert sender.events == [("press", "ctrl"), ("press", "shift"), ("press", "t"),
                             ("release", "t"), ("release", "shift"), ("release", "ctrl")]
    sender.events.clear()
    feed(engine, clock, "stop none cool none")
    assert sender.events == [("press", "alt"), ("press", "tab"), ("release", "tab")]
    assert engine.held_keys == ("alt",)


def test_run_goes_through_the_sender_without_a_shell():
    engine, sender, clock = make_engine('[settings]\nhold_frames = 1\n[gestures]\nyo = { run = ["notify-send", "hello world"] }\n')
    assert feed(engine, clock, "yo") == ["yo: run notify-send hello world"]
    assert sender.events == [("run", ("notify-send", "hello world"))]


# -- arming and stuck keys ------------------------------------------------------------------------
def test_disarmed_sends_nothing_and_arming_waits_for_a_new_gesture():
    engine, sender, clock = make_engine(MEDIA_MAP, armed=False)
    assert feed(engine, clock, "yo*10") == []
    engine.arm()
    assert feed(engine, clock, "yo*10") == []  # was already showing when armed
    assert feed(engine, clock, "none*3 yo*3") == ["yo: media play_pause"]
    assert sender.events == [("media", "play_pause")]


@pytest.mark.parametrize("stop", ["disarm", "reset", "close", "release_all", "mode change"])
def test_held_keys_are_released(stop):
    engine, sender, clock = make_engine()
    feed(engine, clock, "stop*3 none*3")
    assert engine.held_keys == ("alt",)
    if stop == "mode change":
        released = [str(a) for a in engine.update(pred("ok")) + engine.update(pred("ok")) + engine.update(pred("ok"))]
        assert released[0].startswith("release alt") and engine.mode == "volume"
    else:
        released = [str(a) for a in getattr(engine, stop)()]
        assert released and released[0].startswith("release alt")
    assert sender.events[-1] == ("release", "alt") and engine.held_keys == ()
    assert engine.release_all() == []  # nothing left, nothing sent twice
    assert sender.events.count(("release", "alt")) == 1


def test_held_keys_are_released_when_collected_and_at_exit():
    engine, sender, clock = make_engine()
    feed(engine, clock, "stop*3")
    engine_module._release_keys_at_exit()
    assert sender.events[-1] == ("release", "alt")
    feed(engine, clock, "none*3 stop*3")
    assert engine.held_keys == ("alt",)
    del engine
    gc.collect()
    assert sender.events[-1] == ("release", "alt")


def test_a_failing_sender_is_reported_not_raised(caplog):
    class Broken(RecordingSender):
        def media(self, name):
            raise OSError("no media keys here")

    engine = ActionEngine(parse_action_map(MEDIA_MAP), Broken(), armed=True, clock=FakeClock())
    fired = feed(engine, engine._clock, "yo*3")
    assert fired == ["yo: media play_pause (failed: OSError: no media keys here)"]


# -- senders --------------------------------------------------------------------------------------
def test_dry_run_logs_what_would_be_sent(caplog):
    sender = DryRunSender()
    engine = ActionEngine(load_action_map(), sender, armed=True, clock=FakeClock())
    with caplog.at_level(logging.INFO, logger="gesture_app.actions"):
        feed(engine, engine._clock, "stop*3 none*3 cool*3 none*3 yo*3")
        engine.close()
    assert sender.sent == ["key down alt", "key down tab", "key up tab", "media play_pause", "key up alt"]
    assert "dry run, not sent: key down alt" in caplog.text
    assert "action: stop: hold alt" in caplog.text


def test_pynput_missing_display_says_use_dry_run(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynput", None)  # what a machine without a display amounts to
    with pytest.raises(ActionsUnavailable, match="--dry-run"):
        PynputSender()


class FakeKeyboard:
    """Stands in for pynput.keyboard: a Controller that writes down what it was told, and the Key names."""

    class Key:
        alt, tab, media_play_pause, media_volume_up = "Key.alt", "Key.tab", "Key.media_play_pause", "Key.media_volume_up"

    class KeyCode:
        @staticmethod
        def from_char(char):
            return f"KeyCode({char})"

    class Controller:
        log: list = []

        def press(self, key):
            self.log.append(("press", key))

        def release(self, key):
            self.log.append(("release", key))

        def tap(self, key):
            self.log.append(("tap", key))


def test_every_sender_sends_what_the_engine_asks_for(monkeypatch):
    """The engine drives any KeySender the same way; each must turn the same calls into the same events."""
    import types

    FakeKeyboard.Controller.log = []
    monkeypatch.setitem(sys.modules, "pynput", types.SimpleNamespace(keyboard=FakeKeyboard))
    recording, dry_run, pynput = RecordingSender(), DryRunSender(), PynputSender()
    for sender in (recording, dry_run, pynput):
        engine = ActionEngine(load_action_map(), sender, armed=True, clock=FakeClock())
        feed(engine, engine._clock, "stop*3 none*3 cool*3 none*3 yo*3")  # hold alt, alt+tab, play/pause
        engine.close()  # lets go of alt
    expected = [("press", "alt"), ("press", "tab"), ("release", "tab"), ("media", "play_pause"), ("release", "alt")]
    assert recording.events == expected
    words = {"press": "key down", "release": "key up", "media": "media"}
    assert dry_run.sent == [f"{words[kind]} {key}" for kind, key in expected]
    pynput_kind = {"press": "press", "release": "release", "media": "tap"}
    pynput_key = {"alt": "Key.alt", "tab": "Key.tab", "play_pause": "Key.media_play_pause"}
    assert FakeKeyboard.Controller.log == [(pynput_kind[kind], pynput_key[key]) for kind, key in expected]


def test_a_sender_missing_part_of_the_interface_cannot_be_made():
    class NoMedia(KeySender):
        def press(self, key): ...

        def release(self, key): ...

    with pytest.raises(TypeError, match="media"):
        NoMedia()


# -- map validation -------------------------------------------------------------------------------
GOOD = """\
name = "test"
[settings]
threshold = 0.5
hold_frames = 3
[gestures]
yo = { media = "play_pause" }
ok = { mode = "volume" }
stop = { hold = "alt" }
cool = { press = "tab", if_held = "alt" }
[modes.volume]
stop = { media = "volume_down" }
"""


@pytest.mark.parametrize("old, new, line, expected", [
    ("yo = {", "yoo = {", 6, "unknown gesture 'yoo'; the gestures are cool, fist, ok, stop, yo. Did you mean 'yo'?"),
    ('press = "tab"', 'press = "tabb"', 9, "unknown key 'tabb' in 'tabb'; valid keys are single characters and alt"),
    ('press = "tab"', 'press = "alt++"', 9, "write the plus key as 'plus'"),
    ('press = "tab"', 'presss = "tab"', 9, "unknown action 'presss' for 'cool'; valid actions are press, hold, media, run, mode"),
    ('mode = "volume"', 'mode = "volum"', 7, "unknown mode 'volum'; the modes are normal, volume (add a [modes.volum] table to define it). Did you mean 'volume'?"),
    ("hold_frames = 3", "hold_frame = 3", 4, "unknown setting 'hold_frame'; valid settings are threshold, hold_frames"),
    ("hold_frames = 3", "hold_frames = 0", 4, "hold_frames must be a whole number of frames, at least 1"),
    ("threshold = 0.5", "threshold = 5", 3, "threshold is a probability between 0 and 1"),
    ('media = "volume_down"', 'media = "volume-down"', 11, "unknown media key 'volume-down'; valid media keys are play_pause"),
    ('media = "play_pause"', 'run = "notify-send hi"', 6, "give the command as a list of arguments, e.g. run = ['notify-send', 'hi']; it runs without a shell"),
    ('if_held = "alt"', 'if_held = "ctrl"', 9, "no gesture in this map holds 'ctrl', so 'cool' would never fire"),
    ("[gestures]", "[gesture]", 5, "unknown key 'gesture'; a map has name, settings, gestures, modes. Did you mean 'gestures'?"),
    ("[modes.volume]", "[modes.normal]", 10, "'normal' is the base mode"),
    ('yo = { media = "play_pause" }', 'yo = "nothin"', 6, "Did you mean 'nothing'?"),
    ('yo = { media = "play_pause" }', 'yo = { media = "play_pause", press = "a" }', 6, "needs exactly one action"),
    ('press = "tab"', 'press = "media_next"', 9, "'media_next' is a media key; use { media = \"next\" }"),
])
def test_map_errors_name_the_line_and_what_is_valid(old, new, line, expected):
    assert old in GOOD
    with pytest.raises(ActionMapError) as error:
        parse_action_map(GOOD.replace(old, new, 1), source="my.toml")
    assert str(error.value).startswith(f"my.toml, line {line}: "), str(error.value)
    assert expected in str(error.value)


def test_map_syntax_error_and_missing_file(tmp_path):
    with pytest.raises(ActionMapError, match=r"my.toml: not valid TOML: .*line 2"):
        parse_action_map('[gestures]\nyo = { media = "play_pause"\n', source="my.toml")
    with pytest.raises(ActionMapError, match="No action map at .*leave --actions out for the default map"):
        load_action_map(tmp_path / "missing.toml")


def test_good_maps_load(tmp_path):
    action_map = parse_action_map(GOOD)
    assert action_map.name == "test" and action_map.mode_names == ("normal", "volume")
    assert action_map.action_for("cool", "volume").describe() == "press tab (while alt is held)"
    assert action_map.action_for("fist") is None
    path = tmp_path / "keys.toml"
    path.write_text('[gestures]\nyo = { press = "Control+Shift+plus" }\nfist = "nothing"\n')
    action_map = load_action_map(path)
    assert action_map.name == "keys" and action_map.gestures["yo"].keys == ("ctrl", "shift", "+")
    assert action_map.settings.threshold == 0.5 and action_map.settings.hold_frames == 3


def test_map_for_a_bundle_with_other_classes():
    action_map = parse_action_map('[gestures]\nthumbs_up = { media = "next" }\n', classes=("thumbs_up", "palm"))
    assert action_map.action_for("thumbs_up").media == "next"
    with pytest.raises(ActionMapError, match="the gestures are thumbs_up, palm"):
        parse_action_map('[gestures]\nyo = { media = "next" }\n', classes=("thumbs_up", "palm"))


def test_another_map_releases_keys_and_waits_for_a_new_gesture():
    engine, sender, clock = make_engine()
    feed(engine, clock, "ok*3 none*3 stop*3")  # volume mode; stop = volume down
    engine.mode = "normal"
    feed(engine, clock, "none*3 stop*3")
    assert engine.held_keys == ("alt",)
    released = engine.set_map(parse_action_map(MEDIA_MAP))
    assert [str(a) for a in released] == ["release alt (map changed)"] and engine.mode == "normal"
    assert feed(engine, clock, "stop*5") == []
    assert feed(engine, clock, "none*3 stop*3") == ["stop: media volume_down"]


def test_arming_needs_a_sender():
    engine = ActionEngine(load_action_map(), None)
    with pytest.raises(ValueError, match="sender"):
        engine.arm()
    assert engine.update(pred("yo")) == [] and engine.release_all() == []


def test_a_key_that_fails_half_way_leaves_nothing_down():
    class FailsOnT(RecordingSender):
        def press(self, key):
            if key == "t":
                raise OSError("no such key")
            super().press(key)

    sender = FailsOnT()
    engine = ActionEngine(parse_action_map('[settings]\nhold_frames = 1\n[gestures]\nok = { press = "ctrl+shift+t" }\n'), sender, armed=True, clock=FakeClock())
    fired = feed(engine, engine._clock, "ok")
    assert fired == ["ok: press ctrl+shift+t (failed: OSError: no such key)"]
    assert sender.events == [("press", "ctrl"), ("press", "shift"), ("release", "shift"), ("release", "ctrl")]
