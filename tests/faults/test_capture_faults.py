"""gesture-capture under faults (issue #16): interrupts, kills, full and read-only disks, torn manifests, leftovers.

The subprocess tests run the real command (`python -m gesture_app.capture_cli`) and signal it, as a
user pressing Ctrl+C or a crash would; counts are kept small so the set runs in CI.
"""

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """A 5000-frame 128x96 MJPG clip, long enough to still be capturing when signalled on a busy machine."""
    path = tmp_path_factory.mktemp("clip") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (128, 96))
    assert writer.isOpened()
    for index in range(5000):
        frame = np.full((96, 128, 3), (index * 7) % 200 + 20, np.uint8)
        cv2.circle(frame, (64 + index % 40, 48), 16, (200, 80, 40), -1)
        writer.write(frame)
    writer.release()
    return path


def start_capture(clip, out, *extra, count=20000):
    """`gesture-capture --headless` into out/ok in a process of its own (a long --count: it runs until signalled)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # The generated clips hold no hand: --locate off saves the box.
    argv = [sys.executable, "-m", "gesture_app.capture_cli", "--headless", "--locate", "off", "--source", str(clip), "--out", str(out),
            "--class", "ok", "--count", str(count), *extra]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ctrl_c_enabled)


def ctrl_c_enabled():
    """In the child: SIGINT back to its default. A shell starts background jobs with SIGINT ignored, the
    ignore is inherited, and Python then installs no Ctrl+C handler (pytest run with `&` would test nothing)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def rows_on_disk(out):
    """The manifest's rows as written (read directly, without the reconcile that opening a writer does)."""
    path = out / "manifest.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def wait_for_rows(out, count, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if len(rows_on_disk(out)) >= count:
                return
        except (OSError, csv.Error):
            pass
        time.sleep(0.005)
    raise AssertionError(f"capture wrote fewer than {count} rows in {timeout_s} s")


def images_in(out, folder):
    """Visible files under out/folder, as manifest paths ('ok/x.jpg')."""
    path = out / folder
    return sorted(f"{folder}/{p.name}" for p in path.iterdir() if not p.name.startswith(".")) if path.is_dir() else []


def assert_files_match_rows(out, class_name="ok"):
    rows = rows_on_disk(out)
    assert sorted(row["file"] for row in rows) == images_in(out, class_name)
    frames = sorted(row["full_frame"] for row in rows if row["full_frame"])
    assert frames == images_in(out, f".full-frames/{class_name}")
    return rows


# -- 1: Ctrl+C leaves an image and its row, or neither ------------------------------------------


def test_ctrl_c_during_capture_leaves_each_image_with_its_row(tmp_path, long_clip):
    rng = random.Random(16)
    for attempt in range(10):  # the race is hit in about 1 of 4 attempts before the fix
        out = tmp_path / f"run{attempt}"
        process = start_capture(long_clip, out, "--full-frame")
        try:
            wait_for_rows(out, 3)
            time.sleep(rng.uniform(0.0, 0.1))
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
        assert process.returncode == 130, stderr
        rows = assert_files_match_rows(out)
        assert rows, f"attempt {attempt}: nothing was saved"
        assert f"saved {len(rows)} images of 'ok'" in stdout  # the summary counts exactly what is on disk


# -- kill -9 and concurrent runs (these already held; kept so they keep holding) -----------------


def test_kill_9_during_capture_leaves_no_corrupt_image(tmp_path, long_clip):
    from gesture_app.core.capture import DatasetWriter
    from models.images import read_image_bgr

    out = tmp_path / "d"
    rng = random.Random(9)
    for attempt in range(5):
        process = start_capture(long_clip, out, "--full-frame")
        try:
            wait_for_rows(out, 3 * (attempt + 1))
            time.sleep(rng.uniform(0.0, 0.05))
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
        finally:
            process.kill()
    writer = DatasetWriter(out)  # the next open reconciles whatever the kill interrupted
    rows = assert_files_match_rows(out)
    for row in rows:
        read_image_bgr(out / row["file"])  # every image whole
        read_image_bgr(out / row["full_frame"])
    assert not [p for p in out.rglob(".tmp-*")]  # no temporary left
    assert writer.count("ok") == len(rows) >= 15


def test_concurrent_capture_processes_write_no_duplicates(tmp_path, long_clip):
    out = tmp_path / "d"
    processes = [start_capture(long_clip, out, "--full-frame", count=80) for _ in range(3)]
    for process in processes:
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr
    rows = assert_files_match_rows(out)
    assert len(rows) == len({row["file"] for row in rows}) == 240


# -- 2: a read-only file system is a message, not a traceback ------------------------------------


def capture_main(*argv):
    from gesture_app import capture_cli

    return capture_cli.main(["--headless", "--locate", "off", *map(str, argv)])  # generated frames: no hand to find


def test_read_only_file_system_is_a_message_when_clean_up_fails_too(tmp_path, long_clip, monkeypatch, capsys):
    import errno

    assert capture_main("--source", long_clip, "--out", tmp_path, "--class", "ok", "--count", 2) == 0
    real_open = os.open

    def read_only_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and Path(path).parent == tmp_path / "ok":
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    def read_only_unlink(self, missing_ok=False):
        raise OSError(errno.EROFS, "Read-only file system", str(self))  # Linux says EROFS even for a missing file

    monkeypatch.setattr(os, "open", read_only_open)
    monkeypatch.setattr(Path, "unlink", read_only_unlink)
    capsys.readouterr()
    assert capture_main("--source", long_clip, "--out", tmp_path, "--class", "ok", "--count", 2) == 1
    err = capsys.readouterr().err
    assert "read-only" in err and "intact" in err and "Traceback" not in err


@pytest.fixture
def read_only_mount(tmp_path):
    """A folder that becomes read-only on request (a bind mount; root only). Skips where mounting is not allowed."""
    folder = tmp_path / "data"
    folder.mkdir()
    mounted = []

    def make_read_only():
        for command in (["mount", "--bind", str(folder), str(folder)], ["mount", "-o", "remount,ro,bind", str(folder)]):
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                if mounted:
                    subprocess.run(["umount", str(folder)], capture_output=True)
                pytest.skip(f"cannot make a read-only mount here: {result.stderr.strip()}")
            mounted.append(command)

    yield folder, make_read_only
    if mounted:
        subprocess.run(["umount", str(folder)], capture_output=True)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="bind mounts need root")
def test_read_only_mount_is_a_message(read_only_mount, long_clip):
    folder, make_read_only = read_only_mount
    out = folder / "d"
    assert capture_main("--source", long_clip, "--out", out, "--class", "ok", "--count", 2) == 0
    make_read_only()
    process = start_capture(long_clip, out)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "read-only" in stderr and "Traceback" not in stderr, stderr
    assert "'ok' now has 2" in stdout


# -- 5: a full disk at the manifest never leaves half a row --------------------------------------


def crop_bgr(seed=0, size=16):
    rng = np.random.default_rng(seed)
    return np.broadcast_to(rng.integers(30, 220, size=3), (size, size, 3)).astype(np.uint8).copy()


def test_a_row_cut_short_is_never_glued_to_the_next_one(tmp_path):
    from gesture_app.core.capture import DatasetWriter

    writer = DatasetWriter(tmp_path)
    first = writer.save("ok", crop_bgr(1), source="cam")
    with open(tmp_path / "manifest.csv", "a", encoding="utf-8") as handle:
        handle.write("ok/ghost.jpg,ok,2025-01-01T00:0")  # a failed append whose image was rolled back
    second = DatasetWriter(tmp_path).save("ok", crop_bgr(2), source="cam")  # the next run
    DatasetWriter(tmp_path)  # and a later open
    rows = rows_on_disk(tmp_path)
    assert [(row["file"], row["source"]) for row in rows] == [
        (f"ok/{first.path.name}", "cam"), (f"ok/{second.path.name}", "cam"),  # both with their metadata
    ]


def test_a_row_cut_short_keeps_what_survived_of_it(tmp_path):
    from gesture_app.core.capture import DatasetWriter

    writer = DatasetWriter(tmp_path)
    saved = [writer.save("ok", crop_bgr(i), source="cam", region="1 2 3 4 of 9x9") for i in range(2)]
    manifest = tmp_path / "manifest.csv"
    text = manifest.read_text(encoding="utf-8")
    cut = text.rindex(",cam,") + 3  # the last row cut inside its source field (a power cut mid-append)
    manifest.write_text(text[:cut], encoding="utf-8")
    report = DatasetWriter(tmp_path).last_reconcile
    assert report.changed
    rows = rows_on_disk(tmp_path)
    assert [row["file"] for row in rows] == [f"ok/{s.path.name}" for s in saved]
    assert rows[1]["time"] == saved[1].time and rows[1]["source"] != "found on disk"  # not replaced by a stand-in
    assert manifest.read_text(encoding="utf-8").endswith("\n")


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (root only); skips where mounting is not allowed."""
    folder = tmp_path / "small"
    folder.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], capture_output=True)


def fill(disk, leave_bytes=0):
    """Fill the disk with a filler file, then free `leave_bytes` again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    if leave_bytes:
        os.truncate(filler, filler.stat().st_size - leave_bytes)
    return filler


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_disk_full_at_the_manifest_leaves_no_partial_row(small_disk, capsys):
    from gesture_app.core.capture import DatasetWriteError, DatasetWriter

    out = small_disk / "d"
    writer = DatasetWriter(out, image_format="png")
    saved = [writer.save("ok", crop_bgr(i), source="cam") for i in range(2)]
    # Pad the last row so the manifest ends 20 bytes short of a page: the next row needs a new page.
    manifest = out / "manifest.csv"
    rows = rows_on_disk(out)
    rows[-1]["source"] = "cam"
    writer.manifest.rewrite(rows)
    rows[-1]["source"] = "c" * (4096 - 20 - manifest.stat().st_size + 3)
    writer.manifest.rewrite(rows)
    assert manifest.stat().st_size == 4096 - 20
    before = manifest.read_bytes()
    filler = fill(small_disk, leave_bytes=4096)  # room for one small image, none for the manifest's next page
    with pytest.raises(DatasetWriteError, match="disk is full"):
        writer.save("ok", crop_bgr(5))
    assert manifest.read_bytes() == before  # the whole row or nothing
    assert sorted(p.name for p in (out / "ok").iterdir()) == sorted(s.path.name for s in saved)
    filler.unlink()
    again = DatasetWriter(out, image_format="png").save("ok", crop_bgr(6), source="cam")
    assert [row["file"] for row in rows_on_disk(out)] == [f"ok/{s.path.name}" for s in [*saved, again]]


# -- 8: leftovers of a killed run are cleared on the next open ------------------------------------


def test_a_temp_file_left_by_kill_9_is_removed_on_the_next_open(tmp_path):
    from gesture_app.core.capture import DatasetWriter

    DatasetWriter(tmp_path).save("ok", crop_bgr(0), full_frame_bgr=crop_bgr(1, size=40))
    left = [tmp_path / "ok" / ".tmp-999999-0123456789ab.jpg", tmp_path / ".full-frames" / "ok" / ".tmp-999999-0123456789ab.jpg",
            tmp_path / ".tmp-manifest-999999-01234567.csv"]
    for path in left:
        path.write_bytes(b"half an image")  # just now: the README says the next open removes them
    report = DatasetWriter(tmp_path).last_reconcile
    assert report.temps_removed == 3 and not any(path.exists() for path in left)


def _capture_while_others_open(root, count):
    """Child process: save `count` images while the parent keeps opening the folder."""
    from gesture_app.core.capture import DatasetWriter

    writer = DatasetWriter(root)
    for i in range(count):
        writer.save("ok", crop_bgr(i), full_frame_bgr=crop_bgr(i, size=64))


def test_opening_a_folder_never_removes_a_running_captures_temp_files(tmp_path):
    import multiprocessing

    from gesture_app.core.capture import DatasetWriter

    DatasetWriter(tmp_path)
    child = multiprocessing.get_context("spawn").Process(target=_capture_while_others_open, args=(tmp_path, 60))
    child.start()
    opened = 0
    while child.is_alive():
        DatasetWriter(tmp_path)  # each open sweeps leftovers, under the same lock the capture holds
        opened += 1
    child.join()
    assert child.exitcode == 0  # no save lost its temporary to a sweep
    assert opened > 1
    rows = assert_files_match_rows(tmp_path)
    assert len(rows) == 60


def test_orphan_full_frames_are_reconciled(tmp_path):
    from gesture_app.core.capture import DatasetWriter

    writer = DatasetWriter(tmp_path)
    deleted, unlisted, moved, lost_frame = (
        writer.save("ok", crop_bgr(i), source="cam", full_frame_bgr=crop_bgr(i, size=40)) for i in range(4)
    )
    deleted.path.unlink()  # the crop deleted by hand: its full frame goes too
    rows = [row for row in rows_on_disk(tmp_path) if row["file"] != f"ok/{unlisted.path.name}"]
    writer.manifest.rewrite(rows)  # killed after both renames, before the row: found again, with its frame
    (tmp_path / "fist").mkdir()
    moved.path.rename(tmp_path / "fist" / moved.path.name)  # relabelled by hand: its frame follows
    lost_frame.full_frame_path.unlink()  # a frame deleted by hand: the row forgets it

    report = DatasetWriter(tmp_path).last_reconcile
    assert (report.frames_removed, report.frames_linked, report.frames_moved, report.frames_unlinked) == (1, 1, 1, 1)
    rows = {row["file"]: row for row in rows_on_disk(tmp_path)}
    assert rows[f"ok/{unlisted.path.name}"]["full_frame"] == f".full-frames/ok/{unlisted.path.name}"
    assert rows[f"fist/{moved.path.name}"]["full_frame"] == f".full-frames/fist/{moved.path.name}"
    assert rows[f"ok/{lost_frame.path.name}"]["full_frame"] == ""
    assert not deleted.full_frame_path.exists()
    linked = sorted(row["full_frame"] for row in rows.values() if row["full_frame"])
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / ".full-frames").rglob("*") if p.is_file())
    assert linked == on_disk
    assert DatasetWriter(tmp_path).last_reconcile.changed is False
