"""The windows on a machine where Qt cannot open one: one line and exit 1, not Qt's abort (exit 134)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gesture_app.qt import env as qt_env

ROOT = Path(__file__).resolve().parent.parent


def _without_display() -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")])
    return environment


@pytest.mark.parametrize(
    "command, hint",
    [
        (["gesture_app"], "gesture-app --headless"),
        (["gesture_app.capture_cli", "--source", "demo"], "gesture-capture --headless"),
    ],
)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is for Linux displays")
def test_no_display_is_one_line_and_exit_1(command, hint, tmp_path):
    argv = [sys.executable, "-m", *command]
    if "capture_cli" in command[0]:
        argv += ["--out", str(tmp_path / "data")]
    result = subprocess.run(argv, env=_without_display(), capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no display" in lines[0] and hint in lines[0] and "xvfb-run" in lines[0]
    assert "qt.qpa" not in result.stderr  # stopped before Qt was asked


@pytest.fixture
def linux_x11_without_app(monkeypatch):
    """A Linux X11 session as Qt would see it before any QApplication exists."""
    monkeypatch.setattr(qt_env.sys, "platform", "linux")
    monkeypatch.setattr(qt_env, "_application_exists", lambda: False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(qt_env, "x11_display_reachable", lambda display: True)


def test_a_missing_xcb_library_names_the_packages(linux_x11_without_app, monkeypatch, capsys):
    from gesture_app.cli import main

    monkeypatch.setattr(qt_env, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0"])
    assert main([]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "libxcb-cursor.so.0" in err
    assert "sudo apt install libxcb-cursor0" in err and "sudo dnf install xcb-util-cursor" in err
    assert "--headless" in err


def test_the_packages_of_several_libraries_are_listed_once(linux_x11_without_app, monkeypatch):
    monkeypatch.setattr(qt_env, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0", "libxcb-shm.so.0", "libxcb-randr.so.0"])
    with pytest.raises(qt_env.DisplayUnavailable) as raised:
        qt_env.require_display("gesture-app --headless")
    message = str(raised.value)
    assert "apt install libxcb-cursor0 libxcb-shm0 libxcb-randr0;" in message
    assert "dnf install xcb-util-cursor libxcb)" in message


def test_missing_libraries_are_read_from_ldd(monkeypatch, tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    ldd_output = (
        "\tlinux-vdso.so.1 (0x00007ffd)\n"
        "\tlibxcb-cursor.so.0 => not found\n"
        "\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f71)\n"
        "\tlibxkbcommon-x11.so.0 => not found\n"
    )
    monkeypatch.setattr(qt_env, "_xcb_plugin", lambda: plugin)
    monkeypatch.setattr(qt_env.shutil, "which", lambda name: "/usr/bin/ldd")
    monkeypatch.setattr(qt_env.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, ldd_output, ""))
    assert qt_env.missing_xcb_libraries() == ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]


def test_every_library_the_installed_plugin_needs_is_found_here():
    # This machine runs the GUI tests under Xvfb, so nothing may be missing; also checks ldd is read at all.
    if qt_env._xcb_plugin() is None:
        pytest.skip("no xcb plugin in this PySide6")
    assert qt_env.missing_xcb_libraries() == []


def test_an_unreachable_x_display_is_named(linux_x11_without_app, monkeypatch):
    monkeypatch.setattr(qt_env, "missing_xcb_libraries", lambda: [])
    monkeypatch.setattr(qt_env, "x11_display_reachable", lambda display: False)
    with pytest.raises(qt_env.DisplayUnavailable, match="cannot connect to the X display ':0'"):
        qt_env.require_display("gesture-app --headless")


def test_libxcb_says_when_a_display_is_not_there():
    try:
        import ctypes

        ctypes.CDLL("libxcb.so.1")
    except OSError:
        pytest.skip("no libxcb here")
    assert not qt_env.x11_display_reachable(":987")


@pytest.mark.parametrize("platform", ["offscreen", "minimal", "offscreen:size=640x480"])
def test_platforms_without_a_display_are_left_alone(platform, linux_x11_without_app, monkeypatch):
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setenv("QT_QPA_PLATFORM", platform)
    monkeypatch.setattr(qt_env, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0"])
    qt_env.require_display("gesture-app --headless")  # no exception


def test_a_wayland_session_is_not_asked_for_xcb_libraries(linux_x11_without_app, monkeypatch):
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setattr(qt_env, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0"])
    qt_env.require_display("gesture-app --headless")
