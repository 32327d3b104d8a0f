"""Read a labelled image folder, split it the documented way, and load it into memory.

Two layouts are accepted:
    DATA/<class>/*.jpg                    split here: seeded, stratified, 375/125/50 of 550
    DATA/train|val|test/<class>/*.jpg     split already by the user

Bad files never stop a run silently: non-image files are ignored and counted,
unreadable images are reported by path and skipped, and a folder that cannot be
read (no permission) stops the run naming it, rather than passing for empty.
"""

from __future__ import annotations

import logging
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.dataset_rules import MANIFEST_NAME, MIN_IMAGES_PER_CLASS, SPLIT_FOLDER_NAMES, SPLITS, split_counts
from models.hands import SQUARE, CropStyle
from models.images import UnreadableImageError, image_size, is_image_file, read_image_bgr
from models.preprocess import Preprocessing

from .progress import Progress

log = logging.getLogger(__name__)

# What `gesture-train evaluate --split` and `robustness --split` accept.
SPLIT_CHOICES = ("auto", "all", *SPLITS)
# crop_style_for: training images whose median longer/shorter side is at most this are square crops.
SQUARE_ASPECT = 1.1
ASPECT_SAMPLE = 200  # images whose headers are read to measure it


class DatasetError(ValueError):
    """A dataset folder that cannot be used; the message names the folder and what to do."""


@dataclass
class ScanReport:
    """What was found while reading a dataset folder."""

    non_image_files: int = 0
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    def log_summary(self) -> None:
        if self.non_image_files:
            log.info("Ignored %d non-image file(s).", self.non_image_files)
        for path, reason in self.unreadable:
            log.warning("Skipped unreadable image %s (%s)", path, reason)
        if self.unreadable:
            log.warning("Skipped %d unreadable image(s) in all.", len(self.unreadable))


@dataclass
class Split:
    """One split held in memory: images at the model's input size."""

    images_rgb: np.ndarray  # (N, S, S, 3) uint8
    labels: np.ndarray  # (N,) int class indices
    paths: list[Path]

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self, num_classes: int) -> list[int]:
        return np.bincount(self.labels, minlength=num_classes).tolist()


@dataclass
class Dataset:
    root: Path
    classes: tuple[str, ...]
    splits: dict[str, Split]
    layout: str  # "per-class" or "pre-split"
    report: ScanReport

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {class: count}} for reports and provenance."""
        return {
            name: dict(zip(self.classes, split.counts(len(self.classes))))
            for name, split in self.splits.items()
        }


def _unreadable_folder(folder: Path, exc: OSError) -> DatasetError:
    return DatasetError(
        f"Cannot read {folder} ({exc.strerror or exc}). Give your user read access to it "
        f"(e.g. chmod -R u+rX {folder}), or move it out of the dataset folder."
    )


def _visible_dirs(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir() and not e.name.startswith("."))
    except OSError as exc:
        raise _unreadable_folder(folder, exc) from None


def _find_split_folders(root: Path) -> dict[str, Path] | None:
    """The train/val/test folders of a pre-split dataset, or None for a per-class one."""
    present = {p.name: p for p in _visible_dirs(root)}
    found = {}
    for split, names in SPLIT_FOLDER_NAMES.items():
        for name in names:
            if name in present:
                found[split] = present[name]
                break
    if not found:
        return None
    missing = [s for s in SPLITS if s not in found]
    if missing:
        raise DatasetError(
            f"{root} looks pre-split (it has {', '.join(p.name for p in found.values())}/) but lacks "
            f"{', '.join(m + '/' for m in missing)}. Add the missing split folder(s), or put one folder "
            "per class directly in the dataset folder and let gesture-train split it."
        )
    return found


def _class_folders(folder: Path, classes: tuple[str, ...] | None) -> dict[str, Path]:
    found = {p.name: p for p in _visible_dirs(folder)}
    if classes is None:
        if not found:
            raise DatasetError(
                f"{folder} has no class folders. Expected one folder per class, e.g. {folder}/cool/*.jpg, "
                f"{folder}/fist/*.jpg; gesture-capture writes this layout."
            )
        return found
    missing = [c for c in classes if c not in found]
    if missing:
        raise DatasetError(
            f"{folder} has no folder for class(es) {', '.join(missing)}; found {', '.join(found) or 'none'}."
        )
    return {c: found[c] for c in classes}


def _list_images(folder: Path, report: ScanReport) -> list[Path]:
    """The image files in `folder` and its sub-folders, in name order.

    os.walk, not Path.rglob: rglob passes over a folder it may not read as if it were empty.
    """
    def refuse(exc: OSError):
        raise _unreadable_folder(Path(exc.filename or folder), exc)

    files = [Path(parent) / name for parent, _, names in os.walk(folder, onerror=refuse) for name in names]
    images = []
    for path in sorted(files):
        try:
            if not path.is_file():
                continue
        except OSError as exc:  # a folder that may be listed but not entered
            raise _unreadable_folder(path.parent, exc) from None
        if is_image_file(path):
            images.append(path)
        else:
            report.non_image_files += 1
    return images


def split_files(paths: list[Path], class_name: str, seed: int) -> dict[str, list[Path]]:
    """Deterministic stratified split of one class's files.

    Files are sorted first so the split does not depend on directory order, and the
    class name is mixed into the seed so classes are not shuffled in lockstep.
    """
    ordered = sorted(paths, key=lambda p: (p.name, str(p)))
    rng = np.random.default_rng([seed, zlib.crc32(class_name.encode())])
    order = rng.permutation(len(ordered))
    counts = split_counts(len(ordered))
    shuffled = [ordered[i] for i in order]
    test = shuffled[: counts["test"]]
    val = shuffled[counts["test"] : counts["test"] + counts["val"]]
    train = shuffled[counts["test"] + counts["val"] :]
    return {"train": train, "val": val, "test": test}


def _decode_all(paths: list[Path], preprocessing: Preprocessing, report: ScanReport) -> dict[Path, np.ndarray]:
    """Decode and resize images in parallel; unreadable ones go into the report."""

    def decode(path: Path):
        try:
            return path, preprocessing.resize_rgb(read_image_bgr(path)), None
        except UnreadableImageError as exc:
            return path, None, exc.reason

    images = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool, Progress(len(paths), "reading images") as progress:
        for path, image_rgb, error in pool.map(decode, paths):
            progress.update()
            if error is not None:
                report.unreadable.append((path, error))
            else:
                images[path] = image_rgb
    return images


def _make_split(items: list[tuple[Path, int]], images: dict[Path, np.ndarray], size: int) -> Split:
    if not items:
        return Split(np.zeros((0, size, size, 3), np.uint8), np.zeros((0,), np.int64), [])
    paths = [p for p, _ in items]
    return Split(np.stack([images[p] for p in paths]), np.array([label for _, label in items], np.int64), paths)


def load_dataset(
    root: str | Path,
    input_size: int,
    seed: int = 0,
    classes: tuple[str, ...] | list[str] | None = None,
) -> Dataset:
    """Read, check, split and decode a dataset folder into memory at `input_size`."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"Dataset folder {root} does not exist. Pass --data with a folder holding one sub-folder per class.")
    classes = tuple(classes) if classes else None
    report = ScanReport()
    preprocessing = Preprocessing(input_size)
    split_dirs = _find_split_folders(root)

    if split_dirs is None:
        layout = "per-class"
        folders = _class_folders(root, classes)
        class_names = tuple(folders)
        listed = {name: _list_images(folder, report) for name, folder in folders.items()}
        _check_not_empty(folders, listed)
        images = _decode_all([p for paths in listed.values() for p in paths], preprocessing, report)
        assigned: dict[str, list[tuple[Path, int]]] = {s: [] for s in SPLITS}
        for label, name in enumerate(class_names):
            readable = [p for p in listed[name] if p in images]
            if len(readable) < MIN_IMAGES_PER_CLASS:
                raise DatasetError(
                    f"Class folder {folders[name]} has {len(readable)} readable image(s); at least "
                    f"{MIN_IMAGES_PER_CLASS} are needed to split it into train/val/test "
                    "(the documented split is 375/125/50 of 550 per class). Capture more images for it."
                )
            for split, paths in split_files(readable, name, seed).items():
                assigned[split] += [(p, label) for p in paths]
    else:
        layout = "pre-split"
        folders_by_split = {s: _class_folders(d, classes) for s, d in split_dirs.items()}
        class_names = tuple(folders_by_split["train"])
        for split in ("val", "test"):
            extra = sorted(set(folders_by_split[split]) - set(class_names))
            if extra:
                raise DatasetError(
                    f"{split_dirs[split]} has class folder(s) {', '.join(extra)} that {split_dirs['train']} lacks; "
                    "every class needs training images."
                )
        listed_by_split = {
            s: {name: _list_images(folder, report) for name, folder in folders.items()}
            for s, folders in folders_by_split.items()
        }
        _check_not_empty(folders_by_split["train"], listed_by_split["train"])
        all_paths = [p for listed in listed_by_split.values() for paths in listed.values() for p in paths]
        images = _decode_all(all_paths, preprocessing, report)
        assigned = {
            s: [(p, class_names.index(name)) for name, paths in listed.items() for p in paths if p in images]
            for s, listed in listed_by_split.items()
        }
        for split in SPLITS:
            if not assigned[split]:
                raise DatasetError(f"{split_dirs[split]} holds no readable images; every split needs some.")

    if len(class_names) < 2:
        raise DatasetError(f"{root} has only one class ({class_names[0]}); a classifier needs at least two class folders.")
    report.log_summary()
    splits = {s: _make_split(assigned[s], images, input_size) for s in SPLITS}
    return Dataset(root=root, classes=class_names, splits=splits, layout=layout, report=report)


def _check_not_empty(folders: dict[str, Path], listed: dict[str, list[Path]]) -> None:
    for name, paths in listed.items():
        if not paths:
            raise DatasetError(
                f"Class folder {folders[name]} holds no images (.jpg, .png, ...). Capture some with "
                f"gesture-capture --class {name}, or remove the folder."
            )


def load_labelled_folder(
    root: str | Path, preprocessing: Preprocessing, classes: tuple[str, ...], split: str = "auto", seed: int = 0
) -> tuple[Split, tuple[str, ...], ScanReport]:
    """Images of a labelled folder for evaluation, labelled with indices into `classes`.

    The folder may hold only some of the classes; a class folder the model does
    not know is an error. split: "all", one of SPLITS, or "auto" (the test split
    of a pre-split folder, everything in a per-class one).
    """
    items, report = list_labelled_folder(root, classes, split, seed)
    images = _decode_all([p for p, _ in items], preprocessing, report)
    items = [(p, label) for p, label in items if p in images]
    if not items:
        raise DatasetError(f"{root} holds no readable images in its class folders.")
    report.log_summary()
    return _make_split(items, images, preprocessing.input_size), tuple(classes), report


def list_labelled_folder(
    root: str | Path, classes: tuple[str, ...], split: str = "auto", seed: int = 0
) -> tuple[list[tuple[Path, int]], ScanReport]:
    """The (image path, class index) pairs `load_labelled_folder` reads, not decoded (for full-size work)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"Folder {root} does not exist. Pass --data with a folder holding one sub-folder per class.")
    report = ScanReport()
    split_dirs = _find_split_folders(root)
    if split_dirs is not None:
        if split == "all":
            folders_list = [_class_folders(d, None) for d in split_dirs.values()]
        else:
            chosen = "test" if split == "auto" else split
            folders_list = [_class_folders(split_dirs[chosen], None)]
    else:
        folders_list = [_class_folders(root, None)]
    unknown = sorted({name for folders in folders_list for name in folders} - set(classes))
    if unknown:
        raise DatasetError(
            f"{root} has class folder(s) {', '.join(unknown)} that the model does not know; "
            f"its classes are {', '.join(classes)}."
        )
    items: list[tuple[Path, int]] = []
    for folders in folders_list:
        for name, folder in folders.items():
            paths = _list_images(folder, report)
            if split_dirs is None and split in SPLITS:
                paths = split_files(paths, name, seed)[split]
            items += [(p, classes.index(name)) for p in paths]
    if not items:
        raise DatasetError(f"{root} holds no images in its class folders.")
    return items, report


def folder_layout(root: str | Path) -> str:
    """'pre-split' (DATA/train|val|test/<class>/) or 'per-class' (DATA/<class>/)."""
    return "per-class" if _find_split_folders(Path(root)) is None else "pre-split"


def count_images(root: str | Path) -> dict[str, int]:
    """{class: image files} of a per-class folder (listed, not decoded)."""
    report = ScanReport()
    return {name: len(_list_images(folder, report)) for name, folder in _class_folders(Path(root), None).items()}


def crop_style_for(dataset: Dataset) -> CropStyle:
    """How the dataset's images were cut around the hand, for bundle.json's "crop" (the app cuts found hands alike).

    A folder with the capture tool's manifest.csv holds its padded squares: "square". Any other
    folder: its training images' median aspect ratio (longer side / shorter, up to ASPECT_SAMPLE
    headers read) says: about square (at most SQUARE_ASPECT) is "square"; longer is "tight", crops
    cut to the hand's own shape like HaGRID's, with HaGRID's margins around the landmarks.
    """
    if (dataset.root / MANIFEST_NAME).is_file():
        return SQUARE
    paths = dataset.splits["train"].paths
    step = max(1, len(paths) // ASPECT_SAMPLE)
    ratios = []
    for path in paths[::step]:
        try:
            width, height = image_size(path)
        except UnreadableImageError:
            continue
        ratios.append(max(width, height) / max(1, min(width, height)))
    if not ratios or float(np.median(ratios)) <= SQUARE_ASPECT:
        return SQUARE
    return CropStyle.tight()
