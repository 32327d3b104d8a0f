"""Which device TensorFlow runs on: the `--device` choices, choosing one, and naming it for logs and the overlay.

Shared by the app (`gesture-app --device`) and training (the device line of its log);
TensorFlow is imported only when a function needs it.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "gpu")


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


def cpu_name() -> str:
    return f"CPU ({os.cpu_count() or 1} cores)"


def describe_device(device: str = "auto") -> str:
    """'GPU: <name>' (and how many more) when a GPU is visible and allowed by `device`, else the CPU."""
    if device == "cpu":
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
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if choice == "gpu" and not gpus:
        raise DeviceError("No GPU is visible to TensorFlow (no CUDA driver, or a CPU-only install); try --device cpu or --device auto.")
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
