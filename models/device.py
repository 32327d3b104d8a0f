"""Which device TensorFlow will run on, in words for logs and the app's overlay."""

from __future__ import annotations


def describe_device(device: str = "auto") -> str:
    """'GPU: <name>' when a GPU is visible (and allowed by `device`), else 'CPU'."""
    if device == "cpu":
        return "CPU"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    try:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name") or gpus[0].name
    except (RuntimeError, ValueError):
        name = gpus[0].name
    return f"GPU: {name}" + (f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else "")
