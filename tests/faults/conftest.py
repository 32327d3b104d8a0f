"""Helpers for the fault tests: hostile files, a normal (non-root) user, a command line in a subprocess.

Each test here reproduces a fault found by trying to break the product (issue #16) or keeps a
case that already held (resume after kill -9, malicious bundles), so it stays fixed.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def write_solid_png(path: Path, width: int, height: int, grey: int = 128) -> Path:
    """A greyscale PNG of one colour, streamed row by row: a 180-megapixel file is a few hundred KB
    and is written without holding the picture in memory."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes([grey]) * width  # filter type 0, then the pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


@lru_cache(maxsize=1)
def _normal_user_prefix() -> tuple[str, ...] | None:
    """A command prefix that runs a program without root's power to ignore file permissions.

    Not root: nothing to add. Root: drop the two capabilities that bypass permission checks
    (setpriv, util-linux), so a chmod 000 folder is unreadable as it is for a normal user.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search")
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o000)
        try:
            check = f"import os\ntry:\n    os.listdir({folder!r})\nexcept PermissionError:\n    print('denied')"
            probe = subprocess.run([*prefix, sys.executable, "-c", check], capture_output=True, text=True)
        finally:
            os.chmod(folder, 0o700)
    return prefix if probe.stdout.strip() == "denied" else None


@pytest.fixture
def as_normal_user():
    """run(*args) -> CompletedProcess: `python <args>` from this checkout, as a normal user."""
    prefix = _normal_user_prefix()
    if prefix is None:
        pytest.skip("running as root without a way to drop the permission-bypassing capabilities (setpriv)")

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        return subprocess.run([*prefix, sys.executable, *args], capture_output=True, text=True,
                              env=env, cwd=REPO, timeout=timeout)

    return run


@pytest.fixture
def locked(tmp_path):
    """lock(path) makes a folder unreadable and unwritable (mode 000 or 555); restored after the test."""
    changed = []

    def lock(path: Path, mode: int = 0o000) -> Path:
        changed.append((path, path.stat().st_mode))
        path.chmod(mode)
        return path

    yield lock
    for path, mode in reversed(changed):
        path.chmod(mode)


@pytest.fixture
def hand_data(tmp_path, hand_crops) -> Path:
    """A private copy of the test photographs (6 per class) to damage."""
    return shutil.copytree(hand_crops, tmp_path / "data")
