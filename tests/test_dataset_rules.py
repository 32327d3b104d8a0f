"""The dataset rules capture and training share (models/dataset_rules.py) and the one atomic writer."""

import errno
import os
from pathlib import Path

import pytest

from models import atomic_files
from models.atomic_files import atomic_directory, atomic_path, atomic_write, atomic_write_text, write_new_file
from models.dataset_rules import (
    MANIFEST_NAME,
    RESERVED_NAMES,
    SPLIT_FOLDER_NAMES,
    TARGET_PER_CLASS,
    ClassNameError,
    parse_class_list,
    split_counts,
    validate_class_name,
)


def test_split_counts_follow_the_documented_proportions():
    assert TARGET_PER_CLASS == 550
    assert split_counts(550) == {"train": 375, "val": 125, "test": 50}
    assert split_counts(800) == {"train": 545, "val": 182, "test": 73}
    assert split_counts(3) == {"train": 1, "val": 1, "test": 1}
    # 11 * 125 / 550 is exactly 2.5: Python rounds it to even.
    assert split_counts(11) == {"train": 8, "val": 2, "test": 1}
    # Too few to split: gesture-train refuses the class; capture shows them all as training images.
    assert split_counts(2) == {"train": 2, "val": 0, "test": 0}
    assert split_counts(0) == {"train": 0, "val": 0, "test": 0}
    for count in range(3, 2000):
        parts = split_counts(count)
        assert sum(parts.values()) == count and min(parts.values()) >= 1, count


def test_split_folder_names_and_the_manifest_are_reserved_class_names():
    for names in SPLIT_FOLDER_NAMES.values():
        for name in names:
            assert name in RESERVED_NAMES
            with pytest.raises(ClassNameError, match="reserved"):
                validate_class_name(name.upper())
    with pytest.raises(ClassNameError, match="reserved"):
        validate_class_name(MANIFEST_NAME)
    assert parse_class_list("thumbs_up, peace") == ["thumbs_up", "peace"]


def test_atomic_write_replaces_the_whole_file_or_nothing(tmp_path):
    target = tmp_path / "scores.json"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError, match="mid-write"):
        with atomic_write(target, "w") as handle:
            handle.write("half of the new")
            raise RuntimeError("mid-write")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.json"]  # no temporary left behind
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"


def test_atomic_path_keeps_the_suffix_for_writers_that_need_it(tmp_path):
    target = tmp_path / "last.keras"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".keras" and tmp.name.startswith(atomic_files.TEMP_PREFIX)
        tmp.write_bytes(b"model")
    assert target.read_bytes() == b"model"


def test_a_failed_cleanup_does_not_hide_the_original_error(tmp_path, monkeypatch):
    """On a read-only disk the clean-up fails too; the caller must still see why the write failed."""
    def unlink(self, missing_ok=False):
        raise OSError(errno.EROFS, "Read-only file system (clean-up)")

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(OSError) as caught:
        with atomic_write(tmp_path / "out.txt", "w") as handle:
            handle.write("x")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.__context__ is None  # no "during handling of the above exception" chain


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write in a read-only folder")
def test_read_only_folder_reports_the_permission_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            atomic_write_text(folder / "a.json", "{}")
    finally:
        folder.chmod(0o700)
    assert list(folder.iterdir()) == []


def test_atomic_directory_swaps_whole_folders(tmp_path):
    bundle = tmp_path / "bundle"
    with atomic_directory(bundle) as staging:
        (staging / "a.txt").write_text("1")
    with pytest.raises(ValueError):
        with atomic_directory(bundle) as staging:
            (staging / "a.txt").write_text("2")
            raise ValueError("model could not be saved")
    assert (bundle / "a.txt").read_text() == "1"
    with atomic_directory(bundle, staging=tmp_path / ".bundle.partial") as staging:
        (staging / "b.txt").write_text("3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    assert sorted(p.name for p in bundle.iterdir()) == ["b.txt"]


def test_write_new_file_never_overwrites(tmp_path):
    write_new_file(tmp_path / "img.jpg", b"first")
    with pytest.raises(FileExistsError):
        write_new_file(tmp_path / "img.jpg", b"second")
    assert (tmp_path / "img.jpg").read_bytes() == b"first"
