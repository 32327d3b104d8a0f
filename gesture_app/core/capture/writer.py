"""Writing a gesture dataset safely: DATA/<class>/<name>.jpg plus DATA/manifest.csv, never a half file (no Qt here).

Every image is encoded in memory, then, under the folder's lock, written and fsynced to a
hidden temporary in its class folder (`models.atomic_files.write_new_file`), renamed into
place, and only then given its manifest row. The lock serialises every writer on the folder,
also two runs of the tool, so names never collide, the manifest always matches the files, and
a temporary seen under the lock is a leftover of a killed run.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from models.atomic_files import TEMP_PREFIX, fsync_directory, interrupts_deferred, remove_quietly, write_new_file
from models.dataset_rules import MANIFEST_NAME, ClassNameError, validate_class_name
from models.images import is_image_file

from .errors import DatasetWriteError, describe_os_error, is_permission_error
from .manifest import FULL_FRAMES_DIR, Manifest, ReconcileReport, SavedImage

logger = logging.getLogger(__name__)

IMAGE_FORMATS = {"jpg": ".jpg", "png": ".png"}
DEFAULT_JPEG_QUALITY = 95


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

    def __init__(self, root: str | Path, *, image_format: str = "jpg", jpeg_quality: int = DEFAULT_JPEG_QUALITY):
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
            raise describe_os_error(exc, self.root / MANIFEST_NAME) from exc
        self.manifest = Manifest(self.root)
        self.last_reconcile = self.reconcile()

    # -- counts ---------------------------------------------------------------------------------

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

    def read_manifest(self) -> list[dict[str, str]]:
        """The manifest's rows (file paths are relative to the dataset folder, with '/')."""
        return self.manifest.read()

    # -- saving and deleting --------------------------------------------------------------------

    def _encode(self, image_bgr: np.ndarray) -> bytes:
        suffix = IMAGE_FORMATS[self.image_format]
        params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality] if self.image_format == "jpg" else []
        ok, buffer = cv2.imencode(suffix, np.ascontiguousarray(image_bgr), params)
        if not ok:
            raise DatasetWriteError(f"Could not encode a {image_bgr.shape} image as {self.image_format}; this is a bug, please report it.")
        return buffer.tobytes()

    def save(self, class_name: str, image_bgr: np.ndarray, *, source: str = "", region: str = "", input_style: str = "colour",
             full_frame_bgr: np.ndarray | None = None, landmarks: str = "") -> SavedImage:
        """Write one image (and optionally its full frame) and its manifest row, or nothing at all.

        Raises DatasetWriteError with a message for the user on a full disk, missing permission or
        any other OS error; whatever was saved before stays intact.
        """
        class_name = validate_class_name(class_name)
        suffix = IMAGE_FORMATS[self.image_format]
        folder = self.root / class_name
        frame_folder = self.root / FULL_FRAMES_DIR / class_name
        stamp = _now()
        name = _new_name(class_name, stamp, suffix)
        data = self._encode(image_bgr)
        frame_data = self._encode(full_frame_bgr) if full_frame_bgr is not None else None
        temp_name = f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}{suffix}"
        temps = [folder / temp_name] + ([frame_folder / temp_name] if frame_data is not None else [])
        placed: list[Path] = []
        committed = False
        # Everything happens under the folder's lock, temporaries included: a temporary that
        # another opening of the folder sees (under the same lock) was left by a dead process.
        # The commit point is the manifest row; Ctrl+C is held back until the image and its row
        # are both written or both undone.
        try:
            with self.manifest.lock(), interrupts_deferred():
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    write_new_file(temps[0], data)
                    if frame_data is not None:
                        frame_folder.mkdir(parents=True, exist_ok=True)
                        write_new_file(temps[1], frame_data)
                    while (folder / name).exists() or (frame_folder / name).exists():
                        name = _new_name(class_name, _now(), suffix)
                    for temp in temps:
                        os.replace(temp, temp.parent / name)
                        placed.append(temp.parent / name)
                    for path in placed:
                        fsync_directory(path.parent)
                    saved = SavedImage(placed[0], class_name, stamp.isoformat(timespec="milliseconds"), source, region, input_style,
                                       placed[1] if frame_data is not None else None, landmarks)
                    self.manifest.append(self.manifest.row_for(saved))  # the whole row or nothing
                    committed = True
                finally:
                    if not committed:
                        # Roll back: an image without its manifest row would make the two disagree.
                        for path in [*placed, *temps]:
                            remove_quietly(path)
        except OSError as exc:
            raise describe_os_error(exc, folder / name) from exc
        logger.debug("saved %s", saved.path)
        return saved

    def delete(self, saved: SavedImage | Path) -> None:
        """Remove an image (and its full frame) and its manifest row."""
        path = saved.path if isinstance(saved, SavedImage) else Path(saved)
        relative = self.manifest.relative(path)
        try:
            with self.manifest.lock():
                rows = self.manifest.read_rows()
                kept = [row for row in rows if row["file"] != relative]
                for row in rows:
                    if row["file"] == relative and row["full_frame"]:
                        (self.root / row["full_frame"]).unlink(missing_ok=True)
                path.unlink(missing_ok=True)
                if len(kept) != len(rows):
                    self.manifest.rewrite(kept)
        except OSError as exc:
            raise describe_os_error(exc, path) from exc

    # -- opening a folder -----------------------------------------------------------------------

    def reconcile(self) -> ReconcileReport:
        """Make the manifest match the disk: drop rows whose file is gone, add rows for files without one.

        Also removes the temporary files of a run that was killed, and full frames whose image
        was deleted. Safe to call while another run records into the same folder: it takes the
        same lock, and a run writes its temporaries only while holding it.
        """
        report = ReconcileReport()
        try:
            with self.manifest.lock():
                report.temps_removed = self._remove_temps()
                report.classes = self.classes_on_disk()
                frames_root = self.root / FULL_FRAMES_DIR
                full_frames = sorted(path for path in frames_root.glob("*/*") if is_image_file(path)) if frames_root.is_dir() else []
                self.manifest.match_files({name: self.image_files(name) for name in report.classes}, report, full_frames)
        except OSError as exc:
            if is_permission_error(exc):
                # A read-only dataset can still be counted; saving will report the problem.
                logger.warning("Cannot update %s (%s); counting what is there, but saving will fail.", self.manifest.path, exc.strerror or exc)
                report.classes = self.classes_on_disk()
                return report
            raise describe_os_error(exc, self.manifest.path) from exc
        if report.changed or report.temps_removed:
            logger.info(
                "%s: manifest reconciled (%d rows for missing files dropped, %d files added, %d damaged lines repaired, "
                "%d temporary files removed; full frames: %d linked, %d moved, %d removed with their image, %d missing)",
                self.root, report.rows_dropped, report.rows_added, report.rows_repaired, report.temps_removed,
                report.frames_linked, report.frames_moved, report.frames_removed, report.frames_unlinked,
            )
        return report

    def _remove_temps(self) -> int:
        """Remove every temporary file; the caller holds the lock, so none belongs to a live save."""
        removed = 0
        folders = [self.root, *(p for p in self.root.iterdir() if p.is_dir())]
        frames_root = self.root / FULL_FRAMES_DIR
        if frames_root.is_dir():
            folders += [p for p in frames_root.iterdir() if p.is_dir()]
        for folder in folders:
            for path in folder.glob(f"{TEMP_PREFIX}*"):
                try:
                    if path.is_file():
                        path.unlink()
                        removed += 1
                except OSError:
                    continue
        return removed
