"""gesture-app --headless with actions, and end to end under a virtual X server: keys another window receives.

The xvfb test starts Xvfb, opens a small Qt window (its own process) that writes down every key event it gets,
runs `gesture-app --headless --actions <default map> --arm` on a video made of the test photos,
and checks the window received Alt, Tab, Tab, Alt-up and Play/Pause: the original's
stop, cool, cool, stop (Alt+Tab+Tab) and yo. The classifier is a deterministic nearest-photo
matcher, so the test checks the actions, not a model's accuracy.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import models.device
from gesture_app import cli
from gesture_app.core import classifier as classifier_module
from gesture_app.actions import default_map_path
from gesture_app.core.roi import DEFAULT_ROI
from gesture_app.core.sources import DEMO_FRAME_SIZE, compose_demo_frame
from models.bundle import HeadProbs
from models.classes import CLASS_NAMES
from models.images import read_image_bgr

XVFB = shutil.which("Xvfb")
WAIT_S = 30.0

# A window that writes "ready", then "down Key_Alt" / "up Key_Alt"... for each key event it receives.
KEY_WINDOW = r'''
import sys
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel

out = open(sys.argv[1], "w", buffering=1)

class KeyWindow(QLabel):
    def event(self, event):
        # Before QWidget's own handling, which would take Tab for focus changes.
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            kind = "down" if event.type() == QEvent.Type.KeyPress else "up"
            out.write(f"{kind} {Qt.Key(event.key()).name}\n")
            return True
        return super().event(event)

app = QApplication(sys.argv[:1])
window = KeyWindow("key events land here")
window.resize(320, 200)
window.show()

def take_focus():
    window.activateWindow()  # no window manager: Qt sets the X input focus itself
    if window.isActiveWindow():
        out.write("ready\n")
    else:
        QTimer.singleShot(100, take_focus)

QTimer.singleShot(200, take_focus)
app.exec()
'''


@pytest.fixture
def x_display():
    if XVFB is None:
        pytest.skip("no Xvfb binary: install it (apt-get install xvfb xauth) to run the end-to-end key test")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [XVFB, "-displayfd", str(write_end), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    os.close(write_end)
    with os.fdopen(read_end) as announced:
        number = announced.readline().strip()  # Xvfb writes the display it chose once it accepts clients
    if not number:
        server.kill()
        pytest.fail(f"Xvfb did not start: {server.stderr.read().decode(errors='replace')[-2000:]}")
    try:
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def key_window(x_display, tmp_path):
    """Start the recording window; returns a function giving the key events it has seen so far."""
    script = tmp_path / "key_window.py"
    script.write_text(KEY_WINDOW)
    events_path = tmp_path / "keys.txt"
    env = dict(os.environ, DISPLAY=x_display, QT_QPA_PLATFORM="xcb")
    window = subprocess.Popen([sys.executable, str(script), str(events_path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def lines() -> list[str]:
        return events_path.read_text().splitlines() if events_path.exists() else []

    deadline = time.monotonic() + WAIT_S
    while "ready" not in lines():
        if window.poll() is not None or time.monotonic() > deadline:
            window.kill()
            pytest.fail(f"the key window did not start under Xvfb: {window.stderr.read().decode(errors='replace')[-2000:]}")
        time.sleep(0.1)
    try:
        yield lambda: [line for line in lines() if line != "ready"]
    finally:
        window.terminate()
        window.wait(timeout=10)


class NearestPhotoClassifier:
    """Deterministic stand-in for a model: the class of the nearest known photo; an empty box is no gesture."""

    input_style = "colour"
    name = "nearest photo (test)"
    runtime = "test"

    def __init__(self, photos_bgr: dict[str, np.ndarray]):
        self.classes = CLASS_NAMES
        self.templates = {label: self.preprocess(DEFAULT_ROI.crop(compose_demo_frame(photo))) for label, photo in photos_bgr.items()}

    def preprocess(self, crop_bgr):
        return cv2.resize(crop_bgr, (24, 24), interpolation=cv2.INTER_AREA).astype(np.float32)

    def infer(self, model_input):
        label = min(self.templates, key=lambda name: float(np.abs(self.templates[name] - model_input).mean()))
        if label == "empty":
            return np.full(len(self.classes), 1 / len(self.classes), np.float32)
        probs = np.full(len(self.classes), 0.02, np.float32)
        probs[self.classes.index(label)] = 0.92
        return probs

    def classify(self, crop_bgr, hand=None):
        probs = self.infer(self.preprocess(crop_bgr))
        return HeadProbs(cnn=probs, landmarks=None, fused=probs, timings_ms={})


def gesture_video(path: Path, photos_bgr: dict[str, np.ndarray], script: list[tuple[str, int]], fps: float = 10.0) -> Path:
    """An MJPG video: each (gesture, frames) of `script` with its photo in the app's box."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, DEMO_FRAME_SIZE)
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for label, frames in script:
        frame_bgr = compose_demo_frame(photos_bgr[label])
        for _ in range(frames):
            writer.write(frame_bgr)
    writer.release()
    return path


# The original's Alt+Tab+Tab (stop, cool, cool, stop) and a play/pause (yo), each held a second.
SCRIPT = [("empty", 5), ("stop", 10), ("empty", 10), ("cool", 10), ("empty", 10), ("cool", 10),
          ("empty", 10), ("stop", 10), ("empty", 10), ("yo", 10), ("empty", 10)]
FIRED = ["stop: hold alt", "cool: press tab", "cool: press tab", "stop: release alt", "yo: media play_pause"]


@pytest.fixture
def gestures_app(hand_crops, tmp_path, monkeypatch):
    """A video of SCRIPT, and gesture-app's model loader patched to the nearest-photo classifier."""
    photos_bgr = {label: read_image_bgr(sorted((hand_crops / label).glob("*.jpg"))[0]) for label in ("stop", "cool", "yo")}
    photos_bgr["empty"] = np.full((64, 64, 3), 200, np.uint8)  # a hand-free box
    fake = NearestPhotoClassifier(photos_bgr)
    monkeypatch.setattr(classifier_module.BundleClassifier, "load", classmethod(lambda cls, *args, **kwargs: fake))
    monkeypatch.setattr(models.device, "select_device", lambda choice="auto": "CPU (test)")
    return gesture_video(tmp_path / "gestures.avi", photos_bgr, SCRIPT)


def run_headless(video: Path, tmp_path: Path, *flags: str) -> tuple[int, list[str]]:
    """Run gesture-app --headless on the video; the exit code and the CSV's non-empty action cells."""
    csv_path = tmp_path / "frames.csv"
    # --locate off: the stand-in classifier knows the photos as the box shows them; the box's
    # "no hand" (the hand model's presence) still comes from the real localiser.
    code = cli.main(["--headless", "--source", str(video), "--model", str(tmp_path), "--output-csv", str(csv_path),
                     "--locate", "off", *flags])
    if not csv_path.exists():
        return code, []
    with open(csv_path, newline="") as rows:
        return code, [row["action"] for row in csv.DictReader(rows) if row.get("action")]


def test_headless_actions_unarmed_go_to_the_csv_and_log_and_need_no_desktop(gestures_app, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pynput", None)  # no desktop here, and none needed
    code, fired = run_headless(gestures_app, tmp_path, "--actions", str(default_map_path()))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert fired == FIRED
    assert "nothing is sent (add --arm to send them)" in captured.err
    assert "5 action(s) fired" in captured.out


def test_headless_without_actions_keeps_its_csv(gestures_app, tmp_path):
    code, _ = run_headless(gestures_app, tmp_path)
    assert code == 0
    assert "action" not in (tmp_path / "frames.csv").read_text().splitlines()[0]


def test_headless_bad_map_is_one_line_naming_the_line(gestures_app, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[gestures]\nyo = { media = "play_pause" }\ncool = { pres = "tab" }\n')
    code, _ = run_headless(gestures_app, tmp_path, "--actions", str(bad), "--dry-run")
    error = capsys.readouterr().err
    assert code == 1 and error.count("\n") == 1
    assert "bad.toml, line 3: unknown action 'pres' for 'cool'" in error and "Did you mean 'press'?" in error


def test_headless_armed_without_a_desktop_says_use_dry_run(gestures_app, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pynput", None)
    code, _ = run_headless(gestures_app, tmp_path, "--arm")
    assert code == 1 and "--dry-run" in capsys.readouterr().err


@pytest.mark.xvfb
def test_gestures_in_a_video_press_keys_in_another_window(key_window, x_display, gestures_app, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", x_display)
    code, fired = run_headless(gestures_app, tmp_path, "--arm", "--actions", str(default_map_path()))
    assert code == 0, capsys.readouterr()
    assert fired == FIRED
    expected = ["down Key_Alt", "down Key_Tab", "up Key_Tab", "down Key_Tab", "up Key_Tab", "up Key_Alt", "down Key_MediaPlay", "up Key_MediaPlay"]
    deadline = time.monotonic() + WAIT_S
    while key_window() != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert key_window() == expected

