"""Gesture actions in the window, offscreen: arming, the indicator, modes, each action shown, and no stuck keys."""

import numpy as np
import pytest
from app_helpers import FakeClassifier, GeneratedSource

from gesture_app.actions import (
    ActionEngine,
    DryRunSender,
    RecordingSender,
    load_action_map,
)
from gesture_app.core.prediction import make_prediction
from models.classes import CLASS_NAMES


def pred(label):
    probs = np.full(len(CLASS_NAMES), 0.02, np.float32)
    probs[CLASS_NAMES.index(label)] = 0.92
    return make_prediction(probs)


def show(window, script):
    """Gestures as the inference worker would report them: 'stop*3 none*3 ...'."""
    for item in script.split():
        label, _, count = item.partition("*")
        for _ in range(int(count or 1)):
            window.prediction_received.emit(make_prediction(np.zeros(5, np.float32)) if label == "none" else pred(label))


def recording_engine(armed=False):
    sender = RecordingSender()
    return ActionEngine(load_action_map(), sender, armed=armed), sender


def test_actions_are_off_until_armed_and_the_indicator_says_so(make_window):
    engine, sender = recording_engine()
    window = make_window(engine=engine)
    bar = window.actions_bar
    assert not bar.arm_action.isChecked() and "off" in bar.indicator.text()
    show(window, "yo*5")
    assert sender.events == []
    bar.arm_action.trigger()  # as the user would, through the toggle
    assert engine.armed and "ARMED" in bar.indicator.text()
    show(window, "none*3 stop*3")
    assert sender.events == [("press", "alt")]
    assert "holding alt" in bar.indicator.text() and bar.last_label.text() == "stop: hold alt"
    bar.arm_action.trigger()
    assert sender.events[-1] == ("release", "alt") and "off" in bar.indicator.text()
    assert bar.last_label.text().startswith("release alt")


def test_mode_and_each_action_are_shown(make_window):
    engine, sender = recording_engine(armed=True)
    window = make_window(engine=engine)
    bar = window.actions_bar
    assert bar.arm_action.isChecked() and "mode: normal" in bar.mode_label.text()
    fired = []
    bar.action_fired.connect(fired.append)
    show(window, "ok*3 none*3 cool*3")
    assert "mode: volume" in bar.mode_label.text()
    assert fired == ["ok: mode volume", "cool: media volume_up"]
    assert bar.last_label.text() == "cool: media volume_up" and "mode volume" in bar.last_label.toolTip()


@pytest.mark.parametrize("how", ["pause", "new source", "close"])
def test_held_keys_are_released_when_the_video_stops(make_window, how):
    engine, sender = recording_engine(armed=True)
    window = make_window(GeneratedSource(fps=30), engine=engine)
    show(window, "stop*3")
    assert engine.held_keys == ("alt",)
    if how == "pause":
        window.pause_action.trigger()
    elif how == "new source":
        window.set_source(GeneratedSource(fps=30))
    else:
        window.close()
    assert sender.events[-1] == ("release", "alt") and engine.held_keys == ()


def test_a_bad_map_is_refused_with_its_line_and_the_old_one_kept(make_window, tmp_path):
    engine, sender = recording_engine()
    window = make_window(engine=engine)
    bad = tmp_path / "bad.toml"
    bad.write_text('[gestures]\nyo = { media = "play_pause" }\ncool = { press = "tabb" }\n')
    assert not window.actions_bar.open_map(bad)
    box = window.actions_bar.map_error_box
    assert "bad.toml, line 3: unknown key 'tabb'" in box.text() and "Did you mean 'tab'?" in box.text()
    assert "Still using original" in box.text() and engine.map.name == "original"
    box.close()
    good = tmp_path / "media.toml"
    good.write_text('[gestures]\nyo = { media = "next" }\n')
    assert window.actions_bar.open_map(good)
    assert engine.map.name == "media" and "media" in window.actions_bar.map_label.text()


def test_dry_run_is_shown_as_such(make_window):
    engine = ActionEngine(load_action_map(), DryRunSender(), armed=True)
    window = make_window(engine=engine)
    assert "DRY RUN" in window.actions_bar.indicator.text()
    show(window, "yo*3")
    assert window.actions_bar.last_label.text() == "dry run: yo: media play_pause"
    assert engine.sender.sent == ["media play_pause"]


def test_arming_without_a_desktop_says_use_dry_run(make_window, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pynput", None)  # no display, as on a server
    window = make_window()  # the default map, disarmed, no sender yet
    window.actions_bar.arm_action.trigger()
    assert not window.actions_bar.armed and not window.actions_bar.arm_action.isChecked()
    assert "--dry-run" in window.banner_text


def test_a_window_without_actions_given_gets_the_default_map_disarmed(make_window):
    window = make_window(GeneratedSource(fps=30), classifier=FakeClassifier([0.02, 0.02, 0.02, 0.92, 0.02]))
    assert window.actions_bar.engine.map.name == "original" and not window.actions_bar.armed
    assert window.actions_bar.engine.sender is None  # nothing touches the desktop until armed
