"""Where training runs: mixed precision and tf.distribute strategies (one machine's GPUs, or several machines).

    --mixed-precision          float16 compute, float32 weights (GPUs with tensor cores)
    --distribute mirrored      all GPUs of this machine (synchronous data parallelism)
    --distribute multi-worker  several machines; each reads its role from TF_CONFIG

Under every strategy the documented batch size is the global batch: tf.distribute
splits each batch between the replicas. With several workers, each worker runs the
same input pipeline over the same data and keeps its own part of every batch
(`AutoShardPolicy.DATA`), worker 0 (the chief) is the only one that writes the
run's outputs, and a run starts from the chief's weights on every worker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

DISTRIBUTE_CHOICES = ("none", "mirrored", "multi-worker")

TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:23456", "host2:23456"]}, "task": {"type": "worker", "index": 0}}\''
)


class ClusterError(ValueError):
    """A TF_CONFIG that --distribute multi-worker cannot use; the message says what to set."""


def set_mixed_precision(enabled: bool) -> None:
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16" if enabled else "float32")
    if enabled:
        log.info("Mixed precision: float16 compute, float32 weights and outputs")


@dataclass(frozen=True)
class Worker:
    """This process's place in a cluster: 0 is the chief."""

    index: int = 0
    count: int = 1

    @property
    def is_chief(self) -> bool:
        return self.index == 0


def read_tf_config(text: str | None) -> Worker:
    """TF_CONFIG's text -> this worker, with a message naming what is wrong and what to set."""
    hint = f"Set it on every machine, e.g. {TF_CONFIG_EXAMPLE} (index 1 on the second machine)."
    if not text:
        raise ClusterError(f"--distribute multi-worker reads the cluster from TF_CONFIG, which is not set. {hint}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClusterError(f"TF_CONFIG is not valid JSON ({exc}). {hint}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ClusterError(f"TF_CONFIG needs a \"cluster\" and a \"task\" object. {hint}")
    unsupported = sorted(set(cluster) - {"chief", "worker"})
    if unsupported:
        raise ClusterError(f"TF_CONFIG's cluster has {', '.join(unsupported)} tasks; multi-worker training uses only "
                           f"\"worker\" (and optionally one \"chief\"). {hint}")
    chiefs, workers = cluster.get("chief", []), cluster.get("worker", [])
    if not isinstance(chiefs, list) or not isinstance(workers, list) or len(chiefs) > 1 or not chiefs + workers:
        raise ClusterError(f"TF_CONFIG's cluster must list the workers' host:port addresses, "
                           f"\"worker\": [...] (and at most one \"chief\"). {hint}")
    kind, index = task.get("type"), task.get("index")
    members = {"chief": chiefs, "worker": workers}.get(kind)
    if members is None or not isinstance(index, int) or not 0 <= index < len(members):
        raise ClusterError(f"TF_CONFIG's task {json.dumps(task)} is not one of the cluster's: \"type\" must be \"worker\" "
                           f"(or \"chief\") and \"index\" this machine's place in that list, 0 to {len(members or [0]) - 1}. "
                           f"{hint}")
    # TensorFlow's order: the chief task (if any) first, then the workers.
    return Worker(index=index if kind == "chief" else len(chiefs) + index, count=len(chiefs) + len(workers))


class Distribution:
    """The strategy models are built and fitted under, and this process's part in it."""

    def __init__(self, name: str = "none", strategy=None, worker: Worker = Worker()):
        self.name = name
        self.strategy = strategy
        self.worker = worker

    @property
    def is_chief(self) -> bool:
        return self.worker.is_chief

    @property
    def multi_worker(self) -> bool:
        return self.worker.count > 1

    def scope(self):
        """A context in which models are built and fitted; outside it, the chief's own work (reports) needs no peer."""
        return contextlib.nullcontext() if self.strategy is None else self.strategy.scope()

    def shard(self, ds):
        """A tf.data dataset as each worker should read it: every worker runs the same pipeline and keeps its
        part of every global batch. (The default policy, AUTO, would try to shard by file, find none in
        in-memory arrays, and fall back to this with a warning.)"""
        if self.strategy is None:
            return ds
        import tensorflow as tf

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return ds.with_options(options)

    def broadcast(self, value) -> np.ndarray:
        """The chief's `value` (a number or array) on every worker. Every worker must call this, in the same order."""
        value = np.asarray(value)
        if not self.multi_worker:
            return value
        # A sum in which only the chief's first replica contributes; exact for integers and floats.
        per_replica = self.strategy.experimental_distribute_values_from_function(
            lambda context: value if context.replica_id_in_sync_group == 0 else np.zeros_like(value)
        )
        return np.asarray(self.strategy.reduce("SUM", per_replica, axis=None))

    def barrier(self) -> None:
        """Return once every worker has called this."""
        self.broadcast(0)

    def sync_from_chief(self, variables) -> None:
        """Give every worker the chief's values of `variables` (the same list, in the same order, on each).

        MultiWorkerMirroredStrategy copies the chief's value into a variable only when it is
        created; what a worker loads afterwards (ImageNet weights, a checkpoint, the run a
        fine-tune starts from) is its own, so runs call this once their weights are in place.
        """
        if not self.multi_worker:
            return
        for variable in variables:
            variable.assign(self.broadcast(variable.numpy()))

    def fitting(self):
        """A context for Keras's fit: under several workers, works around two Keras 3 bugs (see below)."""
        return _multi_worker_fit(self.strategy) if self.multi_worker else contextlib.nullcontext()


@contextlib.contextmanager
def _multi_worker_fit(strategy):
    """Keras 3 (3.15 at least) cannot fit under MultiWorkerMirroredStrategy; two internals are replaced meanwhile.

    1. Before the first step it all-reduces the first batch across workers, only to read its
       shapes: the strategy cannot reduce an (images, labels) pair, and fit stops with
       "Attempt to convert a value (PerReplica ...) to a Tensor" (keras-team/keras#20585).
       This worker's own part of the batch has the same shapes and needs no peer.
    2. It averages each step's loss and metrics over the workers with `reduce(..., axis=0)`,
       which also reduces over the axis of what are scalars ("Invalid reduction dimension 0
       for input with 0 dimensions"); the average over the replicas is `axis=None`.
    """
    import tensorflow as tf
    from keras import tree
    from keras.src.backend.tensorflow import trainer

    build, reduce_per_replica = trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica

    def local_part(value):
        return strategy.experimental_local_results(value)[0] if isinstance(value, tf.distribute.DistributedValues) else value

    def build_from_local_batch(model, iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(local_part, next(batches))
                break
        return build(model, data_batch=data_batch)

    def mean_over_replicas(values, strategy, reduction="auto"):
        if reduction not in ("auto", "mean"):
            return reduce_per_replica(values, strategy, reduction)
        return tree.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)

    trainer.TensorFlowTrainer._maybe_symbolic_build = build_from_local_batch
    trainer.reduce_per_replica = mean_over_replicas
    try:
        yield
    finally:
        trainer.TensorFlowTrainer._maybe_symbolic_build = build
        trainer.reduce_per_replica = reduce_per_replica


LOCAL = Distribution()


def make_distribution(name: str) -> Distribution:
    """The chosen strategy. Call it before TensorFlow runs anything: a multi-worker cluster can only be set up then."""
    if name not in DISTRIBUTE_CHOICES:
        raise ValueError(f"Unknown --distribute {name!r}; choose one of {', '.join(DISTRIBUTE_CHOICES)}.")
    if name == "none":
        return LOCAL
    import tensorflow as tf

    if name == "mirrored":
        distribution = Distribution(name, tf.distribute.MirroredStrategy())
    else:
        worker = read_tf_config(os.environ.get("TF_CONFIG"))
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:  # TensorFlow already initialised in this process
            raise ClusterError(f"Could not join the cluster in TF_CONFIG ({exc}); start gesture-train in a fresh "
                               "process with --distribute multi-worker.") from None
        distribution = Distribution(name, strategy, worker)
        log.info("Worker %d of %d%s", worker.index, worker.count,
                 " (the chief: writes the outputs)" if worker.is_chief else " (outputs are written by worker 0)")
    log.info("Distribution: %s over %d replica(s)", name, distribution.strategy.num_replicas_in_sync)
    return distribution
