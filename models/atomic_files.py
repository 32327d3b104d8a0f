"""Writing files and folders so that a crash leaves the old version or the new one, never half of one.

Every writer in the project goes through here: bundles, reports, checkpoints, the feature
cache, and the capture tool's images and manifest. The pattern is always the same: write a
hidden temporary beside the target (same folder, so the rename cannot cross file systems),
flush and fsync it, `os.replace` it onto the target, then fsync the folder so the rename
itself survives a power cut. When anything fails, the temporary is removed and the
original error is what the caller sees.

    atomic_write_text(path, text)                 # also atomic_write_bytes
    with atomic_write(path, "w", newline="") as handle: ...
    with atomic_path(path) as tmp: model.save(tmp)  # for writers that want a file name
    with atomic_directory(folder) as staging: ...   # a whole folder at once
    write_new_file(path, data)                    # create-or-fail, fsynced (no rename)
    with exclusive_lock(lock_file): ...           # serialise writers across processes
    with interrupts_deferred(): ...               # Ctrl+C waits until steps that go together are done
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

log = logging.getLogger(__name__)

# Hidden, and recognisable, so a tool can sweep up what a killed process left behind.
TEMP_PREFIX = ".tmp-"


def temporary_name(path: Path, prefix: str = TEMP_PREFIX) -> Path:
    """A fresh hidden name beside `path` with the same suffix (Keras insists on '.keras')."""
    path = Path(path)
    return path.with_name(f"{prefix}{path.stem}-{os.getpid()}-{secrets.token_hex(4)}{path.suffix}")


def fsync_directory(folder: str | Path) -> None:
    """Make a rename in `folder` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: str | Path) -> None:
    """Flush a file someone else wrote (Keras, NumPy) to the disk."""
    # Windows only flushes a handle opened for writing.
    with open(path, "rb" if os.name == "posix" else "r+b") as handle:
        os.fsync(handle.fileno())


def _discard(path: Path) -> None:
    """Remove a temporary after a failure; never raises, so the original error stays the one reported
    (on a read-only or full disk the clean-up can fail too)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not remove the temporary %s: %s", path, exc)


def write_new_file(path: str | Path, data: bytes) -> None:
    """Create `path` (failing if it exists), write `data` and fsync it; no rename.

    For callers that pick the final name only later, under a lock (gesture-capture).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path, prefix: str = TEMP_PREFIX) -> Iterator[Path]:
    """A temporary file name beside `path`; on a clean exit the file written there replaces `path`."""
    path = Path(path)
    tmp = temporary_name(path, prefix)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise
    fsync_directory(path.parent)


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", *, encoding: str | None = None, newline: str | None = None,
                 prefix: str = TEMP_PREFIX) -> Iterator[IO]:
    """An open handle on a temporary beside `path` ("w" text or "wb" bytes); replaces `path` on a clean exit."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes a whole file: mode must be 'w' or 'wb', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(path, prefix) as tmp:
        # "x": a temporary name is never shared, even if two writers drew the same token.
        with open(tmp, mode.replace("w", "x"), encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    with atomic_write(path, "w", encoding=encoding) as handle:
        handle.write(text)
    return Path(path)


@contextmanager
def atomic_directory(path: str | Path, staging: str | Path | None = None) -> Iterator[Path]:
    """A staging folder beside `path`; on a clean exit its files are fsynced and it replaces `path`.

    `staging`: a fixed staging name, cleared first, so a run killed mid-write leaves nothing
    that the next run does not clean (default: a fresh hidden name). An existing `path` is
    moved aside, the staging folder moved in, and the old one deleted; a crash in between
    leaves the old folder beside it, never a mixture.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(staging) if staging is not None else temporary_name(path)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        yield staging
        for file in staging.rglob("*"):
            if file.is_file():
                fsync_file(file)
        fsync_directory(staging)
        if path.exists():
            old = temporary_name(path.with_name(f"{path.name}-old"))
            os.replace(path, old)
            try:
                os.replace(staging, path)
            except BaseException:
                os.replace(old, path)  # put the old folder back
                raise
            _discard(old)
        else:
            os.replace(staging, path)
    except BaseException:
        _discard(staging)
        raise
    fsync_directory(path.parent)


@contextmanager
def exclusive_lock(lock_path: str | Path):
    """An inter-process lock on a file (flock on POSIX, msvcrt on Windows), held for the `with` block."""
    with open(lock_path, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        else:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            else:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)


# -- for writers that commit in steps (gesture-capture: an image, then its manifest row) -----------


def remove_quietly(path: str | Path) -> None:
    """Remove a leftover temporary, never raising: on a read-only or full disk the clean-up fails too,
    and the error the user sees must stay the one that stopped the write."""
    _discard(Path(path))


@contextmanager
def interrupts_deferred():
    """Hold Ctrl+C (SIGINT) back for the `with` block and deliver it when the block ends.

    For steps that must all happen or all be undone, such as an image and its manifest row: a
    KeyboardInterrupt raised between them would leave one without the other, and undoing the
    first after the second was written loses data that is already recorded. Python only
    delivers signals to the main thread, so elsewhere this does nothing; a handler that is not
    a Python function (SIG_DFL, SIG_IGN) is left alone. Keep the block short: Ctrl+C waits for it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield
        return
    pending: list = []
    signal.signal(signal.SIGINT, lambda signum, frame: pending.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            previous(signal.SIGINT, pending[0])  # normally raises KeyboardInterrupt, now that the steps are done
