"""Reading image files into BGR uint8 arrays, with a clear error for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


class UnreadableImageError(ValueError):
    """An image file that cannot be decoded (corrupt, truncated or not an image)."""


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def read_image_bgr(path: str | Path) -> np.ndarray:
    """Decode an image file to an (H, W, 3) BGR uint8 array.

    Grey, palette and RGBA images are converted; EXIF rotation is applied.
    Pillow is used rather than cv2.imread because it raises on truncated files
    instead of silently returning a half-grey image.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image).convert("RGB")
            image_rgb = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(f"{path}: cannot read image ({exc})") from exc
    return np.ascontiguousarray(image_rgb[:, :, ::-1])
