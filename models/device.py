"""Which device TensorFlow runs on: the `--device` choices, choosing one, and naming it for logs and the overlay.

Shared by the app (`gesture-app --device`) and training (the device line of its log);
TensorFlow is imported only when a function needs it, and not at all to learn that a machine has
no GPU it could use (`gpu_possible`): starting it takes seconds, which a CPU-only app run through
a TFLite export never needs to spend.
"""

from __future__ import annotations

import glob
import logging
import os
import sys

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "gpu")
NO_GPU = "No GPU is visible to TensorFlow (no CUDA driver, or a CPU-only install); try --device cpu or --device auto."


class DeviceError(RuntimeError):
    """The requested device is not available; the message says what to try."""


def gpu_name(gpu) -> str:
    """'GPU: <name>' of one of tf.config.list_physical_devices("GPU")."""
    import tensorflow as tf

    try:
        details = tf.config.experimental.get_device_details(gpu)
    except (RuntimeError, ValueError):
        details = {}
    return f"GPU: {details.get('device_name') or gpu.name}"


# Device files without which no GPU can be there for TensorFlow on Linux: NVIDIA's, ROCm's, WSL's.
GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia[0-9]*", "/dev/kfd", "/dev/dxg")


def gpu_possible() -> bool:
    """False when TensorFlow could see no GPU, told without starting it; True: it may (ask it).

    No GPU: CUDA_VISIBLE_DEVICES hides them all ("" or "-1"), or, on Linux, none of the GPU device
    files exists. Elsewhere, or once TensorFlow is imported anyway, the answer is TensorFlow's.
    """
    if "tensorflow" in sys.modules:
        return True
    if os.environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1"):
        return False
    if sys.platform.startswith("linux"):
        return any(glob.glob(pattern) for pattern in GPU_DEVICE_FILES)
    return True


def cpu_name() -> str:
    return f"CPU ({os.cpu_count() or 1} cores)"


def describe_device(device: str = "auto") -> str:
    """'GPU: <name>' (and how many more) when a GPU is visible and allowed by `device`, else the CPU."""
    if device == "cpu" or not gpu_possible():
        return cpu_name()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return cpu_name()
    return gpu_name(gpus[0]) + (f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else "")


def select_device(choice: str = "auto") -> str:
    """Make TensorFlow use the GPU or the CPU; returns the device's name.

    Must run before TensorFlow runs anything (visible devices are fixed then).
    """
    if choice not in DEVICE_CHOICES:
        raise DeviceError(f"--device must be one of {', '.join(DEVICE_CHOICES)}, got {choice!r}.")
    if not gpu_possible():  # nothing to choose, and no TensorFlow start-up to learn it
        if choice == "gpu":
            raise DeviceError(NO_GPU)
        return cpu_name()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if choice == "gpu" and not gpus:
        raise DeviceError(NO_GPU)
    if choice == "cpu" and gpus:
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError as exc:  # TensorFlow already initialised its devices
            log.warning("could not hide the GPU (%s); running where TensorFlow chose", exc)
            return gpu_name(gpus[0])
        gpus = []
    if gpus:
        for gpu in gpus:
            try:
                # Take memory as needed rather than all of it up front: the app shares the GPU.
                tf.config.experimental.set_memory_growth(gpu, True)
            except (RuntimeError, ValueError):
                pass
        return gpu_name(gpus[0])
    return cpu_name()
