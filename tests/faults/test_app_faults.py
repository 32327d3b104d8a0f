"""gesture-app and the capture tool's sources under faults (issue #16): unreadable folders, images too big
to decode, Ctrl+C in headless runs, malformed action maps. One line and a meaningful exit code, never a traceback."""

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app_helpers import FakeClassifier, GeneratedSource
from faults.test_capture_faults import ctrl_c_enabled
from gesture_app import capture_cli, cli
from gesture_app.core import sources
from gesture_app.core.classifier import BundleClassifier

ROOT = Path(__file__).resolve().parents[2]


class QuickClassifier(FakeClassifier):
    runtime = "fake"


@pytest.fixture
def fake_model(monkeypatch, tmp_path):
    """gesture-app loads a FakeClassifier instead of a bundle (no TensorFlow); returns the --model to pass."""
    monkeypatch.setattr(BundleClassifier, "load", classmethod(lambda cls, path, **kwargs: QuickClassifier([0.1, 0.1, 0.6, 0.1, 0.1])))
    monkeypatch.setattr("models.device.select_device", lambda device: "cpu")
    return tmp_path


def app_headless(model, source, out_csv, *extra):
    return cli.main(["--headless", "--source", str(source), "--model", str(model), "--device", "cpu",
                     "--output-csv", str(out_csv), *map(str, extra)])


@pytest.fixture
def unreadable_folder(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"not a jpeg")
    (folder / "b.png").write_bytes(b"\x89PNG cut short")
    return folder


@pytest.fixture
def mixed_folder(tmp_path, hand_crops, monkeypatch):
    """Two good photos, one the reader refuses, and one above Pillow's decompression-bomb limit."""
    from PIL import Image

    folder = tmp_path / "mixed"
    folder.mkdir()
    photos = sorted((hand_crops / "ok").glob("*.jpg"))
    shutil.copy(photos[0], folder / "1-good.jpg")
    shutil.copy(photos[1], folder / "4-good.jpg")
    shutil.copy(photos[2], folder / "2-refused.jpg")
    Image.new("L", (400, 400), 128).save(folder / "3-too-big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 400 * 400 // 3)  # 400x400 is now above twice the limit: a "bomb"
    real_reader = sources.read_image_bgr

    def reader(path):
        if Path(path).name == "2-refused.jpg":
            raise sources.UnreadableImageError(path, "refused (test)")
        return real_reader(path)

    monkeypatch.setattr(sources, "read_image_bgr", reader)
    return folder


# -- a folder where nothing can be read is an error, not "0 frames" --------------------------------


def test_app_on_a_folder_of_unreadable_images_exits_1_naming_it(fake_model, unreadable_folder, tmp_path, capsys):
    assert app_headless(fake_model, unreadable_folder, tmp_path / "f.csv") == 1
    captured = capsys.readouterr()
    assert "None of the 2 images" in captured.out and str(unreadable_folder) in captured.out  # in the summary line
    assert "Traceback" not in captured.err


def test_capture_on_a_folder_of_unreadable_images_exits_1_naming_it(unreadable_folder, tmp_path, capsys):
    argv = ["--headless", "--locate", "off", "--source", str(unreadable_folder), "--out", str(tmp_path / "d"), "--class", "ok", "--count", "3"]
    assert capture_cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "None of the 2 images" in err and str(unreadable_folder) in err


# -- an unreadable or too-big image is skipped, named and counted; the rest still play ------------


def test_app_skips_unreadable_and_too_big_images(fake_model, mixed_folder, tmp_path, capsys, caplog):
    out_csv = tmp_path / "f.csv"
    assert app_headless(fake_model, mixed_folder, out_csv) == 0
    assert len(list(csv.DictReader(out_csv.open()))) == 2  # both good photos, the one after the bad ones too
    out = capsys.readouterr().out
    assert "2 frames" in out and "2 unreadable image(s) skipped" in out
    logged = caplog.text
    assert "2-refused.jpg" in logged and "3-too-big.png" in logged


def test_capture_skips_unreadable_and_too_big_images(mixed_folder, tmp_path, capsys, caplog):
    out = tmp_path / "d"
    argv = ["--headless", "--locate", "off", "--source", str(mixed_folder), "--out", str(out), "--class", "ok", "--count", "2"]
    assert capture_cli.main(argv) == 0
    assert len(list((out / "ok").iterdir())) == 2
    assert "2 unreadable images skipped" in capsys.readouterr().out
    assert "3-too-big.png" in caplog.text


# -- Ctrl+C in a headless run still prints its summary, and exits 130 ------------------------------


class InterruptedSource(GeneratedSource):
    """Delivers `frames` frames, then the user presses Ctrl+C."""

    def read(self):
        if self.frames_read >= self.frames:
            raise KeyboardInterrupt
        return super().read()


def test_ctrl_c_in_a_headless_app_run_prints_the_summary(fake_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "open_source", lambda spec, loop=False: InterruptedSource(frames=5))
    out_csv = tmp_path / "f.csv"
    assert app_headless(fake_model, "generated", out_csv) == 130
    out = capsys.readouterr().out
    assert "gesture-app: 5 frames in" in out and "Ctrl+C" in out
    assert len(list(csv.DictReader(out_csv.open()))) == 5  # every row written before the interrupt is kept


def test_ctrl_c_in_a_headless_capture_prints_the_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sources, "open_source", lambda spec, loop=False: InterruptedSource(frames=4))
    argv = ["--headless", "--locate", "off", "--source", "generated", "--out", str(tmp_path), "--class", "ok", "--count", "100"]
    assert capture_cli.main(argv) == 130
    out = capsys.readouterr().out
    assert "saved 4 images of 'ok'" in out and "Ctrl+C" in out


@pytest.mark.slow
def test_sigint_to_a_real_headless_app_run_prints_the_summary(tmp_path):
    out_csv = tmp_path / "f.csv"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "gesture_app.cli", "--headless", "--source", "demo", "--loop", "--max-frames", "1000000",
         "--device", "cpu", "--output-csv", str(out_csv)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_enabled,
    )
    try:
        # The CSV's first bytes reach the disk when its buffer first fills, a hundred-odd frames
        # in: the run is then in its frame loop (TensorFlow's start-up can take a minute on a busy machine).
        deadline = time.monotonic() + 240
        while not (out_csv.exists() and out_csv.stat().st_size > 0):
            assert process.poll() is None and time.monotonic() < deadline, "the run never reached its frame loop"
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=180)  # TensorFlow's shutdown alone takes seconds
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "gesture-app:" in stdout and "frames in" in stdout and "Ctrl+C" in stdout


# -- malformed action maps: one line naming the problem (these already held) -----------------------


@pytest.mark.parametrize(
    "content, words",
    [
        (b"[gestures\nok = 'space'", "not valid TOML"),
        (b"\xff\xfe\x00binary", "action map"),
        (b"[[nonsense]]\nkey = 1\n", "unknown key"),
        (None, "No action map"),
        ("dir", "action map"),
    ],
)
def test_malformed_action_maps_are_one_line(tmp_path, capsys, content, words):
    path = tmp_path / "map.toml"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    assert cli.main(["--actions", str(path), "--source", "demo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gesture-app: ") and words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
