"""Frame sources: folders, videos, the shipped demo, cameras that vanish, and the errors users see."""

import threading
import time

import numpy as np
import pytest

from app_helpers import FlakyCapture, make_frame_bgr, write_video
from gesture_app.core.frame_slot import FrameSlot
from gesture_app.core.roi import DEFAULT_ROI
from gesture_app.core.sources import (
    CameraSource,
    DemoSource,
    FolderSource,
    SourceError,
    SourceInterrupted,
    VideoSource,
    list_cameras,
    open_source,
)
from models import CLASS_NAMES


def test_folder_skips_and_counts_unreadable_images(tmp_path, hand_crops):
    import shutil

    for name in ("a.jpg", "c.jpg"):
        shutil.copy(next((hand_crops / "fist").glob("*.jpg")), tmp_path / name)
    (tmp_path / "b.jpg").write_bytes(b"not a jpeg at all")
    (tmp_path / "notes.txt").write_text("ignored: not an image")
    source = open_source(str(tmp_path))
    assert isinstance(source, FolderSource)
    frames = list(source)
    assert len(frames) == 2
    assert all(f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3 for f in frames)
    assert source.skipped_count == 1 and source.skipped[0].name == "b.jpg"
    assert source.name.endswith("/")


def test_folder_loop_repeats_and_all_unreadable_is_an_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    source = FolderSource(tmp_path, loop=True)
    with pytest.raises(SourceError, match="None of the 1 images"):
        source.read()  # nothing readable: an error, and the loop does not spin forever
    assert source.skipped_count == 1


def test_empty_folder_says_what_to_do(tmp_path):
    with pytest.raises(SourceError, match="No images in folder"):
        open_source(tmp_path)


def test_video_plays_once_then_ends(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=7, fps=12)
    with open_source(str(path)) as source:
        assert isinstance(source, VideoSource)
        assert source.fps == pytest.approx(12)
        frames = list(source)
        assert len(frames) == 7
        assert source.read() is None
    assert frames[0].shape == (120, 160, 3)


def test_video_loops_when_asked(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=5)
    with open_source(path, loop=True) as source:
        frames = [source.read() for _ in range(13)]
    assert all(f is not None for f in frames)
    # frame 5 is frame 0 again (blue channel encodes the index, JPEG-compressed)
    assert abs(int(frames[5][..., 0].mean()) - int(frames[0][..., 0].mean())) <= 3
    assert abs(int(frames[4][..., 0].mean()) - int(frames[0][..., 0].mean())) > 40


def test_unknown_and_broken_sources_name_the_alternatives(tmp_path):
    with pytest.raises(SourceError, match="camera index"):
        open_source(str(tmp_path / "missing.mp4"))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError, match="Could not open video"):
        open_source(broken)


def test_demo_shows_every_class_in_the_region_of_interest():
    source = open_source("demo")
    assert isinstance(source, DemoSource)
    assert set(source.labels) == set(CLASS_NAMES)
    assert source.label_at(0) == CLASS_NAMES[0]
    assert source.label_at(source.hold_frames) == CLASS_NAMES[1]  # held for hold_frames, then the next
    frames = list(source)
    assert len(frames) == len(source) == len(source.labels) * source.hold_frames
    frame = frames[0]
    assert frame.shape == (480, 640, 3)
    x0, y0, x1, y1 = DEFAULT_ROI.to_pixels(frame.shape)
    inside, outside = frame[y0:y1, x0:x1], frame[:, : x0 - 5]
    # The photo fills the box; outside is the plain background
    assert inside.std() > 15 and outside.std(axis=(0, 1)).max() < 15


def test_demo_loop_never_ends():
    source = DemoSource(loop=True, fps=2)
    count = sum(1 for _, _ in zip(range(len(source) + 5), source))
    assert count == len(source) + 5


def test_demo_attribution_ships_beside_the_photos():
    from gesture_app.core.sources import DEMO_DIR, demo_photos

    text = (DEMO_DIR / "ATTRIBUTION.md").read_text()
    assert "HaGRID" in text
    for _, path in demo_photos():
        assert path.name in text


def test_camera_that_disappears_is_reported_and_retried():
    FlakyCapture.opens, FlakyCapture.alive = 0, True
    source = CameraSource(0, capture_factory=lambda i: FlakyCapture(i, die_after=4), retry_s=0.05)
    try:
        assert source.name == "camera 0" and source.fps == 25.0
        assert source.read() is not None
        interrupted = None
        for _ in range(50):
            try:
                source.read()
            except SourceInterrupted as exc:
                interrupted = exc
                break
        assert interrupted is not None and "retrying" in str(interrupted)
        FlakyCapture.alive = True  # plugged back in
        frame = None
        deadline = time.monotonic() + 3
        while frame is None and time.monotonic() < deadline:
            try:
                frame = source.read()
            except SourceInterrupted:
                pass
        assert frame is not None and FlakyCapture.opens >= 2
    finally:
        source.close()
    assert source.read() is None  # closed: the camera is released


def test_camera_that_never_opens_suggests_alternatives():
    class Closed:
        def __init__(self, index):
            pass

        def isOpened(self):
            return False

    with pytest.raises(SourceError, match=r"Try --source 1, a video file, or --source demo"):
        CameraSource(0, capture_factory=Closed)


class ProbedCapture:
    """A fake cv2.VideoCapture for probing: cameras 0 and 2 deliver, 1 opens without a frame, the rest are absent."""

    released: list[int] = []

    def __init__(self, index):
        self.index = index

    def isOpened(self):
        return self.index in (0, 1, 2)

    def read(self):
        return (True, make_frame_bgr(self.index)) if self.index in (0, 2) else (False, None)

    def release(self):
        type(self).released.append(self.index)


def test_list_cameras_lists_those_that_deliver_a_frame():
    ProbedCapture.released = []
    assert list_cameras(4, capture_factory=ProbedCapture) == [0, 2]
    assert ProbedCapture.released == [0, 1, 2, 3]  # every probe lets its device go
    assert list_cameras(2) == []  # no camera on the test machines; must not raise or hang


def test_frame_slot_keeps_only_the_newest():
    slot = FrameSlot()
    for i in range(5):
        slot.put(make_frame_bgr(i))
    index, frame = slot.wait_newer(-1, timeout=0.1)
    assert index == 4 and frame[0, 0, 0] == 4
    assert slot.wait_newer(4, timeout=0.01) is None
    threading.Timer(0.05, slot.close).start()
    assert slot.wait_newer(4, timeout=5) is None  # close wakes waiters
