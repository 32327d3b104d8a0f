"""gesture-capture finding the hand (no Qt): the saved image is the found hand's padded square, frames with no hand
are skipped and counted, the manifest carries the landmarks training reads, and --locate off keeps the fixed box."""

import csv

import cv2
import numpy as np
import pytest

from gesture_app import capture_cli
from gesture_app.core.capture import NO_HAND, Capturer, CaptureController, CaptureListener, DatasetWriter
from gesture_app.core.capture.capturer import NO_BACKGROUND
from gesture_app.core.roi import DEFAULT_ROI
from gesture_app.core.silhouette import SilhouetteExtractor
from models.dataset_rules import MANIFEST_LANDMARKS_FIELD, parse_landmarks
from models.hands import CROP_PAD, SQUARE, HandLocaliser, crop_for, pixel_box, square_crop_box
from models.images import read_image_bgr
from hands_helpers import CLIP_PHOTO, moving_video, read_test_image
from training.landmark_data import image_landmarks

NO_HAND_PHOTO = "no_hand_room.jpg"


@pytest.fixture(scope="module")
def localiser():
    return HandLocaliser(max_hands=1)


@pytest.fixture(scope="module")
def hand_frame():
    return read_test_image(CLIP_PHOTO)


def found_hand(localiser, frame_bgr):
    localiser.reset()
    hands = localiser.find(frame_bgr)
    assert len(hands) == 1
    return hands[0]


def make_capturer(root, **kwargs) -> Capturer:
    return Capturer(DatasetWriter(root, image_format="png"), **kwargs)  # PNG: saved pixels compare exactly


def manifest_rows(root):
    with open(root / "manifest.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_locate_on_saves_the_hands_padded_square(tmp_path, localiser, hand_frame):
    hand = found_hand(localiser, hand_frame)
    saved = make_capturer(tmp_path, locate="auto").capture(hand_frame, "ok")

    x0, y0, x1, y1 = pixel_box(hand.crop_box_xyxy)
    assert (x0, y0, x1, y1) == pixel_box(square_crop_box(hand.landmarks_px))  # the training crops' padding
    assert x1 - x0 == y1 - y0 and (x1 - x0) < min(hand_frame.shape[:2]) / 2  # a square around the hand, not the box
    # The app's crop function, in the style gesture-train records for a captured folder.
    np.testing.assert_array_equal(read_image_bgr(saved.path), crop_for(hand_frame, hand, SQUARE))
    height, width = hand_frame.shape[:2]
    assert saved.region == f"{x0} {y0} {x1} {y1} of {width}x{height}"
    assert (x0, y0, x1, y1) != DEFAULT_ROI.to_pixels(hand_frame.shape)


def test_manifest_landmarks_parse_back_to_the_hands_points_in_the_crop(tmp_path, localiser, hand_frame):
    hand = found_hand(localiser, hand_frame)
    saved = make_capturer(tmp_path, locate="auto").capture(hand_frame, "ok")
    [row] = manifest_rows(tmp_path)
    cell = parse_landmarks(row[MANIFEST_LANDMARKS_FIELD])

    assert cell.handedness == hand.handedness  # the localiser's own label, as the manifest's rule says
    x0, y0, x1, y1 = pixel_box(hand.crop_box_xyxy)
    in_crop = hand.landmarks_px - np.float32([x0, y0, 0])
    np.testing.assert_allclose(cell.to_pixels(x1 - x0, y1 - y0), in_crop, atol=0.02)  # 4 decimals of the side
    # The hand fills the middle of the saved image, CROP_PAD of its longer side on each side.
    extent = cell.points[:, :2].max(axis=0) - cell.points[:, :2].min(axis=0)
    assert extent.max() == pytest.approx(1 / (1 + 2 * CROP_PAD), abs=0.01)
    # The hand model, run on the saved image, finds the same points (what training would otherwise compute).
    image_bgr = read_image_bgr(saved.path)
    again = localiser.find_in_region(image_bgr, (0, 0, image_bgr.shape[1], image_bgr.shape[0]))
    assert np.median(np.linalg.norm(again.landmarks_px[:, :2] - in_crop[:, :2], axis=1)) < 0.05 * (x1 - x0)


def test_a_frame_with_no_hand_saves_nothing_and_is_counted(tmp_path, hand_frame):
    class Heard(CaptureListener):
        def __init__(self):
            self.skipped = []

        def on_skipped(self, reason):
            self.skipped.append(reason)

    clock = type("Clock", (), {"now": 5.0, "__call__": lambda self: self.now})()
    heard = Heard()
    controller = CaptureController(DatasetWriter(tmp_path), classes=["ok"], roi=DEFAULT_ROI, locate="auto", stills=True,
                                   burst_fps=4, clock=clock, listener=heard)
    controller.select_class("ok")
    no_hand = read_test_image(NO_HAND_PHOTO)
    controller.process(no_hand)
    controller.press()  # a shot is due at once, on a frame with no hand
    views = []
    for frame_bgr in (no_hand, hand_frame, no_hand):
        clock.now += 0.25  # one shot due per frame
        views.append(controller.process(frame_bgr))
    controller.release()

    assert controller.writer.count("ok") == 1 and len(controller.session_saves) == 1
    assert controller.no_hand_skips == 3 and heard.skipped == [NO_HAND] * 3
    assert [view.image_bgr is None for view in views] == [True, False, True]
    assert views[0].shot.reason == NO_HAND and views[0].shot.box_xyxy is None  # nothing to draw a box around
    assert views[1].shot.landmarks_px.shape == (21, 3)  # the skeleton to draw


def test_locate_off_saves_the_fixed_box_as_before(tmp_path, hand_frame):
    capturer = make_capturer(tmp_path, locate="off")
    saved = capturer.capture(hand_frame, "ok")
    np.testing.assert_array_equal(read_image_bgr(saved.path), DEFAULT_ROI.crop(hand_frame))
    assert capturer.capture(read_test_image(NO_HAND_PHOTO), "ok") is not None  # whatever is in the box
    rows = manifest_rows(tmp_path)
    assert [row[MANIFEST_LANDMARKS_FIELD] for row in rows] == ["", ""]  # not recorded: training finds them
    assert rows[0]["region"] == "{} {} {} {} of {}x{}".format(*DEFAULT_ROI.to_pixels(hand_frame.shape), *hand_frame.shape[1::-1])
    assert capturer._tracker is None  # the hand models were never loaded


def test_silhouettes_are_cut_from_the_box_even_with_locate_auto(tmp_path, hand_frame, capsys):
    capturer = make_capturer(tmp_path, locate="auto", input_style="silhouette", extractor=SilhouetteExtractor())
    assert not capturer.locating
    assert capturer.look(hand_frame).reason == NO_BACKGROUND  # the box's silhouette path, not "no hand"
    capturer.input_style = "colour"
    assert capturer.locating
    argv = ["--headless", "--source", "x.mp4", "--out", str(tmp_path), "--class", "ok", "--count", "1",
            "--input-style", "silhouette", "--locate", "auto"]
    with pytest.raises(SystemExit) as exit_info:
        capture_cli.main(argv)
    assert exit_info.value.code == 2 and "--locate off" in capsys.readouterr().err


@pytest.fixture(scope="module")
def clip(tmp_path_factory, hand_frame):
    """A steady hand moving for 6 frames, 4 frames of a room with no hand, the hand again for 6 frames (MJPG)."""
    path = tmp_path_factory.mktemp("clip") / "hand.avi"
    height, width = hand_frame.shape[:2]
    room = cv2.resize(read_test_image(NO_HAND_PHOTO), (width, height))
    moving = [frame for frame, _ in moving_video(hand_frame, frames=6)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (width, height))
    for frame in [*moving, *[room] * 4, *moving]:
        writer.write(frame)
    writer.release()
    return path


def test_headless_skips_no_hand_frames_and_training_reads_the_landmarks_it_saved(tmp_path, clip, capsys):
    out = tmp_path / "data"
    argv = ["--headless", "--source", str(clip), "--out", str(out), "--class", "ok", "--count", "12", "--format", "png"]
    assert capture_cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "Saved 12 images of 'ok'" in printed
    assert "Skipped 4 of the 16 frames looked at: no hand in view." in printed

    paths = sorted((out / "ok").glob("*.png"))
    rows = {row["file"]: row for row in manifest_rows(out)}
    assert len(paths) == 12 and all(rows[f"ok/{p.name}"][MANIFEST_LANDMARKS_FIELD].split()[0] in ("left", "right")
                                    for p in paths)

    class NoLocaliser:
        def __getattr__(self, name):
            raise AssertionError(f"training looked for the hand again ({name}); the manifest has it")

    found = image_landmarks(paths, out, cache_dir=tmp_path / "cache", localiser=NoLocaliser())
    assert dict(found.origin) == {"manifest": 12} and found.found.all()
    first = parse_landmarks(rows[f"ok/{paths[0].name}"][MANIFEST_LANDMARKS_FIELD])
    side = read_image_bgr(paths[0]).shape[0]
    np.testing.assert_allclose(found.points_px[0], first.to_pixels(side, side))


def test_headless_from_a_source_without_a_hand_says_so(tmp_path, capsys):
    folder = tmp_path / "rooms"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"room{index}.jpg"), read_test_image(NO_HAND_PHOTO))
    argv = ["--headless", "--source", str(folder), "--out", str(tmp_path / "data"), "--class", "ok", "--count", "2"]
    assert capture_cli.main(argv) == 1
    captured = capsys.readouterr()
    assert "Skipped 3 of the 3 frames looked at: no hand in view." in captured.out
    assert "--locate off" in captured.err and "3 had no hand in view" in captured.err
