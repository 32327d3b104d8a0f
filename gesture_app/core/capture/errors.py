"""The capture tool's one error for the user: saving failed, and what to do about it (no Qt here)."""

from __future__ import annotations

import errno
from pathlib import Path


class DatasetWriteError(RuntimeError):
    """Saving failed (disk full, no permission, ...); nothing saved earlier was lost."""


def describe_os_error(exc: OSError, path: Path) -> DatasetWriteError:
    """The DatasetWriteError to raise for an OSError met while writing `path`."""
    folder = path.parent
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        message = (
            f"The disk is full: could not save {path.name} in {folder}. Recording stopped; every image saved "
            "before is intact. Free some space or choose another output folder (--out), then record again."
        )
    elif exc.errno == errno.EROFS:
        message = (
            f"{folder} is on a read-only file system (a read-only mount, a locked SD card?). Recording stopped; "
            "every image saved before is intact. Choose a folder on a writable disk (--out) or remount it read-write."
        )
    elif is_permission_error(exc):
        message = (
            f"No permission to write in {folder}. Recording stopped; every image saved before is intact. "
            "Choose a folder you can write to (--out) or fix its permissions."
        )
    else:
        message = (
            f"Could not save {path.name} in {folder}: {exc.strerror or exc}. Recording stopped; every image "
            "saved before is intact. Check the folder and try again."
        )
    return DatasetWriteError(message)


def is_permission_error(exc: OSError) -> bool:
    return isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
