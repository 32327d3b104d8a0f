"""Qt set-up before any QApplication: is there a display Qt can open, and OpenCV's Qt out of PySide6's way.

`require_display` turns Qt's abort (exit 134, "could not load the Qt platform plugin xcb") into
one line saying what is missing: a display, or the system libraries Qt's xcb plugin needs.
Neither function imports PySide6, so the check costs nothing when it fails.

opencv-python (the GUI build) sets QT_QPA_PLATFORM_PLUGIN_PATH and
QT_QPA_FONTDIR to its own Qt 5 plugins when cv2 is imported; PySide6 then
loads those incompatible plugins and aborts ("Could not load the Qt platform
plugin"). Call `use_pyside_plugins()` after importing cv2 and before the
QApplication is created.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys
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


class DisplayUnavailable(RuntimeError):
    """Qt cannot open a window here; the message says why and what to run instead."""


# Qt platforms that need no display server.
NO_DISPLAY_PLATFORMS = ("offscreen", "minimal", "minimalegl", "linuxfb", "eglfs", "vnc", "vkkhrdisplay")
# What Qt 6's xcb plugin (and its libQt6XcbQpa) loads from the system, by soname:
# (Debian/Ubuntu package, Fedora package). From `ldd PySide6/Qt/plugins/platforms/libqxcb.so`.
XCB_PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),  # new in Qt 6.5; the usual one missing
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}


def require_display(without_window: str) -> None:
    """Raise DisplayUnavailable when Qt could not open a window; `without_window` is the command to suggest instead.

    Linux only (elsewhere Qt always has its native platform). Skipped when a QApplication exists.
    """
    if not sys.platform.startswith("linux") or _application_exists():
        return
    platform = _requested_platform()
    if platform in NO_DISPLAY_PLATFORMS:
        return
    x11, wayland = bool(os.environ.get("DISPLAY")), bool(os.environ.get("WAYLAND_DISPLAY"))
    if platform == "xcb" and not x11 or platform == "wayland" and not wayland or not platform and not (x11 or wayland):
        raise DisplayUnavailable(
            "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set). Run it on a desktop, "
            f"without a window ({without_window}), or on a virtual display (xvfb-run -a {without_window.split()[0]} ...)."
        )
    # Unset: Qt takes Wayland in a Wayland session, else X11 (xcb).
    if platform == "xcb" or not platform and not wayland:
        missing = missing_xcb_libraries()
        if missing:
            raise DisplayUnavailable(xcb_libraries_message(missing, without_window))
        if not x11_display_reachable(os.environ["DISPLAY"]):
            raise DisplayUnavailable(
                f"cannot connect to the X display {os.environ['DISPLAY']!r} (no X server there, or no permission). "
                f"Check DISPLAY, run without a window ({without_window}), or on a virtual display "
                f"(xvfb-run -a {without_window.split()[0]} ...)."
            )


def xcb_libraries_message(missing: list[str], without_window: str) -> str:
    """One line naming the missing libraries and the Debian/Ubuntu and Fedora packages that hold them."""
    debian = list(dict.fromkeys(XCB_PACKAGES.get(name, (name, name))[0] for name in missing))
    fedora = list(dict.fromkeys(XCB_PACKAGES.get(name, (name, name))[1] for name in missing))
    return (
        f"Qt cannot open a window: its X11 (xcb) platform plugin needs {', '.join(missing)}, not installed here. "
        f"Install {'it' if len(missing) == 1 else 'them'} (Debian/Ubuntu: sudo apt install {' '.join(debian)}; "
        f"Fedora: sudo dnf install {' '.join(fedora)}), or run without a window ({without_window})."
    )


def x11_display_reachable(display: str) -> bool:
    """Whether libxcb connects to `display`, as Qt's xcb plugin will (True when that cannot be tried)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True  # the library check speaks for it
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)  # never NULL: an error object when it fails
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


def missing_xcb_libraries() -> list[str]:
    """Sonames the xcb plugin needs that the dynamic loader cannot find (`ldd` of the plugin); [] when unknown."""
    plugin = _xcb_plugin()
    ldd = shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    try:
        result = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    missing = []
    for line in result.stdout.splitlines():
        name, _, where = line.strip().partition("=>")
        if where.strip() == "not found":
            missing.append(name.strip())
    return list(dict.fromkeys(missing))


def _xcb_plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")  # found, not imported
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _requested_platform() -> str:
    """The first platform of QT_QPA_PLATFORM ('xcb;wayland' and 'offscreen:size=...' forms too), or ''."""
    value = os.environ.get("QT_QPA_PLATFORM", "").strip()
    return value.split(";")[0].split(":")[0].strip().lower()


def _application_exists() -> bool:
    widgets = sys.modules.get("PySide6.QtWidgets")
    return widgets is not None and widgets.QApplication.instance() is not None
