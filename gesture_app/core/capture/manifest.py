"""DATA/manifest.csv: one row per saved image (fields in `models.dataset_rules`), kept in step with the disk (no Qt here).

Every edit happens under the dataset folder's lock (`Manifest.lock()`), which writers in
other processes take too: a row is appended (in one write, fsynced, cut back off if the disk
fills) only after its image is in place, and a rewrite replaces the whole file atomically.
"""

from __future__ import annotations

import csv
import errno
import io
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from models.atomic_files import atomic_write, exclusive_lock
from models.dataset_rules import MANIFEST_FIELDS as BASE_FIELDS
from models.dataset_rules import MANIFEST_LANDMARKS_FIELD, MANIFEST_NAME
from models.images import is_image_file

logger = logging.getLogger(__name__)

LOCK_NAME = ".gesture-capture.lock"
# The columns this tool writes: the dataset rules' fields, then their optional landmarks column
# (a manifest without it is rewritten with it, empty, when the folder is opened).
MANIFEST_FIELDS = (*BASE_FIELDS, MANIFEST_LANDMARKS_FIELD)
# Hidden, so training (which reads class folders) never mistakes full frames for a class.
FULL_FRAMES_DIR = ".full-frames"


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
    landmarks: str = ""  # the manifest's landmarks cell (models.dataset_rules.format_landmarks); "" not recorded


@dataclass
class ReconcileReport:
    """What opening a dataset folder fixed so the manifest matches the files on disk."""

    rows_dropped: int = 0  # rows whose image file is gone
    rows_added: int = 0  # image files that had no row
    rows_repaired: int = 0  # lines cut short (salvaged) or garbled (skipped)
    temps_removed: int = 0  # temporary files left by an interrupted run
    frames_linked: int = 0  # full frames given back to their image's row (killed before the row was written)
    frames_moved: int = 0  # full frames moved after their image was moved to another class by hand
    frames_removed: int = 0  # full frames whose image was deleted by hand
    frames_unlinked: int = 0  # rows whose full frame was deleted by hand
    classes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.rows_dropped or self.rows_added or self.rows_repaired or self.frames_linked or self.frames_moved
                    or self.frames_removed or self.frames_unlinked)


class Manifest:
    """The manifest of the dataset folder `root`; rows are dicts of MANIFEST_FIELDS, file paths relative with '/'."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.path = self.root / MANIFEST_NAME
        self.lock_path = self.root / LOCK_NAME

    def lock(self):
        """The folder's inter-process lock, for a `with` block."""
        return exclusive_lock(self.lock_path)

    def relative(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def row_for(self, saved: SavedImage) -> dict[str, str]:
        return {
            "file": self.relative(saved.path),
            "class": saved.class_name,
            "time": saved.time,
            "source": saved.source,
            "region": saved.region,
            "input_style": saved.input_style,
            "full_frame": self.relative(saved.full_frame_path) if saved.full_frame_path else "",
            MANIFEST_LANDMARKS_FIELD: saved.landmarks,
        }

    def saved_image(self, row: dict[str, str]) -> SavedImage:
        full_frame = self.root / row["full_frame"] if row["full_frame"] else None
        return SavedImage(self.root / row["file"], row["class"], row["time"], row["source"], row["region"], row["input_style"], full_frame,
                          row.get(MANIFEST_LANDMARKS_FIELD, ""))

    def read(self) -> list[dict[str, str]]:
        """The rows, under the lock."""
        with self.lock():
            return self.read_rows()

    # -- the caller holds the lock ---------------------------------------------------------------

    def read_rows(self) -> list[dict[str, str]]:
        return self._read()[0]

    def _read(self) -> tuple[list[dict[str, str]], int]:
        """(rows, damaged lines): a last line cut short is salvaged, a garbled line skipped.

        A last line without its newline is a row whose append was cut short (a power cut, or a
        full disk where cutting the file back failed too): every field but the last, which the
        cut may have gone through, is kept, and the reconcile drops the row if its image is not
        on disk. A line with too many fields was glued onto such a line by an older version; it
        cannot be split safely, so it is skipped and its image comes back as "found on disk".
        """
        try:
            with open(self.path, newline="", encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except FileNotFoundError:
            return [], 0
        records = list(csv.reader(io.StringIO(text)))
        rows, damaged = [], 0
        torn = bool(text) and not text.endswith(("\n", "\r"))
        # A manifest from before the landmarks column has rows of the base fields only.
        columns = BASE_FIELDS if records and tuple(records[0]) == BASE_FIELDS else MANIFEST_FIELDS
        for number, fields in enumerate(records[1:], start=2):
            if torn and number == len(records):
                fields = fields[:-1]
                damaged += 1
            elif len(fields) != len(columns):
                damaged += 1
                if len(fields) > len(columns):
                    continue
            row = dict(zip(columns, fields))
            if row.get("file"):
                rows.append({key: row.get(key) or "" for key in MANIFEST_FIELDS})
        return rows, damaged

    def header_ok(self) -> bool:
        try:
            with open(self.path, newline="", encoding="utf-8") as handle:
                return tuple(next(csv.reader(handle), ())) == MANIFEST_FIELDS
        except FileNotFoundError:
            return False

    def append(self, row: dict[str, str]) -> None:
        """Append one row whole or not at all, fsynced (a header first when the file is new).

        The row goes out in one write; when the disk fills part-way the file is cut back to its
        old length, so a failed append never leaves half a row for the next one to be glued onto.
        """
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                writer.writeheader()
            else:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) not in (b"\n", b"\r"):
                    buffer.write("\n")  # a cut row that could not be cut back: it stays a line of its own
            writer.writerow(row)
            data = buffer.getvalue().encode("utf-8")
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(errno.ENOSPC, f"No space left on device (wrote {written} of {len(data)} bytes of a row)")
                os.fsync(fd)
            except BaseException:
                try:
                    os.ftruncate(fd, size)
                    os.fsync(fd)
                except OSError as exc:  # the next open repairs the cut line
                    logger.warning("could not cut %s back after a failed append: %s", self.path, exc)
                raise
        finally:
            os.close(fd)

    def rewrite(self, rows: list[dict[str, str]]) -> None:
        """Replace the whole manifest atomically."""
        with atomic_write(self.path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    def match_files(self, files_by_class: dict[str, list[Path]], report: ReconcileReport, full_frames: list[Path] = ()) -> None:
        """Drop rows whose file is gone (or repeated), add rows for files without one; counted in `report`.

        `full_frames`: the files under .full-frames/; each ends up in its image's row or is removed.
        """
        rows, damaged = self._read()
        report.rows_repaired += damaged
        seen: set[str] = set()
        kept = []
        for row in rows:
            if row["file"] in seen or not is_image_file(self.root / row["file"]):
                report.rows_dropped += 1
                continue
            seen.add(row["file"])
            kept.append(row)
        for class_name, files in files_by_class.items():
            for path in files:
                relative = f"{class_name}/{path.name}"
                if relative in seen:
                    continue
                stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                kept.append({
                    "file": relative, "class": class_name, "time": stamp.isoformat(timespec="milliseconds"),
                    "source": "found on disk", "region": "", "input_style": "", "full_frame": "",
                    MANIFEST_LANDMARKS_FIELD: "",
                })
                seen.add(relative)
                report.rows_added += 1
        self._match_full_frames(kept, full_frames, report)
        # An older header (without the landmarks column) is replaced before a row is appended under it.
        if report.changed or (self.path.exists() and not self.header_ok()) or (kept and not rows):
            self.rewrite(kept)

    def _match_full_frames(self, rows: list[dict[str, str]], full_frames, report: ReconcileReport) -> None:
        """Every full frame belongs to one row and every row's full frame exists (a frame is named as its image)."""
        for row in rows:
            if row["full_frame"] and not (self.root / row["full_frame"]).is_file():
                row["full_frame"] = ""
                report.frames_unlinked += 1
        linked = {row["full_frame"] for row in rows if row["full_frame"]}
        by_name = {Path(row["file"]).name: row for row in rows if not row["full_frame"]}
        for frame in full_frames:
            relative = self.relative(frame)
            if relative in linked:
                continue
            row = by_name.pop(frame.name, None)
            if row is None:
                frame.unlink()  # its image was deleted, as the window's Delete does with both
                report.frames_removed += 1
                continue
            wanted = self.root / FULL_FRAMES_DIR / row["class"] / frame.name
            if wanted != frame:
                wanted.parent.mkdir(parents=True, exist_ok=True)
                os.replace(frame, wanted)
                report.frames_moved += 1
            else:
                report.frames_linked += 1
            row["full_frame"] = self.relative(wanted)
