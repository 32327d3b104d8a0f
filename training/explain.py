"""`gesture-train explain` and the report page every run writes: where a bundle looks.

Per image, a heat map of the evidence for its class (`models/explain.py` computes it, as
in the app); per run, RUNS/<run>/explain.png, a page of test images' Grad-CAM, mistakes
first; per layer, the dataset patches that drive its strongest filters (Zeiler & Fergus's
feature visualisation).
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from models.bundle import Bundle
from models.explain import (
    CONVOLUTIONS,
    FONT,
    caption,
    explain,
    gradcam_maps,
    layer_in_base,
    overlay_heatmap,
)
from models.images import is_image_file, read_image_bgr
from models.preprocess import Preprocessing

from .progress import Progress, progress_over

log = logging.getLogger(__name__)

POOLING = ("MaxPooling2D", "AveragePooling2D")
# The report page frames a misclassified image in red, a correct one in green.
WRONG_BGR = (60, 60, 230)
RIGHT_BGR = (90, 200, 90)


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
    progress = Progress(len(files), f"explaining ({method})")
    for number, file in enumerate(files, start=1):
        image_bgr = read_image_bgr(file)
        result = explain(bundle, image_bgr, method, class_index, **options)
        path = Path(out) / f"{file.stem}_{method}.png"
        _write_png(path, overlay_heatmap(image_bgr, result.heat, caption(bundle.classes, result)))
        log.info("[%d/%d] %s: %s -> %s", number, len(files), file.name, caption(bundle.classes, result), path)
        written.append(path)
        progress.update()
    progress.close()
    return written


def explain_features(bundle: Bundle, layer: str, data: Path, out: Path, n_filters: int = 8, n_patches: int = 8,
                     max_images: int = 500) -> Path:
    """OUT/features_<layer>.png: the dataset patches that drive `layer`'s strongest filters."""
    files = image_files([data])
    if len(files) > max_images:
        files = [files[i] for i in np.linspace(0, len(files) - 1, max_images).round().astype(int)]
    log.info("Looking for the strongest %s activations in %d images", layer, len(files))
    images_bgr = [read_image_bgr(f) for f in progress_over(files, "reading images")]
    grid = top_activating_patches(bundle.model, layer, images_bgr, bundle.preprocessing, n_filters, n_patches)
    path = Path(out) / f"features_{layer}.png"
    _write_png(path, grid)
    log.info("Wrote %s", path)
    return path


# --- the training report page -------------------------------------------------------------


def report_order(labels: np.ndarray, probs: np.ndarray, max_images: int = 16) -> list[int]:
    """Which test images the page shows: the misclassified first (most confident mistakes
    first), then correct ones taken from each true class in turn."""
    labels = np.asarray(labels)
    predicted = probs.argmax(axis=1)
    wrong = [int(i) for i in np.flatnonzero(predicted != labels)]
    wrong.sort(key=lambda i: -probs[i, predicted[i]])
    right_by_class = [[int(i) for i in np.flatnonzero((predicted == labels) & (labels == c))] for c in np.unique(labels)]
    right = []
    while any(right_by_class):
        for queue in right_by_class:
            if queue:
                right.append(queue.pop(0))
    return (wrong + right)[:max_images]


def explain_page(model, preprocessing: Preprocessing, images_rgb: np.ndarray, labels, probs: np.ndarray, classes,
                 max_images: int = 16, columns: int = 4, cell: int = 192) -> np.ndarray:
    """A grid of test images with the Grad-CAM of their predicted class, misclassified first -> BGR.

    `images_rgb` are (N, S, S, 3) uint8 at the model's size, `probs` the model's (N, classes).
    """
    order = report_order(labels, probs, max_images)
    if not order:
        raise ValueError("No images to explain.")
    chosen = images_rgb[order]
    heats, _, _, layer = gradcam_maps(model, preprocessing.normalize(chosen), probs[order].argmax(axis=1))
    wrong = int((probs.argmax(axis=1) != np.asarray(labels)).sum())
    rows = -(-len(order) // columns)
    header, footer = 34, 40
    page = np.full((header + rows * (cell + footer), columns * cell, 3), 255, np.uint8)
    cv2.putText(page, f"Grad-CAM ({layer}) of the predicted class, misclassified first: {wrong} of {len(labels)} wrong, "
                f"{len(order)} shown", 
                (6, 22), FONT, 0.5, (30, 30, 30), 1, cv2.LINE_AA)
    for slot, (index, image_rgb, heat) in enumerate(zip(order, chosen, heats)):
        top, left = header + (slot // columns) * (cell + footer), (slot % columns) * cell
        image_bgr = cv2.resize(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), (cell, cell), interpolation=cv2.INTER_LINEAR)
        page[top : top + cell, left : left + cell] = overlay_heatmap(image_bgr, heat, min_size=cell)
        true, pred = int(labels[index]), int(probs[index].argmax())
        colour = RIGHT_BGR if true == pred else WRONG_BGR
        cv2.rectangle(page, (left + 1, top + 1), (left + cell - 2, top + cell - 2), colour, 3)
        cv2.putText(page, f"true {classes[true]}", (left + 6, top + cell + 16), FONT, 0.45, (30, 30, 30), 1, cv2.LINE_AA)
        cv2.putText(page, f"pred {classes[pred]} {100 * probs[index, pred]:.0f}%", (left + 6, top + cell + 33), FONT, 0.45,
                    colour if true != pred else (30, 30, 30), 1, cv2.LINE_AA)
    return page


def write_explain_page(bundle, images_rgb: np.ndarray, labels, probs: np.ndarray, path, max_images: int = 16):
    """RUNS/<run>/explain.png for the training reports (one Grad-CAM pass over at most `max_images`).

    Returns the path, or None for an empty test split (nothing to show).
    """
    if len(images_rgb) == 0:
        return None
    page = explain_page(bundle.model, bundle.preprocessing, images_rgb, labels, probs, bundle.classes, max_images)
    if not cv2.imwrite(str(path), page):
        raise OSError(f"Could not write {path}.")
    return path


# --- feature visualisation: top-activating dataset patches -------------------------------------------


def receptive_field(model, layer_name: str) -> tuple[int, int]:
    """(size, jump) in input pixels of one position of `layer_name`'s output in the base."""
    base, _ = layer_in_base(model, layer_name)
    size, jump = 1, 1
    for layer in base.layers:
        kind = type(layer).__name__
        if kind in CONVOLUTIONS:
            kernel, strides, dilation = layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
            size += (dilation * (kernel - 1)) * jump
            jump *= strides
        elif kind in POOLING:
            size += (layer.pool_size[0] - 1) * jump
            jump *= layer.strides[0]
        if layer.name == layer_name:
            break
    return size, jump


def top_activating_patches(model, layer_name: str, images_bgr, preprocessing: Preprocessing, n_filters: int = 8,
                           n_patches: int = 8, cell: int = 64, batch_size: int = 32) -> np.ndarray:
    """A grid (BGR uint8): one row per strongest filter of `layer_name`, its `n_patches` best dataset patches.

    Filters rank by their mean (over the images) of the largest activation in each image;
    a filter's patches come from different images, each the receptive field around that
    image's strongest position, cut from the original image so they stay sharp.
    """
    import keras

    images_bgr = list(images_bgr)
    if not images_bgr:
        raise ValueError("No images to look for patches in.")
    base, target = layer_in_base(model, layer_name)
    features = keras.Model(base.input, target.output)
    size = preprocessing.input_size
    maxima, where = [], []
    progress = Progress(len(images_bgr), f"{layer_name} activations")
    for start in range(0, len(images_bgr), batch_size):
        inputs = np.stack([preprocessing(image) for image in images_bgr[start : start + batch_size]])
        acts = np.asarray(features(inputs, training=False), dtype=np.float32)  # (n, h, w, k)
        if acts.ndim != 4:
            raise ValueError(f"Layer {layer_name!r} has no spatial output (shape {acts.shape}); choose a convolutional layer.")
        flat = acts.reshape(len(acts), -1, acts.shape[-1])
        maxima.append(flat.max(axis=1))
        where.append(flat.argmax(axis=1))
        grid_w = acts.shape[2]
        progress.update(len(acts))
    progress.close()
    maxima, where = np.concatenate(maxima), np.concatenate(where)  # (N, k) each
    n_filters = min(n_filters, maxima.shape[1])
    n_patches = min(n_patches, len(images_bgr))
    filters = np.argsort(-maxima.mean(axis=0))[:n_filters]
    field, jump = receptive_field(model, layer_name)
    if field >= size:
        log.info("%s sees %d px, the whole %d-px input; its patches are whole images.", layer_name, field, size)
    label_w, header = 56, 26
    grid = np.full((header + n_filters * cell, label_w + n_patches * cell, 3), 255, np.uint8)
    cv2.putText(grid, f"{layer_name}: top {n_patches} patches ({min(field, size)} px of {size}) for its {n_filters} strongest filters",
                (4, 18), FONT, 0.42, (30, 30, 30), 1, cv2.LINE_AA)
    for row, k in enumerate(filters):
        top = header + row * cell
        cv2.putText(grid, f"f{k}", (4, top + cell // 2 + 5), FONT, 0.45, (30, 30, 30), 1, cv2.LINE_AA)
        for column, image_index in enumerate(np.argsort(-maxima[:, k])[:n_patches]):
            y, x = divmod(int(where[image_index, k]), grid_w)
            image = images_bgr[image_index]
            crop = _receptive_crop(image, y, x, field, jump, size)
            left = label_w + column * cell
            grid[top + 1 : top + cell - 1, left + 1 : left + cell - 1] = cv2.resize(crop, (cell - 2, cell - 2), interpolation=cv2.INTER_AREA)
    return grid


def _receptive_crop(image_bgr: np.ndarray, y: int, x: int, field: int, jump: int, size: int) -> np.ndarray:
    """The original image's region behind position (y, x) of a layer (its input-space square, clipped)."""
    if image_bgr.ndim == 2:
        image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    h, w = image_bgr.shape[:2]
    half = min(field, size) / 2.0

    def span(index, extent):
        centre = (index + 0.5) * jump  # in input pixels ('same' padding keeps this centred)
        lo, hi = max(0.0, centre - half), min(float(size), centre + half)
        return int(np.floor(lo * extent / size)), max(int(np.ceil(hi * extent / size)), int(np.floor(lo * extent / size)) + 1)

    y0, y1 = span(y, h)
    x0, x1 = span(x, w)
    return np.ascontiguousarray(image_bgr[y0:y1, x0:x1, :3])
