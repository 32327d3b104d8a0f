"""Keep the libraries' start-up chatter off the terminal (every command line calls `quiet_libraries` first; -v shows it).

What it hides, none of it something a user can act on: TensorFlow's oneDNN, CUDA-probing
("Could not find cuda drivers", "failed call to cuInit") and CPU-feature lines, some of which
its C++ side writes before it reads any log level, so only the file descriptor can catch them;
OpenCV's log of every capture backend it tried when a camera does not open; the TFLite
converter's printout of the model's signature. Real failures still raise Python exceptions and
reach the user as the commands' own one-line messages, and every captured line that is not
known noise is written back.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

# Lines dropped from captured native output (everything else is written back).
NOISE_LINES = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:. ]+\d+ [\w.]+:\d+\] .*"  # absl/glog INFO and WARNING lines from TensorFlow's C++
    r"|To enable the following instructions: .*rebuild TensorFlow.*"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    r"|fully_quantize: \d+, inference_type: .*"
)
# OpenCV's levels (cv2.utils.logging): only fatal messages, unless the user chose a level.
OPENCV_QUIET_LEVEL = "FATAL"
_OPENCV_FATAL = 1


def quiet_libraries(verbose: bool) -> None:
    """Quiet TensorFlow, absl and OpenCV for this process; with `verbose`, leave them as they are.

    Settings the user made in the environment (TF_CPP_MIN_LOG_LEVEL, OPENCV_LOG_LEVEL) are kept.
    """
    if verbose:
        return
    # 3: no C++ INFO, WARNING or ERROR lines (the CUDA probe logs its absence as an error).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "OPENCV_LOG_LEVEL" not in os.environ:
        os.environ["OPENCV_LOG_LEVEL"] = OPENCV_QUIET_LEVEL  # read when cv2 is first imported
        cv2 = sys.modules.get("cv2")
        if cv2 is not None:  # already imported: set it directly
            cv2.utils.logging.setLogLevel(_OPENCV_FATAL)
    # Python-side warnings of TensorFlow and absl (e.g. "Compiled the loaded model, but ...").
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules and not any(isinstance(f, _FilteredImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _FilteredImport("tensorflow"))


@contextlib.contextmanager
def native_output_filtered(verbose: bool = False, drop_stdout: bool = False):
    """Run the block with file descriptors 1 and 2 captured, then write back all but the known noise.

    Catches what C++ libraries print, which Python's own redirection cannot. With `verbose`, or when
    the block raises, everything captured is written back (it may explain the failure);
    `drop_stdout` also drops what the block printed on stdout (the converter's model signature).
    Output of other threads during the block is held back until it ends, not lost. Yields a text
    stream on the real stderr, for a progress bar to draw on meanwhile.
    """
    if verbose:
        yield sys.stderr
        return
    streams = {1: "stdout", 2: "stderr"}
    _flush_python_streams()
    captured, terminal = {}, None
    try:
        for fd, stream in streams.items():
            saved = os.dup(fd)
            temp = tempfile.TemporaryFile()
            os.dup2(temp.fileno(), fd)
            # Python's own stream too: it need not write to the descriptor (pytest, IDEs replace it).
            replacement = open(temp.fileno(), "w", buffering=1, closefd=False, errors="replace")
            captured[fd] = (saved, temp, getattr(sys, stream), replacement)
            setattr(sys, stream, replacement)
        terminal = open(os.dup(captured[2][0]), "w", buffering=1, errors="replace")
    except OSError:  # no usable descriptors (a windowless interpreter): nothing to filter
        _restore(captured, streams, keep=lambda fd, text: text)
        yield sys.stderr
        return
    failed = False
    try:
        yield terminal
    except BaseException:
        failed = True
        raise
    finally:
        terminal.close()

        def keep(fd: int, text: str) -> str:
            if failed:
                return text
            return "" if fd == 1 and drop_stdout else _without_noise(text)

        _restore(captured, streams, keep)


def _restore(captured: dict, streams: dict, keep) -> None:
    """Put the descriptors and Python streams back, then write out what `keep` keeps of the captured text."""
    for fd, (saved, temp, original, replacement) in captured.items():
        replacement.flush()
        setattr(sys, streams[fd], original)
        replacement.close()
        os.dup2(saved, fd)
        os.close(saved)
        temp.seek(0)
        text = keep(fd, temp.read().decode(errors="replace"))
        temp.close()
        if text and original is not None:
            original.write(text)
            original.flush()


def _without_noise(text: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(line for line in lines if not NOISE_LINES.fullmatch(line.rstrip("\r\n")))


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


class _FilteredImport(importlib.abc.MetaPathFinder):
    """Imports one top-level package (TensorFlow) with its native start-up lines filtered out.

    A path hook rather than an early import: the app imports TensorFlow late, on a worker
    thread, so that its window opens fast.
    """

    def __init__(self, name: str):
        self.name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once is enough; and find_spec below must not find us again
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_filtered(module):
            with native_output_filtered():
                exec_module(module)

        spec.loader.exec_module = exec_filtered
        return spec
