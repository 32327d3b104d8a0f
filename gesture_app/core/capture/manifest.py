"""DATA/manifest.csv: one row per saved image (fields in `models.dataset_rules`), kept in step with the disk (no Qt here).

Every edit happens under the dataset folder's lock (`Manifest.lock()`), which writers in
other processes take too: a row is appended (and fsynced) only after its image is in place,
and a rewrite replaces the whole file atomically.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from models.atomic_files import atomic_write, exclusive_lock
from models.dataset_rules import MANIFEST_FIELDS, MANIFEST_NAME
from models.images import is_image_file

LOCK_NAME = ".gesture-capture.lock"


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
        }

    def saved_image(self, row: dict[str, str]) -> SavedImage:
        full_frame = self.root / row["full_frame"] if row["full_frame"] else None
        return SavedImage(self.root / row["file"], row["class"], row["time"], row["source"], row["region"], row["input_style"], full_frame)

    def read(self) -> list[dict[str, str]]:
        """The rows, under the lock."""
        with self.lock():
            return self.read_rows()

    # -- the caller holds the lock ---------------------------------------------------------------

    def read_rows(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        with open(self.path, newline="", encoding="utf-8") as handle:
            rows = []
            for row in csv.DictReader(handle):
                if not row.get("file") or None in row.values():
                    continue  # a line cut short by a crash mid-append
                rows.append({key: row.get(key) or "" for key in MANIFEST_FIELDS})
            return rows

    def header_ok(self) -> bool:
        try:
            with open(self.path, newline="", encoding="utf-8") as handle:
                return tuple(next(csv.reader(handle), ())) == MANIFEST_FIELDS
        except FileNotFoundError:
            return False

    def append(self, row: dict[str, str]) -> None:
        """Append one row with flush + fsync (a header first when the file is new)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
        if not self.path.exists() or self.path.stat().st_size == 0:
            writer.writeheader()
        writer.writerow(row)
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())

    def rewrite(self, rows: list[dict[str, str]]) -> None:
        """Replace the whole manifest atomically."""
        with atomic_write(self.path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    def match_files(self, files_by_class: dict[str, list[Path]], report: ReconcileReport) -> None:
        """Drop rows whose file is gone (or repeated), add rows for files without one; counted in `report`."""
        rows = self.read_rows()
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
                })
                seen.add(relative)
                report.rows_added += 1
        if report.changed or (rows and not self.header_ok()) or (kept and not rows):
            self.rewrite(kept)
