"""GPU options for training: mixed precision and tf.distribute strategies.

    --mixed-precision          float16 compute, float32 weights (GPUs with tensor cores)
    --distribute mirrored      all GPUs of this machine (synchronous data parallelism)
    --distribute multi-worker  several machines; each reads its role from TF_CONFIG
"""

from __future__ import annotations

import contextlib
import logging

log = logging.getLogger(__name__)

DISTRIBUTE_CHOICES = ("none", "mirrored", "multi-worker")


def set_mixed_precision(enabled: bool) -> None:
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16" if enabled else "float32")
    if enabled:
        log.info("Mixed precision: float16 compute, float32 weights and outputs")


def strategy_scope(name: str):
    """A context in which models are built and compiled for the chosen strategy."""
    if name not in DISTRIBUTE_CHOICES:
        raise ValueError(f"Unknown --distribute {name!r}; choose one of {', '.join(DISTRIBUTE_CHOICES)}.")
    if name == "none":
        return contextlib.nullcontext()
    import tensorflow as tf

    if name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    else:
        # Reads TF_CONFIG ({"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}});
        # without it this process is a cluster of one.
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    log.info("Distribution: %s over %d replica(s)", name, strategy.num_replicas_in_sync)
    return strategy.scope()
