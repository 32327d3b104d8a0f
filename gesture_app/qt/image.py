"""NumPy image <-> Qt image conversion (the only image code that touches Qt)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def bgr_to_qimage(frame_bgr: np.ndarray) -> QImage:
    """(H, W, 3) BGR uint8 -> QImage that owns its own copy of the pixels."""
    frame_bgr = np.ascontiguousarray(frame_bgr)
    height, width = frame_bgr.shape[:2]
    if frame_bgr.ndim == 2:
        image = QImage(frame_bgr.data, width, height, frame_bgr.strides[0], QImage.Format.Format_Grayscale8)
    else:
        image = QImage(frame_bgr.data, width, height, frame_bgr.strides[0], QImage.Format.Format_BGR888)
    # QImage borrows the buffer; copy so the array can be freed or reused.
    return image.copy()


def qimage_to_bgr(image: QImage) -> np.ndarray:
    """QImage -> (H, W, 3) BGR uint8 (for screenshots and tests)."""
    image = image.convertToFormat(QImage.Format.Format_BGR888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buffer.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()
