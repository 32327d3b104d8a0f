"""`gesture-train explain`: heat maps of a bundle's evidence per image, and a layer's top-activating patches."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from models.bundle import Bundle
from models.explain import caption, explain, overlay_heatmap, top_activating_patches
from models.images import is_image_file, read_image_bgr

log = logging.getLogger(__name__)


def image_files(paths) -> list[Path]:
    """Files as given and the images inside folders (recursively, sorted)."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if is_image_file(p))
            if not found:
                raise FileNotFoundError(f"{path} holds no images ({', '.join(('.jpg', '.png', '...'))}).")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist; pass image files or folders of images.")
    return files


def _write_png(path: Path, image_bgr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image_bgr):
        raise OSError(f"Could not write {path}.")


def explain_images(bundle: Bundle, images, out: Path, method: str = "gradcam", patch: int | None = None,
                   stride: int | None = None, layer: str | None = None, class_name: str | None = None) -> list[Path]:
    """OUT/<image stem>_<method>.png for each image: the heat map over it, the class and confidence on it."""
    class_index = None
    if class_name is not None:
        if class_name not in bundle.classes:
            raise ValueError(f"Class {class_name!r} is not one of the model's: {', '.join(bundle.classes)}.")
        class_index = bundle.classes.index(class_name)
    options = {"patch": patch, "stride": stride} if method == "occlusion" else {"layer": layer}
    written = []
    files = image_files(images)
    for number, file in enumerate(files, start=1):
        image_bgr = read_image_bgr(file)
        result = explain(bundle, image_bgr, method, class_index, **options)
        path = Path(out) / f"{file.stem}_{method}.png"
        _write_png(path, overlay_heatmap(image_bgr, result.heat, caption(bundle.classes, result)))
        log.info("[%d/%d] %s: %s -> %s", number, len(files), file.name, caption(bundle.classes, result), path)
        written.append(path)
    return written


def explain_features(bundle: Bundle, layer: str, data: Path, out: Path, n_filters: int = 8, n_patches: int = 8,
                     max_images: int = 500) -> Path:
    """OUT/features_<layer>.png: the dataset patches that drive `layer`'s strongest filters."""
    files = image_files([data])
    if len(files) > max_images:
        files = [files[i] for i in np.linspace(0, len(files) - 1, max_images).round().astype(int)]
    log.info("Looking for the strongest %s activations in %d images", layer, len(files))
    grid = top_activating_patches(bundle.model, layer, [read_image_bgr(f) for f in files], bundle.preprocessing,
                                  n_filters, n_patches)
    path = Path(out) / f"features_{layer}.png"
    _write_png(path, grid)
    log.info("Wrote %s", path)
    return path
