"""`gesture-capture` from the command line: headless capture from a video or folder, errors, and training reading the result."""

import csv
import errno
import os
import time

import cv2
import numpy as np
import pytest

from gesture_app import capture_cli
from gesture_app.core.roi import DEFAULT_ROI
from models.images import read_image_bgr


@pytest.fixture(scope="module")
def video_path(tmp_path_factory):
    """A 40-frame 160x120 MJPG video whose ROI brightness grows frame by frame."""
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (160, 120))
    assert writer.isOpened()
    for index in range(40):
        frame = np.full((120, 160, 3), 40, np.uint8)
        x0, y0, x1, y1 = DEFAULT_ROI.to_pixels(frame.shape)
        frame[y0:y1, x0:x1] = 5 * index + 20
        writer.write(frame)
    writer.release()
    return path


def manifest_files(root):
    with open(root / "manifest.csv", newline="", encoding="utf-8") as handle:
        return sorted(row["file"] for row in csv.DictReader(handle))


def test_headless_saves_roi_crops_from_a_video(tmp_path, video_path, capsys):
    out = tmp_path / "data"
    assert capture_cli.main(["--headless", "--locate", "off", "--source", str(video_path), "--out", str(out), "--class", "fist", "--count", "5", "--every", "3"]) == 0
    files = sorted((out / "fist").glob("*.jpg"))
    assert len(files) == 5
    side = DEFAULT_ROI.to_pixels((120, 160))[2] - DEFAULT_ROI.to_pixels((120, 160))[0]
    brightness = []
    for file in files:
        image = read_image_bgr(file)
        assert image.shape == (side, side, 3)
        brightness.append(float(image.mean()))
    # Every third frame: frames 0, 3, 6, 9, 12 -> brightness 20, 35, 50, 65, 80 (MJPG is lossy).
    assert np.allclose(sorted(brightness), [20, 35, 50, 65, 80], atol=4)
    assert manifest_files(out) == [f"fist/{f.name}" for f in files]
    out_text = capsys.readouterr().out
    assert "Saved 5 images of 'fist'" in out_text and "'fist' now has 5" in out_text

    assert capture_cli.main(["--headless", "--locate", "off", "--source", str(video_path), "--out", str(out), "--class", "fist", "--count", "2"]) == 0
    out_text = capsys.readouterr().out
    assert "Saved 2 images of 'fist'" in out_text and "'fist' now has 7" in out_text
    assert len(list((out / "fist").glob("*.jpg"))) == 7


def test_headless_prints_saved_and_total(tmp_path, video_path, capsys):
    assert capture_cli.main(["--headless", "--locate", "off", "--source", str(video_path), "--out", str(tmp_path), "--class", "ok", "--count", "3", "--format", "png"]) == 0
    assert capsys.readouterr().out.strip().endswith("'ok' now has 3 (target 550).")
    assert len(list((tmp_path / "ok").glob("*.png"))) == 3


def test_headless_from_an_image_folder(tmp_path, hand_crops, capsys):
    assert capture_cli.main(["--headless", "--locate", "off", "--source", str(hand_crops / "yo"), "--out", str(tmp_path), "--class", "yo", "--count", "6"]) == 0
    assert len(list((tmp_path / "yo").glob("*.jpg"))) == 6


def test_headless_silhouette_takes_the_first_frame_as_background(tmp_path, video_path):
    code = capture_cli.main(
        ["--headless", "--locate", "off", "--source", str(video_path), "--out", str(tmp_path), "--class", "stop", "--count", "3", "--input-style", "silhouette"]
    )
    assert code == 0
    images = [read_image_bgr(p) for p in sorted((tmp_path / "stop").glob("*.jpg"))]
    assert len(images) == 3
    for image in images:  # the whole box changed from the background: white
        assert image.mean() > 200


def test_headless_source_ending_early_is_reported(tmp_path, video_path, capsys):
    assert capture_cli.main(["--headless", "--locate", "off", "--source", str(video_path), "--out", str(tmp_path), "--class", "ok", "--count", "100", "--every", "10"]) == 1
    captured = capsys.readouterr()
    assert "Saved 4 images" in captured.out
    assert "only 4 of 100" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "argv, code, words",
    [
        (["--class", "a/b", "--count", "1"], 1, "path separator"),
        (["--class", ".hidden", "--count", "1"], 1, "hidden"),
        (["--count", "1"], 2, "--class"),
        (["--class", "ok"], 2, "--count"),
    ],
)
def test_headless_bad_arguments_say_what_to_do(tmp_path, video_path, capsys, argv, code, words):
    assert capture_cli.main(["--headless", "--locate", "off", "--source", str(video_path), "--out", str(tmp_path), *argv]) == code
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_missing_source_is_a_clear_error(tmp_path, capsys):
    assert capture_cli.main(["--headless", "--locate", "off", "--source", str(tmp_path / "nope.mp4"), "--out", str(tmp_path), "--class", "ok", "--count", "1"]) == 1
    assert "No such source" in capsys.readouterr().err


def test_bad_class_list_is_rejected(tmp_path, capsys):
    assert capture_cli.main(["--out", str(tmp_path), "--classes", "a,,b", "--screenshot", str(tmp_path / "s.png")]) == 1
    assert "empty" in capsys.readouterr().err


def test_full_disk_stops_headless_capture_and_keeps_what_was_saved(tmp_path, video_path, monkeypatch, capsys):
    real_write = os.write
    calls = {"n": 0}

    def fills_up(fd, data):
        calls["n"] += 1
        if calls["n"] > 6:  # three saves of one image and one manifest row each
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", fills_up)
    assert capture_cli.main(["--headless", "--locate", "off", "--source", str(video_path), "--out", str(tmp_path), "--class", "ok", "--count", "10"]) == 1
    captured = capsys.readouterr()
    assert "disk is full" in captured.err and "Traceback" not in captured.err
    assert "Saved 3 images" in captured.out
    files = sorted((tmp_path / "ok").iterdir())
    assert len(files) == 3 and all(not f.name.startswith(".") for f in files)
    for file in files:
        read_image_bgr(file)
    assert manifest_files(tmp_path) == [f"ok/{f.name}" for f in files]


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exited:
        capture_cli.main(["--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "--headless" in text and "examples:" in text and "hold Space" in text


def test_captured_dataset_is_accepted_by_training(tmp_path, hand_crops):
    from training.dataset import load_dataset

    out = tmp_path / "data"
    for name in ("cool", "fist", "stop"):
        assert capture_cli.main(["--headless", "--locate", "off", "--source", str(hand_crops / name), "--out", str(out), "--class", name, "--count", "6", "--full-frame"]) == 0
    dataset = load_dataset(out, input_size=32)
    assert dataset.classes == ("cool", "fist", "stop")
    assert dataset.layout == "per-class"
    assert sum(len(split) for split in dataset.splits.values()) == 18  # full frames and manifest ignored
    assert dataset.report.unreadable == []


def test_headless_waits_through_a_camera_interruption(tmp_path, monkeypatch, capsys):
    from gesture_app.core import sources
    from gesture_app.core.sources import FrameSource, SourceInterrupted

    class FlakyCamera(FrameSource):
        name = "camera 0"
        live = True

        def __init__(self):
            self.reads = 0

        def read(self):
            time.sleep(0.01)  # a camera delivers at its own pace (read on the stream's thread)
            self.reads += 1
            if self.reads in (2, 3):
                raise SourceInterrupted("Camera 0 stopped delivering frames; retrying every 1 s.")
            return np.full((120, 160, 3), self.reads * 10 % 250, np.uint8)

    monkeypatch.setattr(sources, "open_source", lambda spec, **kwargs: FlakyCamera())
    assert capture_cli.main(["--headless", "--locate", "off", "--source", "0", "--out", str(tmp_path), "--class", "ok", "--count", "3"]) == 0
    captured = capsys.readouterr()
    assert "stopped delivering" in captured.err
    assert len(list((tmp_path / "ok").glob("*.jpg"))) == 3


def test_headless_mirror_flips_before_cropping(tmp_path, capsys):
    from gesture_app.core.roi import RegionOfInterest

    folder = tmp_path / "frames"
    folder.mkdir()
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, :100] = 200  # bright left half
    cv2.imwrite(str(folder / "a.png"), frame)
    args = ["--headless", "--locate", "off", "--source", str(folder), "--class", "ok", "--count", "1", "--format", "png", "--roi", "0.25,0.5,0.5"]
    assert capture_cli.main([*args, "--out", str(tmp_path / "plain")]) == 0
    assert capture_cli.main([*args, "--out", str(tmp_path / "mirrored"), "--mirror"]) == 0
    plain = read_image_bgr(next((tmp_path / "plain" / "ok").glob("*.png")))
    mirrored = read_image_bgr(next((tmp_path / "mirrored" / "ok").glob("*.png")))
    assert plain.mean() == 200 and mirrored.mean() == 0
    assert "(mirrored)" in (tmp_path / "mirrored" / "manifest.csv").read_text()
    assert RegionOfInterest(0.25, 0.5, 0.5).to_pixels(frame.shape) == (25, 25, 75, 75)
