"""The Qt-free capture core: class names as capture sees them, atomic saves, the manifest, counts, the capture path."""

import csv
import errno
import multiprocessing
import os

import numpy as np
import pytest

from gesture_app.core.capture import BurstClock, Capturer, DatasetWriteError, DatasetWriter, format_region
from gesture_app.core.capture import writer as writer_module
from gesture_app.core.roi import RegionOfInterest
from models.dataset_rules import MANIFEST_FIELDS, MANIFEST_LANDMARKS_FIELD, ClassNameError, parse_class_list, validate_class_name
from models.images import read_image_bgr


def crop_bgr(seed: int = 0, size: int = 48) -> np.ndarray:
    """(size, size, 3) BGR uint8 of smooth colour (JPEG keeps it close)."""
    rng = np.random.default_rng(seed)
    colour = rng.integers(30, 220, size=3)
    return np.broadcast_to(colour, (size, size, 3)).astype(np.uint8).copy()


def manifest_rows(root):
    with open(root / "manifest.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def files_on_disk(root, class_name):
    return sorted(p.name for p in (root / class_name).iterdir())


# -- class names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cool", "thumbs_up", "wave-2", "Ünïcode", " padded "])
def test_valid_class_names_are_accepted(name):
    assert validate_class_name(name) == name.strip()


@pytest.mark.parametrize(
    "name, words",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("..", "hidden"),
        (".secret", "hidden"),
        ("train", "reserved"),
        ("validation", "reserved"),
        ("manifest.csv", "reserved"),
        ("x" * 65, "longer"),
        ("tab\there", "control"),
    ],
)
def test_invalid_class_names_say_why(name, words):
    with pytest.raises(ClassNameError, match=words):
        validate_class_name(name)


def test_class_list_is_parsed_and_duplicates_rejected():
    assert parse_class_list("a, b,c") == ["a", "b", "c"]
    with pytest.raises(ClassNameError, match="twice"):
        parse_class_list("a,b,a")
    with pytest.raises(ClassNameError, match="empty"):
        parse_class_list("a,,b")


# -- saving ----------------------------------------------------------------------------------


def test_save_writes_image_and_manifest_row(tmp_path):
    writer = DatasetWriter(tmp_path)
    saved = writer.save("fist", crop_bgr(1), source="cam", region="1 2 3 4 of 10x10")
    assert saved.path.parent == tmp_path / "fist"
    assert saved.path.suffix == ".jpg"
    assert np.abs(read_image_bgr(saved.path).astype(int) - crop_bgr(1)).max() <= 4  # JPEG quality 95
    rows = manifest_rows(tmp_path)
    assert tuple(rows[0]) == (*MANIFEST_FIELDS, MANIFEST_LANDMARKS_FIELD)  # the optional column, last
    assert rows == [
        {
            "file": f"fist/{saved.path.name}",
            "class": "fist",
            "time": saved.time,
            "source": "cam",
            "region": "1 2 3 4 of 10x10",
            "input_style": "colour",
            "full_frame": "",
            MANIFEST_LANDMARKS_FIELD: "",  # not recorded: training finds them
        }
    ]
    assert writer.counts(["fist", "ok"]) == {"fist": 1, "ok": 0}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_png_format_is_lossless(tmp_path):
    writer = DatasetWriter(tmp_path, image_format="png")
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    saved = writer.save("ok", image)
    assert saved.path.suffix == ".png"
    np.testing.assert_array_equal(read_image_bgr(saved.path), image)


def test_full_frame_is_saved_where_training_does_not_look(tmp_path):
    writer = DatasetWriter(tmp_path)
    frame = crop_bgr(2, size=120)
    saved = writer.save("ok", crop_bgr(3), full_frame_bgr=frame)
    assert saved.full_frame_path.parent == tmp_path / ".full-frames" / "ok"
    assert read_image_bgr(saved.full_frame_path).shape == (120, 120, 3)
    assert writer.classes_on_disk() == ["ok"]
    writer.delete(saved)
    assert not saved.path.exists() and not saved.full_frame_path.exists()
    assert manifest_rows(tmp_path) == []


def test_interrupted_rename_leaves_no_file_and_no_row(tmp_path, monkeypatch):
    writer = DatasetWriter(tmp_path)
    kept = writer.save("cool", crop_bgr(0))

    def broken_replace(src, dst):
        raise KeyboardInterrupt  # the user hits Ctrl+C mid-write

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        writer.save("cool", crop_bgr(1))
    monkeypatch.undo()
    assert files_on_disk(tmp_path, "cool") == [kept.path.name]  # no temp, no half file
    assert [row["file"] for row in manifest_rows(tmp_path)] == [f"cool/{kept.path.name}"]


def test_failed_manifest_append_rolls_the_image_back(tmp_path, monkeypatch):
    writer = DatasetWriter(tmp_path)
    kept = writer.save("cool", crop_bgr(0))

    def full_disk(row):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer.manifest, "append", full_disk)
    with pytest.raises(DatasetWriteError, match="disk is full"):
        writer.save("cool", crop_bgr(1))
    assert files_on_disk(tmp_path, "cool") == [kept.path.name]
    assert len(manifest_rows(tmp_path)) == 1


@pytest.mark.parametrize(
    "error, words",
    [
        (OSError(errno.ENOSPC, "No space left on device"), "disk is full"),
        (PermissionError(errno.EACCES, "Permission denied"), "No permission to write"),
        (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
        (OSError(errno.EIO, "Input/output error"), "Input/output error"),
    ],
)
def test_write_errors_become_a_message_and_lose_nothing(tmp_path, monkeypatch, error, words):
    writer = DatasetWriter(tmp_path)
    kept = [writer.save("stop", crop_bgr(i)) for i in range(3)]
    real_write = os.write

    def failing_write(fd, data):
        raise error

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(DatasetWriteError, match=words) as raised:
        writer.save("stop", crop_bgr(9))
    assert "intact" in str(raised.value)
    monkeypatch.setattr(os, "write", real_write)
    assert files_on_disk(tmp_path, "stop") == sorted(s.path.name for s in kept)
    assert [row["file"] for row in manifest_rows(tmp_path)] == [f"stop/{s.path.name}" for s in kept]
    for saved in kept:
        read_image_bgr(saved.path)  # still whole


def test_unwritable_output_folder_is_a_clear_error(tmp_path, monkeypatch):
    def no_permission(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(writer_module.Path, "mkdir", no_permission)
    with pytest.raises(DatasetWriteError, match="No permission.*--out"):
        DatasetWriter(tmp_path / "new")


def test_a_name_taken_meanwhile_is_never_overwritten(tmp_path, monkeypatch):
    first = DatasetWriter(tmp_path)
    second = DatasetWriter(tmp_path)  # another run on the same folder
    names = iter(["same.jpg", "same.jpg", "other.jpg"])
    monkeypatch.setattr(writer_module, "_new_name", lambda *args: next(names))
    a = first.save("yo", crop_bgr(1))
    b = second.save("yo", crop_bgr(2))
    assert (a.path.name, b.path.name) == ("same.jpg", "other.jpg")
    assert np.abs(read_image_bgr(a.path).astype(int) - crop_bgr(1)).max() <= 4  # not overwritten
    assert {row["file"] for row in manifest_rows(tmp_path)} == {"yo/same.jpg", "yo/other.jpg"}


def _save_many(root, count, seed):
    """Runs in a child process: save `count` images, proposing the same names as the other child."""
    import itertools

    numbers = itertools.count()
    writer_module._new_name = lambda class_name, stamp, suffix: f"clash-{next(numbers)}{suffix}"
    writer = DatasetWriter(root)
    for i in range(count):
        writer.save("ok", crop_bgr(seed + i, size=16))


def test_two_processes_on_one_folder_never_collide(tmp_path):
    # spawn, not fork: the test process may already run Qt and TensorFlow threads.
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_save_many, args=(tmp_path, 25, seed)) for seed in (0, 100)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    files = files_on_disk(tmp_path, "ok")
    rows = manifest_rows(tmp_path)
    assert len(files) == 50  # none overwritten, though both proposed clash-0, clash-1, ...
    assert sorted(row["file"] for row in rows) == [f"ok/{name}" for name in files]


# -- resuming and reconciling ------------------------------------------------------------------


def test_reopening_reconciles_the_manifest_with_the_disk(tmp_path):
    writer = DatasetWriter(tmp_path)
    saved = [writer.save("cool", crop_bgr(i)) for i in range(3)]
    saved[0].path.unlink()  # deleted by hand
    (tmp_path / "fist").mkdir()
    (tmp_path / "fist" / "from_elsewhere.jpg").write_bytes(saved[1].path.read_bytes())
    (tmp_path / "fist" / "notes.txt").write_text("not an image")
    stale = tmp_path / "cool" / ".tmp-cool_crashed.jpg"
    stale.write_bytes(b"half")  # any age: a live save holds the lock while its temporaries exist
    with open(tmp_path / "manifest.csv", "a", encoding="utf-8") as handle:
        handle.write("cool/cut_short.jpg,co")  # a crash mid-append

    reopened = DatasetWriter(tmp_path)
    report = reopened.last_reconcile
    # Dropped: the deleted image's row and the cut row (its image never made it); repaired: the cut line.
    assert (report.rows_dropped, report.rows_added, report.rows_repaired, report.temps_removed) == (2, 1, 1, 1)
    assert reopened.counts() == {"cool": 2, "fist": 1}
    files = sorted(row["file"] for row in manifest_rows(tmp_path))
    assert files == sorted([f"cool/{saved[1].path.name}", f"cool/{saved[2].path.name}", "fist/from_elsewhere.jpg"])
    assert not stale.exists()
    assert DatasetWriter(tmp_path).last_reconcile.changed is False  # consistent now


# -- the capture path --------------------------------------------------------------------------


def test_capturer_saves_the_roi_crop_with_its_region(tmp_path):
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[20:80, 120:180] = (10, 200, 30)
    roi = RegionOfInterest.from_pixels((120, 20, 180, 80), frame.shape)
    capturer = Capturer(DatasetWriter(tmp_path, image_format="png"), roi=roi, source_name="gen")
    saved = capturer.capture(frame, "ok")
    assert read_image_bgr(saved.path).shape == (60, 60, 3)
    assert (read_image_bgr(saved.path) == (10, 200, 30)).all()
    assert saved.region == format_region(roi, frame.shape) == "120 20 180 80 of 200x100"
    assert manifest_rows(tmp_path)[0]["source"] == "gen"


def test_silhouette_style_needs_a_background_and_a_hand(tmp_path):
    from gesture_app.core.silhouette import SilhouetteExtractor

    background = np.full((120, 160, 3), 90, np.uint8)
    roi = RegionOfInterest(0.5, 0.5, 1.0)
    capturer = Capturer(DatasetWriter(tmp_path), roi=roi, input_style="silhouette", extractor=SilhouetteExtractor())
    assert capturer.capture(background, "fist") is None
    assert "background" in capturer.skip_reason
    capturer.extractor.capture_background(roi.crop(background))
    assert capturer.capture(background, "fist") is None
    assert "too little hand" in capturer.skip_reason
    with_hand = background.copy()
    with_hand[30:100, 50:110] = 230
    saved = capturer.capture(with_hand, "fist")
    image = read_image_bgr(saved.path)
    assert image[65, 80].min() > 200 and image[5, 5].max() < 50  # white hand on black
    assert manifest_rows(tmp_path)[0]["input_style"] == "silhouette"


def test_burst_clock_paces_shots():
    clock = BurstClock(fps=5)
    shots = [t / 100 for t in range(0, 100) if clock.due(t / 100)]  # one second at 100 Hz
    assert len(shots) == 5
    with pytest.raises(ValueError):
        BurstClock(fps=0)
