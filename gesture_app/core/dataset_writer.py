"""Writing a gesture dataset safely: DATA/<class>/<name>.jpg plus DATA/manifest.csv, never a half file.

The Qt-free core of `gesture-capture`. Every image is encoded in memory, written to a hidden
temporary file in its class folder, fsynced and renamed into place with `os.replace`; only then is
its manifest row appended (and fsynced). A lock file serialises the rename and the manifest edits
across every writer on the folder, also across two runs of the tool, so names never collide and
the manifest always matches the files on disk.
"""

from __future__ import annotations

import csv
import errno
import io
import logging
import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

from models import CLASS_NAMES
from models.images import is_image_file
from models.preprocess import INPUT_STYLES

from .roi import DEFAULT_ROI, RegionOfInterest

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = ("file", "class", "time", "source", "region", "input_style", "full_frame")
LOCK_NAME = ".gesture-capture.lock"
# Hidden, so training (which reads class folders) never mistakes full frames for a class.
FULL_FRAMES_DIR = ".full-frames"
TEMP_PREFIX = ".tmp-"
# A temporary file this old was left by a crashed run (writing one takes milliseconds).
STALE_TEMP_SECONDS = 600

# The documented dataset: 550 images per class, split 375 / 125 / 50.
TARGET_PER_CLASS = 550
SPLIT_TARGETS = {"train": 375, "val": 125, "test": 50}
# Folder names the training side gives a meaning of their own (DATA/train|val|test/<class>/).
RESERVED_NAMES = frozenset({"train", "val", "validation", "valid", "test", MANIFEST_NAME, FULL_FRAMES_DIR})
MAX_CLASS_NAME_LENGTH = 64
_FORBIDDEN_CHARACTERS = set('/\\:*?"<>|')

IMAGE_FORMATS = {"jpg": ".jpg", "png": ".png"}
DEFAULT_JPEG_QUALITY = 95


class ClassNameError(ValueError):
    """A class name that cannot be a dataset folder; the message says what would be valid."""


class DatasetWriteError(RuntimeError):
    """Saving failed (disk full, no permission, ...); nothing saved earlier was lost."""


def validate_class_name(name: str) -> str:
    """The class name, stripped, or ClassNameError saying why it cannot be a folder name."""
    name = str(name).strip()
    if not name:
        raise ClassNameError("A class name cannot be empty; type a name such as 'thumbs_up'.")
    if any(char in _FORBIDDEN_CHARACTERS for char in name) or os.sep in name or (os.altsep and os.altsep in name):
        raise ClassNameError(
            f"Class name {name!r} contains a path separator or a character not allowed in folder names "
            "(/ \\ : * ? \" < > |); use letters, digits, '-' or '_'."
        )
    if any(ord(char) < 32 for char in name):
        raise ClassNameError(f"Class name {name!r} contains a control character; use letters, digits, '-' or '_'.")
    if name.startswith("."):
        raise ClassNameError(f"Class name {name!r} starts with '.', which would make a hidden folder; drop the dot.")
    if name.lower() in RESERVED_NAMES:
        raise ClassNameError(
            f"Class name {name!r} is reserved (train/val/test folders mean an already split dataset); choose another name."
        )
    if len(name) > MAX_CLASS_NAME_LENGTH:
        raise ClassNameError(f"Class name {name[:20]!r}... is longer than {MAX_CLASS_NAME_LENGTH} characters; shorten it.")
    return name


def parse_class_list(text: str) -> list[str]:
    """'a,b,c' -> ['a', 'b', 'c'], each validated, no duplicates."""
    names = [validate_class_name(part) for part in str(text).split(",")]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ClassNameError(f"Class {name!r} is listed twice in {text!r}; list each class once.")
        seen.add(name)
    return names


def split_counts(count: int) -> dict[str, int]:
    """How `count` images of a class will divide into train/val/test (375:125:50, at least one each).

    The same arithmetic as gesture-train's split (which the app does not import), so the window
    shows what training will do with the folder.
    """
    if count < len(SPLIT_TARGETS):
        return {"train": count, "val": 0, "test": 0}
    total = sum(SPLIT_TARGETS.values())
    test = max(1, round(count * SPLIT_TARGETS["test"] / total))
    val = max(1, round(count * SPLIT_TARGETS["val"] / total))
    return {"train": count - val - test, "val": val, "test": test}


def format_region(roi: RegionOfInterest, frame_shape) -> str:
    """'x0 y0 x1 y1 of WxH': the crop's pixel box in the frame it came from (one CSV cell)."""
    x0, y0, x1, y1 = roi.to_pixels(frame_shape)
    height, width = frame_shape[:2]
    return f"{x0} {y0} {x1} {y1} of {width}x{height}"


@dataclass(frozen=True)
class SavedImage:
    """One image on disk and its manifest row."""

    path: Path
    class_name: str
    time: str
    source: str = ""
    region: str = ""
    input_style: str = ""
    full_frame_path: Path | None = None


@dataclass
class ReconcileReport:
    """What opening a dataset folder fixed so the manifest matches the files on disk."""

    rows_dropped: int = 0  # rows whose image file is gone
    rows_added: int = 0  # image files that had no row
    temps_removed: int = 0  # temporary files left by an interrupted run
    classes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.rows_dropped or self.rows_added)


def _describe_os_error(exc: OSError, path: Path) -> DatasetWriteError:
    folder = path.parent
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        message = (
            f"The disk is full: could not save {path.name} in {folder}. Recording stopped; every image saved "
            "before is intact. Free some space or choose another output folder (--out), then record again."
        )
    elif isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        message = (
            f"No permission to write in {folder}. Recording stopped; every image saved before is intact. "
            "Choose a folder you can write to (--out) or fix its permissions."
        )
    else:
        message = (
            f"Could not save {path.name} in {folder}: {exc.strerror or exc}. Recording stopped; every image "
            "saved before is intact. Check the folder and try again."
        )
    return DatasetWriteError(message)


def _fsync_directory(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def _exclusive_lock(lock_path: Path):
    """An inter-process lock on a file (flock on POSIX, msvcrt on Windows)."""
    with open(lock_path, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        else:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            else:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)


def _write_new_file(path: Path, data: bytes) -> None:
    """Create `path` (failing if it exists), write `data` and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _new_name(class_name: str, stamp: datetime, suffix: str) -> str:
    # Time to the microsecond + process id + random token: unique without a lock, and the lock
    # plus an existence check make sure of it.
    return f"{class_name}_{stamp:%Y%m%d-%H%M%S-%f}_{os.getpid()}_{secrets.token_hex(3)}{suffix}"


class DatasetWriter:
    """A dataset folder: one sub-folder of images per class and a manifest beside them.

    Opening it creates the folder and reconciles the manifest with the files on disk, so counts
    resume where an earlier run stopped.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        image_format: str = "jpg",
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    ):
        if image_format not in IMAGE_FORMATS:
            raise ValueError(f"image_format must be one of {sorted(IMAGE_FORMATS)}, got {image_format!r}")
        if not 1 <= int(jpeg_quality) <= 100:
            raise ValueError(f"jpeg_quality must be between 1 and 100, got {jpeg_quality}")
        self.root = Path(root)
        self.image_format = image_format
        self.jpeg_quality = int(jpeg_quality)
        if self.root.exists() and not self.root.is_dir():
            raise DatasetWriteError(f"{self.root} is a file, not a folder; choose a folder for the dataset (--out).")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _describe_os_error(exc, self.root / MANIFEST_NAME) from exc
        self.last_reconcile = self.reconcile()

    # -- paths and counts ---------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def _lock_path(self) -> Path:
        return self.root / LOCK_NAME

    def class_dir(self, class_name: str) -> Path:
        return self.root / validate_class_name(class_name)

    def classes_on_disk(self) -> list[str]:
        """Sub-folders that are valid class names, sorted (what an earlier run captured)."""
        names = []
        for entry in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            if not entry.is_dir():
                continue
            try:
                names.append(validate_class_name(entry.name))
            except ClassNameError:
                continue
        return names

    def image_files(self, class_name: str) -> list[Path]:
        folder = self.root / class_name
        if not folder.is_dir():
            return []
        return sorted(path for path in folder.iterdir() if is_image_file(path))

    def count(self, class_name: str) -> int:
        return len(self.image_files(class_name))

    def counts(self, class_names=None) -> dict[str, int]:
        names = list(class_names) if class_names is not None else self.classes_on_disk()
        return {name: self.count(name) for name in names}

    # -- saving ---------------------------------------------------------------------------------

    def _encode(self, image_bgr: np.ndarray) -> bytes:
        suffix = IMAGE_FORMATS[self.image_format]
        params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality] if self.image_format == "jpg" else []
        ok, buffer = cv2.imencode(suffix, np.ascontiguousarray(image_bgr), params)
        if not ok:
            raise DatasetWriteError(f"Could not encode a {image_bgr.shape} image as {self.image_format}; this is a bug, please report it.")
        return buffer.tobytes()

    def save(
        self,
        class_name: str,
        image_bgr: np.ndarray,
        *,
        source: str = "",
        region: str = "",
        input_style: str = "colour",
        full_frame_bgr: np.ndarray | None = None,
    ) -> SavedImage:
        """Write one image (and optionally its full frame) and its manifest row, or nothing at all.

        Raises DatasetWriteError with a message for the user on a full disk, missing permission or
        any other OS error; whatever was saved before stays intact.
        """
        class_name = validate_class_name(class_name)
        suffix = IMAGE_FORMATS[self.image_format]
        folder = self.root / class_name
        stamp = _now()
        name = _new_name(class_name, stamp, suffix)
        data = self._encode(image_bgr)
        frame_data = self._encode(full_frame_bgr) if full_frame_bgr is not None else None
        frame_folder = self.root / FULL_FRAMES_DIR / class_name

        # The temporary name is this writer's own (pid + random), not derived from the final
        # name: two processes proposing the same final name must not share a temp file.
        temp_name = f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}{suffix}"
        temp_path = folder / temp_name
        frame_temp_path = frame_folder / temp_name
        placed: list[Path] = []
        try:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                _write_new_file(temp_path, data)
                if frame_data is not None:
                    frame_folder.mkdir(parents=True, exist_ok=True)
                    _write_new_file(frame_temp_path, frame_data)
                with _exclusive_lock(self._lock_path):
                    while (folder / name).exists() or (frame_folder / name).exists():
                        name = _new_name(class_name, _now(), suffix)
                    final_path = folder / name
                    os.replace(temp_path, final_path)
                    placed.append(final_path)
                    frame_path = None
                    if frame_data is not None:
                        frame_path = frame_folder / name
                        os.replace(frame_temp_path, frame_path)
                        placed.append(frame_path)
                    _fsync_directory(folder)
                    saved = SavedImage(
                        path=final_path,
                        class_name=class_name,
                        time=stamp.isoformat(timespec="milliseconds"),
                        source=source,
                        region=region,
                        input_style=input_style,
                        full_frame_path=frame_path,
                    )
                    self._append_row(self._row_for(saved))
            except OSError as exc:
                raise _describe_os_error(exc, folder / name) from exc
        except BaseException:
            # Roll back: an image without its manifest row would make the two disagree.
            for path in placed:
                path.unlink(missing_ok=True)
            raise
        finally:
            temp_path.unlink(missing_ok=True)
            frame_temp_path.unlink(missing_ok=True)
        logger.debug("saved %s", saved.path)
        return saved

    # -- deleting -------------------------------------------------------------------------------

    def delete(self, saved: SavedImage | Path) -> None:
        """Remove an image (and its full frame) and its manifest row."""
        path = saved.path if isinstance(saved, SavedImage) else Path(saved)
        relative = self._relative(path)
        try:
            with _exclusive_lock(self._lock_path):
                rows = self._read_rows()
                kept = [row for row in rows if row.get("file") != relative]
                for row in rows:
                    if row.get("file") == relative and row.get("full_frame"):
                        (self.root / row["full_frame"]).unlink(missing_ok=True)
                path.unlink(missing_ok=True)
                if len(kept) != len(rows):
                    self._rewrite_manifest(kept)
        except OSError as exc:
            raise _describe_os_error(exc, path) from exc

    # -- the manifest ---------------------------------------------------------------------------

    def _relative(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def _row_for(self, saved: SavedImage) -> dict[str, str]:
        return {
            "file": self._relative(saved.path),
            "class": saved.class_name,
            "time": saved.time,
            "source": saved.source,
            "region": saved.region,
            "input_style": saved.input_style,
            "full_frame": self._relative(saved.full_frame_path) if saved.full_frame_path else "",
        }

    def read_manifest(self) -> list[dict[str, str]]:
        """The manifest's rows (file paths are relative to the dataset folder, with '/')."""
        with _exclusive_lock(self._lock_path):
            return self._read_rows()

    def _read_rows(self) -> list[dict[str, str]]:
        if not self.manifest_path.exists():
            return []
        with open(self.manifest_path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = []
            for row in reader:
                if not row.get("file") or None in row.values():
                    continue  # a line cut short by a crash mid-append
                rows.append({key: row.get(key) or "" for key in MANIFEST_FIELDS})
            return rows

    def _manifest_header_ok(self) -> bool:
        try:
            with open(self.manifest_path, newline="", encoding="utf-8") as handle:
                return tuple(next(csv.reader(handle), ())) == MANIFEST_FIELDS
        except FileNotFoundError:
            return False

    def _append_row(self, row: dict[str, str]) -> None:
        """Append one row with flush + fsync (the caller holds the lock)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
        new_file = not self.manifest_path.exists() or self.manifest_path.stat().st_size == 0
        if new_file:
            writer.writeheader()
        writer.writerow(row)
        with open(self.manifest_path, "a", newline="", encoding="utf-8") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())

    def _rewrite_manifest(self, rows: list[dict[str, str]]) -> None:
        """Replace the manifest atomically (the caller holds the lock)."""
        temp_path = self.root / f"{TEMP_PREFIX}{MANIFEST_NAME}.{os.getpid()}.{secrets.token_hex(3)}"
        try:
            with open(temp_path, "x", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_path, self.manifest_path)
            _fsync_directory(self.root)
        finally:
            temp_path.unlink(missing_ok=True)

    def reconcile(self) -> ReconcileReport:
        """Make the manifest match the disk: drop rows whose file is gone, add rows for files without one.

        Also removes temporary files an interrupted run left behind. Safe to call while another
        run records into the same folder (it takes the same lock).
        """
        report = ReconcileReport()
        try:
            with _exclusive_lock(self._lock_path):
                report.temps_removed = self._remove_stale_temps()
                rows = self._read_rows()
                seen: set[str] = set()
                kept = []
                for row in rows:
                    if row["file"] in seen or not is_image_file(self.root / row["file"]):
                        report.rows_dropped += 1
                        continue
                    seen.add(row["file"])
                    kept.append(row)
                report.classes = self.classes_on_disk()
                for class_name in report.classes:
                    for path in self.image_files(class_name):
                        relative = f"{class_name}/{path.name}"
                        if relative in seen:
                            continue
                        stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                        kept.append(
                            {
                                "file": relative,
                                "class": class_name,
                                "time": stamp.isoformat(timespec="milliseconds"),
                                "source": "found on disk",
                                "region": "",
                                "input_style": "",
                                "full_frame": "",
                            }
                        )
                        seen.add(relative)
                        report.rows_added += 1
                if report.changed or (rows and not self._manifest_header_ok()) or (kept and not rows):
                    self._rewrite_manifest(kept)
        except OSError as exc:
            if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                # A read-only dataset can still be counted; saving will report the problem.
                logger.warning("Cannot update %s: %s", self.manifest_path, exc)
                report.classes = self.classes_on_disk()
                return report
            raise _describe_os_error(exc, self.manifest_path) from exc
        if report.changed or report.temps_removed:
            logger.info(
                "%s: manifest reconciled (%d rows for missing files dropped, %d files added, %d temporary files removed)",
                self.root,
                report.rows_dropped,
                report.rows_added,
                report.temps_removed,
            )
        return report

    def _remove_stale_temps(self) -> int:
        removed = 0
        cutoff = time.time() - STALE_TEMP_SECONDS
        folders = [self.root, *(p for p in self.root.iterdir() if p.is_dir())]
        frames_root = self.root / FULL_FRAMES_DIR
        if frames_root.is_dir():
            folders += [p for p in frames_root.iterdir() if p.is_dir()]
        for folder in folders:
            for path in folder.glob(f"{TEMP_PREFIX}*"):
                try:
                    if path.is_file() and path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except OSError:
                    continue
        return removed


class Capturer:
    """Frame -> the image to save -> the dataset: the one capture path the window and headless mode share.

    The saved image is the crop inside the region of interest, in the chosen input style: the
    plain colour crop, or the silhouette from a SilhouetteExtractor (which needs a background).
    """

    def __init__(
        self,
        writer: DatasetWriter,
        *,
        roi: RegionOfInterest = DEFAULT_ROI,
        input_style: str = "colour",
        extractor=None,
        save_full_frame: bool = False,
        source_name: str = "",
    ):
        if input_style not in INPUT_STYLES:
            raise ValueError(f"input_style must be one of {INPUT_STYLES}, got {input_style!r}")
        self.writer = writer
        self.roi = roi
        self.input_style = input_style
        self.extractor = extractor
        self.save_full_frame = save_full_frame
        self.source_name = source_name
        self.skip_reason = ""

    def image_for(self, frame_bgr: np.ndarray) -> np.ndarray | None:
        """The image that would be saved for this frame, or None (reason in `skip_reason`)."""
        crop_bgr = self.roi.crop(frame_bgr)
        if self.input_style == "colour":
            self.skip_reason = ""
            return crop_bgr.copy()
        if self.extractor is None or not self.extractor.has_background:
            self.skip_reason = "no background yet: keep your hand out of the box and capture the background (B)"
            return None
        silhouette_bgr = self.extractor.extract(crop_bgr)
        self.skip_reason = "" if silhouette_bgr is not None else "too little hand in the box"
        return silhouette_bgr

    def capture(self, frame_bgr: np.ndarray, class_name: str, image_bgr: np.ndarray | None = None) -> SavedImage | None:
        """Save this frame's image for `class_name`; None when there is nothing to save (see `skip_reason`).

        `image_bgr`: the frame's image from `image_for`, when the caller already made it (for a preview).
        """
        if image_bgr is None:
            image_bgr = self.image_for(frame_bgr)
        if image_bgr is None:
            return None
        return self.writer.save(
            class_name,
            image_bgr,
            source=self.source_name,
            region=format_region(self.roi, frame_bgr.shape),
            input_style=self.input_style,
            full_frame_bgr=frame_bgr if self.save_full_frame else None,
        )


class BurstClock:
    """Says when the next shot of a held burst is due, at `fps` shots per second."""

    def __init__(self, fps: float = 5.0):
        self.fps = fps
        self._next: float | None = None  # when the next shot is due

    @property
    def fps(self) -> float:
        return self._fps

    @fps.setter
    def fps(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"burst rate must be above 0 frames per second, got {value}")
        self._fps = float(value)

    def reset(self) -> None:
        self._next = None

    def due(self, now: float) -> bool:
        """True (and counts a shot) when a shot is due at time `now` (seconds)."""
        period = 1.0 / self._fps
        # A little slack so a frame arriving a hair early is not put off by a whole frame.
        if self._next is not None and now < self._next - 0.02 * period:
            return False
        # Keep to the schedule so the rate holds on average, unless we fell a whole period behind.
        on_schedule = self._next is not None and now - self._next < period
        self._next = (self._next if on_schedule else now) + period
        return True


def default_classes() -> list[str]:
    return list(CLASS_NAMES)
