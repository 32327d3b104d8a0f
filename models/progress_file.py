"""The progress file `gesture-train --progress-file PATH` writes and another program polls (the capture window's
Train button): its states and fields, in the one place both sides read them.

    {"format": 1, "state": "running",   # then "done", "failed" or "interrupted", with "exit_code"
     "stage": "finding hands",           # the outermost work under way; "starting" before the first
     "done": 40, "total": 90, "unit": "image", "fraction": 0.444,
     "seconds_left": 12.0,               # of this stage, at its average rate so far (null until known)
     "elapsed_s": 8.2,                   # since the command started
     "message": "...",                   # the command's newest log line (its error line when it failed)
     "pid": 4242, "exit_code": null}

The writer is `training.progress.ProgressFile`; the file is replaced atomically, so a reader never
sees half of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PROGRESS_FORMAT = 1
RUNNING, DONE, FAILED, INTERRUPTED = "running", "done", "failed", "interrupted"
FINAL_STATES = (DONE, FAILED, INTERRUPTED)
STARTING = "starting"


@dataclass(frozen=True)
class ProgressState:
    state: str = RUNNING
    stage: str = STARTING
    done: int | None = None
    total: int | None = None
    unit: str | None = None
    fraction: float | None = None  # of the stage, 0..1; None: not known (show a busy bar)
    seconds_left: float | None = None
    elapsed_s: float = 0.0
    message: str = ""
    pid: int | None = None
    exit_code: int | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_dict(cls, data: dict) -> ProgressState:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data and data[name] is not None}
        return cls(**known)

    def to_dict(self) -> dict:
        return {"format": PROGRESS_FORMAT, **{name: getattr(self, name) for name in self.__dataclass_fields__}}


def read_progress(path: str | Path) -> ProgressState | None:
    """The file's newest state, or None while there is none (not written yet, or not a progress file)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return ProgressState.from_dict(data) if isinstance(data, dict) else None
    except (OSError, UnicodeDecodeError, ValueError, TypeError):
        return None
