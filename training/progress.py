"""Progress of long work with the time left: a tqdm bar on a terminal, a plain log line now and then elsewhere.

tqdm redraws one line with carriage returns, which a log file or CI output turns into one endless
line, so where stderr is not a terminal `Progress` logs "what: 120/400 images (30 %), 1 min 12 s left"
every LINE_EVERY_S seconds instead. Both follow the log level: nothing under -q. Short work shows
nothing: the bar appears after BAR_DELAY_S, the first line after LINE_EVERY_S.
"""

from __future__ import annotations

import logging
import sys
import time

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
        self._stream = stream  # plain lines go here when given (stderr may be captured), else to the log
        stream = stream or sys.stderr
        if self.enabled and _is_terminal(stream):
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=what, unit=unit, delay=BAR_DELAY_S, file=stream, leave=leave,
                             position=position, dynamic_ncols=True, smoothing=0.1)

    def update(self, n: int = 1) -> None:
        self.done += n
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
