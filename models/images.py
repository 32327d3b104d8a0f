"""Reading image files into BGR uint8 arrays, with a clear error for bad files.

The one image reader of the project: training, evaluation, the app's folder source and the
capture tool all decode files here, so every one of them treats an odd file the same way.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
# Pillow's modes for one channel of more than 8 bits (16-bit PNG and TIFF open as "I;16" or "I").
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})


class UnreadableImageError(ValueError):
    """An image file that cannot be decoded (corrupt, truncated, too large or not an image)."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: cannot read image ({reason})")


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _rgb_array(image: Image.Image) -> np.ndarray:
    """(H, W, 3) RGB uint8 of an opened image, whatever its mode."""
    if image.mode in _WIDE_GREY_MODES:
        # convert("RGB") clips 16-bit values at 255, turning the picture white; scale them instead.
        grey = np.asarray(image).astype(np.float32)
        grey_8 = np.clip(np.round(grey / 257.0), 0, 255).astype(np.uint8)  # 65535 / 257 = 255
        return np.repeat(grey_8[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file's header, without decoding it (before any EXIF rotation)."""
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(path, str(exc)) from exc


def read_image_bgr(path: str | Path) -> np.ndarray:
    """Decode an image file to an (H, W, 3) BGR uint8 array.

    Grey (8- or 16-bit), palette and RGBA images are converted; EXIF rotation is applied.
    Pillow is used rather than cv2.imread because it raises on truncated files
    instead of silently returning a half-grey image. Images above Pillow's
    decompression-bomb limit are refused with the file's name; those above its
    warning size are read, with a warning that names the file.
    """
    path = Path(path)
    _silence_pillow_bomb_warning()
    try:
        with Image.open(path) as image:
            _warn_if_large(path, image.size)
            image.load()
            image_rgb = _rgb_array(ImageOps.exif_transpose(image))
    except Image.DecompressionBombError:
        limit = 2 * Image.MAX_IMAGE_PIXELS / 1e6
        raise UnreadableImageError(
            path, f"too large: over {limit:.0f} megapixels, Pillow's limit against decompression bombs; "
            "shrink it to use it"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(path, str(exc)) from exc
    return np.ascontiguousarray(image_rgb[:, :, ::-1])


def _silence_pillow_bomb_warning() -> None:
    """Pillow's DecompressionBombWarning names no file; `_warn_if_large` says the same with the path.

    Checked on every read, not once at import, because a caller may have reset the warning
    filters since (pytest does, per test); added only when it is not already the first filter.
    """
    if warnings.filters[:1] != [("ignore", None, Image.DecompressionBombWarning, None, 0)]:
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def _warn_if_large(path: Path, size: tuple[int, int]) -> None:
    pixels = size[0] * size[1]
    if Image.MAX_IMAGE_PIXELS and pixels > Image.MAX_IMAGE_PIXELS:
        log.warning(
            "%s is %dx%d (%.0f megapixels), more than the %.0f megapixels Pillow expects of a safe image; "
            "reading it anyway", path, *size, pixels / 1e6, Image.MAX_IMAGE_PIXELS / 1e6,
        )


def jpeg_round_trip(image_bgr: np.ndarray, quality: int) -> np.ndarray:
    """The image after JPEG compression at `quality` (1-95) and decoding: what a low-bandwidth camera
    or a chat app leaves of it (`gesture-train robustness`); decoded here, with the rest."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"cannot JPEG-encode an image of shape {image_bgr.shape}")
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)
