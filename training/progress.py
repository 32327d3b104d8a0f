"""Progress of long work with the time left: a tqdm bar on a terminal, a plain log line now and then elsewhere.

tqdm redraws one line with carriage returns, which a log file or CI output turns into one endless
line, so where stderr is not a terminal `Progress` logs "what: 120/400 images (30 %), 1 min 12 s left"
every LINE_EVERY_S seconds instead. Both follow the log level: nothing under -q. Short work shows
nothing: the bar appears after BAR_DELAY_S, the first line after LINE_EVERY_S.

For another program (gesture-capture's Train button), `gesture-train --progress-file PATH` also
writes the same progress as a small JSON file (`ProgressFile`; the format is models/progress_file.py),
replaced atomically a few times a second.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

from models.atomic_files import atomic_write_text
from models.progress_file import DONE, FAILED, INTERRUPTED, RUNNING, STARTING, ProgressState

log = logging.getLogger(__name__)

BAR_DELAY_S = 2.0
LINE_EVERY_S = 30.0


def format_duration(seconds: float) -> str:
    """4 s, 3 min 20 s, 2 h 05 min."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Counts `total` units of work; shows a bar on a terminal, log lines elsewhere, nothing under -q.

    `lines=False` leaves out the plain lines (for the schedule, whose time left the epoch lines carry).
    `stream`: where the bar draws (default stderr; `native_output_filtered` hands out the real one).
    """

    def __init__(self, total: int, what: str, unit: str = "image", *, lines: bool = True, stream=None,
                 position: int | None = None, leave: bool = False):
        self.total, self.what, self.unit = max(0, int(total)), what, unit
        self.done = 0
        self._start = self._last_line = time.monotonic()
        self._lines = lines
        self._bar = None
        self.enabled = log.isEnabledFor(logging.INFO) and self.total > 0
        self.closed = False
        if _reporter is not None:
            _reporter.opened(self)
        self._stream = stream  # plain lines go here when given (stderr may be captured), else to the log
        stream = stream or sys.stderr
        if self.enabled and _is_terminal(stream):
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=what, unit=unit, delay=BAR_DELAY_S, file=stream, leave=leave,
                             position=position, dynamic_ncols=True, smoothing=0.1)

    def update(self, n: int = 1) -> None:
        self.done += n
        if _reporter is not None:
            _reporter.updated(self)
        if self._bar is not None:
            self._bar.update(n)
        elif self.enabled and self._lines:
            now = time.monotonic()
            if now - self._last_line >= LINE_EVERY_S and self.done < self.total:
                self._last_line = now
                if self._stream is not None:
                    self._stream.write(f"{self.what}: {self.status()}\n")
                    self._stream.flush()
                else:
                    log.info("%s: %s", self.what, self.status())

    def discount(self, n: int) -> None:
        """Take `n` units out of the total without counting them as done (work skipped, e.g. finished runs)."""
        self.total = max(self.done, self.total - n)
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def time_left(self) -> float | None:
        """Seconds left at the average rate so far; None before any work is done."""
        elapsed = time.monotonic() - self._start
        if self.done <= 0 or elapsed <= 0:
            return None
        return (self.total - self.done) * elapsed / self.done

    def status(self) -> str:
        """'120/400 images (30 %), 1 min 12 s left'."""
        left = self.time_left()
        percent = 100 * self.done // self.total if self.total else 100
        text = f"{self.done:,}/{self.total:,} {self.unit}s ({percent} %)"
        return text + (f", {format_duration(left)} left" if left is not None else "")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if not self.closed:
            self.closed = True
            if _reporter is not None:
                _reporter.closed(self)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_over(items, what: str, unit: str = "image", **options):
    """Yield `items` (a sized sequence), counting each one in a `Progress`."""
    with Progress(len(items), what, unit, **options) as progress:
        for item in items:
            yield item
            progress.update()


# --- the progress file ---------------------------------------------------------------------------

WRITE_EVERY_S = 0.25
# The loggers whose lines become the file's "message" (ours, not the libraries').
MESSAGE_LOGGERS = ("gesture-train", "training", "models")

_reporter: ProgressFile | None = None


class _LastLine(logging.Handler):
    """Keeps the newest line of our loggers as the file's message."""

    def __init__(self, reporter: ProgressFile):
        super().__init__(logging.INFO)
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] not in MESSAGE_LOGGERS:
            return
        try:
            lines = record.getMessage().strip().splitlines()
            self.reporter.message = lines[0] if lines else ""
            if record.levelno >= logging.ERROR:
                self.reporter.error = self.reporter.message
            self.reporter.write(force=record.levelno >= logging.WARNING)
        except Exception:  # a progress file must never break the work it reports on
            self.handleError(record)


class ProgressFile:
    """This process's newest progress as JSON at `path` (models/progress_file.py), for another program to poll.

    Shows the outermost `Progress` under way: the whole training schedule rather than one epoch of it. Start with `report_progress_to(path)`; `finish(exit_code)` writes the final state.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.started = time.monotonic()
        self.active: list[Progress] = []
        self.message = ""
        self.error = ""
        self._last_write = 0.0
        self._handler = _LastLine(self)

    def start(self) -> ProgressFile:
        global _reporter
        self.path.parent.mkdir(parents=True, exist_ok=True)
        logging.getLogger().addHandler(self._handler)
        _reporter = self
        self.write(force=True)
        return self

    def stop(self) -> None:
        global _reporter
        logging.getLogger().removeHandler(self._handler)
        if _reporter is self:
            _reporter = None

    # -- what Progress tells it
    def opened(self, progress: Progress) -> None:
        self.active.append(progress)
        self.write(force=self._current() is progress)

    def updated(self, progress: Progress) -> None:
        self.write(force=progress.done >= progress.total)

    def closed(self, progress: Progress) -> None:
        if progress in self.active:
            self.active.remove(progress)
        self.write(force=True)

    def _current(self) -> Progress | None:
        """The outermost work that has begun counting (the schedule, not its epoch), else the newest
        (the images read or the hands found before the schedule's first step)."""
        under_way = [p for p in self.active if not p.closed and p.done < p.total]  # opened first = outermost
        counting = [p for p in under_way if p.done > 0]
        return counting[0] if counting else (under_way[-1] if under_way else None)

    def state(self, state: str = RUNNING, exit_code: int | None = None) -> ProgressState:
        current = self._current() if state == RUNNING else None
        elapsed = round(time.monotonic() - self.started, 1)
        message = self.error if state == FAILED and self.error else self.message
        if current is None:
            return ProgressState(state=state, stage=STARTING if state == RUNNING and not self.message else "",
                                 elapsed_s=elapsed, message=message, pid=os.getpid(), exit_code=exit_code)
        left = current.time_left()
        return ProgressState(
            state=state, stage=current.what, done=current.done, total=current.total, unit=current.unit,
            fraction=round(current.done / current.total, 4) if current.total else None,
            seconds_left=round(left, 1) if left is not None else None, elapsed_s=elapsed, message=message,
            pid=os.getpid(), exit_code=exit_code,
        )

    def write(self, force: bool = False, state: str = RUNNING, exit_code: int | None = None) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < WRITE_EVERY_S:
            return
        self._last_write = now
        try:
            atomic_write_text(self.path, json.dumps(self.state(state, exit_code).to_dict()) + "\n")
        except OSError as exc:  # the work goes on; only the reading program loses sight of it
            log.debug("could not write the progress file %s: %s", self.path, exc)

    def finish(self, exit_code: int) -> None:
        """The final state: done (0), interrupted (130: Ctrl+C or a cancel) or failed (with the error line)."""
        state = DONE if exit_code == 0 else INTERRUPTED if exit_code == 130 else FAILED
        self.write(force=True, state=state, exit_code=exit_code)
        self.stop()


def report_progress_to(path: str | Path | None) -> ProgressFile | None:
    """Start writing this process's progress to `path` (None: do nothing); call `finish` on the result."""
    return ProgressFile(path).start() if path is not None else None
