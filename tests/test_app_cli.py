"""`gesture-app` from the command line: headless CSV runs, screenshots, and errors without tracebacks."""

import csv

import cv2
import pytest

from app_helpers import write_video
from gesture_app.cli import main
from models import CLASS_NAMES


def test_headless_cli_writes_csv_video_and_a_summary(tmp_path, tiny_bundle, capsys):
    video = write_video(tmp_path / "clip.avi", frames=6, fps=6)
    out_csv, out_video = tmp_path / "frames.csv", tmp_path / "annotated.mp4"
    code = main([
        "--headless", "--source", str(video), "--model", str(tiny_bundle), "--device", "cpu",
        "--output-csv", str(out_csv), "--output-video", str(out_video), "--threshold", "0.99",
    ])
    assert code == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 6
    assert {r["label"] for r in rows} <= set(CLASS_NAMES) | {"none"}
    assert all(f"p_{c}" in rows[0] for c in CLASS_NAMES)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("gesture-app: 6 frames in") and "fps" in out[0] and "labels:" in out[0]
    assert out_video.stat().st_size > 0


def test_headless_max_frames_with_a_looping_demo(tmp_path, tiny_bundle, capsys):
    out_csv = tmp_path / "frames.csv"
    code = main(["--headless", "--source", "demo", "--loop", "--max-frames", "4", "--model", str(tiny_bundle), "--output-csv", str(out_csv)])
    assert code == 0 and len(out_csv.read_text().splitlines()) == 1 + 4


def test_bad_model_is_one_line_not_a_traceback(tmp_path, capsys):
    folder = tmp_path / "not-a-bundle"
    folder.mkdir()
    video = write_video(tmp_path / "clip.avi", frames=2)
    code = main(["--headless", "--source", str(video), "--model", str(folder), "--output-csv", str(tmp_path / "f.csv"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1 and "bundle.json is missing" in err and "Traceback" not in err


def test_tflite_runtime_without_an_export_says_how_to_make_one(tmp_path, tiny_bundle, capsys):
    video = write_video(tmp_path / "clip.avi", frames=2)
    code = main(["--headless", "--source", str(video), "--model", str(tiny_bundle), "--runtime", "tflite", "--output-csv", str(tmp_path / "f.csv")])
    err = capsys.readouterr().err
    assert code == 1 and "gesture-train export" in err and "Traceback" not in err


def test_bad_source_is_one_line_not_a_traceback(tmp_path, tiny_bundle, capsys):
    code = main(["--headless", "--source", str(tmp_path / "nope.mp4"), "--model", str(tiny_bundle), "--output-csv", str(tmp_path / "f.csv")])
    err = capsys.readouterr().err
    assert code == 1 and "No such source" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, complaint",
    [
        (["--headless", "--source", "demo"], "--output-csv"),
        (["--headless", "--output-csv", "x.csv"], "--source"),
        (["--headless", "--source", "demo", "--loop", "--output-csv", "x.csv"], "--max-frames"),
        (["--output-csv", "x.csv"], "--headless"),
        (["--threshold", "1.5"], "between 0 and 1"),
        (["--smoothing", "0"], "at least 1"),
    ],
)
def test_flag_mistakes_say_what_would_be_valid(argv, complaint, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and complaint in capsys.readouterr().err


@pytest.fixture
def no_default_model(monkeypatch):
    """Behave as an install without the bundled model, whether or not this checkout has one."""
    from gesture_app import cli

    monkeypatch.setattr(cli, "default_bundle_path", lambda: None)


def test_screenshot_of_the_real_window_without_a_model(qtbot, tmp_path, capsys, no_default_model):
    shot = tmp_path / "docs" / "app.png"
    video = write_video(tmp_path / "clip.avi", frames=40, fps=40, size=(320, 240))
    code = main(["--source", str(video), "--screenshot", str(shot), "--quit-after-frames", "5", "--save-dir", str(tmp_path)])
    assert code == 0
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 300
    assert "saved" in capsys.readouterr().out


def test_no_source_falls_back_to_the_demo_and_says_why(qtbot, tmp_path, monkeypatch, no_default_model):
    from gesture_app import cli

    seen = {}
    original = cli._open_window_source

    def spy(args):
        source, banner = original(args)
        seen.update(name=source.name, banner=banner)
        return source, banner

    monkeypatch.setattr(cli, "_open_window_source", spy)
    code = main(["--quit-after-frames", "3", "--save-dir", str(tmp_path)])
    assert code == 0
    assert seen["name"] == "demo" and "No camera found" in seen["banner"]  # no camera on test machines


def test_help_lists_locate_max_hands_and_the_window_keys(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "--locate {auto,off}" in text and "--max-hands" in text and "--no-landmarks" in text
    assert "L find the hand anywhere" in text and "K hand landmarks" in text


def test_headless_locate_auto_on_a_folder_writes_the_hand_columns(tmp_path, tiny_bundle):
    import shutil

    from hands_helpers import HANDS_DATA

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("hand_7d846766.jpg", "no_hand_room.jpg"):
        shutil.copy(HANDS_DATA / name, folder / name)
    out_csv = tmp_path / "frames.csv"
    assert main(["--headless", "--source", str(folder), "--model", str(tiny_bundle), "--output-csv", str(out_csv),
                 "--threshold", "0", "--mirror"]) == 0
    hand, room = list(csv.DictReader(out_csv.open()))
    assert hand["hands"] == "1" and hand["label"] in CLASS_NAMES and float(hand["presence"]) >= 0.5
    assert room["hands"] == "0" and room["label"] == "none"  # threshold 0: only "no hand" can say none
    off_csv = tmp_path / "off.csv"
    assert main(["--headless", "--source", str(folder), "--model", str(tiny_bundle), "--output-csv", str(off_csv),
                 "--locate", "off", "--max-hands", "1"]) == 0
    assert all(row["hands"] in ("0", "1") for row in csv.DictReader(off_csv.open()))
