"""Keep OpenCV's bundled Qt out of PySide6's way.

opencv-python (the GUI build) sets QT_QPA_PLATFORM_PLUGIN_PATH and
QT_QPA_FONTDIR to its own Qt 5 plugins when cv2 is imported; PySide6 then
loads those incompatible plugins and aborts ("Could not load the Qt platform
plugin"). Call `use_pyside_plugins()` after importing cv2 and before the
QApplication is created.
"""

from __future__ import annotations

import os
from pathlib import Path

OPENCV_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")


def use_pyside_plugins() -> None:
    """Drop the Qt paths that point inside the cv2 package (paths set by the user are kept)."""
    import cv2

    opencv_dir = Path(cv2.__file__).resolve().parent
    for name in OPENCV_QT_VARIABLES:
        value = os.environ.get(name)
        if value and opencv_dir in Path(value).resolve().parents:
            del os.environ[name]
