"""What a model bundle is called, and the list of recently used bundles (no Qt here).

Every bundle folder gesture-train writes is called `bundle`, so the folder name says nothing; a
bundle is named from its own bundle.json instead: the run, the dataset it learned from and the
date it was trained (`bundle_title`), e.g. "landmarks · my-gestures · 30 Nov 2026 15:04".

The recent list is a small JSON file in the user's configuration folder, newest first:

    ~/.config/gesture-recognition/recent.json      (Linux; $XDG_CONFIG_HOME is honoured)
    %APPDATA%\\gesture-recognition\\recent.json     (Windows)
    ~/Library/Application Support/gesture-recognition/recent.json   (macOS)

$GESTURE_CONFIG_DIR moves it (the tests point it at a temporary folder). The capture window adds
a bundle when it trains or exports one, gesture-app when it opens one; the app's Open model dialog
lists them. A damaged or unwritable file never stops either program: the list is then empty, or
not saved, and a warning is logged.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from models.atomic_files import atomic_write_text
from models.bundle import BundleError, default_bundle_path, read_description

logger = logging.getLogger(__name__)

CONFIG_DIR_ENV = "GESTURE_CONFIG_DIR"
APP_DIR_NAME = "gesture-recognition"
RECENT_FILE = "recent.json"
RECENT_LIMIT = 10


def config_dir() -> Path:
    """The folder for the user's settings of these tools (not created here)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / APP_DIR_NAME


def _trained_at(description: dict) -> datetime | None:
    """When the bundle was trained, in local time (provenance.created is UTC ISO 8601)."""
    created = (description.get("provenance") or {}).get("created")
    try:
        return datetime.fromisoformat(created).astimezone() if created else None
    except (TypeError, ValueError):
        return None


def _run_name(description: dict, path: Path) -> str:
    provenance = description.get("provenance") or {}
    heads = description.get("heads") or {}
    run = provenance.get("run") if isinstance(provenance, dict) else None
    if "cnn" in heads and "landmarks" in heads:
        # A combined bundle keeps the CNN run's provenance; say that it carries the landmark head too.
        landmark_run = (heads["landmarks"].get("provenance") or {}).get("run", "landmarks")
        return f"{run or path.name} + {landmark_run}"
    return run or path.name


def bundle_title(description: dict, path: str | Path) -> str:
    """"<run> · <dataset> · <date>" from a bundle's description, as far as it says; the bundled default says so."""
    path = Path(path)
    parts = [_run_name(description, path)]
    root = ((description.get("provenance") or {}).get("dataset") or {}).get("root")
    if root:
        parts.append(Path(root).name)
    trained = _trained_at(description)
    if trained is not None:
        parts.append(trained.strftime("%d %b %Y %H:%M"))
    default = default_bundle_path()
    if default is not None and _same_path(path, default):
        return "default model (" + " · ".join(parts) + ")"
    return " · ".join(parts)


def title_of(path: str | Path) -> str:
    """bundle_title of the bundle at `path`, or its folder name when its description cannot be read."""
    try:
        return bundle_title(read_description(path), path)
    except BundleError:
        return Path(path).name


def _same_path(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


@dataclass(frozen=True)
class RecentBundle:
    path: Path
    title: str          # bundle_title when it was added (the run, its dataset, its date)
    classes: tuple[str, ...]
    used: str           # ISO time it was last opened, trained or exported

    def to_dict(self) -> dict:
        return {"path": str(self.path), "title": self.title, "classes": list(self.classes), "used": self.used}


class RecentBundles:
    """The recent-bundles file: read, add (newest first, no duplicates, at most `limit`), forget."""

    def __init__(self, file: str | Path | None = None, limit: int = RECENT_LIMIT):
        self.file = Path(file) if file is not None else config_dir() / RECENT_FILE
        self.limit = limit

    def _read(self) -> list[RecentBundle]:
        if not self.file.is_file():
            return []
        try:
            rows = json.loads(self.file.read_text(encoding="utf-8")).get("bundles", [])
            return [RecentBundle(Path(r["path"]), str(r.get("title") or Path(r["path"]).name), tuple(r.get("classes") or ()),
                                 str(r.get("used", ""))) for r in rows]
        except (OSError, UnicodeDecodeError, ValueError, AttributeError, KeyError, TypeError) as exc:
            logger.warning("Ignoring the damaged recent-bundles list %s (%s); it starts afresh.", self.file, exc)
            return []

    def _write(self, entries: list[RecentBundle]) -> None:
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.file, json.dumps({"bundles": [e.to_dict() for e in entries]}, indent=2) + "\n")
        except OSError as exc:
            logger.warning("Could not save the recent-bundles list to %s (%s); set %s to a writable folder.",
                           self.file, exc, CONFIG_DIR_ENV)

    def entries(self) -> list[RecentBundle]:
        """Recent bundles whose folder still holds a bundle, newest first."""
        return [entry for entry in self._read() if (entry.path / "bundle.json").is_file()]

    def add(self, path: str | Path) -> RecentBundle | None:
        """Put a bundle at the top of the list; None (and nothing written) when it is not a bundle."""
        path = Path(path).resolve()
        try:
            description = read_description(path)
        except BundleError:
            return None
        entry = RecentBundle(path, bundle_title(description, path), tuple(description.get("classes") or ()),
                             datetime.now().astimezone().isoformat(timespec="seconds"))
        others = [e for e in self._read() if not _same_path(e.path, path)]
        self._write([entry, *others][: self.limit])
        return entry

    def forget(self, path: str | Path) -> None:
        self._write([e for e in self._read() if not _same_path(e.path, Path(path))])
