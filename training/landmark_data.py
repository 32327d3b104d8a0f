"""The hand landmarks of a dataset's images: from its manifest when capture recorded them, else found once and cached.

    DATA/manifest.csv, column "landmarks"   (models/dataset_rules.py says the format)
    RUNS/landmark_cache/landmarks-<key>.npz  one row per image content (sha1 of the file's bytes)

`<key>` fingerprints the two hand models and the localiser's settings, so a changed model starts a
new cache; a changed image has a new sha1 and is looked at again. Images are found with
`HandLocaliser.find_in_region(image, the whole image)`, as `gesture-train evaluate` and
`robustness` do for the images they score.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.atomic_files import atomic_path
from models.dataset_rules import MANIFEST_LANDMARKS_FIELD, MANIFEST_NAME, parse_landmarks

from .progress import Progress

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


@dataclass
class ImageLandmarks:
    """Landmarks of N images, in each image's own pixels."""

    points_px: np.ndarray  # (N, 21, 3) float32; NaN where no hand was found
    handedness: np.ndarray  # (N,) object: "left" / "right" (the localiser's labels), None where no hand
    origin: Counter = field(default_factory=Counter)  # images per source: manifest, cache, found now

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.points_px[:, 0, 0])

    def __len__(self) -> int:
        return len(self.handedness)


def localiser_key() -> str:
    """Fingerprint of what decides the landmarks: the pinned model files and the localiser's settings."""
    from models.hands import files, localiser

    settings = [CACHE_FORMAT, sorted(files.SHA256.items()), localiser.MIN_PRESENCE, localiser.CROP_PAD,
                localiser.DIRECT_SCALE, localiser.PALM_SEARCH_SCALE]
    return hashlib.sha1(json.dumps(settings).encode()).hexdigest()[:16]


def hand_in_image(localiser, image_bgr: np.ndarray):
    """(points_px (21, 3), handedness) of the hand filling an image (a training crop), or None."""
    height, width = image_bgr.shape[:2]
    hand = localiser.find_in_region(image_bgr, (0, 0, width, height))
    return None if hand is None else (hand.landmarks_px, hand.handedness)


def _manifest_cells(root: Path | None) -> dict[Path, str]:
    """{resolved image path: landmarks cell} of root/manifest.csv; {} without one or without the column."""
    if root is None or not (root / MANIFEST_NAME).is_file():
        return {}
    with open(root / MANIFEST_NAME, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if MANIFEST_LANDMARKS_FIELD not in (reader.fieldnames or ()):
            return {}
        return {(root / row["file"]).resolve(): row[MANIFEST_LANDMARKS_FIELD] or ""
                for row in reader if row.get("file")}


class LandmarkCache:
    """{sha1 of an image file: (points_px, handedness)} on disk, for one localiser key."""

    def __init__(self, folder: Path | None):
        self.file = None if folder is None else Path(folder) / f"landmarks-{localiser_key()}.npz"
        self.entries: dict[str, tuple[np.ndarray | None, str | None]] = {}
        self._dirty = False
        if self.file is not None and self.file.is_file():
            try:
                with np.load(self.file, allow_pickle=False) as data:
                    for digest, points, hand in zip(data["sha1"], data["points"], data["handedness"]):
                        self.entries[str(digest)] = (None, None) if hand == "" else (points, str(hand))
            except (OSError, ValueError, KeyError) as exc:
                log.warning("Ignoring the damaged landmark cache %s (%s); finding the hands again.", self.file, exc)
                self.entries = {}

    def put(self, digest: str, value) -> None:
        self.entries[digest] = (None, None) if value is None else (np.asarray(value[0], np.float32), value[1])
        self._dirty = True

    def save(self) -> None:
        if self.file is None or not self._dirty:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        digests = sorted(self.entries)
        nan = np.full((21, 3), np.nan, np.float32)
        with atomic_path(self.file) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, sha1=np.array(digests),
                         points=np.stack([self.entries[d][0] if self.entries[d][0] is not None else nan for d in digests]),
                         handedness=np.array([self.entries[d][1] or "" for d in digests]))
        self._dirty = False


def image_landmarks(paths: list[Path], root: Path | None = None, cache_dir: Path | None = None,
                    localiser=None) -> ImageLandmarks:
    """The landmarks of each image: its manifest cell when recorded, else the cache, else found now (and cached)."""
    from models.images import read_image_bgr

    cells = _manifest_cells(Path(root) if root is not None else None)
    cache = LandmarkCache(cache_dir)
    points = np.full((len(paths), 21, 3), np.nan, np.float32)
    handedness = np.full(len(paths), None, dtype=object)
    origin: Counter = Counter()
    started, looked = time.perf_counter(), 0
    with Progress(len(paths), "finding hands") as progress:
        for index, path in enumerate(paths):
            progress.update()
            recorded = parse_landmarks(cells.get(Path(path).resolve(), ""))
            if recorded is not None:
                if recorded.points is not None:
                    height, width = read_image_bgr(path).shape[:2]  # as the localiser would have seen it
                    points[index] = recorded.to_pixels(width, height)
                    handedness[index] = recorded.handedness
                origin["manifest"] += 1
                continue
            digest = hashlib.sha1(Path(path).read_bytes()).hexdigest()
            if digest in cache.entries:
                value = cache.entries[digest]
                origin["cache"] += 1
            else:
                if localiser is None:
                    from models.hands import HandLocaliser

                    localiser = HandLocaliser()
                value = hand_in_image(localiser, read_image_bgr(path))
                cache.put(digest, value)
                origin["found now"] += 1
                looked += 1
            if value is not None and value[0] is not None:
                points[index], handedness[index] = value
    cache.save()
    if looked:
        log.info("Found the landmarks of %d image(s) in %.1f s (cached in %s)", looked, time.perf_counter() - started,
                 cache.file or "memory only")
    return ImageLandmarks(points, handedness, origin)
